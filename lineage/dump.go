package lineage

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// A dump is a whole store as JSON Lines, for moving it between backends
// (pedigree export, import, migrate):
//
//	{"pedigreeDump":1}
//	{"node":{"id":"dataset:customers","kind":"Dataset",…}}
//	{"edge":{"from":"datasetversion:customers/1","to":"dataset:customers","type":"VERSION_OF",…}}
//	…
//	{"pedigreeDumpEnd":{"records":1234}}
//
// The first line names the format version (DumpVersion); every other line
// but the last is one Record, an object with exactly one member named after
// the Record field that is set. The last line counts the records, so that a
// dump cut at a line boundary is detected. Field names are lowerCamel, times
// RFC 3339 in UTC with nanoseconds, metric values JSON numbers or the strings
// "NaN", "Infinity" and "-Infinity"; node props, event payloads and
// document values are embedded as JSON (compacted: the Service writes props
// and payloads compact, and a document value's insignificant whitespace
// does not survive a dump file). Readers reject unknown members.

// DumpVersion is the format version a DumpWriter writes and a DumpReader reads.
const DumpVersion = 1

// MaxDumpPoints bounds the points of one MetricSeries record.
const MaxDumpPoints = 1000

// Dumper is implemented by a Store that can read itself whole.
//
// Dump calls fn with every record of the store, read from one consistent
// snapshot, in an order Restore can replay:
//
//  1. Node: every node in insertion order, soft-deleted ones included (with DeletedAt);
//  2. Edge: every edge in insertion order, removed ones included (with RemovedAt);
//  3. RunData: one record per run that has params or tags, in node order;
//  4. Metrics: every run's metric histories, runs in node order, keys in
//     byte order, each history's points in ComparePoints order cut into
//     records by a MetricChunker;
//  5. Transition: every transition in commit order (the order Transitions returns);
//  6. Idempotency: every idempotency record, by key in byte order;
//  7. Counter: every version counter with its current value, by name in byte order;
//  8. Event: every event in Seq order;
//  9. Doc: every document, by collection then key, each in byte order.
//
// Two stores holding the same history dump the same records, whatever their
// backends. What is derived is left out: metric summaries, search and
// traversal indexes. Dump streams: it does not hold the store in memory. A
// backend whose transactions are not snapshots blocks writers while it
// dumps. fn owns each record it is given (the Dumper does not reuse it).
// Dump stops at the first error fn returns and returns that error
// unwrapped.
type Dumper interface {
	Dump(ctx context.Context, fn func(*Record) error) error
}

// Record is one line of a dump: exactly one field is set.
type Record struct {
	Node        *Node
	Edge        *Edge
	RunData     *RunKV
	Metrics     *MetricSeries
	Transition  *Transition
	Idempotency *IdempotencyRecord
	Counter     *Counter
	Event       *Event
	Doc         *Doc
}

// RunKV is a run's params and tags.
type RunKV struct {
	Run    ID                `json:"run"`
	Params map[string]string `json:"params,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// MetricSeries is a piece of one metric's history: at most MaxDumpPoints
// points in ComparePoints order.
type MetricSeries struct {
	Run    ID          `json:"run"`
	Key    string      `json:"key"`
	Points []DumpPoint `json:"points"`
}

// DumpPoint is a metric point of a MetricSeries.
type DumpPoint struct {
	Step      int64       `json:"step"`
	Timestamp time.Time   `json:"timestamp"`
	Value     MetricValue `json:"value"`
}

// MarshalJSON writes the point with its timestamp in UTC; it is the bulk
// of a metrics-heavy dump, so it skips reflection.
func (p DumpPoint) MarshalJSON() ([]byte, error) {
	ts := p.Timestamp.UTC()
	if y := ts.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("metric point at step %d: timestamp year %d outside [0, 9999]", p.Step, y)
	}
	b := make([]byte, 0, 80)
	b = append(b, `{"step":`...)
	b = strconv.AppendInt(b, p.Step, 10)
	b = append(b, `,"timestamp":"`...)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","value":`...)
	b = appendMetricValue(b, float64(p.Value))
	return append(b, '}'), nil
}

// MetricValue is a metric value in a dump: a JSON number, or "NaN",
// "Infinity" or "-Infinity", which JSON numbers cannot express.
type MetricValue float64

// Counter is a version counter (see Tx.NextVersion) and its current value.
type Counter struct {
	Name  ID    `json:"name"`
	Value int64 `json:"value"`
}

// ComparePoints orders a metric history in a dump: by step, then
// timestamp, then value as IEEE 754 bits (so that the order is total, NaN
// included).
func ComparePoints(a, b DumpPoint) int {
	return cmp.Or(cmp.Compare(a.Step, b.Step), a.Timestamp.Compare(b.Timestamp),
		cmp.Compare(math.Float64bits(float64(a.Value)), math.Float64bits(float64(b.Value))))
}

// MetricChunker cuts metric histories into MetricSeries records, the same
// way for every Dumper: a record holds at most MaxDumpPoints points of one
// run's metric, and never the same point (step, timestamp and value) twice,
// because a store may keep identical points of one LogMetrics batch once.
type MetricChunker struct {
	fn  func(*Record) error
	cur *MetricSeries
}

// NewMetricChunker returns a MetricChunker that passes records to fn.
func NewMetricChunker(fn func(*Record) error) *MetricChunker {
	return &MetricChunker{fn: fn}
}

// Add appends a point to run's history of key. Histories come one after
// the other, each in ComparePoints order; a point out of order is an error.
func (c *MetricChunker) Add(run ID, key string, p DumpPoint) error {
	if c.cur != nil && c.cur.Run == run && c.cur.Key == key {
		switch d := ComparePoints(c.cur.Points[len(c.cur.Points)-1], p); {
		case d > 0:
			return fmt.Errorf("dump: metric %q of %s: point at step %d out of order", key, run, p.Step)
		case d == 0 || len(c.cur.Points) == MaxDumpPoints:
			if err := c.Flush(); err != nil {
				return err
			}
		}
	} else if err := c.Flush(); err != nil {
		return err
	}
	if c.cur == nil {
		c.cur = &MetricSeries{Run: run, Key: key, Points: make([]DumpPoint, 0, 64)}
	}
	c.cur.Points = append(c.cur.Points, p)
	return nil
}

// Flush passes on the record being filled, if any.
func (c *MetricChunker) Flush() error {
	if c.cur == nil {
		return nil
	}
	r := &Record{Metrics: c.cur}
	c.cur = nil
	return c.fn(r)
}

// RecordTypes lists the names of Record's fields as a dump spells them,
// in dump order.
var RecordTypes = []string{"node", "edge", "runData", "metrics", "transition", "idempotency", "counter", "event", "doc"}

// fields returns the dump names of the record's fields that are set.
func (r *Record) fields() []string {
	var out []string
	for i, set := range []bool{r.Node != nil, r.Edge != nil, r.RunData != nil, r.Metrics != nil,
		r.Transition != nil, r.Idempotency != nil, r.Counter != nil, r.Event != nil, r.Doc != nil} {
		if set {
			out = append(out, RecordTypes[i])
		}
	}
	return out
}

// Type returns the dump name of the record's field that is set ("node",
// "edge", … see RecordTypes), or "" unless exactly one is.
func (r *Record) Type() string {
	if f := r.fields(); len(f) == 1 {
		return f[0]
	}
	return ""
}

// validate checks that exactly one field is set and that it has what
// Restore needs to replay it.
func (r *Record) validate() error {
	f := r.fields()
	switch len(f) {
	case 0:
		return Errorf(EINVALID, "record has no field set; want exactly one of %s", strings.Join(RecordTypes, ", "))
	case 1:
	default:
		return Errorf(EINVALID, "record has %d fields set (%s); want exactly one", len(f), strings.Join(f, ", "))
	}
	what := f[0]
	bad := func(format string, args ...any) error {
		return Errorf(EINVALID, "%s record: "+format, append([]any{what}, args...)...)
	}
	switch {
	case r.Node != nil:
		if r.Node.ID == "" || !r.Node.Kind.Valid() {
			return bad("needs an id and a known kind (got id %q, kind %q)", r.Node.ID, r.Node.Kind)
		}
	case r.Edge != nil:
		if r.Edge.From == "" || r.Edge.To == "" || !r.Edge.Type.Valid() {
			return bad("needs from, to and a known type (got %q -%s-> %q)", r.Edge.From, r.Edge.Type, r.Edge.To)
		}
	case r.RunData != nil:
		if r.RunData.Run == "" {
			return bad("needs a run")
		}
	case r.Metrics != nil:
		m := r.Metrics
		if m.Run == "" || m.Key == "" || len(m.Points) == 0 || len(m.Points) > MaxDumpPoints {
			return bad("needs a run, a key and 1 to %d points (got run %q, key %q, %d points)", MaxDumpPoints, m.Run, m.Key, len(m.Points))
		}
	case r.Transition != nil:
		if r.Transition.ModelVersion == "" {
			return bad("needs a modelVersion")
		}
	case r.Idempotency != nil:
		if r.Idempotency.Key == "" {
			return bad("needs a key")
		}
	case r.Counter != nil:
		if r.Counter.Name == "" {
			return bad("needs a name")
		}
	case r.Event != nil:
		if r.Event.Seq < 1 || r.Event.ID == "" {
			return bad("needs a seq ≥ 1 and an id (got seq %d, id %q)", r.Event.Seq, r.Event.ID)
		}
	case r.Doc != nil:
		if r.Doc.Collection == "" || r.Doc.Key == "" || !json.Valid(r.Doc.Value) {
			return bad("needs a collection, a key and a JSON value (got collection %q, key %q)", r.Doc.Collection, r.Doc.Key)
		}
	}
	return nil
}

// describe names a record for error messages.
func (r *Record) describe() string {
	switch {
	case r.Node != nil:
		return "node " + string(r.Node.ID)
	case r.Edge != nil:
		return fmt.Sprintf("edge %s -%s-> %s", r.Edge.From, r.Edge.Type, r.Edge.To)
	case r.RunData != nil:
		return "run data of " + string(r.RunData.Run)
	case r.Metrics != nil:
		return fmt.Sprintf("metric %q of %s", r.Metrics.Key, r.Metrics.Run)
	case r.Transition != nil:
		return "transition of " + string(r.Transition.ModelVersion)
	case r.Idempotency != nil:
		return fmt.Sprintf("idempotency record %q", r.Idempotency.Key)
	case r.Counter != nil:
		return "counter " + string(r.Counter.Name)
	case r.Event != nil:
		return fmt.Sprintf("event %d (%s)", r.Event.Seq, r.Event.ID)
	case r.Doc != nil:
		return fmt.Sprintf("doc %q in %q", r.Doc.Key, r.Doc.Collection)
	}
	return "empty record"
}

// The wire forms of the domain types. Each converts from and to its domain
// type (same fields, other tags), so a field added to Node, Edge, … breaks
// the build here until the format follows.
type (
	wireNode struct {
		ID        ID              `json:"id"`
		Kind      Kind            `json:"kind"`
		Parent    ID              `json:"parent,omitempty"`
		Name      string          `json:"name,omitempty"`
		Props     json.RawMessage `json:"props,omitempty"`
		CreatedAt time.Time       `json:"createdAt"`
		UpdatedAt time.Time       `json:"updatedAt"`
		DeletedAt *time.Time      `json:"deletedAt,omitempty"`
	}
	wireEdge struct {
		From      ID         `json:"from"`
		To        ID         `json:"to"`
		Type      EdgeType   `json:"type"`
		Role      string     `json:"role,omitempty"`
		CreatedAt time.Time  `json:"createdAt"`
		RemovedAt *time.Time `json:"removedAt,omitempty"`
	}
	wireTransition struct {
		ModelVersion ID        `json:"modelVersion"`
		From         Stage     `json:"from"`
		To           Stage     `json:"to"`
		Actor        string    `json:"actor"`
		Reason       string    `json:"reason,omitempty"`
		At           time.Time `json:"at"`
		Rollback     bool      `json:"rollback,omitempty"`
	}
	wireIdempotency struct {
		Key       string    `json:"key"`
		Operation string    `json:"operation"`
		Digest    string    `json:"digest,omitempty"`
		Result    ID        `json:"result"`
		CreatedAt time.Time `json:"createdAt"`
	}
	wireEvent struct {
		Seq       int64           `json:"seq"`
		ID        string          `json:"id"`
		Model     string          `json:"model"`
		ModelSeq  int64           `json:"modelSeq"`
		Type      EventType       `json:"type"`
		Payload   json.RawMessage `json:"payload,omitempty"`
		CreatedAt time.Time       `json:"createdAt"`
	}
	wireDoc struct {
		Collection string          `json:"collection"`
		Key        string          `json:"key"`
		Value      json.RawMessage `json:"value"`
	}
	wireRecord struct {
		Node        *wireNode        `json:"node,omitempty"`
		Edge        *wireEdge        `json:"edge,omitempty"`
		RunData     *RunKV           `json:"runData,omitempty"`
		Metrics     *MetricSeries    `json:"metrics,omitempty"`
		Transition  *wireTransition  `json:"transition,omitempty"`
		Idempotency *wireIdempotency `json:"idempotency,omitempty"`
		Counter     *Counter         `json:"counter,omitempty"`
		Event       *wireEvent       `json:"event,omitempty"`
		Doc         *wireDoc         `json:"doc,omitempty"`
	}
	wireHeader struct {
		PedigreeDump *int `json:"pedigreeDump"`
	}
	wireEnd struct {
		PedigreeDumpEnd *struct {
			Records *int64 `json:"records"`
		} `json:"pedigreeDumpEnd"`
	}
)

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// toWire converts a record, with times in UTC so that equal histories
// encode to equal bytes.
func (r *Record) toWire() *wireRecord {
	var w wireRecord
	switch {
	case r.Node != nil:
		n := wireNode(*r.Node)
		n.CreatedAt, n.UpdatedAt, n.DeletedAt = n.CreatedAt.UTC(), n.UpdatedAt.UTC(), utcPtr(n.DeletedAt)
		w.Node = &n
	case r.Edge != nil:
		e := wireEdge(*r.Edge)
		e.CreatedAt, e.RemovedAt = e.CreatedAt.UTC(), utcPtr(e.RemovedAt)
		w.Edge = &e
	case r.Transition != nil:
		t := wireTransition(*r.Transition)
		t.At = t.At.UTC()
		w.Transition = &t
	case r.Idempotency != nil:
		i := wireIdempotency(*r.Idempotency)
		i.CreatedAt = i.CreatedAt.UTC()
		w.Idempotency = &i
	case r.Event != nil:
		e := wireEvent(*r.Event)
		e.CreatedAt = e.CreatedAt.UTC()
		w.Event = &e
	case r.Doc != nil:
		w.Doc = (*wireDoc)(r.Doc)
	}
	w.RunData, w.Metrics, w.Counter = r.RunData, r.Metrics, r.Counter
	return &w
}

func (w *wireRecord) record() *Record {
	return &Record{
		Node: (*Node)(w.Node), Edge: (*Edge)(w.Edge), RunData: w.RunData, Metrics: w.Metrics,
		Transition: (*Transition)(w.Transition), Idempotency: (*IdempotencyRecord)(w.Idempotency),
		Counter: w.Counter, Event: (*Event)(w.Event), Doc: (*Doc)(w.Doc),
	}
}

// MarshalJSON encodes a record as a dump line (without the newline).
func (r *Record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.toWire()); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON decodes a dump line, strictly: unknown members are an
// error, and so is a record with no or several fields set.
func (r *Record) UnmarshalJSON(b []byte) error {
	var w wireRecord
	if err := strictDecode(b, &w); err != nil {
		return err
	}
	*r = *w.record()
	return r.validate()
}

// strictDecode decodes one JSON value, refusing unknown members and
// anything after the value.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if rest := bytes.TrimSpace(b[dec.InputOffset():]); len(rest) > 0 {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}

// MarshalJSON writes NaN and ±Inf as "NaN", "Infinity" and "-Infinity",
// other values as encoding/json writes a float64.
func (v MetricValue) MarshalJSON() ([]byte, error) {
	return appendMetricValue(make([]byte, 0, 24), float64(v)), nil
}

func appendMetricValue(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	// As encoding/json: shortest round-tripping digits, exponent form only
	// for very small or large magnitudes, and "e-7" rather than "e-07".
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// UnmarshalJSON reads a number or one of "NaN", "Infinity", "-Infinity".
func (v *MetricValue) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*v = MetricValue(math.NaN())
		case "Infinity":
			*v = MetricValue(math.Inf(1))
		case "-Infinity":
			*v = MetricValue(math.Inf(-1))
		default:
			return fmt.Errorf("metric value %q: want a number, \"NaN\", \"Infinity\" or \"-Infinity\"", s)
		}
		return nil
	}
	if len(b) == 0 || !(b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		return fmt.Errorf("metric value %s: want a number, \"NaN\", \"Infinity\" or \"-Infinity\"", b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("metric value %s: out of range", b)
	}
	*v = MetricValue(f)
	return nil
}

// DumpWriter writes a dump: the header, a line per record, and the end
// line at Close.
type DumpWriter struct {
	w       *bufio.Writer
	enc     *json.Encoder
	records int64
	started bool
	closed  bool
}

// NewDumpWriter returns a DumpWriter on w. It buffers: Close flushes.
func NewDumpWriter(w io.Writer) *DumpWriter {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // props and payloads keep their bytes
	return &DumpWriter{w: bw, enc: enc}
}

func (d *DumpWriter) header() error {
	if d.started {
		return nil
	}
	d.started = true
	_, err := fmt.Fprintf(d.w, "{\"pedigreeDump\":%d}\n", DumpVersion)
	return err
}

// Write writes one record; it must have exactly one field set.
func (d *DumpWriter) Write(r *Record) error {
	if d.closed {
		return errors.New("dump: write after close")
	}
	if err := d.header(); err != nil {
		return err
	}
	if err := r.validate(); err != nil {
		return prefixError(fmt.Sprintf("dump: record %d", d.records+1), err)
	}
	if err := d.enc.Encode(r.toWire()); err != nil {
		return fmt.Errorf("dump: %s: %w", r.describe(), err)
	}
	d.records++
	return nil
}

// Records returns how many records have been written.
func (d *DumpWriter) Records() int64 { return d.records }

// Close writes the end line and flushes. It does not close the underlying
// writer. A dump is complete only once Close succeeded.
func (d *DumpWriter) Close() error {
	if d.closed {
		return nil
	}
	if err := d.header(); err != nil {
		return err
	}
	d.closed = true
	if _, err := fmt.Fprintf(d.w, "{\"pedigreeDumpEnd\":{\"records\":%d}}\n", d.records); err != nil {
		return err
	}
	return d.w.Flush()
}

// DumpReader reads a dump written by a DumpWriter.
type DumpReader struct {
	r       *bufio.Reader
	line    int
	records int64
	done    bool
}

// NewDumpReader returns a DumpReader on r.
func NewDumpReader(r io.Reader) *DumpReader {
	return &DumpReader{r: bufio.NewReaderSize(r, 256<<10)}
}

// Line returns the number of the last line read (1 is the header).
func (d *DumpReader) Line() int { return d.line }

func (d *DumpReader) errorf(format string, args ...any) error {
	return Errorf(EINVALID, "dump line %d: %s", d.line, fmt.Sprintf(format, args...))
}

// readLine returns the next line without its newline; io.EOF at the end.
func (d *DumpReader) readLine() ([]byte, error) {
	b, err := d.r.ReadBytes('\n')
	if err == io.EOF && len(b) == 0 {
		return nil, io.EOF
	}
	d.line++
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("dump line %d: %w", d.line, err)
	}
	if err == io.EOF {
		return nil, d.errorf("the last line is cut short (no newline); the dump is truncated")
	}
	return bytes.TrimSuffix(b, []byte("\n")), nil
}

// Next returns the next record, or io.EOF after the end line once the
// record count checked out. Errors name the line.
func (d *DumpReader) Next() (*Record, error) {
	if d.done {
		return nil, io.EOF
	}
	if d.line == 0 {
		if err := d.readHeader(); err != nil {
			return nil, err
		}
	}
	b, err := d.readLine()
	if err == io.EOF {
		d.line++ // where the end line should be
		return nil, d.errorf("the dump ends without its end line, after %d records; it is truncated", d.records)
	} else if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(b, []byte(`{"pedigreeDumpEnd"`)) {
		return nil, d.readEnd(b)
	}
	var r Record
	if err := r.UnmarshalJSON(b); err != nil {
		var le *Error
		if errors.As(err, &le) {
			return nil, d.errorf("%s", le.Message)
		}
		return nil, d.errorf("%v", err)
	}
	d.records++
	return &r, nil
}

func (d *DumpReader) readHeader() error {
	b, err := d.readLine()
	if err == io.EOF {
		d.line = 1
		return d.errorf("empty input; a dump starts with {\"pedigreeDump\":%d}", DumpVersion)
	} else if err != nil {
		return err
	}
	var h wireHeader
	if err := strictDecode(b, &h); err != nil || h.PedigreeDump == nil {
		return d.errorf("not a Pedigree dump: the first line must be {\"pedigreeDump\":%d}", DumpVersion)
	}
	if *h.PedigreeDump != DumpVersion {
		return d.errorf("dump format version %d is not supported (this pedigree reads version %d)", *h.PedigreeDump, DumpVersion)
	}
	return nil
}

func (d *DumpReader) readEnd(b []byte) error {
	var e wireEnd
	if err := strictDecode(b, &e); err != nil || e.PedigreeDumpEnd == nil || e.PedigreeDumpEnd.Records == nil {
		return d.errorf("malformed end line: want {\"pedigreeDumpEnd\":{\"records\":N}}")
	}
	if n := *e.PedigreeDumpEnd.Records; n != d.records {
		return d.errorf("the end line counts %d records, the dump has %d; it is damaged", n, d.records)
	}
	if _, err := d.readLine(); err != io.EOF {
		if err != nil {
			return err
		}
		return d.errorf("data after the end line")
	}
	d.done = true
	return io.EOF
}

// RestoreBatch bounds the records Restore writes in one Update, and
// RestoreBatchPoints the metric points.
const (
	RestoreBatch       = 500
	RestoreBatchPoints = 50_000
)

// Restore writes the records next returns, until it returns io.EOF, into
// s, which must be empty: ECONFLICT otherwise. The records come in the
// order a Dumper gives them (see Dumper); each is written as it was
// dumped, through the Tx interface: nodes and edges keep their times
// (removed edges stay removed), counters their values, and events their
// Seq, which Restore checks: an event that the target numbers otherwise
// (a gap in the dump's sequence) fails with ECONFLICT. The Service's
// rules are not applied again: a dump is trusted history.
//
// Emptiness is checked first, with Dump if s is a Dumper (which sees
// everything, soft-deleted nodes and documents included), otherwise with
// List of every kind and LastEventSeq (documents go unchecked then: they
// cannot be listed without knowing their collections). Restore writes in
// batches of RestoreBatch records (RestoreBatchPoints metric points), one
// Update each, so it is not atomic: a failed restore leaves a partial
// store, to be wiped before trying again. Nothing else may write to s
// meanwhile.
//
// What LogMetrics derives may differ in two corner cases: among points of
// the highest step with equal timestamps, a summary's Last is the one last
// in ComparePoints order (the source may have kept the one logged last); and a point
// logged identically (step, timestamp, value) in three or more batches may
// come back fewer times on a backend that stores a repeated batch once.
func Restore(ctx context.Context, s Store, next func() (*Record, error)) error {
	if err := checkEmpty(ctx, s); err != nil {
		return err
	}
	r := restorer{ctx: ctx, s: s}
	err := r.run(next)
	if err != nil && r.written > 0 {
		return suffixError(err, fmt.Sprintf(" (after %d records were written: the target holds part of the dump; wipe it before trying again)", r.written))
	}
	return err
}

type restorer struct {
	ctx     context.Context
	s       Store
	batch   []*Record
	points  int   // metric points in batch
	read    int64 // records read
	written int64 // records committed
}

func (r *restorer) run(next func() (*Record, error)) error {
	for {
		rec, err := next()
		if err == io.EOF {
			return r.flush()
		} else if err != nil {
			return err
		}
		r.read++
		if err := rec.validate(); err != nil {
			return prefixError(fmt.Sprintf("restore: record %d", r.read), err)
		}
		r.batch = append(r.batch, rec)
		if rec.Metrics != nil {
			r.points += len(rec.Metrics.Points)
		}
		if len(r.batch) >= RestoreBatch || r.points >= RestoreBatchPoints {
			if err := r.flush(); err != nil {
				return err
			}
		}
	}
}

// flush writes the batch in one Update.
func (r *restorer) flush() error {
	if len(r.batch) == 0 {
		return nil
	}
	err := r.s.Update(r.ctx, func(tx Tx) error {
		for i, rec := range r.batch {
			if err := restoreRecord(tx, rec); err != nil {
				return prefixError(fmt.Sprintf("restore: record %d (%s)", r.written+int64(i)+1, rec.describe()), err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.written += int64(len(r.batch))
	r.batch, r.points = r.batch[:0], 0
	return nil
}

// restoreRecord writes one record. It copies what Tx methods may change,
// so that a retried Update sees the records as dumped.
func restoreRecord(tx Tx, r *Record) error {
	switch {
	case r.Node != nil:
		n := *r.Node
		return tx.CreateNode(&n)
	case r.Edge != nil:
		return tx.AddEdge(*r.Edge)
	case r.RunData != nil:
		if err := tx.SetRunParams(r.RunData.Run, r.RunData.Params); err != nil {
			return err
		}
		return tx.SetRunTags(r.RunData.Run, r.RunData.Tags)
	case r.Metrics != nil:
		pts := make([]MetricPoint, len(r.Metrics.Points))
		for i, p := range r.Metrics.Points {
			pts[i] = MetricPoint{Key: r.Metrics.Key, Value: float64(p.Value), Step: p.Step, Timestamp: p.Timestamp}
		}
		return tx.LogMetrics(r.Metrics.Run, pts)
	case r.Transition != nil:
		return tx.AddTransition(*r.Transition)
	case r.Idempotency != nil:
		return tx.PutIdempotency(*r.Idempotency)
	case r.Counter != nil:
		return tx.SetCounter(r.Counter.Name, r.Counter.Value)
	case r.Event != nil:
		e := *r.Event
		e.Seq = 0
		if err := tx.AddEvent(&e); err != nil {
			return err
		}
		if e.Seq != r.Event.Seq {
			return Errorf(ECONFLICT, "the target numbered event %s %d, the dump %d: restore needs an empty target and events numbered 1, 2, 3, … without gaps",
				r.Event.ID, e.Seq, r.Event.Seq)
		}
	case r.Doc != nil:
		return tx.PutDoc(*r.Doc)
	}
	return nil
}

// prefixError puts context before an error's message, keeping an
// application error one, with its code, so that its message tells all
// (a wrapped one stays wrapped).
func prefixError(prefix string, err error) error {
	if le, ok := err.(*Error); ok {
		return &Error{Code: le.Code, Field: le.Field, Message: prefix + ": " + le.Message}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// suffixError appends to an error's message, keeping its code.
func suffixError(err error, suffix string) error {
	if le, ok := err.(*Error); ok {
		return &Error{Code: le.Code, Field: le.Field, Message: le.Message + suffix}
	}
	return fmt.Errorf("%w%s", err, suffix)
}

var errStopDump = errors.New("stop")

// checkEmpty returns ECONFLICT unless s holds nothing.
func checkEmpty(ctx context.Context, s Store) error {
	nonEmpty := func(what string) error {
		return Errorf(ECONFLICT, "restore: the target store must be empty, and it holds %s", what)
	}
	if d, ok := s.(Dumper); ok {
		var first *Record
		err := d.Dump(ctx, func(r *Record) error { first = r; return errStopDump })
		if first != nil {
			return nonEmpty(first.describe())
		}
		if err != nil && !errors.Is(err, errStopDump) {
			return err
		}
		return nil
	}
	seq, err := s.LastEventSeq(ctx)
	if err != nil {
		return err
	}
	if seq > 0 {
		return nonEmpty(fmt.Sprintf("events (up to seq %d)", seq))
	}
	var found *Node
	err = s.View(ctx, func(tx ReadTx) error {
		for _, k := range Kinds {
			p, err := tx.List(k, "", Page{First: 1})
			if err != nil {
				return err
			}
			if len(p.Nodes) > 0 {
				found = p.Nodes[0]
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if found != nil {
		return nonEmpty("node " + string(found.ID))
	}
	return nil
}
