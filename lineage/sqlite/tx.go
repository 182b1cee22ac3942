package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Statements prepared once per pool at Open; a transaction binds the ones it
// uses (database/sql reuses the connection's prepared form).
type stmtKey int

const (
	sNode stmtKey = iota
	sSeq
	sEnds
	sHistory
	sSummary
	sIdempotency
	sLastModelSeq
	sEdgesUp
	sEdgesDown
	sEdgesBoth
	sNodes
	sRunData
	sRunParamsOf
	sRunTagsOf
	sRunMetricsOf
	sGraphVersion
	sDoc
	sDocsAsc
	sDocsAscBelow
	sDocsDesc
	sDocsDescBelow
	sInsertNode // writes from here on
	sUpdateNode
	sDeleteNode
	sInsertEdge
	sRemoveEdge
	sNextVersion
	sSetCounter
	sSetParam
	sSetTag
	sInsertChunk
	sPutSummary
	sAddTransition
	sPutIdempotency
	sAddEvent
	sBumpGraph
	sRunDataRow
	sRunDataParams
	sRunDataTags
	sRunDataMetrics
	sPutDoc
	sDeleteDoc
	nStmts
)

const nReadStmts = sInsertNode

const nodeCols = `id, kind, parent, name, props, created_at, updated_at, deleted_at`

var stmtSQL = [nStmts]string{
	sNode:         `SELECT ` + nodeCols + ` FROM nodes WHERE id = ?`,
	sSeq:          `SELECT seq FROM nodes WHERE id = ?`,
	sEnds:         `SELECT (SELECT seq FROM nodes WHERE id = ?), (SELECT seq FROM nodes WHERE id = ?)`,
	sHistory:      `SELECT min_step, points FROM metric_chunks WHERE run = ? AND key = ? AND max_step > ? ORDER BY min_step`,
	sSummary:      `SELECT last, last_step, last_ts, min, max, count FROM run_metrics WHERE run = ? AND key = ?`,
	sIdempotency:  `SELECT key, operation, digest, result, created_at FROM idempotency WHERE key = ?`,
	sLastModelSeq: `SELECT coalesce(max(model_seq), 0) FROM events WHERE model = ?`,
	// The hot reads take their lists (IDs, edge types) as one JSON array
	// parameter, so that each is one statement prepared once per connection
	// instead of one per list length, prepared on every call (~10% of a
	// compareRuns profile).
	sEdgesUp:   edgesSQL(`e.src = (SELECT seq FROM nodes WHERE id = ?1)`),
	sEdgesDown: edgesSQL(`e.dst = (SELECT seq FROM nodes WHERE id = ?1)`),
	sEdgesBoth: edgesSQL(`(e.src = (SELECT seq FROM nodes WHERE id = ?1) OR e.dst = (SELECT seq FROM nodes WHERE id = ?1))`),
	sNodes:     nodesSQL(jsonList),
	sRunData:   runDataSQL(jsonList),
	// The parts run_data leaves to the tables, by run seq (a JSON array of numbers).
	sRunParamsOf:  `SELECT run, key, value FROM run_params WHERE run IN (` + jsonList + `)`,
	sRunTagsOf:    `SELECT run, key, value FROM run_tags WHERE run IN (` + jsonList + `)`,
	sRunMetricsOf: `SELECT run, key, last, last_step, min, max, count FROM run_metrics WHERE run IN (` + jsonList + `) ORDER BY run, key`,
	sGraphVersion: `SELECT version FROM graph_version`,
	sDoc:          `SELECT value FROM docs WHERE collection = ? AND key = ?`,
	// Docs is a range of the primary key (see reader.Docs): keys from ?2 on,
	// below ?4 in the bounded forms.
	sDocsAsc:       docsSQL(`key >= ?2`, `key`),
	sDocsAscBelow:  docsSQL(`key >= ?2 AND key < ?4`, `key`),
	sDocsDesc:      docsSQL(`key >= ?2`, `key DESC`),
	sDocsDescBelow: docsSQL(`key >= ?2 AND key < ?4`, `key DESC`),
	sInsertNode: `INSERT INTO nodes (id, kind, parent, name, name_fold, props, created_at, updated_at, deleted_at,
		run_status, run_name, run_experiment, run_pipeline, run_started_at, run_ended_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	sUpdateNode: `UPDATE nodes SET name = ?, name_fold = ?, props = ?, updated_at = ?, deleted_at = ?,
		run_status = CASE WHEN kind = 'Run' THEN ? END, run_name = CASE WHEN kind = 'Run' THEN ? END,
		run_experiment = CASE WHEN kind = 'Run' THEN ? END, run_pipeline = CASE WHEN kind = 'Run' THEN ? END,
		run_started_at = CASE WHEN kind = 'Run' THEN ? END, run_ended_at = CASE WHEN kind = 'Run' THEN ? END
		WHERE id = ?`,
	sDeleteNode: `DELETE FROM nodes WHERE seq = ?`,
	sInsertEdge: `INSERT INTO edges (src, dst, type, role, created_at, removed_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
	sRemoveEdge: `UPDATE edges SET removed_at = ? WHERE src = ? AND dst = ? AND type = ? AND removed_at IS NULL`,
	sNextVersion: `INSERT INTO counters (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`,
	sSetCounter: `INSERT INTO counters (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
	sSetParam: `INSERT INTO run_params (run, key, value) VALUES (?, ?, ?)
		ON CONFLICT (run, key) DO UPDATE SET value = excluded.value`,
	sSetTag: `INSERT INTO run_tags (run, key, value) VALUES (?, ?, ?)
		ON CONFLICT (run, key) DO UPDATE SET value = excluded.value`,
	sInsertChunk: `INSERT INTO metric_chunks (run, key, min_step, max_step, digest, n, points) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
	sPutSummary: `INSERT OR REPLACE INTO run_metrics (run, key, last, last_step, last_ts, min, max, count)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	sAddTransition: `INSERT INTO transitions (model_version, from_stage, to_stage, actor, reason, at, is_rollback)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
	sPutIdempotency: `INSERT INTO idempotency (key, operation, digest, result, created_at) VALUES (?, ?, ?, ?, ?)`,
	sAddEvent:       `INSERT INTO events (id, model, model_seq, type, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
	sBumpGraph:      `UPDATE graph_version SET version = version + 1 RETURNING version`,
	// A run's run_data columns, from the same expressions as migration 00002.
	sRunDataRow:     `INSERT INTO run_data (run) VALUES (?) ON CONFLICT DO NOTHING`,
	sRunDataParams:  `UPDATE run_data SET params = ` + runDataPart("run_params", "key, value") + ` WHERE run = ?1`,
	sRunDataTags:    `UPDATE run_data SET tags = ` + runDataPart("run_tags", "key, value") + ` WHERE run = ?1`,
	sRunDataMetrics: `UPDATE run_data SET metrics = ` + runDataPart("run_metrics", "key, last, last_step, min, max, count") + ` WHERE run = ?1`,
	sPutDoc: `INSERT INTO docs (collection, key, value) VALUES (?, ?, ?)
		ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value`,
	sDeleteDoc: `DELETE FROM docs WHERE collection = ? AND key = ?`,
}

// jsonList is the IN list of a statement that takes a JSON array; the
// fallback for lists JSON cannot carry is an IN list of placeholders.
const jsonList = `SELECT value FROM json_each(?1)`

func edgesSQL(where string) string {
	return `SELECT nf.id, nt.id, e.type, e.role, e.created_at FROM edges e
		JOIN nodes nf ON nf.seq = e.src JOIN nodes nt ON nt.seq = e.dst
		WHERE ` + where + ` AND e.removed_at IS NULL AND (?2 IS NULL OR e.type IN (SELECT value FROM json_each(?2)))
		ORDER BY e.created_at, e.seq`
}

func nodesSQL(in string) string {
	return `SELECT ` + nodeCols + ` FROM nodes WHERE id IN (` + in + `)`
}

func runDataSQL(in string) string {
	return `SELECT n.id, d.run, d.params, d.tags, d.metrics FROM nodes n JOIN run_data d ON d.run = n.seq WHERE n.id IN (` + in + `)`
}

// docsSQL lists keys and values of collection ?1 in order, at most ?3.
func docsSQL(where, order string) string {
	return `SELECT key, value FROM docs WHERE collection = ?1 AND ` + where + ` ORDER BY ` + order + ` LIMIT ?3`
}

// runDataPart is the JSON of a run_data part: an array of arrays of cols
// from table, in key order, or NULL if the run has more than runDataMax
// entries there (see migration 00002).
func runDataPart(table, cols string) string {
	return `CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM ` + table + ` WHERE run = ?1 LIMIT ` + strconv.Itoa(runDataMax+1) + `)) <= ` +
		strconv.Itoa(runDataMax) + ` THEN (SELECT json_group_array(json_array(` + cols + `) ORDER BY key) FROM ` + table + ` WHERE run = ?1) END`
}

// chunk bounds the bound values of one IN (…) list.
const chunk = 500

// reader implements lineage.ReadTx on a read or write transaction.
type reader struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts *[nStmts]*sql.Stmt // prepared on tx's pool
	bound [nStmts]*sql.Stmt  // bound to tx, on first use
	s     *Store

	view   bool  // a View: the index may answer Edges (see indexEdges)
	gver   int64 // the snapshot's graph version, once gverOK
	gverOK bool
}

func (r *reader) stmt(k stmtKey) *sql.Stmt {
	if r.bound[k] == nil {
		r.bound[k] = r.tx.StmtContext(r.ctx, r.stmts[k])
	}
	return r.bound[k]
}

func (r *reader) query(q string, args ...any) (*sql.Rows, error) {
	return r.tx.QueryContext(r.ctx, q, args...)
}

// seq returns a node's internal number, ENOTFOUND if it does not exist.
func (r *reader) seq(id lineage.ID) (int64, error) {
	var seq int64
	err := r.stmt(sSeq).QueryRowContext(r.ctx, id).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound(id)
	}
	return seq, formatError("node", err)
}

func notFound(id lineage.ID) error {
	return lineage.Errorf(lineage.ENOTFOUND, "node %q not found", id)
}

type scanner interface{ Scan(...any) error }

func scanNode(sc scanner, extra ...any) (*lineage.Node, error) {
	var (
		n                lineage.Node
		props            []byte
		created, updated int64
		deleted          sql.NullInt64
	)
	if err := sc.Scan(append([]any{&n.ID, &n.Kind, &n.Parent, &n.Name, &props, &created, &updated, &deleted}, extra...)...); err != nil {
		return nil, err
	}
	if props != nil {
		n.Props = props
	}
	n.CreatedAt, n.UpdatedAt = fromNanos(created), fromNanos(updated)
	if deleted.Valid {
		t := fromNanos(deleted.Int64)
		n.DeletedAt = &t
	}
	return &n, nil
}

func scanNodes(rows *sql.Rows) ([]*lineage.Node, error) {
	defer rows.Close()
	var nodes []*lineage.Node
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, formatError("nodes", err)
		}
		nodes = append(nodes, n)
	}
	return nodes, formatError("nodes", rows.Err())
}

func (r *reader) Node(id lineage.ID) (*lineage.Node, error) {
	n, err := scanNode(r.stmt(sNode).QueryRowContext(r.ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	return n, formatError("node", err)
}

func (r *reader) Nodes(ids []lineage.ID) ([]*lineage.Node, error) {
	byID := make(map[lineage.ID]*lineage.Node, len(ids))
	err := r.byIDs(sNodes, nodesSQL, ids, func(rows *sql.Rows) error {
		nodes, err := scanNodes(rows)
		for _, n := range nodes {
			byID[n.ID] = n
		}
		return err
	})
	if err != nil {
		return nil, formatError("nodes", err)
	}
	out := make([]*lineage.Node, 0, len(byID))
	for _, id := range ids {
		if n, ok := byID[id]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// byIDs runs statement k with ids as its JSON array parameter, or, when
// JSON would not carry an ID byte for byte, the same query (sqlFor, given
// an IN list) with placeholders, per chunk of ids. fn reads and closes
// the rows.
func (r *reader) byIDs(k stmtKey, sqlFor func(in string) string, ids []lineage.ID, fn func(*sql.Rows) error) error {
	if len(ids) == 0 {
		return nil
	}
	if list, ok := jsonIDs(ids); ok {
		rows, err := r.stmt(k).QueryContext(r.ctx, list)
		if err != nil {
			return err
		}
		return fn(rows)
	}
	for part := range slices.Chunk(ids, chunk) {
		rows, err := r.query(sqlFor(placeholders(len(part))), anys(part)...)
		if err != nil {
			return err
		}
		if err := fn(rows); err != nil {
			return err
		}
	}
	return nil
}

// jsonIDs returns ids as a JSON array of strings, false if one is not
// plain text (invalid UTF-8 or a control character), which JSON would not
// carry byte for byte.
func jsonIDs[T ~string](ids []T) (string, bool) {
	n := 2
	for _, id := range ids {
		n += len(id) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, id := range ids {
		if !utf8.ValidString(string(id)) {
			return "", false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for j := 0; j < len(id); j++ {
			switch c := id[j]; {
			case c < 0x20 || c == 0x7f:
				return "", false
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			default:
				b = append(b, c)
			}
		}
		b = append(b, '"')
	}
	return string(append(b, ']')), true
}

// List pages through live nodes of a kind in insertion order. The cursor
// is the last node's seq (keyset), so pages do not shift under inserts.
// First < 1 means 100.
func (r *reader) List(kind lineage.Kind, parent lineage.ID, page lineage.Page) (*lineage.NodePage, error) {
	first := page.First
	if first < 1 {
		first = 100
	}
	var after int64
	if err := lineage.DecodeCursor(page.After, 'k', &after); err != nil {
		return nil, err
	}
	q := `SELECT ` + nodeCols + `, seq FROM nodes WHERE kind = ? AND deleted_at IS NULL AND seq > ?`
	args := []any{kind, after}
	if parent != "" {
		q += ` AND parent = ?`
		args = append(args, parent)
	}
	rows, err := r.query(q+` ORDER BY seq LIMIT ?`, append(args, first+1)...)
	if err != nil {
		return nil, formatError("list", err)
	}
	defer rows.Close()
	p := &lineage.NodePage{}
	var seq int64
	for rows.Next() {
		if len(p.Nodes) == first {
			p.HasNext = true
			break
		}
		n, err := scanNode(rows, &seq)
		if err != nil {
			return nil, formatError("list", err)
		}
		p.Nodes = append(p.Nodes, n)
		p.EndCursor = lineage.EncodeCursor('k', seq)
	}
	return p, formatError("list", rows.Err())
}

// Edges returns unremoved edges; a node that does not exist has none.
// Direction BOTH returns both. In a View, edges of provenance types come
// from the in-memory index when it mirrors the View's snapshot (see
// indexEdges); otherwise, and for grouping edges, from SQL.
func (r *reader) Edges(id lineage.ID, dir lineage.Direction, types ...lineage.EdgeType) ([]lineage.Edge, error) {
	var k stmtKey
	switch dir {
	case lineage.Upstream:
		k = sEdgesUp
	case lineage.Downstream:
		k = sEdgesDown
	case lineage.Both:
		k = sEdgesBoth
	default:
		return nil, lineage.Invalid("direction", "must be UPSTREAM, DOWNSTREAM or BOTH")
	}
	if r.view && provenanceOnly(types) {
		if edges, ok, err := r.indexEdges(id, dir, types); err != nil || ok {
			return edges, err
		}
	}
	var typeList any // NULL: every type
	filter := false  // types JSON cannot carry: filtered here instead
	if len(types) > 0 {
		if list, ok := jsonIDs(types); ok {
			typeList = list
		} else {
			filter = true
		}
	}
	rows, err := r.stmt(k).QueryContext(r.ctx, string(id), typeList)
	if err != nil {
		return nil, formatError("edges", err)
	}
	defer rows.Close()
	var edges []lineage.Edge
	for rows.Next() {
		var (
			e       lineage.Edge
			created int64
		)
		if err := rows.Scan(&e.From, &e.To, &e.Type, &e.Role, &created); err != nil {
			return nil, formatError("edges", err)
		}
		if filter && !slices.Contains(types, e.Type) {
			continue
		}
		e.CreatedAt = fromNanos(created)
		edges = append(edges, e)
	}
	return edges, formatError("edges", rows.Err())
}

func provenanceOnly(types []lineage.EdgeType) bool {
	for _, t := range types {
		if !t.Provenance() {
			return false
		}
	}
	return len(types) > 0
}

// indexEdges answers Edges from the index: ~6 µs a call against ~25 µs
// for the prepared query (BenchmarkEdges), and compareRuns makes one call
// per run. The index changes as commits land, while a View reads one
// snapshot, so it answers only when the graph version it mirrors is the
// one the snapshot holds (every commit that changes provenance edges bumps
// it); ok is false otherwise.
func (r *reader) indexEdges(id lineage.ID, dir lineage.Direction, types []lineage.EdgeType) (edges []lineage.Edge, ok bool, err error) {
	if !r.gverOK {
		if err := r.stmt(sGraphVersion).QueryRowContext(r.ctx).Scan(&r.gver); err != nil {
			return nil, false, formatError("edges", err)
		}
		r.gverOK = true
	}
	seq, err := r.seq(id)
	if lineage.ErrorCode(err) == lineage.ENOTFOUND {
		return nil, true, nil
	} else if err != nil {
		return nil, false, err
	}
	edges, ok = r.s.idx.currentEdges(seq, dir, types, r.gver)
	return edges, ok, nil
}

// RunData has an entry, never nil, for every ID asked for; its maps and
// slice are empty, not nil, when a run has nothing. It reads run_data, a
// row per run (see migration 00002), and the tables for parts too large
// for it.
func (r *reader) RunData(runs []lineage.ID) (map[lineage.ID]*lineage.RunData, error) {
	out := make(map[lineage.ID]*lineage.RunData, len(runs))
	for _, id := range runs {
		out[id] = &lineage.RunData{Params: map[string]string{}, Tags: map[string]string{}, Metrics: []lineage.MetricSummary{}}
	}
	large := map[int64]*lineage.RunData{} // by run seq, runs with a part in its table
	var inTable [3][]int64                // run seqs whose params, tags, metrics are in the table
	err := r.byIDs(sRunData, runDataSQL, runs, func(rows *sql.Rows) error {
		defer rows.Close()
		var (
			id    lineage.ID
			seq   int64
			parts [3]sql.RawBytes // params, tags, metrics; parsed before the next row
		)
		for rows.Next() {
			if err := rows.Scan(&id, &seq, &parts[0], &parts[1], &parts[2]); err != nil {
				return err
			}
			d := out[id]
			if d == nil {
				continue // cannot happen: the rows are of runs
			}
			for i, p := range parts {
				if p == nil { // NULL: too large for run_data
					inTable[i] = append(inTable[i], seq)
					large[seq] = d
				}
			}
			if err := decodeRunData(d, parts[0], parts[1], parts[2]); err != nil {
				return fmt.Errorf("run data of %s: %w", id, err)
			}
		}
		return rows.Err()
	})
	if err == nil {
		err = r.runDataFromTables(inTable, large)
	}
	if err != nil {
		return nil, formatError("run data", err)
	}
	return out, nil
}

// runDataFromTables reads the parts of runs that run_data leaves to the
// tables: inTable lists the runs of each part, large maps them to results.
func (r *reader) runDataFromTables(inTable [3][]int64, large map[int64]*lineage.RunData) error {
	for i, st := range []stmtKey{sRunParamsOf, sRunTagsOf} {
		if len(inTable[i]) == 0 {
			continue
		}
		rows, err := r.stmt(st).QueryContext(r.ctx, jsonInts(inTable[i]))
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				seq  int64
				k, v string
			)
			if err := rows.Scan(&seq, &k, &v); err != nil {
				rows.Close()
				return err
			}
			if i == 0 {
				large[seq].Params[k] = v
			} else {
				large[seq].Tags[k] = v
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	if len(inTable[2]) == 0 {
		return nil
	}
	rows, err := r.stmt(sRunMetricsOf).QueryContext(r.ctx, jsonInts(inTable[2]))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq          int64
			m            lineage.MetricSummary
			last, lo, hi sql.NullFloat64
		)
		if err := rows.Scan(&seq, &m.Key, &last, &m.LastStep, &lo, &hi, &m.Count); err != nil {
			return err
		}
		m.Last, m.Min, m.Max = nanIfNull(last), nanIfNull(lo), nanIfNull(hi)
		large[seq].Metrics = append(large[seq].Metrics, m)
	}
	return rows.Err()
}

func jsonInts(ns []int64) string {
	b := []byte{'['}
	for i, n := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, n, 10)
	}
	return string(append(b, ']'))
}

func nanIfNull(f sql.NullFloat64) float64 {
	if !f.Valid {
		return math.NaN()
	}
	return f.Float64
}

// nullIfNaN stores NaN as NULL, which is what SQLite would do anyway.
func nullIfNaN(f float64) any {
	if math.IsNaN(f) {
		return nil
	}
	return f
}

// Transitions returns the trail in commit order: the order stages
// actually changed in, even when a later commit carries an earlier time
// (clocks of replicas differ, and the Service reads its clock before it
// waits for the writer).
func (r *reader) Transitions(versions []lineage.ID) ([]lineage.Transition, error) {
	type row struct {
		t   lineage.Transition
		seq int64
	}
	var all []row
	for part := range slices.Chunk(versions, chunk) {
		rows, err := r.query(`SELECT seq, model_version, from_stage, to_stage, actor, reason, at, is_rollback FROM transitions
			WHERE model_version IN (`+placeholders(len(part))+`)`, anys(part)...)
		if err != nil {
			return nil, formatError("transitions", err)
		}
		for rows.Next() {
			var (
				x  row
				at int64
			)
			if err := rows.Scan(&x.seq, &x.t.ModelVersion, &x.t.From, &x.t.To, &x.t.Actor, &x.t.Reason, &at, &x.t.Rollback); err != nil {
				rows.Close()
				return nil, formatError("transitions", err)
			}
			x.t.At = fromNanos(at)
			all = append(all, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, formatError("transitions", err)
		}
	}
	slices.SortFunc(all, func(a, b row) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]lineage.Transition, len(all))
	for i := range all {
		out[i] = all[i].t
	}
	return out, nil
}

func (r *reader) Idempotency(key string) (*lineage.IdempotencyRecord, error) {
	var (
		rec     lineage.IdempotencyRecord
		created int64
	)
	err := r.stmt(sIdempotency).QueryRowContext(r.ctx, key).Scan(&rec.Key, &rec.Operation, &rec.Digest, &rec.Result, &created)
	if err != nil {
		return nil, formatError("idempotency key", err)
	}
	rec.CreatedAt = fromNanos(created)
	return &rec, nil
}

func (r *reader) LastModelSeq(model string) (int64, error) {
	var n int64
	err := r.stmt(sLastModelSeq).QueryRowContext(r.ctx, model).Scan(&n)
	return n, formatError("last model seq", err)
}

func (r *reader) Doc(collection, key string) (*lineage.Doc, error) {
	var value []byte
	err := r.stmt(sDoc).QueryRowContext(r.ctx, collection, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lineage.Errorf(lineage.ENOTFOUND, "document %q not found in %q", key, collection)
	} else if err != nil {
		return nil, formatError("doc", err)
	}
	return &lineage.Doc{Collection: collection, Key: key, Value: value}, nil
}

// Docs reads one range of the primary key, [lo, hi) in byte order, from
// either end: Prefix and After narrow the same range, so a page is an
// index seek however far into a collection it starts.
func (r *reader) Docs(q lineage.DocQuery) ([]lineage.Doc, error) {
	if q.Limit < 1 {
		return nil, lineage.Invalid("limit", "must be at least 1")
	}
	lo, hi := q.Prefix, prefixEnd(q.Prefix) // hi "": no upper bound
	switch {
	case q.After == "":
	case q.Desc:
		if hi == "" || q.After < hi {
			hi = q.After
		}
	case q.After+"\x00" > lo:
		lo = q.After + "\x00" // the least key greater than After
	}
	k, args := sDocsAsc, []any{q.Collection, lo, q.Limit}
	switch {
	case q.Desc && hi != "":
		k, args = sDocsDescBelow, append(args, hi)
	case q.Desc:
		k = sDocsDesc
	case hi != "":
		k, args = sDocsAscBelow, append(args, hi)
	}
	rows, err := r.stmt(k).QueryContext(r.ctx, args...)
	if err != nil {
		return nil, formatError("docs", err)
	}
	defer rows.Close()
	var docs []lineage.Doc
	for rows.Next() {
		var (
			key   string
			value []byte
		)
		if err := rows.Scan(&key, &value); err != nil {
			return nil, formatError("docs", err)
		}
		docs = append(docs, lineage.Doc{Collection: q.Collection, Key: key, Value: value})
	}
	return docs, formatError("docs", rows.Err())
}

// txn implements lineage.Tx. Graph changes are collected in ops and reach
// the index only after COMMIT.
type txn struct {
	reader
	ops   []op
	dirty map[int64]uint8 // run seq → run_data parts to recompute (see flushRunData)
}

func (t *txn) exec(k stmtKey, args ...any) (sql.Result, error) {
	return t.stmt(k).ExecContext(t.ctx, args...)
}

// stamp converts a time to unix ns, using the clock for a zero time.
func (t *txn) stamp(at time.Time) (int64, time.Time) {
	if at.IsZero() {
		at = t.s.now()
	}
	return at.UnixNano(), at
}

func nullNanos(at *time.Time) any {
	if at == nil {
		return nil
	}
	return at.UnixNano()
}

// jsonText validates a JSON document and returns it as TEXT (a []byte
// would be stored as a BLOB, which SQLite's JSON functions read as JSONB).
func jsonText(field string, doc json.RawMessage) (any, error) {
	if len(doc) == 0 {
		return nil, nil
	}
	if !json.Valid(doc) {
		return nil, lineage.Invalid(field, "must be valid JSON")
	}
	return string(doc), nil
}

// runColumns returns the run_* column values of a node: a run's
// attributes from its props (see lineage.DecodeRunAttributes), NULL where
// absent, and all NULL for other kinds.
func runColumns(kind lineage.Kind, props json.RawMessage) []any {
	cols := make([]any, 6)
	if kind != lineage.KindRun {
		return cols
	}
	a := lineage.DecodeRunAttributes(props)
	for i, p := range []*string{a.Status, a.Name, a.Experiment, a.Pipeline} {
		if p != nil {
			cols[i] = *p
		}
	}
	for i, t := range []*time.Time{a.StartedAt, a.EndedAt} {
		if t != nil {
			cols[4+i] = t.UnixNano()
		}
	}
	return cols
}

// CreateNode fills a zero CreatedAt from the clock and a zero UpdatedAt
// from CreatedAt, in n too.
func (t *txn) CreateNode(n *lineage.Node) error {
	props, err := jsonText("props", n.Props)
	if err != nil {
		return err
	}
	created, at := t.stamp(n.CreatedAt)
	n.CreatedAt = at
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = at
	}
	args := []any{n.ID, n.Kind, n.Parent, n.Name, strings.ToLower(n.Name), props, created, n.UpdatedAt.UnixNano(), nullNanos(n.DeletedAt)}
	res, err := t.exec(sInsertNode, append(args, runColumns(n.Kind, n.Props)...)...)
	if err != nil {
		return formatError(fmt.Sprintf("node %q", n.ID), err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return formatError("create node", err)
	}
	t.ops = append(t.ops, op{kind: opAddNode, seq: uint32(seq), id: n.ID, at: created})
	return nil
}

// UpdateNode fills a zero UpdatedAt from the clock, in n too.
func (t *txn) UpdateNode(n *lineage.Node) error {
	props, err := jsonText("props", n.Props)
	if err != nil {
		return err
	}
	updated, at := t.stamp(n.UpdatedAt)
	n.UpdatedAt = at
	// The stored kind decides whether the run columns apply (in SQL): n.Kind may be unset.
	args := append([]any{n.Name, strings.ToLower(n.Name), props, updated, nullNanos(n.DeletedAt)}, runColumns(lineage.KindRun, n.Props)...)
	res, err := t.exec(sUpdateNode, append(args, n.ID)...)
	if err != nil {
		return formatError(fmt.Sprintf("node %q", n.ID), err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return formatError("update node", err)
	} else if k == 0 {
		return notFound(n.ID)
	}
	return nil
}

func (t *txn) DeleteNode(id lineage.ID) error {
	seq, err := t.seq(id)
	if err != nil {
		return err
	}
	// Edges and run data go by ON DELETE CASCADE.
	if _, err := t.exec(sDeleteNode, seq); err != nil {
		return formatError("delete node", err)
	}
	delete(t.dirty, seq)
	t.ops = append(t.ops, op{kind: opDeleteNode, seq: uint32(seq)})
	return nil
}

func (t *txn) ends(from, to lineage.ID) (src, dst sql.NullInt64, err error) {
	err = t.stmt(sEnds).QueryRowContext(t.ctx, from, to).Scan(&src, &dst)
	return src, dst, formatError("edge", err)
}

// AddEdge fills a zero CreatedAt from the clock. An edge given with
// RemovedAt is stored as removed (history import).
func (t *txn) AddEdge(e lineage.Edge) error {
	src, dst, err := t.ends(e.From, e.To)
	if err != nil {
		return err
	}
	if !src.Valid {
		return notFound(e.From)
	}
	if !dst.Valid {
		return notFound(e.To)
	}
	created, _ := t.stamp(e.CreatedAt)
	res, err := t.exec(sInsertEdge, src.Int64, dst.Int64, e.Type, e.Role, created, nullNanos(e.RemovedAt))
	if err != nil {
		return formatError("add edge", err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return formatError("add edge", err)
	} else if k == 0 || !e.Type.Provenance() {
		return nil // identical unremoved edge exists; or not one traversals follow
	}
	o := op{kind: opAddEdge, seq: uint32(src.Int64), dst: uint32(dst.Int64), typ: e.Type, role: e.Role, at: created}
	if e.RemovedAt != nil {
		// Added as removed, not added then removed: a RemoveEdge would
		// also remove the unremoved edges with the same ends and type.
		o.removed, o.removedAt = true, e.RemovedAt.UnixNano()
	}
	t.ops = append(t.ops, o)
	return nil
}

// RemoveEdge does nothing when no edge matches; a zero time means now.
func (t *txn) RemoveEdge(from, to lineage.ID, typ lineage.EdgeType, at time.Time) error {
	src, dst, err := t.ends(from, to)
	if err != nil || !src.Valid || !dst.Valid {
		return err
	}
	removed, _ := t.stamp(at)
	res, err := t.exec(sRemoveEdge, removed, src.Int64, dst.Int64, typ)
	if err != nil {
		return formatError("remove edge", err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return formatError("remove edge", err)
	} else if k > 0 && typ.Provenance() {
		t.ops = append(t.ops, op{kind: opRemoveEdge, seq: uint32(src.Int64), dst: uint32(dst.Int64), typ: typ, at: removed})
	}
	return nil
}

func (t *txn) NextVersion(counter lineage.ID) (int64, error) {
	var v int64
	err := t.stmt(sNextVersion).QueryRowContext(t.ctx, counter).Scan(&v)
	return v, formatError("next version", err)
}

func (t *txn) SetCounter(counter lineage.ID, value int64) error {
	_, err := t.exec(sSetCounter, counter, value)
	return formatError("set counter", err)
}

func (t *txn) SetRunParams(run lineage.ID, params map[string]string) error {
	return t.setKV(sSetParam, partParams, run, params)
}

func (t *txn) SetRunTags(run lineage.ID, tags map[string]string) error {
	return t.setKV(sSetTag, partTags, run, tags)
}

func (t *txn) setKV(k stmtKey, part uint8, run lineage.ID, kv map[string]string) error {
	if len(kv) == 0 {
		return nil
	}
	seq, err := t.seq(run)
	if err != nil {
		return err
	}
	t.touch(seq, part)
	st := t.stmt(k)
	for key, v := range kv {
		if _, err := st.ExecContext(t.ctx, seq, key, v); err != nil {
			return formatError("run data", err)
		}
	}
	return nil
}

// AddTransition fills a zero At from the clock.
func (t *txn) AddTransition(tr lineage.Transition) error {
	at, _ := t.stamp(tr.At)
	_, err := t.exec(sAddTransition, tr.ModelVersion, tr.From, tr.To, tr.Actor, tr.Reason, at, tr.Rollback)
	return formatError("add transition", err)
}

// PutIdempotency fills a zero CreatedAt from the clock.
func (t *txn) PutIdempotency(rec lineage.IdempotencyRecord) error {
	at, _ := t.stamp(rec.CreatedAt)
	_, err := t.exec(sPutIdempotency, rec.Key, rec.Operation, rec.Digest, rec.Result, at)
	return formatError("idempotency key", err)
}

// AddEvent sets e.Seq, and e.CreatedAt from the clock if zero. ECONFLICT if
// an event with the same ID exists.
func (t *txn) AddEvent(e *lineage.Event) error {
	payload, err := jsonText("payload", e.Payload)
	if err != nil {
		return err
	}
	at, ts := t.stamp(e.CreatedAt)
	res, err := t.exec(sAddEvent, e.ID, e.Model, e.ModelSeq, e.Type, payload, at)
	if err != nil {
		return formatError(fmt.Sprintf("event %q", e.ID), err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return formatError("add event", err)
	}
	e.Seq, e.CreatedAt = seq, ts
	return nil
}

// PutDoc stores the value as a BLOB, so that it reads back byte for byte.
func (t *txn) PutDoc(d lineage.Doc) error {
	_, err := t.exec(sPutDoc, d.Collection, d.Key, []byte(d.Value))
	return formatError("put doc", err)
}

func (t *txn) DeleteDoc(collection, key string) error {
	_, err := t.exec(sDeleteDoc, collection, key)
	return formatError("delete doc", err)
}

// anys converts a slice of string-like values to driver arguments (the
// driver takes string, not named string types).
func anys[T ~string](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}
