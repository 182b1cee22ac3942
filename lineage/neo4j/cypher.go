package neo4j

import (
	"strings"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Every fixed Cypher statement is declared with cypher, which records it
// for the offline check (cypher_lint_test.go): Neo4j's own parser and
// semantic analyser read each one, with the labels, relationship types and
// property keys below as the schema. Statements built at run time (runs
// filters, per-kind CREATEs) are checked through samples in lintCorpus.

type statement struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

var statements []statement

func cypher(name, text string) string {
	statements = append(statements, statement{Name: name, Text: text})
	return text
}

// Labels besides the node kinds, and every property key the store writes.
var (
	otherLabels  = []string{"Node", "Param", "Tag", "Metric", "MetricChunk", "Transition", "Idempotency", "Event", "Counter", "Sequence", "Lock", "Doc"}
	propertyKeys = []string{
		// Node
		"id", "kind", "parent", "name", "nameFold", "props", "createdAt", "updatedAt", "deletedAt", "seq",
		"runStatus", "runName", "runExperiment", "runPipeline", "runStartedAt", "runEndedAt", "productionOf",
		// edges
		"role", "removedAt",
		// run data
		"run", "key", "value", "last", "lastStep", "lastTs", "min", "max", "count",
		"minStep", "maxStep", "digest", "steps", "values", "timestamps",
		// Transition, Idempotency, Event, Counter, Lock
		"modelVersion", "from", "to", "actor", "reason", "at", "rollback",
		"operation", "result", "model", "modelSeq", "type", "payload", "heldAt",
		// Doc (also key, value)
		"collection",
	}
)

// labelOf returns the label of a node kind, from the allowlist only.
func labelOf(k lineage.Kind) (string, bool) {
	if !k.Valid() {
		return "", false
	}
	return string(k), true
}

// relType returns the relationship type of an edge type, from the
// allowlist only.
func relType(t lineage.EdgeType) (string, bool) {
	if !t.Valid() {
		return "", false
	}
	return string(t), true
}

// provenanceTypes is the relationship type union traversals follow, e.g.
// "USED|GENERATED_BY|…".
var provenanceTypes = func() string {
	var ts []string
	for _, t := range lineage.EdgeTypes {
		if t.Provenance() {
			ts = append(ts, string(t))
		}
	}
	return strings.Join(ts, "|")
}()

// schemaStatements create the constraints and indexes. Each is idempotent.
var schemaStatements = []string{
	cypher("schema: node id", `CREATE CONSTRAINT node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE`),
	cypher("schema: node seq", `CREATE INDEX node_kind_seq IF NOT EXISTS FOR (n:Node) ON (n.kind, n.seq)`),
	cypher("schema: node parent", `CREATE INDEX node_parent IF NOT EXISTS FOR (n:Node) ON (n.parent)`),
	cypher("schema: node names", `CREATE FULLTEXT INDEX node_names IF NOT EXISTS FOR (n:Node) ON EACH [n.nameFold]
		OPTIONS {indexConfig: {`+"`fulltext.analyzer`"+`: 'keyword'}}`),
	cypher("schema: one production version", `CREATE CONSTRAINT model_production IF NOT EXISTS FOR (n:ModelVersion) REQUIRE n.productionOf IS UNIQUE`),
	cypher("schema: run created", `CREATE INDEX run_created IF NOT EXISTS FOR (n:Run) ON (n.createdAt)`),
	cypher("schema: run status", `CREATE INDEX run_status IF NOT EXISTS FOR (n:Run) ON (n.runStatus)`),
	cypher("schema: run experiment", `CREATE INDEX run_experiment IF NOT EXISTS FOR (n:Run) ON (n.runExperiment)`),
	cypher("schema: param", `CREATE CONSTRAINT param_key IF NOT EXISTS FOR (p:Param) REQUIRE (p.run, p.key) IS UNIQUE`),
	cypher("schema: param value", `CREATE INDEX param_key_value IF NOT EXISTS FOR (p:Param) ON (p.key, p.value)`),
	cypher("schema: tag", `CREATE CONSTRAINT tag_key IF NOT EXISTS FOR (t:Tag) REQUIRE (t.run, t.key) IS UNIQUE`),
	cypher("schema: tag value", `CREATE INDEX tag_key_value IF NOT EXISTS FOR (t:Tag) ON (t.key, t.value)`),
	cypher("schema: metric", `CREATE CONSTRAINT metric_key IF NOT EXISTS FOR (m:Metric) REQUIRE (m.run, m.key) IS UNIQUE`),
	cypher("schema: metric last", `CREATE INDEX metric_key_last IF NOT EXISTS FOR (m:Metric) ON (m.key, m.last)`),
	cypher("schema: metric chunk", `CREATE INDEX metric_chunk IF NOT EXISTS FOR (c:MetricChunk) ON (c.run, c.key)`),
	cypher("schema: transition", `CREATE INDEX transition_version IF NOT EXISTS FOR (t:Transition) ON (t.modelVersion)`),
	cypher("schema: idempotency", `CREATE CONSTRAINT idempotency_key IF NOT EXISTS FOR (i:Idempotency) REQUIRE i.key IS UNIQUE`),
	cypher("schema: event seq", `CREATE CONSTRAINT event_seq IF NOT EXISTS FOR (e:Event) REQUIRE e.seq IS UNIQUE`),
	cypher("schema: event id", `CREATE CONSTRAINT event_id IF NOT EXISTS FOR (e:Event) REQUIRE e.id IS UNIQUE`),
	cypher("schema: event model", `CREATE INDEX event_model IF NOT EXISTS FOR (e:Event) ON (e.model, e.modelSeq)`),
	cypher("schema: counter", `CREATE CONSTRAINT counter_name IF NOT EXISTS FOR (c:Counter) REQUIRE c.name IS UNIQUE`),
	cypher("schema: sequence", `CREATE CONSTRAINT sequence_name IF NOT EXISTS FOR (q:Sequence) REQUIRE q.name IS UNIQUE`),
	cypher("schema: lock", `CREATE CONSTRAINT lock_name IF NOT EXISTS FOR (l:Lock) REQUIRE l.name IS UNIQUE`),
	// Also the index Doc and Docs seek: collection, then a range of keys.
	cypher("schema: doc", `CREATE CONSTRAINT doc_key IF NOT EXISTS FOR (d:Doc) REQUIRE (d.collection, d.key) IS UNIQUE`),
}

// qLockWriter starts every Update: writing a property takes the lock
// node's write lock until commit. MERGE on the constrained name is safe
// against two first writers.
var qLockWriter = cypher("lock writer", `MERGE (l:Lock {name: 'writer'}) SET l.heldAt = datetime()`)
