package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pedigree-ml/pedigree/lineage"
)

// SearchRuns compiles q to SQL. Every value and key is a bound parameter;
// the SQL text is assembled only from constants in this file. Comparisons
// on metrics, params and tags are sets of runs, combined with INTERSECT and
// UNION where AND and OR join two of them (measured 3–60× faster than one
// semi-join per comparison at 100,000 runs); attributes are indexed columns
// of nodes. When most runs match a filter, walking the order and testing
// each run is cheaper still, so a filtered search tries that first on a
// bounded prefix (see keyedRuns).
//
// A comparison on a metric, param or tag matches runs that have that key
// (so != and NOT IN never match a run without it). Metrics compare their
// last value as numbers, params and tags compare as strings (LIKE is
// case-sensitive, ILIKE is not for ASCII), startedAt and endedAt as
// instants. Runs without the first OrderBy key sort last, ascending or
// not: they are a second SELECT, read only when a page gets past the runs
// that have it, so that the first can walk the key's index and stop.
//
// Without OrderBy the cursor is a keyset (created_at, seq) of the last run,
// stable under inserts; with OrderBy it is an offset. Both are opaque
// base64. First < 1 means 100. Soft-deleted runs are left out.
func (s *Store) SearchRuns(ctx context.Context, q lineage.RunQuery) (*lineage.RunPage, error) {
	first := q.Page.First
	if first < 1 {
		first = 100
	}
	plan, err := planRuns(q)
	if err != nil {
		return nil, err
	}
	p := &lineage.RunPage{}
	var off int64
	if len(q.OrderBy) == 0 {
		var created, seq int64
		if err := lineage.DecodeCursor(q.Page.After, 'r', &created, &seq); err != nil {
			return nil, err
		}
		if q.Page.After != "" {
			for _, sel := range []*runSelect{&plan.keyed, &plan.probe, &plan.scan} {
				sel.cond("(n.created_at, n.seq) < (?, ?)", created, seq)
			}
		}
	} else if err := lineage.DecodeCursor(q.Page.After, 'o', &off); err != nil || off < 0 {
		return nil, lineage.Invalid("after", "is not a valid cursor")
	}
	rows, err := s.keyedRuns(ctx, plan, first+1, off)
	if err != nil {
		return nil, err
	}
	if len(rows) <= first && len(q.OrderBy) > 0 { // past the runs with the key: those without follow
		keyed := off + int64(len(rows))
		if len(rows) == 0 && off > 0 {
			if keyed, err = s.countRuns(ctx, plan.keyed); err != nil {
				return nil, err
			}
		}
		more, err := s.runRows(ctx, plan.missing, first+1-len(rows), max(0, off-keyed))
		if err != nil {
			return nil, err
		}
		rows = append(rows, more...)
	}
	if p.IDs, p.HasNext = pageIDs(rows, first); len(p.IDs) == 0 {
		return p, nil
	}
	if len(q.OrderBy) == 0 {
		last := rows[len(p.IDs)-1]
		p.EndCursor = lineage.EncodeCursor('r', last.created, last.seq)
	} else {
		p.EndCursor = lineage.EncodeCursor('o', off+int64(len(p.IDs)))
	}
	return p, nil
}

// A filtered search first tests the first probeFirst runs in its order
// one by one. If they hold no full page, the share that matched says how
// many runs a page needs; up to probeMax it tests that many, beyond it
// builds the filter's sets. Variables for tests.
var probeFirst, probeMax = 256, 2048

// keyedRuns returns the runs at [off, off+limit) of plan.keyed: from a
// prefix of the order tested one run at a time when most runs match, else
// from the filter's sets.
func (s *Store) keyedRuns(ctx context.Context, plan runPlan, limit int, off int64) ([]runRow, error) {
	if !plan.filtered || probeFirst < 1 || off > 0 {
		return s.runRows(ctx, plan.keyed, limit, off)
	}
	for window := probeFirst; window <= probeMax; {
		// The prefix is every run whose first sort value is at or before
		// the window's last run's.
		probe := plan.probe.clone()
		q, args := plan.scan.sql(plan.sortExpr)
		var bound any
		err := s.rdb.QueryRowContext(ctx, q+" LIMIT 1 OFFSET ?", append(args, window-1)...).Scan(&bound)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, formatError("search runs", err)
		}
		whole := err != nil // the window holds every run
		if !whole {
			probe.cond(plan.sortExpr+plan.boundOp+" ?", bound)
		}
		rows, err := s.runRows(ctx, probe, limit, 0)
		if err != nil || len(rows) == limit || whole {
			return rows, err
		}
		if len(rows) == 0 {
			break
		}
		window = max(window*2, limit*window*3/(2*len(rows)))
	}
	return s.runRows(ctx, plan.keyed, limit, off)
}

type runRow struct {
	id           lineage.ID
	seq, created int64
}

func pageIDs(rows []runRow, first int) ([]lineage.ID, bool) {
	var ids []lineage.ID
	for _, r := range rows[:min(first, len(rows))] {
		ids = append(ids, r.id)
	}
	return ids, len(rows) > first
}

func (s *Store) runRows(ctx context.Context, sel runSelect, limit int, offset int64) ([]runRow, error) {
	q, args := sel.sql("n.id, n.seq, n.created_at")
	rows, err := s.rdb.QueryContext(ctx, q+" LIMIT ? OFFSET ?", append(args, limit, offset)...)
	if err != nil {
		return nil, formatError("search runs", err)
	}
	defer rows.Close()
	var out []runRow
	for rows.Next() {
		var r runRow
		if err := rows.Scan(&r.id, &r.seq, &r.created); err != nil {
			return nil, formatError("search runs", err)
		}
		out = append(out, r)
	}
	return out, formatError("search runs", rows.Err())
}

func (s *Store) countRuns(ctx context.Context, sel runSelect) (int64, error) {
	sel.order = nil
	q, args := sel.sql("count(*)")
	var n int64
	err := s.rdb.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, formatError("search runs", err)
}

// runSelect is a SELECT over runs being built: each part keeps its
// arguments, so they stay in the order of the SQL text.
type runSelect struct {
	joins, where, order []string
	joinArgs, whereArgs []any
}

func (r *runSelect) cond(c string, args ...any) {
	r.where = append(r.where, c)
	r.whereArgs = append(r.whereArgs, args...)
}

func (r runSelect) clone() runSelect {
	return runSelect{slices.Clone(r.joins), slices.Clone(r.where), slices.Clone(r.order),
		slices.Clone(r.joinArgs), slices.Clone(r.whereArgs)}
}

func (r runSelect) sql(cols string) (string, []any) {
	q := "SELECT " + cols + " FROM nodes n" + strings.Join(r.joins, "") + " WHERE " + strings.Join(r.where, " AND ")
	if len(r.order) > 0 {
		q += " ORDER BY " + strings.Join(r.order, ", ")
	}
	return q, append(slices.Clone(r.joinArgs), r.whereArgs...)
}

// runPlan is what SearchRuns runs. keyed selects the runs that have the
// first OrderBy key (all runs without OrderBy) in order, missing the runs
// that do not. A filtered plan also has probe, keyed with the filter in its
// one-run-at-a-time form, and scan, keyed without the filter, to find how
// far along sortExpr a prefix of the order reaches (boundOp, ">=" or "<=",
// keeps a prefix).
type runPlan struct {
	keyed, missing, probe, scan runSelect
	filtered                    bool
	sortExpr, boundOp           string
}

func planRuns(q lineage.RunQuery) (runPlan, error) {
	// kind as a literal: the partial indexes on runs only match it so.
	base := runSelect{where: []string{"n.kind = '" + string(lineage.KindRun) + "'", "n.deleted_at IS NULL"}}
	if q.Experiment != "" {
		base.cond("n.parent = ?", string(q.Experiment))
	}
	for i, o := range q.OrderBy {
		if i == 0 {
			continue
		}
		t, err := orderTerm(i, o.Field)
		if err != nil {
			return runPlan{}, err
		}
		if t.join != "" {
			base.joins = append(base.joins, " LEFT"+t.join)
			base.joinArgs = append(base.joinArgs, o.Field.Key)
		}
		base.order = append(base.order, t.expr+" IS NULL", t.expr+direction(o))
	}
	base.order = append(base.order, "n.created_at DESC", "n.seq DESC")

	plan := runPlan{sortExpr: "n.created_at", boundOp: " >="}
	keyed, missing := base.clone(), base.clone()
	if len(q.OrderBy) > 0 {
		o := q.OrderBy[0]
		t, err := orderTerm(0, o.Field)
		if err != nil {
			return runPlan{}, err
		}
		if t.join != "" {
			keyed.joins = append([]string{t.join}, keyed.joins...)
			keyed.joinArgs = append([]any{o.Field.Key}, keyed.joinArgs...)
			missing.cond("n.seq NOT IN (SELECT run FROM "+t.table+" WHERE key = ? AND "+t.col+" IS NOT NULL)", o.Field.Key)
		} else {
			missing.cond(t.expr + " IS NULL")
		}
		keyed.cond(t.expr + " IS NOT NULL")
		keyed.order = append([]string{t.expr + direction(o)}, keyed.order...)
		plan.sortExpr = t.expr
		if !o.Desc {
			plan.boundOp = " <="
		}
	}
	plan.scan, plan.probe = keyed.clone(), keyed.clone()
	if q.Filter != nil {
		p, err := (&runQuery{}).filter(q.Filter, 0)
		if err != nil {
			return runPlan{}, err
		}
		c, args := p.cond()
		keyed.cond(c, args...)
		missing.cond(c, args...)
		plan.probe.cond(p.probe, p.args...)
		plan.filtered = true
	}
	plan.keyed, plan.missing = keyed, missing
	return plan, nil
}

func direction(o lineage.OrderBy) string {
	if o.Desc {
		return " DESC"
	}
	return ""
}

// Bounds on a filter, far above what a person writes, below SQLite's
// expression depth (1000) and variable (32766) limits.
const (
	maxCompares = 100
	maxDepth    = 100
	maxValues   = 1000
)

// attribute is a run attribute: a column of nodes filled from props.
type attribute struct {
	col     string
	instant bool // unix ns; compared with RFC 3339 strings or unix ms
}

var attributes = map[string]attribute{
	"status":     {col: "n.run_status"},
	"name":       {col: "n.run_name"},
	"run_name":   {col: "n.run_name"},
	"experiment": {col: "n.run_experiment"},
	"pipeline":   {col: "n.run_pipeline"},
	"startedAt":  {col: "n.run_started_at", instant: true},
	"start_time": {col: "n.run_started_at", instant: true},
	"endedAt":    {col: "n.run_ended_at", instant: true},
	"end_time":   {col: "n.run_ended_at", instant: true},
	"id":         {col: "n.id"},
	"run_id":     {col: "n.id"},
}

var kvTables = map[string]string{"params": "run_params", "tags": "run_tags"}

// sortTerm is how SQL reads an OrderBy field: expr, from a join (its ON
// clause binds the key) of table's col, or from a column of n.
type sortTerm struct {
	expr, join, table, col string
}

func orderTerm(i int, f lineage.FieldRef) (sortTerm, error) {
	alias := "o" + strconv.Itoa(i)
	switch f.Namespace {
	case "metrics", "params", "tags":
		t := sortTerm{table: "run_metrics", col: "last"}
		if f.Namespace != "metrics" {
			t = sortTerm{table: kvTables[f.Namespace], col: "value"}
		}
		t.expr = alias + "." + t.col
		t.join = " JOIN " + t.table + " " + alias + " ON " + alias + ".run = n.seq AND " + alias + ".key = ?"
		return t, nil
	case "attributes":
		if a, ok := attributes[f.Key]; ok {
			return sortTerm{expr: a.col}, nil
		}
		return sortTerm{}, lineage.Invalid("orderBy", "unknown attribute %q", f.Key)
	}
	return sortTerm{}, lineage.Invalid("orderBy", "unknown namespace %q: use metrics, params, tags or attributes", f.Namespace)
}

// runQuery compiles a filter.
type runQuery struct {
	compares int
}

// part is a compiled piece of a filter: a condition on n, or a set of runs
// (a SELECT of one column, run). probe is the same test as a condition on
// n that looks up one run at a time (EXISTS on the table's primary key):
// cheaper than building the sets when most runs match. Both forms take
// args in the same order.
type part struct {
	sql      string
	probe    string
	args     []any
	set      bool
	compound bool // a compound SELECT: an operand of another only as a subquery
}

func (p part) cond() (string, []any) {
	if p.set {
		return "n.seq IN (" + p.sql + ")", p.args
	}
	return p.sql, p.args
}

func (p part) operand() string {
	if p.compound {
		return "SELECT run FROM (" + p.sql + ")"
	}
	return p.sql
}

func (b *runQuery) filter(f lineage.Filter, depth int) (part, error) {
	if depth > maxDepth {
		return part{}, lineage.Invalid("filter", "is nested too deeply")
	}
	leaf, and, l, r, err := lineage.FilterParts(f)
	if err != nil {
		return part{}, err
	}
	if leaf != nil {
		return b.compare(*leaf)
	}
	lp, err := b.filter(l, depth+1)
	if err != nil {
		return part{}, err
	}
	rp, err := b.filter(r, depth+1)
	if err != nil {
		return part{}, err
	}
	args := append(lp.args, rp.args...)
	op := " OR "
	if and {
		op = " AND "
	}
	probe := "(" + lp.probe + op + rp.probe + ")"
	if lp.set && rp.set {
		setOp := " UNION "
		if and {
			setOp = " INTERSECT "
		}
		return part{sql: lp.operand() + setOp + rp.operand(), probe: probe, args: args, set: true, compound: true}, nil
	}
	ls, _ := lp.cond()
	rs, _ := rp.cond()
	return part{sql: "(" + ls + op + rs + ")", probe: probe, args: args}, nil
}

// sqlOps maps filter operators to SQL; the LIKEs are rewritten per namespace.
var sqlOps = map[string]string{
	"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
	"LIKE": "LIKE", "ILIKE": "ILIKE", "IN": "IN", "NOT IN": "NOT IN",
}

func (b *runQuery) compare(c lineage.Compare) (part, error) {
	b.compares++
	if b.compares > maxCompares {
		return part{}, lineage.Invalid("filter", "has more than %d comparisons", maxCompares)
	}
	name := c.Field.Namespace + "." + c.Field.Key
	op, ok := sqlOps[strings.Join(strings.Fields(strings.ToUpper(c.Op)), " ")]
	if !ok {
		return part{}, lineage.Invalid("filter", "%s: unknown operator %q", name, c.Op)
	}
	list := op == "IN" || op == "NOT IN"
	switch {
	case list && (len(c.Values) == 0 || len(c.Values) > maxValues):
		return part{}, lineage.Invalid("filter", "%s: %s needs 1 to %d values", name, op, maxValues)
	case !list && len(c.Values) != 1:
		return part{}, lineage.Invalid("filter", "%s: %s needs one value", name, op)
	}
	like := op == "LIKE" || op == "ILIKE"

	var (
		p     part
		table string
		col   string
		conv  func(any) (any, error)
	)
	switch c.Field.Namespace {
	case "metrics":
		if like {
			return part{}, lineage.Invalid("filter", "%s: metrics are numbers; %s does not apply", name, op)
		}
		p = part{args: []any{c.Field.Key}, set: true}
		table, col, conv = "run_metrics", "last", number
	case "params", "tags":
		p = part{args: []any{c.Field.Key}, set: true}
		table, col, conv = kvTables[c.Field.Namespace], "value", text
	case "attributes":
		a, ok := attributes[c.Field.Key]
		if !ok {
			return part{}, lineage.Invalid("filter", "unknown attribute %q", c.Field.Key)
		}
		col, conv = a.col, text
		if a.instant {
			if like {
				return part{}, lineage.Invalid("filter", "%s: is a time; %s does not apply", name, op)
			}
			conv = instant
		}
	default:
		return part{}, lineage.Invalid("filter", "unknown namespace %q: use metrics, params, tags or attributes", c.Field.Namespace)
	}

	for _, v := range c.Values {
		x, err := conv(v)
		if err != nil {
			return part{}, lineage.Invalid("filter", "%s: %v", name, err)
		}
		if like {
			pat, err := likePattern(x.(string), op == "LIKE")
			if err != nil {
				return part{}, lineage.Invalid("filter", "%s: %v", name, err)
			}
			x = pat
		}
		p.args = append(p.args, x)
	}
	var cond string
	switch op {
	case "IN", "NOT IN":
		cond = col + " " + op + " (" + placeholders(len(c.Values)) + ")"
	case "LIKE":
		cond = col + " GLOB ?" // case-sensitive, unlike SQLite's LIKE
	case "ILIKE":
		cond = col + ` LIKE ? ESCAPE '\'`
	default:
		cond = col + " " + op + " ?"
	}
	if p.set {
		p.sql = "SELECT run FROM " + table + " WHERE key = ? AND " + cond
		p.probe = "EXISTS (SELECT 1 FROM " + table + " WHERE run = n.seq AND key = ? AND " + cond + ")"
	} else {
		p.sql, p.probe = cond, cond
	}
	return p, nil
}

// number, text and instant bind a Compare's values (see lineage.NumberValue);
// instants as unix nanoseconds, as the run_*_at columns hold.
func number(v any) (any, error) { return bind(lineage.NumberValue(v)) }

func text(v any) (any, error) { return bind(lineage.TextValue(v)) }

func instant(v any) (any, error) {
	t, err := lineage.InstantValue(v)
	return bind(t.UnixNano(), err)
}

func bind[T any](v T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// likePattern rewrites a LIKE pattern (% any run, _ one character,
// backslash escapes the next character) for GLOB (case-sensitive) or for
// LIKE … ESCAPE '\'.
func likePattern(p string, glob bool) (string, error) {
	var sb strings.Builder
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '\\':
			if i+1 == len(rs) {
				return "", fmt.Errorf("pattern ends with an escape")
			}
			i++
			c = rs[i]
		case c == '%' && glob:
			sb.WriteByte('*')
			continue
		case c == '_' && glob:
			sb.WriteByte('?')
			continue
		case c == '%' || c == '_':
			sb.WriteRune(c)
			continue
		}
		// c is a literal.
		switch {
		case glob && (c == '*' || c == '?' || c == '['):
			sb.WriteString("[" + string(c) + "]")
		case !glob && (c == '%' || c == '_' || c == '\\'):
			sb.WriteString(`\` + string(c))
		default:
			sb.WriteRune(c)
		}
	}
	return sb.String(), nil
}
