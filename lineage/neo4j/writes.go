package neo4j

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Statements that need a label or relationship type in their text are
// built once per allowlisted kind and edge type.
var (
	qCreateNode = perKind(func(label string) string {
		return `OPTIONAL MATCH (x:Node {id: $props.id})
		WITH x WHERE x IS NULL
		CREATE (n:Node:` + label + `) SET n = $props
		RETURN n.id AS id`
	})
	qCreateEdge = perEdgeType(func(rel string) string {
		return `MATCH (a:Node {id: $from})
		MATCH (b:Node {id: $to})
		WHERE $props.removedAt IS NOT NULL
			OR NOT EXISTS { MATCH (a)-[x:` + rel + `]->(b) WHERE x.role = $props.role AND x.removedAt IS NULL }
		CREATE (a)-[e:` + rel + `]->(b) SET e = $props
		RETURN count(e) AS created`
	})
)

func perKind(text func(label string) string) map[lineage.Kind]string {
	m := make(map[lineage.Kind]string, len(lineage.Kinds))
	for _, k := range lineage.Kinds {
		label, _ := labelOf(k)
		m[k] = cypher("create node "+label, text(label))
	}
	return m
}

func perEdgeType(text func(rel string) string) map[lineage.EdgeType]string {
	m := make(map[lineage.EdgeType]string, len(lineage.EdgeTypes))
	for _, t := range lineage.EdgeTypes {
		rel, _ := relType(t)
		m[t] = cypher("create edge "+rel, text(rel))
	}
	return m
}

var (
	qUpdateNode = cypher("update node", `MATCH (n:Node {id: $id})
		WITH n, CASE WHEN n.kind = 'Run' THEN $run ELSE {} END AS run
		SET n += $props, n += run,
			n.productionOf = CASE WHEN n.kind = 'ModelVersion' AND $production THEN n.parent END
		RETURN n.id AS id`)
	qDeleteNode   = cypher("delete node", `MATCH (n:Node {id: $id}) DETACH DELETE n RETURN count(*) AS deleted`)
	qDeleteParam  = cypher("delete params", `MATCH (x:Param {run: $id}) DELETE x`)
	qDeleteTag    = cypher("delete tags", `MATCH (x:Tag {run: $id}) DELETE x`)
	qDeleteMetric = cypher("delete metrics", `MATCH (x:Metric {run: $id}) DELETE x`)
	qDeleteChunk  = cypher("delete metric chunks", `MATCH (x:MetricChunk {run: $id}) DELETE x`)
	qEnds         = cypher("edge ends", `OPTIONAL MATCH (a:Node {id: $from})
		OPTIONAL MATCH (b:Node {id: $to})
		RETURN a IS NOT NULL AS from, b IS NOT NULL AS to`)
	qRemoveEdge = cypher("remove edge", `MATCH (:Node {id: $from})-[e]->(:Node {id: $to})
		WHERE type(e) = $type AND e.removedAt IS NULL
		SET e.removedAt = $at`)
	qNextVersion = cypher("next version", `MERGE (c:Counter {name: $name})
		ON CREATE SET c.value = 0
		SET c.value = c.value + 1
		RETURN c.value AS value`)
	qSetCounter = cypher("set counter", `MERGE (c:Counter {name: $name}) SET c.value = $value`)
	qReadSeqs   = cypher("read seqs", `MATCH (q:Sequence) WHERE q.name IN $names RETURN q.name AS name, q.value AS value`)
	qWriteSeqs  = cypher("write seqs", `UNWIND $seqs AS s MERGE (q:Sequence {name: s.name}) SET q.value = s.value`)
	qSetParams  = cypher("set params", `MATCH (r:Node {id: $run})
		UNWIND $kv AS kv
		MERGE (p:Param {run: r.id, key: kv[0]}) SET p.value = kv[1]
		RETURN count(*) AS n`)
	qSetTags = cypher("set tags", `MATCH (r:Node {id: $run})
		UNWIND $kv AS kv
		MERGE (t:Tag {run: r.id, key: kv[0]}) SET t.value = kv[1]
		RETURN count(*) AS n`)
	qAddTransition  = cypher("add transition", `CREATE (t:Transition) SET t = $props`)
	qPutIdempotency = cypher("put idempotency", `OPTIONAL MATCH (x:Idempotency {key: $props.key})
		WITH x WHERE x IS NULL
		CREATE (i:Idempotency) SET i = $props
		RETURN i.key AS key`)
	qPutDoc    = cypher("put doc", `MERGE (d:Doc {collection: $collection, key: $key}) SET d.value = $value`)
	qDeleteDoc = cypher("delete doc", `MATCH (d:Doc {collection: $collection, key: $key}) DELETE d`)
	qAddEvent  = cypher("add event", `OPTIONAL MATCH (x:Event {id: $props.id})
		WITH x WHERE x IS NULL
		CREATE (e:Event) SET e = $props
		RETURN e.seq AS seq`)
)

// The store's own sequences, (:Sequence) nodes apart from the version
// counters (:Counter), kept per transaction (see txn).
const (
	seqNode       = "node"
	seqEdge       = "edge"
	seqTransition = "transition"
	seqEvent      = "event"
)

// nextSeq returns the next number of a sequence; the counters are read at
// the first use in a transaction and written back by flush.
func (t *txn) nextSeq(name string) (int64, error) {
	if t.seqs == nil {
		names := []string{seqNode, seqEdge, seqTransition, seqEvent}
		recs, err := t.collect(qReadSeqs, map[string]any{"names": names})
		if err != nil {
			return 0, txError("read counters", err)
		}
		t.seqs = make(map[string]*seqCounter, len(names))
		for _, n := range names {
			t.seqs[n] = &seqCounter{}
		}
		for _, rec := range recs {
			v, err := asInt(rec.Values[1])
			if err != nil {
				return 0, err
			}
			t.seqs[asString(rec.Values[0])].value = v
		}
	}
	c := t.seqs[name]
	c.value++
	c.dirty = true
	return c.value, nil
}

// flush writes back the sequence counters this transaction advanced.
func (t *txn) flush() error {
	var seqs []map[string]any
	for name, c := range t.seqs {
		if c.dirty {
			seqs = append(seqs, map[string]any{"name": name, "value": c.value})
		}
	}
	if len(seqs) == 0 {
		return nil
	}
	return txError("write counters", t.exec(qWriteSeqs, map[string]any{"seqs": seqs}))
}

// stamp returns at, or the clock's time if at is zero, in UTC.
func (t *txn) stamp(at time.Time) time.Time {
	if at.IsZero() {
		return t.s.now().UTC()
	}
	return at.UTC()
}

// CreateNode fills a zero CreatedAt from the clock and a zero UpdatedAt
// from CreatedAt, in n too. ECONFLICT if the ID exists.
func (t *txn) CreateNode(n *lineage.Node) error {
	q, ok := qCreateNode[n.Kind]
	if !ok {
		return lineage.Invalid("kind", "unknown node kind %q", n.Kind)
	}
	if len(n.Props) > 0 && !json.Valid(n.Props) {
		return lineage.Invalid("props", "must be valid JSON")
	}
	n.CreatedAt = t.stamp(n.CreatedAt)
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	seq, err := t.nextSeq(seqNode)
	if err != nil {
		return err
	}
	rec, err := t.single(q, map[string]any{"props": nodeProps(n, seq)})
	if err != nil {
		return txError(fmt.Sprintf("node %q", n.ID), err)
	} else if rec == nil {
		return lineage.Errorf(lineage.ECONFLICT, "node %q already exists", n.ID)
	}
	return nil
}

// UpdateNode replaces name, props, updatedAt and deletedAt (and a run's
// attributes); a zero UpdatedAt means now, in n too.
func (t *txn) UpdateNode(n *lineage.Node) error {
	if len(n.Props) > 0 && !json.Valid(n.Props) {
		return lineage.Invalid("props", "must be valid JSON")
	}
	n.UpdatedAt = t.stamp(n.UpdatedAt)
	props := map[string]any{
		"name":      n.Name,
		"nameFold":  strings.ToLower(n.Name),
		"props":     propsText(n.Props),
		"updatedAt": n.UpdatedAt.UTC(),
		"deletedAt": timeOrNil(n.DeletedAt),
	}
	// The stored kind decides whether the run attributes and productionOf
	// apply: n.Kind may be unset.
	rec, err := t.single(qUpdateNode, map[string]any{"id": string(n.ID), "props": props,
		"run": runProps(n.Props), "production": inProduction(n.Props)})
	if err != nil {
		return txError(fmt.Sprintf("node %q", n.ID), err)
	} else if rec == nil {
		return notFound(n.ID)
	}
	return nil
}

// DeleteNode removes a node, its edges and its run data.
func (t *txn) DeleteNode(id lineage.ID) error {
	n, err := t.count(qDeleteNode, map[string]any{"id": string(id)})
	if err != nil {
		return err
	} else if n == 0 {
		return notFound(id)
	}
	for _, q := range []string{qDeleteParam, qDeleteTag, qDeleteMetric, qDeleteChunk} {
		if err := t.exec(q, map[string]any{"id": string(id)}); err != nil {
			return txError("delete node", err)
		}
	}
	return nil
}

// ends reports which of two nodes exist.
func (t *txn) ends(from, to lineage.ID) (bool, bool, error) {
	rec, err := t.single(qEnds, map[string]any{"from": string(from), "to": string(to)})
	if err != nil || rec == nil {
		return false, false, txError("edge", err)
	}
	a, _ := rec.Values[0].(bool)
	b, _ := rec.Values[1].(bool)
	return a, b, nil
}

// AddEdge fills a zero CreatedAt from the clock. An edge given with
// RemovedAt is stored as removed (history import); an identical unremoved
// edge is not added twice.
func (t *txn) AddEdge(e lineage.Edge) error {
	q, ok := qCreateEdge[e.Type]
	if !ok {
		return lineage.Invalid("type", "unknown edge type %q", e.Type)
	}
	a, b, err := t.ends(e.From, e.To)
	if err != nil {
		return err
	} else if !a {
		return notFound(e.From)
	} else if !b {
		return notFound(e.To)
	}
	seq, err := t.nextSeq(seqEdge)
	if err != nil {
		return err
	}
	props := map[string]any{"role": e.Role, "createdAt": t.stamp(e.CreatedAt), "removedAt": timeOrNil(e.RemovedAt), "seq": seq}
	return txError("add edge", t.exec(q, map[string]any{"from": string(e.From), "to": string(e.To), "props": props}))
}

// RemoveEdge does nothing when no edge matches; a zero time means now.
func (t *txn) RemoveEdge(from, to lineage.ID, typ lineage.EdgeType, at time.Time) error {
	err := t.exec(qRemoveEdge, map[string]any{"from": string(from), "to": string(to), "type": string(typ), "at": t.stamp(at)})
	return txError("remove edge", err)
}

func (t *txn) NextVersion(counter lineage.ID) (int64, error) {
	return t.count(qNextVersion, map[string]any{"name": string(counter)})
}

func (t *txn) SetCounter(counter lineage.ID, value int64) error {
	return txError("set counter", t.exec(qSetCounter, map[string]any{"name": string(counter), "value": value}))
}

func (t *txn) SetRunParams(run lineage.ID, params map[string]string) error {
	return t.setKV(qSetParams, run, params)
}

func (t *txn) SetRunTags(run lineage.ID, tags map[string]string) error {
	return t.setKV(qSetTags, run, tags)
}

func (t *txn) setKV(q string, run lineage.ID, kv map[string]string) error {
	if len(kv) == 0 {
		return nil
	}
	pairs := make([][]string, 0, len(kv))
	for k, v := range kv {
		pairs = append(pairs, []string{k, v})
	}
	n, err := t.count(q, map[string]any{"run": string(run), "kv": pairs})
	if err != nil {
		return err
	} else if n == 0 {
		return notFound(run)
	}
	return nil
}

// AddTransition fills a zero At from the clock; seq keeps commit order.
func (t *txn) AddTransition(tr lineage.Transition) error {
	seq, err := t.nextSeq(seqTransition)
	if err != nil {
		return err
	}
	props := map[string]any{"seq": seq, "modelVersion": string(tr.ModelVersion), "from": string(tr.From), "to": string(tr.To),
		"actor": tr.Actor, "reason": tr.Reason, "at": t.stamp(tr.At), "rollback": tr.Rollback}
	return txError("add transition", t.exec(qAddTransition, map[string]any{"props": props}))
}

// PutIdempotency fills a zero CreatedAt from the clock. ECONFLICT if the
// key exists.
func (t *txn) PutIdempotency(rec lineage.IdempotencyRecord) error {
	props := map[string]any{"key": rec.Key, "operation": rec.Operation, "digest": rec.Digest,
		"result": string(rec.Result), "createdAt": t.stamp(rec.CreatedAt)}
	r, err := t.single(qPutIdempotency, map[string]any{"props": props})
	if err != nil {
		return txError("idempotency key", err)
	} else if r == nil {
		return lineage.Errorf(lineage.ECONFLICT, "idempotency key already exists")
	}
	return nil
}

// AddEvent sets e.Seq, and e.CreatedAt from the clock if zero. ECONFLICT if
// an event with the same ID exists.
func (t *txn) AddEvent(e *lineage.Event) error {
	if len(e.Payload) > 0 && !json.Valid(e.Payload) {
		return lineage.Invalid("payload", "must be valid JSON")
	}
	seq, err := t.nextSeq(seqEvent)
	if err != nil {
		return err
	}
	at := t.stamp(e.CreatedAt)
	props := map[string]any{"seq": seq, "id": e.ID, "model": e.Model, "modelSeq": e.ModelSeq, "type": string(e.Type),
		"payload": propsText(e.Payload), "createdAt": at}
	r, err := t.single(qAddEvent, map[string]any{"props": props})
	if err != nil || r == nil {
		t.seqs[seqEvent].value-- // no event took the number: the outbox stays gapless
		if err != nil {
			return txError(fmt.Sprintf("event %q", e.ID), err)
		}
		return lineage.Errorf(lineage.ECONFLICT, "event %q already exists", e.ID)
	}
	e.Seq, e.CreatedAt = seq, at
	return nil
}

// PutDoc stores the value as a string: Neo4j keeps its bytes, where a map
// property would lose the JSON's member order, spacing and number
// spellings. MERGE on the constrained (collection, key) is safe against
// two first writers.
func (t *txn) PutDoc(d lineage.Doc) error {
	err := t.exec(qPutDoc, map[string]any{"collection": d.Collection, "key": d.Key, "value": propsText(d.Value)})
	return txError("put doc", err)
}

func (t *txn) DeleteDoc(collection, key string) error {
	return txError("delete doc", t.exec(qDeleteDoc, map[string]any{"collection": collection, "key": key}))
}
