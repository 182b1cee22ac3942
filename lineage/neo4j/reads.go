package neo4j

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

var (
	qNode  = cypher("node", `MATCH (n:Node {id: $id}) RETURN properties(n) AS n`)
	qNodes = cypher("nodes", `UNWIND $ids AS id MATCH (n:Node {id: id}) RETURN properties(n) AS n`)
	qList  = cypher("list", `MATCH (n:Node)
		WHERE n.kind = $kind AND n.seq > $after AND n.deletedAt IS NULL AND ($parent = '' OR n.parent = $parent)
		RETURN properties(n) AS n, n.seq AS seq ORDER BY n.seq LIMIT $limit`)
	// Edges: unremoved, oldest first; types null for every type.
	qEdgesUp = cypher("edges upstream", `MATCH (a:Node {id: $id})-[e]->(b:Node)
		WHERE e.removedAt IS NULL AND ($types IS NULL OR type(e) IN $types)
		RETURN a.id AS from, b.id AS to, type(e) AS type, e.role AS role, e.createdAt AS createdAt
		ORDER BY e.createdAt, e.seq`)
	qEdgesDown = cypher("edges downstream", `MATCH (a:Node)-[e]->(b:Node {id: $id})
		WHERE e.removedAt IS NULL AND ($types IS NULL OR type(e) IN $types)
		RETURN a.id AS from, b.id AS to, type(e) AS type, e.role AS role, e.createdAt AS createdAt
		ORDER BY e.createdAt, e.seq`)
	qEdgesBoth = cypher("edges both", `MATCH (n:Node {id: $id})-[e]-(:Node)
		WHERE e.removedAt IS NULL AND ($types IS NULL OR type(e) IN $types)
		WITH DISTINCT e
		RETURN startNode(e).id AS from, endNode(e).id AS to, type(e) AS type, e.role AS role, e.createdAt AS createdAt
		ORDER BY e.createdAt, e.seq`)
	qRunData = cypher("run data", `UNWIND $runs AS run
		RETURN run,
			COLLECT { MATCH (p:Param {run: run}) RETURN [p.key, p.value] } AS params,
			COLLECT { MATCH (t:Tag {run: run}) RETURN [t.key, t.value] } AS tags,
			COLLECT { MATCH (m:Metric {run: run}) RETURN properties(m) } AS metrics`)
	qHistory = cypher("metric history", `MATCH (c:MetricChunk {run: $run, key: $key})
		WHERE c.maxStep > $after
		RETURN c.minStep AS minStep, c.steps AS steps, c.timestamps AS timestamps, c.values AS values
		ORDER BY c.minStep`)
	qTransitions = cypher("transitions", `MATCH (t:Transition) WHERE t.modelVersion IN $versions
		RETURN properties(t) AS t ORDER BY t.seq`)
	qIdempotency  = cypher("idempotency", `MATCH (i:Idempotency {key: $key}) RETURN properties(i) AS i`)
	qLastModelSeq = cypher("last model seq", `MATCH (e:Event {model: $model}) RETURN coalesce(max(e.modelSeq), 0) AS seq`)
	qDoc          = cypher("doc", `MATCH (d:Doc {collection: $collection, key: $key}) RETURN d.value AS value`)
	// Docs: one statement per direction, and descending pages after the
	// first apart from it, so that each bound is a plain range on the
	// (collection, key) index rather than an OR the planner cannot seek.
	// Keys are never "", so "> ''" bounds nothing.
	qDocsAsc = cypher("docs", `MATCH (d:Doc {collection: $collection})
		WHERE d.key STARTS WITH $prefix AND d.key > $after
		RETURN d.key AS key, d.value AS value ORDER BY d.key LIMIT $limit`)
	qDocsDesc = cypher("docs desc", `MATCH (d:Doc {collection: $collection})
		WHERE d.key STARTS WITH $prefix
		RETURN d.key AS key, d.value AS value ORDER BY d.key DESC LIMIT $limit`)
	qDocsDescAfter = cypher("docs desc after", `MATCH (d:Doc {collection: $collection})
		WHERE d.key STARTS WITH $prefix AND d.key < $after
		RETURN d.key AS key, d.value AS value ORDER BY d.key DESC LIMIT $limit`)

	// Search: candidates from the full-text index (a keyword analyzer over
	// nameFold, so a wildcard query is a substring match), checked again
	// with CONTAINS so the answer never depends on Lucene's syntax.
	qSearch = cypher("search", `CALL db.index.fulltext.queryNodes('node_names', $lucene) YIELD node AS n
		WHERE n.deletedAt IS NULL AND n.nameFold CONTAINS $fold AND ($kinds IS NULL OR n.kind IN $kinds)
		RETURN properties(n) AS n
		ORDER BY NOT n.nameFold STARTS WITH $fold, n.nameFold, n.kind LIMIT $limit`)
	qSearchAll = cypher("search all", `MATCH (n:Node) WHERE n.deletedAt IS NULL AND ($kinds IS NULL OR n.kind IN $kinds)
		RETURN properties(n) AS n ORDER BY n.nameFold, n.kind LIMIT $limit`)
	qEvents = cypher("events", `MATCH (e:Event) WHERE e.seq > $after AND ($model = '' OR e.model = $model)
		RETURN properties(e) AS e ORDER BY e.seq LIMIT $limit`)
	qLastEventSeq = cypher("last event seq", `MATCH (e:Event) RETURN coalesce(max(e.seq), 0) AS seq`)
)

func (r *reader) Node(id lineage.ID) (*lineage.Node, error) {
	rec, err := r.single(qNode, map[string]any{"id": string(id)})
	if err != nil {
		return nil, txError("node", err)
	} else if rec == nil {
		return nil, notFound(id)
	}
	return decodeNode(rec.Values[0])
}

// Nodes returns the nodes in the order of ids, missing ones left out.
func (r *reader) Nodes(ids []lineage.ID) ([]*lineage.Node, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	recs, err := r.collect(qNodes, map[string]any{"ids": stringsOf(ids)})
	if err != nil {
		return nil, txError("nodes", err)
	}
	byID := make(map[lineage.ID]*lineage.Node, len(recs))
	for _, rec := range recs {
		n, err := decodeNode(rec.Values[0])
		if err != nil {
			return nil, err
		}
		byID[n.ID] = n
	}
	out := make([]*lineage.Node, 0, len(byID))
	for _, id := range ids {
		if n, ok := byID[id]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// List pages by seq (keyset): pages do not shift under inserts. First < 1
// means 100.
func (r *reader) List(kind lineage.Kind, parent lineage.ID, page lineage.Page) (*lineage.NodePage, error) {
	first := page.First
	if first < 1 {
		first = 100
	}
	var after int64
	if err := lineage.DecodeCursor(page.After, 'k', &after); err != nil {
		return nil, err
	}
	recs, err := r.collect(qList, map[string]any{"kind": string(kind), "parent": string(parent), "after": after, "limit": first + 1})
	if err != nil {
		return nil, txError("list", err)
	}
	p := &lineage.NodePage{}
	for _, rec := range recs {
		if len(p.Nodes) == first {
			p.HasNext = true
			break
		}
		n, err := decodeNode(rec.Values[0])
		if err != nil {
			return nil, err
		}
		seq, err := asInt(rec.Values[1])
		if err != nil {
			return nil, err
		}
		p.Nodes = append(p.Nodes, n)
		p.EndCursor = lineage.EncodeCursor('k', seq)
	}
	return p, nil
}

func (r *reader) Edges(id lineage.ID, dir lineage.Direction, types ...lineage.EdgeType) ([]lineage.Edge, error) {
	var q string
	switch dir {
	case lineage.Upstream:
		q = qEdgesUp
	case lineage.Downstream:
		q = qEdgesDown
	case lineage.Both:
		q = qEdgesBoth
	default:
		return nil, lineage.Invalid("direction", "must be UPSTREAM, DOWNSTREAM or BOTH")
	}
	var typeList any // nil: every type
	if len(types) > 0 {
		typeList = stringsOf(types)
	}
	recs, err := r.collect(q, map[string]any{"id": string(id), "types": typeList})
	if err != nil {
		return nil, txError("edges", err)
	}
	edges := make([]lineage.Edge, 0, len(recs))
	for _, rec := range recs {
		e, err := decodeEdge(rec.Values)
		if err != nil {
			return nil, err
		}
		edges = append(edges, e)
	}
	return edges, nil
}

// decodeEdge reads from, to, type, role, createdAt[, removedAt].
func decodeEdge(v []any) (lineage.Edge, error) {
	e := lineage.Edge{From: lineage.ID(asString(v[0])), To: lineage.ID(asString(v[1])),
		Type: lineage.EdgeType(asString(v[2])), Role: asString(v[3])}
	var err error
	if e.CreatedAt, err = asTime(v[4]); err != nil {
		return e, err
	}
	if len(v) > 5 {
		e.RemovedAt, err = asTimePtr(v[5])
	}
	return e, err
}

// RunData has an entry for every ID asked for, with empty (not nil) maps
// and slice when a run has nothing.
func (r *reader) RunData(runs []lineage.ID) (map[lineage.ID]*lineage.RunData, error) {
	out := make(map[lineage.ID]*lineage.RunData, len(runs))
	for _, id := range runs {
		out[id] = &lineage.RunData{Params: map[string]string{}, Tags: map[string]string{}, Metrics: []lineage.MetricSummary{}}
	}
	if len(runs) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(out)) // each run once, however often asked for
	for id := range out {
		ids = append(ids, string(id))
	}
	recs, err := r.collect(qRunData, map[string]any{"runs": ids})
	if err != nil {
		return nil, txError("run data", err)
	}
	for _, rec := range recs {
		d := out[lineage.ID(asString(rec.Values[0]))]
		if d == nil {
			continue
		}
		if err := decodePairs(rec.Values[1], d.Params); err != nil {
			return nil, err
		}
		if err := decodePairs(rec.Values[2], d.Tags); err != nil {
			return nil, err
		}
		list, _ := rec.Values[3].([]any)
		for _, m := range list {
			s, err := decodeSummary(m)
			if err != nil {
				return nil, err
			}
			d.Metrics = append(d.Metrics, s.public())
		}
		slices.SortFunc(d.Metrics, func(a, b lineage.MetricSummary) int { return strings.Compare(a.Key, b.Key) })
	}
	return out, nil
}

// decodePairs reads a list of [key, value] lists into m.
func decodePairs(v any, m map[string]string) error {
	list, _ := v.([]any)
	for _, item := range list {
		kv, ok := item.([]any)
		if !ok || len(kv) != 2 {
			return txError("run data", errBadRecord)
		}
		m[asString(kv[0])] = asString(kv[1])
	}
	return nil
}

// MetricHistory returns points ordered by step, then timestamp; nothing
// for a run that does not exist. Limit < 1 means all points. Chunks come
// in order of their first step, and reading stops once no later chunk can
// hold one of the first Limit points.
func (r *reader) MetricHistory(q lineage.MetricHistoryQuery) ([]lineage.MetricPoint, error) {
	after := int64(math.MinInt64)
	if q.AfterStep != nil {
		after = *q.AfterStep
	}
	recs, err := r.collect(qHistory, map[string]any{"run": string(q.Run), "key": q.Key, "after": after})
	if err != nil {
		return nil, txError("metric history", err)
	}
	var pts []point
	for _, rec := range recs {
		minStep, err := asInt(rec.Values[0])
		if err != nil {
			return nil, err
		}
		if q.Limit > 0 && len(pts) >= q.Limit {
			slices.SortFunc(pts, comparePoints)
			if pts[q.Limit-1].Step < minStep {
				break
			}
		}
		chunk, err := decodeChunk(rec.Values[1], rec.Values[2], rec.Values[3])
		if err != nil {
			return nil, err
		}
		for _, p := range chunk {
			if p.Step > after {
				pts = append(pts, p)
			}
		}
	}
	slices.SortFunc(pts, comparePoints)
	if q.Limit > 0 && len(pts) > q.Limit {
		pts = pts[:q.Limit]
	}
	out := make([]lineage.MetricPoint, len(pts))
	for i, p := range pts {
		out[i] = lineage.MetricPoint{Key: q.Key, Value: p.Value, Step: p.Step, Timestamp: time.Unix(0, p.TS).UTC()}
	}
	return out, nil
}

// Transitions returns the trail in commit order (seq), not by At.
func (r *reader) Transitions(versions []lineage.ID) ([]lineage.Transition, error) {
	if len(versions) == 0 {
		return nil, nil
	}
	recs, err := r.collect(qTransitions, map[string]any{"versions": stringsOf(versions)})
	if err != nil {
		return nil, txError("transitions", err)
	}
	out := make([]lineage.Transition, len(recs))
	for i, rec := range recs {
		if out[i], err = decodeTransition(rec.Values[0]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeTransition(v any) (lineage.Transition, error) {
	m, err := asMap(v)
	if err != nil {
		return lineage.Transition{}, err
	}
	t := lineage.Transition{
		ModelVersion: lineage.ID(asString(m["modelVersion"])),
		From:         lineage.Stage(asString(m["from"])),
		To:           lineage.Stage(asString(m["to"])),
		Actor:        asString(m["actor"]),
		Reason:       asString(m["reason"]),
	}
	t.Rollback, _ = m["rollback"].(bool)
	t.At, err = asTime(m["at"])
	return t, err
}

func (r *reader) Idempotency(key string) (*lineage.IdempotencyRecord, error) {
	rec, err := r.single(qIdempotency, map[string]any{"key": key})
	if err != nil {
		return nil, txError("idempotency key", err)
	} else if rec == nil {
		return nil, lineage.Errorf(lineage.ENOTFOUND, "idempotency key not found")
	}
	return decodeIdempotency(rec.Values[0])
}

func decodeIdempotency(v any) (*lineage.IdempotencyRecord, error) {
	m, err := asMap(v)
	if err != nil {
		return nil, err
	}
	out := &lineage.IdempotencyRecord{Key: asString(m["key"]), Operation: asString(m["operation"]),
		Digest: asString(m["digest"]), Result: lineage.ID(asString(m["result"]))}
	out.CreatedAt, err = asTime(m["createdAt"])
	return out, err
}

func (r *reader) LastModelSeq(model string) (int64, error) {
	return r.count(qLastModelSeq, map[string]any{"model": model})
}

func (r *reader) Doc(collection, key string) (*lineage.Doc, error) {
	rec, err := r.single(qDoc, map[string]any{"collection": collection, "key": key})
	if err != nil {
		return nil, txError("doc", err)
	} else if rec == nil {
		return nil, lineage.Errorf(lineage.ENOTFOUND, "document %q not found in %q", key, collection)
	}
	return &lineage.Doc{Collection: collection, Key: key, Value: docValue(rec.Values[0])}, nil
}

// Docs lists in Cypher's string order, which is the contract's byte order
// for ASCII keys (the only kind the conformance suite checks).
func (r *reader) Docs(q lineage.DocQuery) ([]lineage.Doc, error) {
	if q.Limit < 1 {
		return nil, lineage.Invalid("limit", "must be at least 1")
	}
	stmt := qDocsAsc
	if q.Desc && q.After == "" {
		stmt = qDocsDesc
	} else if q.Desc {
		stmt = qDocsDescAfter
	}
	recs, err := r.collect(stmt, map[string]any{"collection": q.Collection, "prefix": q.Prefix, "after": q.After, "limit": q.Limit})
	if err != nil {
		return nil, txError("docs", err)
	}
	docs := make([]lineage.Doc, len(recs))
	for i, rec := range recs {
		docs[i] = lineage.Doc{Collection: q.Collection, Key: asString(rec.Values[0]), Value: docValue(rec.Values[1])}
	}
	return docs, nil
}

// docValue reads a document's value, a string property: its bytes are the
// JSON as put. Absent (null) is a nil value.
func docValue(v any) json.RawMessage {
	if s, ok := v.(string); ok {
		return json.RawMessage(s)
	}
	return nil
}

// count runs a statement returning one integer.
func (r *reader) count(q string, params map[string]any) (int64, error) {
	rec, err := r.single(q, params)
	if err != nil {
		return 0, txError("count", err)
	} else if rec == nil {
		return 0, nil
	}
	return asInt(rec.Values[0])
}

// Search returns live nodes whose name contains text, ignoring case:
// those starting with it first, each group in name order. limit < 1 means 50.
func (s *Store) Search(ctx context.Context, text string, kinds []lineage.Kind, limit int) ([]*lineage.Node, error) {
	if limit < 1 {
		limit = 50
	}
	fold := strings.ToLower(text)
	var kindList any
	if len(kinds) > 0 {
		kindList = stringsOf(kinds)
	}
	params := map[string]any{"fold": fold, "kinds": kindList, "limit": limit}
	q := qSearchAll
	if fold != "" {
		q, params["lucene"] = qSearch, "*"+escapeLucene(fold)+"*"
	}
	var nodes []*lineage.Node
	err := s.read(ctx, func(r *reader) error {
		nodes = nil // a replayed read starts over
		recs, err := r.collect(q, params)
		if err != nil {
			return txError("search", err)
		}
		for _, rec := range recs {
			n, err := decodeNode(rec.Values[0])
			if err != nil {
				return err
			}
			nodes = append(nodes, n)
		}
		return nil
	})
	return nodes, err
}

// escapeLucene makes s match itself inside a Lucene wildcard term: every
// character Lucene's query syntax gives a meaning to, and whitespace
// (which would split the term), is escaped with a backslash.
func escapeLucene(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\+-&|!(){}[]^"~*?:/ `, c) || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Events returns committed events after afterSeq in seq order, of one
// model or all (model == ""). limit < 1 means 100.
func (s *Store) Events(ctx context.Context, model string, afterSeq int64, limit int) ([]lineage.Event, error) {
	if limit < 1 {
		limit = 100
	}
	var evs []lineage.Event
	err := s.read(ctx, func(r *reader) error {
		evs = nil // a replayed read starts over
		recs, err := r.collect(qEvents, map[string]any{"model": model, "after": afterSeq, "limit": limit})
		if err != nil {
			return txError("events", err)
		}
		for _, rec := range recs {
			e, err := decodeEvent(rec.Values[0])
			if err != nil {
				return err
			}
			evs = append(evs, e)
		}
		return nil
	})
	return evs, err
}

func decodeEvent(v any) (lineage.Event, error) {
	m, err := asMap(v)
	if err != nil {
		return lineage.Event{}, err
	}
	e := lineage.Event{ID: asString(m["id"]), Model: asString(m["model"]), Type: lineage.EventType(asString(m["type"]))}
	if p, ok := m["payload"].(string); ok {
		e.Payload = json.RawMessage(p)
	}
	if e.Seq, err = asInt(m["seq"]); err != nil {
		return e, err
	}
	if e.ModelSeq, err = asInt(m["modelSeq"]); err != nil {
		return e, err
	}
	e.CreatedAt, err = asTime(m["createdAt"])
	return e, err
}

func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.read(ctx, func(r *reader) (err error) {
		seq, err = r.count(qLastEventSeq, nil)
		return err
	})
	return seq, err
}
