package sqlite

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/pedigree-ml/pedigree/lineage"
)

// run_data holds each run's params, tags and metric summaries as JSON, so
// that RunData reads a row per run instead of a row per value (see
// migration 00002). A transaction marks the parts of runs it changes and
// recomputes them from run_params, run_tags and run_metrics before it
// commits (and before it reads RunData itself): once per run and part,
// however many writes it made.

// runDataMax bounds the entries of a part of a run_data row; a run with
// more keeps that part in its table only (as migration 00002 does).
// Measured on 1,000-point logMetrics batches (~1 ms each): keeping 256
// metrics in run_data added ~1 ms a batch, 100 or 128 ~0.5 ms.
const runDataMax = 128

// Parts of a run's run_data row.
const (
	partParams uint8 = 1 << iota
	partTags
	partMetrics
)

var partStmts = []struct {
	part uint8
	stmt stmtKey
}{{partParams, sRunDataParams}, {partTags, sRunDataTags}, {partMetrics, sRunDataMetrics}}

func (t *txn) touch(seq int64, part uint8) {
	if t.dirty == nil {
		t.dirty = make(map[int64]uint8)
	}
	t.dirty[seq] |= part
}

// flushRunData recomputes the run_data parts the transaction changed.
func (t *txn) flushRunData() error {
	if len(t.dirty) == 0 {
		return nil
	}
	seqs := make([]int64, 0, len(t.dirty))
	for seq := range t.dirty {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs) // a fixed write order
	for _, seq := range seqs {
		if _, err := t.exec(sRunDataRow, seq); err != nil {
			return formatError("run data", err)
		}
		for _, p := range partStmts {
			if t.dirty[seq]&p.part == 0 {
				continue
			}
			if _, err := t.exec(p.stmt, seq); err != nil {
				return formatError("run data", err)
			}
		}
	}
	clear(t.dirty)
	return nil
}

// RunData sees the transaction's own writes.
func (t *txn) RunData(runs []lineage.ID) (map[lineage.ID]*lineage.RunData, error) {
	if err := t.flushRunData(); err != nil {
		return nil, err
	}
	return t.reader.RunData(runs)
}

var errRunData = errors.New("malformed run_data")

// decodeRunData parses the parts of a run_data row into d, leaving those
// that are nil (NULL: in the tables). It reads exactly what SQLite's JSON
// functions write (and any JSON of the same shape), keeping the bytes of
// strings as stored: encoding/json would replace invalid UTF-8, and costs
// several times more.
func decodeRunData(d *lineage.RunData, params, tags, metrics []byte) (err error) {
	if params != nil {
		if d.Params, err = decodePairs(params); err != nil {
			return err
		}
	}
	if tags != nil {
		if d.Tags, err = decodePairs(tags); err != nil {
			return err
		}
	}
	if metrics == nil {
		return nil
	}
	// Sized up front: growing the slice and maps was a fifth of the time.
	d.Metrics = make([]lineage.MetricSummary, 0, bytes.Count(metrics, []byte("[")))
	return decodeArray(metrics, func(p *jsonParser) bool {
		var m lineage.MetricSummary
		ok := p.str(&m.Key) && p.byte(',') && p.float(&m.Last) && p.byte(',') && p.int(&m.LastStep) &&
			p.byte(',') && p.float(&m.Min) && p.byte(',') && p.float(&m.Max) && p.byte(',') && p.int(&m.Count)
		d.Metrics = append(d.Metrics, m)
		return ok
	})
}

// decodePairs parses an array of [key, value] strings.
func decodePairs(b []byte) (map[string]string, error) {
	m := make(map[string]string, bytes.Count(b, []byte("["))) // at least one per pair
	err := decodeArray(b, func(p *jsonParser) bool {
		var k, v string
		ok := p.str(&k) && p.byte(',') && p.str(&v)
		m[k] = v
		return ok
	})
	return m, err
}

// decodeArray parses an array of arrays, each element's items by item.
func decodeArray(b []byte, item func(*jsonParser) bool) error {
	p := jsonParser{b: b}
	if !p.byte('[') {
		return errRunData
	}
	if p.byte(']') {
		return p.end()
	}
	for {
		if !(p.byte('[') && item(&p) && p.byte(']')) {
			return errRunData
		}
		if p.byte(']') {
			return p.end()
		}
		if !p.byte(',') {
			return errRunData
		}
	}
}

// jsonParser reads JSON tokens from b; each method reports whether it
// found what it reads.
type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// byte consumes c.
func (p *jsonParser) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end checks that nothing but space follows.
func (p *jsonParser) end() error {
	p.space()
	if p.i != len(p.b) {
		return errRunData
	}
	return nil
}

func (p *jsonParser) str(s *string) bool {
	if !p.byte('"') {
		return false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			*s = string(p.b[start:p.i])
			p.i++
			return true
		case c == '\\':
			return p.escaped(s, start)
		case c < 0x20:
			return false
		}
		p.i++
	}
	return false
}

// escaped finishes a string that has escapes, from its first backslash.
func (p *jsonParser) escaped(s *string, start int) bool {
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			*s = string(buf)
			p.i++
			return true
		case c < 0x20:
			return false
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return false
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return false
			}
			if utf16.IsSurrogate(r) {
				r = p.lowSurrogate(r)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return false
		}
	}
	return false
}

// lowSurrogate reads the \u escape that completes the pair hi starts,
// returning the pair's rune, or U+FFFD, as encoding/json does, if there
// is none.
func (p *jsonParser) lowSurrogate(hi rune) rune {
	if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
		save := p.i
		p.i += 2
		if lo, ok := p.hex4(); ok {
			if r := utf16.DecodeRune(hi, lo); r != utf8.RuneError {
				return r
			}
		}
		p.i = save
	}
	return utf8.RuneError
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

// number returns the next number token.
func (p *jsonParser) number() []byte {
	p.space()
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			p.i++
			continue
		}
		break
	}
	return p.b[start:p.i]
}

// float reads a number, or null as NaN (how run_metrics stores NaN).
// SQLite writes ±Inf as ±9.0e+999, which ParseFloat reads as ±Inf with a
// range error.
func (p *jsonParser) float(f *float64) bool {
	p.space()
	if p.i+4 <= len(p.b) && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		*f = math.NaN()
		return true
	}
	tok := p.number()
	v, err := strconv.ParseFloat(string(tok), 64)
	if err != nil && !(errors.Is(err, strconv.ErrRange) && math.IsInf(v, 0)) {
		return false
	}
	*f = v
	return true
}

func (p *jsonParser) int(n *int64) bool {
	v, err := strconv.ParseInt(string(p.number()), 10, 64)
	*n = v
	return err == nil
}
