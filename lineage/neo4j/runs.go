package neo4j

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/pedigree-ml/pedigree/lineage"
)

// SearchRuns compiles q to one Cypher statement (compileRuns) and reads a
// page of run IDs with it, first+1 rows to know HasNext. It behaves as the
// embedded store's SearchRuns does:
//
// A comparison on a metric, param or tag matches runs that have that key
// (an EXISTS subquery on the key, so != and NOT IN never match a run
// without it). Metrics compare their last value as numbers (a NaN last is
// stored as null and never matches), params and tags compare as strings;
// LIKE is case-sensitive and ILIKE is not for ASCII, both as a Java regular
// expression built here, whole-string, with % and _ matching newlines.
// startedAt and endedAt compare as instants (UTC DateTimes). Runs without
// the first OrderBy key (or with a NaN metric there) sort last, ascending
// or not; so do runs without a later key among those that tie before it;
// the newest (createdAt, then seq) come first among runs that tie on every
// key.
//
// Without OrderBy the cursor is a keyset (createdAt, seq) of the last run,
// stable under inserts; with OrderBy it is an offset. Both are opaque
// base64, in the embedded store's format. First < 1 means 100.
// Soft-deleted runs are left out. Errors are the embedded store's: EINVALID
// with field "orderBy", "filter" or "after".
func (s *Store) SearchRuns(ctx context.Context, q lineage.RunQuery) (*lineage.RunPage, error) {
	st, err := planRuns(q, q.Page.First)
	if err != nil {
		return nil, err
	}
	var p *lineage.RunPage
	err = s.read(ctx, func(r *reader) error {
		recs, err := r.collect(st.text, st.params)
		if err != nil {
			return err
		}
		p, err = st.page(recs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// compileRuns returns the one statement SearchRuns runs for q and a page
// of first runs (100 if first < 1): it returns id, createdAt and seq of up
// to first+1 runs, in order. The text is assembled only from constants in
// this file; every key and value is a parameter ($p0, $p1, … in order of
// appearance).
func compileRuns(q lineage.RunQuery, first int) (text string, params map[string]any, err error) {
	st, err := planRuns(q, first)
	if err != nil {
		return "", nil, err
	}
	return st.text, st.params, nil
}

// runsStatement is a compiled search and what reading its page needs.
type runsStatement struct {
	text   string
	params map[string]any
	first  int   // the page size; the statement reads one run more
	keyset bool  // no OrderBy: the cursor is (createdAt, seq)
	offset int64 // OrderBy: the runs skipped
}

// The run label, from the allowlist of kinds.
const runLabel = string(lineage.KindRun)

func planRuns(q lineage.RunQuery, first int) (runsStatement, error) {
	if first < 1 {
		first = 100
	}
	// Validate OrderBy before the filter and the filter before the cursor:
	// the embedded store reports the first of several errors in this order.
	for i := 1; i < len(q.OrderBy); i++ {
		if _, err := runsOrderTerm(i, q.OrderBy[i].Field); err != nil {
			return runsStatement{}, err
		}
	}
	if len(q.OrderBy) > 0 {
		if _, err := runsOrderTerm(0, q.OrderBy[0].Field); err != nil {
			return runsStatement{}, err
		}
	}

	b := &runsBuilder{params: map[string]any{}}
	where := []string{"n.deletedAt IS NULL"}
	if q.Experiment != "" {
		where = append(where, "n.parent = "+b.param(string(q.Experiment)))
	}
	if q.Filter != nil {
		c, err := b.filter(q.Filter, 0)
		if err != nil {
			return runsStatement{}, err
		}
		where = append(where, c)
	}

	st := runsStatement{first: first, keyset: len(q.OrderBy) == 0}
	if st.keyset {
		var created, seq int64
		if err := lineage.DecodeCursor(q.Page.After, 'r', &created, &seq); err != nil {
			return runsStatement{}, err
		}
		if q.Page.After != "" {
			// In UTC, as the writer stamps createdAt: Cypher's DateTime
			// equality (and order among equal instants) depends on the zone.
			c, s := b.param(time.Unix(0, created).UTC()), b.param(seq)
			where = append(where, "(n.createdAt < "+c+" OR (n.createdAt = "+c+" AND n.seq < "+s+"))")
		}
	} else if err := lineage.DecodeCursor(q.Page.After, 'o', &st.offset); err != nil || st.offset < 0 {
		return runsStatement{}, lineage.Invalid("after", "is not a valid cursor")
	}

	var sb strings.Builder
	sb.WriteString("MATCH (n:Node:" + runLabel + ")\nWHERE " + strings.Join(where, "\n  AND ") + "\n")
	var order []string
	for i, o := range q.OrderBy {
		t, _ := runsOrderTerm(i, o.Field) // checked above
		if t.label != "" {
			sb.WriteString("OPTIONAL MATCH (" + t.alias + ":" + t.label + " {run: n.id, key: " + b.param(o.Field.Key) + "})\n")
		}
		// Cypher sorts nulls last ascending but first descending: the
		// IS NULL term puts runs without the key last either way.
		order = append(order, t.expr+" IS NULL", t.expr+runsDirection(o))
	}
	order = append(order, "n.createdAt DESC", "n.seq DESC")
	sb.WriteString("RETURN n.id AS id, n.createdAt AS createdAt, n.seq AS seq\n")
	sb.WriteString("ORDER BY " + strings.Join(order, ", ") + "\n")
	if !st.keyset {
		sb.WriteString("SKIP " + b.param(st.offset) + "\n")
	}
	limit := int64(first) + 1
	if limit < 1 { // first+1 overflowed: no limit, as in the embedded store
		limit = math.MaxInt64
	}
	sb.WriteString("LIMIT " + b.param(limit))
	st.text, st.params = sb.String(), b.params
	return st, nil
}

// page reads the records of a runsStatement into a page of st.first runs.
func (st runsStatement) page(recs []*neo4j.Record) (*lineage.RunPage, error) {
	p := &lineage.RunPage{}
	var last struct {
		created time.Time
		seq     int64
	}
	for i, rec := range recs {
		if i == st.first {
			p.HasNext = true
			break
		}
		id, _ := rec.Get("id")
		created, _ := rec.Get("createdAt")
		seq, _ := rec.Get("seq")
		sid, ok := id.(string)
		if !ok || sid == "" {
			return nil, fmt.Errorf("search runs: row %d: want a run id, got %T", i, id)
		}
		var err error
		if last.created, err = asTime(created); err != nil {
			return nil, fmt.Errorf("search runs: run %s: createdAt: %w", sid, err)
		}
		if last.seq, err = asInt(seq); err != nil {
			return nil, fmt.Errorf("search runs: run %s: seq: %w", sid, err)
		}
		p.IDs = append(p.IDs, lineage.ID(sid))
	}
	if len(p.IDs) == 0 {
		return p, nil
	}
	if st.keyset {
		p.EndCursor = lineage.EncodeCursor('r', last.created.UnixNano(), last.seq)
	} else {
		p.EndCursor = lineage.EncodeCursor('o', st.offset+int64(len(p.IDs)))
	}
	return p, nil
}

// runsBuilder numbers the parameters of a statement being built.
type runsBuilder struct {
	params   map[string]any
	compares int
}

// param adds a parameter and returns its reference, $p<n>.
func (b *runsBuilder) param(v any) string {
	name := "p" + strconv.Itoa(len(b.params))
	b.params[name] = v
	return "$" + name
}

func runsDirection(o lineage.OrderBy) string {
	if o.Desc {
		return " DESC"
	}
	return ""
}

// Bounds on a filter: the embedded store's, so that both refuse the same
// filters (ParseFilter's own limits are lower).
const (
	runsMaxCompares = 100
	runsMaxDepth    = 100
	runsMaxValues   = 1000
)

// runAttribute is a run attribute: a property of the Run node.
type runAttribute struct {
	prop    string // n.<prop>
	instant bool   // a DateTime; compared with RFC 3339 strings or unix ms
}

var runAttributes = map[string]runAttribute{
	"status":     {prop: "n.runStatus"},
	"name":       {prop: "n.runName"},
	"run_name":   {prop: "n.runName"},
	"experiment": {prop: "n.runExperiment"},
	"pipeline":   {prop: "n.runPipeline"},
	"startedAt":  {prop: "n.runStartedAt", instant: true},
	"start_time": {prop: "n.runStartedAt", instant: true},
	"endedAt":    {prop: "n.runEndedAt", instant: true},
	"end_time":   {prop: "n.runEndedAt", instant: true},
	"id":         {prop: "n.id"},
	"run_id":     {prop: "n.id"},
}

// runDataKinds are the run data namespaces: the label of their nodes and
// the property a comparison or ordering reads.
var runDataKinds = map[string]struct{ label, prop string }{
	"metrics": {"Metric", "last"},
	"params":  {"Param", "value"},
	"tags":    {"Tag", "value"},
}

// runsSortTerm is how Cypher reads an OrderBy field: expr, from an
// OPTIONAL MATCH of a run data node (label, bound to alias), or a property
// of n.
type runsSortTerm struct {
	expr, label, alias string
}

func runsOrderTerm(i int, f lineage.FieldRef) (runsSortTerm, error) {
	switch f.Namespace {
	case "metrics", "params", "tags":
		k := runDataKinds[f.Namespace]
		alias := "o" + strconv.Itoa(i)
		return runsSortTerm{expr: alias + "." + k.prop, label: k.label, alias: alias}, nil
	case "attributes":
		if a, ok := runAttributes[f.Key]; ok {
			return runsSortTerm{expr: a.prop}, nil
		}
		return runsSortTerm{}, lineage.Invalid("orderBy", "unknown attribute %q", f.Key)
	}
	return runsSortTerm{}, lineage.Invalid("orderBy", "unknown namespace %q: use metrics, params, tags or attributes", f.Namespace)
}

func (b *runsBuilder) filter(f lineage.Filter, depth int) (string, error) {
	if depth > runsMaxDepth {
		return "", lineage.Invalid("filter", "is nested too deeply")
	}
	leaf, and, l, r, err := lineage.FilterParts(f)
	if err != nil {
		return "", err
	}
	if leaf != nil {
		return b.compare(*leaf)
	}
	ls, err := b.filter(l, depth+1)
	if err != nil {
		return "", err
	}
	rs, err := b.filter(r, depth+1)
	if err != nil {
		return "", err
	}
	op := " OR "
	if and {
		op = " AND "
	}
	return "(" + ls + op + rs + ")", nil
}

// runsOps normalizes filter operators to the embedded store's names (its
// error messages use them); cypherOps maps those to Cypher.
var (
	runsOps = map[string]string{
		"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
		"LIKE": "LIKE", "ILIKE": "ILIKE", "IN": "IN", "NOT IN": "NOT IN",
	}
	cypherOps = map[string]string{"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
)

func (b *runsBuilder) compare(c lineage.Compare) (string, error) {
	b.compares++
	if b.compares > runsMaxCompares {
		return "", lineage.Invalid("filter", "has more than %d comparisons", runsMaxCompares)
	}
	name := c.Field.Namespace + "." + c.Field.Key
	op, ok := runsOps[strings.Join(strings.Fields(strings.ToUpper(c.Op)), " ")]
	if !ok {
		return "", lineage.Invalid("filter", "%s: unknown operator %q", name, c.Op)
	}
	list := op == "IN" || op == "NOT IN"
	switch {
	case list && (len(c.Values) == 0 || len(c.Values) > runsMaxValues):
		return "", lineage.Invalid("filter", "%s: %s needs 1 to %d values", name, op, runsMaxValues)
	case !list && len(c.Values) != 1:
		return "", lineage.Invalid("filter", "%s: %s needs one value", name, op)
	}
	like := op == "LIKE" || op == "ILIKE"

	var (
		data bool   // a metric, param or tag: a subquery on the run's data node d
		col  string // what is compared
		conv func(any) (any, error)
	)
	switch c.Field.Namespace {
	case "metrics":
		if like {
			return "", lineage.Invalid("filter", "%s: metrics are numbers; %s does not apply", name, op)
		}
		data, col, conv = true, "d.last", runsMetricValue
	case "params", "tags":
		data, col, conv = true, "d.value", runsText
	case "attributes":
		a, ok := runAttributes[c.Field.Key]
		if !ok {
			return "", lineage.Invalid("filter", "unknown attribute %q", c.Field.Key)
		}
		col, conv = a.prop, runsText
		if a.instant {
			if like {
				return "", lineage.Invalid("filter", "%s: is a time; %s does not apply", name, op)
			}
			conv = runsInstant
		}
	default:
		return "", lineage.Invalid("filter", "unknown namespace %q: use metrics, params, tags or attributes", c.Field.Namespace)
	}

	vals := make([]any, 0, len(c.Values))
	for _, v := range c.Values {
		x, err := conv(v)
		if err != nil {
			return "", lineage.Invalid("filter", "%s: %v", name, err)
		}
		if like {
			re, err := likeRegex(x.(string), op == "LIKE")
			if err != nil {
				return "", lineage.Invalid("filter", "%s: %v", name, err)
			}
			x = re
		}
		vals = append(vals, x)
	}

	// The key's parameter comes first, as it appears first in the text.
	var key string
	if data {
		key = b.param(c.Field.Key)
	}
	var cond string
	switch op {
	case "IN":
		cond = col + " IN " + b.param(vals)
	case "NOT IN":
		cond = "NOT (" + col + " IN " + b.param(vals) + ")"
	case "LIKE", "ILIKE":
		cond = col + " =~ " + b.param(vals[0])
	default:
		cond = col + " " + cypherOps[op] + " " + b.param(vals[0])
	}
	if data {
		k := runDataKinds[c.Field.Namespace]
		return "EXISTS { MATCH (d:" + k.label + " {run: n.id, key: " + key + "}) WHERE " + cond + " }", nil
	}
	return cond, nil
}

// runsMetricValue is runsNumber with NaN as null: the embedded store binds
// NaN as NULL, which no comparison matches, and so does Cypher's null
// (whereas NaN <> x is true in Cypher).
func runsMetricValue(v any) (any, error) {
	x, err := runsNumber(v)
	if f, ok := x.(float64); ok && math.IsNaN(f) {
		return nil, nil
	}
	return x, err
}

// runsNumber, runsText and runsInstant bind a Compare's values (see
// lineage.NumberValue); instants as UTC times, as runStartedAt and
// runEndedAt hold (DateTime equality and ordering in Cypher depend on the
// zone, not only the instant).
func runsNumber(v any) (any, error) { return runsBind(lineage.NumberValue(v)) }

func runsText(v any) (any, error) { return runsBind(lineage.TextValue(v)) }

func runsInstant(v any) (any, error) { return runsBind(lineage.InstantValue(v)) }

func runsBind[T any](v T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// likeRegex rewrites a LIKE pattern (% any run, _ one character, backslash
// escapes the next character) as a Java regular expression for Cypher's =~,
// which matches the whole string: (?s) so that wildcards match newlines,
// (?i) for ILIKE (ASCII only, as Java's flag and SQLite's LIKE are). Every
// ASCII punctuation character of the text is escaped with a backslash,
// which Java (and Go) read as that character, whatever it is: no \Q…\E, so
// text holding \E cannot end a quote. A run of % is one .*, so that a
// pattern cannot make the regex engine backtrack over identical stars.
func likeRegex(p string, caseSensitive bool) (string, error) {
	var sb strings.Builder
	if caseSensitive {
		sb.WriteString("(?s)")
	} else {
		sb.WriteString("(?si)")
	}
	rs := []rune(p) // as the embedded store reads patterns
	star := false
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch c {
		case '\\':
			if i+1 == len(rs) {
				return "", fmt.Errorf("pattern ends with an escape")
			}
			i++
			c = rs[i]
		case '%':
			if !star {
				sb.WriteString(".*")
			}
			star = true
			continue
		case '_':
			sb.WriteByte('.')
			star = false
			continue
		}
		star = false
		if c < 0x80 && c > ' ' && c != 0x7f && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			sb.WriteByte('\\')
		}
		sb.WriteRune(c)
	}
	return sb.String(), nil
}
