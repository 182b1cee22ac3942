package neo4j

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/pedigree-ml/pedigree/lineage"
)

var _ lineage.Dumper = (*Store)(nil)

var (
	qDumpNodes = cypher("dump nodes", `MATCH (n:Node) RETURN properties(n) AS n ORDER BY n.seq`)
	qDumpEdges = cypher("dump edges", `MATCH (a:Node)-[e]->(b:Node)
		RETURN a.id AS from, b.id AS to, type(e) AS type, e.role AS role, e.createdAt AS createdAt, e.removedAt AS removedAt
		ORDER BY e.seq`)
	// Run data of any node (the Tx contract does not limit it to runs), in
	// node order; a run's chunks together.
	qDumpRunData = cypher("dump run data", `MATCH (n:Node)
		WITH n, COLLECT { MATCH (p:Param {run: n.id}) RETURN [p.key, p.value] } AS params,
			COLLECT { MATCH (t:Tag {run: n.id}) RETURN [t.key, t.value] } AS tags
		WHERE size(params) > 0 OR size(tags) > 0
		RETURN n.id AS run, params, tags ORDER BY n.seq`)
	qDumpMetrics = cypher("dump metrics", `MATCH (c:MetricChunk)
		MATCH (n:Node {id: c.run})
		RETURN n.id AS run, c.key AS key, c.steps AS steps, c.timestamps AS timestamps, c.values AS values
		ORDER BY n.seq`)
	qDumpTransitions = cypher("dump transitions", `MATCH (t:Transition) RETURN properties(t) AS t ORDER BY t.seq`)
	qDumpIdempotency = cypher("dump idempotency", `MATCH (i:Idempotency) RETURN properties(i) AS i`)
	qDumpCounters    = cypher("dump counters", `MATCH (c:Counter) RETURN c.name AS name, c.value AS value`)
	qDumpEvents      = cypher("dump events", `MATCH (e:Event) RETURN properties(e) AS e ORDER BY e.seq`)
	qDumpDocs        = cypher("dump docs", `MATCH (d:Doc)
		RETURN d.collection AS collection, d.key AS key, d.value AS value ORDER BY d.collection, d.key`)
)

// Dump reads the whole store in one View-like snapshot (the writer lock
// held, writers waiting: Neo4j reads are not snapshots; and never replayed,
// as records passed to fn cannot be taken back), without a timeout,
// streaming each statement's records, in the order lineage.Dumper
// defines. Sorting that Cypher cannot do byte for byte (metric keys,
// idempotency keys, counter names) is done here; documents, which may be
// many, are streamed in Cypher's order, byte order for their ASCII keys
// and collection names (see reader.Docs). It holds one run's
// metric histories, and the idempotency keys, in memory.
func (s *Store) Dump(ctx context.Context, fn func(*lineage.Record) error) error {
	return s.snapshot(ctx, 0, func(r *reader) error {
		d := &dumper{ctx: ctx, tx: r.tx, fn: fn}
		for _, step := range []func() error{d.nodes, d.edges, d.runData, d.metrics, d.transitions, d.idempotency, d.counters, d.events, d.docs} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

type dumper struct {
	ctx context.Context
	tx  neo4j.ManagedTransaction
	fn  func(*lineage.Record) error
}

// each streams a statement's records to row.
func (d *dumper) each(op, q string, params map[string]any, row func(*neo4j.Record) error) error {
	res, err := d.tx.Run(d.ctx, q, params)
	if err != nil {
		return txError(op, err)
	}
	for res.Next(d.ctx) {
		if err := row(res.Record()); err != nil {
			return err // fn's own errors come back unwrapped, as Dumper requires
		}
	}
	return txError(op, res.Err())
}

func (d *dumper) nodes() error {
	return d.each("dump nodes", qDumpNodes, nil, func(rec *neo4j.Record) error {
		n, err := decodeNode(rec.Values[0])
		if err != nil {
			return err
		}
		return d.fn(&lineage.Record{Node: n})
	})
}

func (d *dumper) edges() error {
	return d.each("dump edges", qDumpEdges, nil, func(rec *neo4j.Record) error {
		e, err := decodeEdge(rec.Values)
		if err != nil {
			return err
		}
		return d.fn(&lineage.Record{Edge: &e})
	})
}

func (d *dumper) runData() error {
	return d.each("dump run data", qDumpRunData, nil, func(rec *neo4j.Record) error {
		kv := &lineage.RunKV{Run: lineage.ID(asString(rec.Values[0]))}
		for _, part := range []struct {
			dst *map[string]string
			v   any
		}{{&kv.Params, rec.Values[1]}, {&kv.Tags, rec.Values[2]}} {
			if list, _ := part.v.([]any); len(list) > 0 {
				*part.dst = map[string]string{}
				if err := decodePairs(list, *part.dst); err != nil {
					return err
				}
			}
		}
		if kv.Params == nil && kv.Tags == nil {
			return nil
		}
		return d.fn(&lineage.Record{RunData: kv})
	})
}

// metrics gathers each run's chunks (they come run after run), then emits
// its histories key by key in byte order, points in ComparePoints order.
func (d *dumper) metrics() error {
	chunker := lineage.NewMetricChunker(d.fn)
	var (
		run  lineage.ID
		hist = map[string][]point{}
	)
	flush := func() error {
		keys := make([]string, 0, len(hist))
		for k := range hist {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			pts := hist[k]
			slices.SortFunc(pts, comparePoints)
			for _, p := range pts {
				dp := lineage.DumpPoint{Step: p.Step, Timestamp: time.Unix(0, p.TS).UTC(), Value: lineage.MetricValue(p.Value)}
				if err := chunker.Add(run, k, dp); err != nil {
					return err
				}
			}
		}
		clear(hist)
		return nil
	}
	err := d.each("dump metrics", qDumpMetrics, nil, func(rec *neo4j.Record) error {
		if id := lineage.ID(asString(rec.Values[0])); id != run {
			if err := flush(); err != nil {
				return err
			}
			run = id
		}
		pts, err := decodeChunk(rec.Values[2], rec.Values[3], rec.Values[4])
		if err != nil {
			return err
		}
		key := asString(rec.Values[1])
		hist[key] = append(hist[key], pts...)
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = chunker.Flush()
	}
	return err
}

func (d *dumper) transitions() error {
	return d.each("dump transitions", qDumpTransitions, nil, func(rec *neo4j.Record) error {
		t, err := decodeTransition(rec.Values[0])
		if err != nil {
			return err
		}
		return d.fn(&lineage.Record{Transition: &t})
	})
}

// idempotency sorts the records by key, bytewise.
func (d *dumper) idempotency() error {
	var recs []*lineage.IdempotencyRecord
	err := d.each("dump idempotency", qDumpIdempotency, nil, func(rec *neo4j.Record) error {
		r, err := decodeIdempotency(rec.Values[0])
		recs = append(recs, r)
		return err
	})
	if err != nil {
		return err
	}
	slices.SortFunc(recs, func(a, b *lineage.IdempotencyRecord) int { return strings.Compare(a.Key, b.Key) })
	for _, r := range recs {
		if err := d.fn(&lineage.Record{Idempotency: r}); err != nil {
			return err
		}
	}
	return nil
}

func (d *dumper) counters() error {
	var cs []lineage.Counter
	err := d.each("dump counters", qDumpCounters, nil, func(rec *neo4j.Record) error {
		v, err := asInt(rec.Values[1])
		cs = append(cs, lineage.Counter{Name: lineage.ID(asString(rec.Values[0])), Value: v})
		return err
	})
	if err != nil {
		return err
	}
	slices.SortFunc(cs, func(a, b lineage.Counter) int { return strings.Compare(string(a.Name), string(b.Name)) })
	for i := range cs {
		if err := d.fn(&lineage.Record{Counter: &cs[i]}); err != nil {
			return err
		}
	}
	return nil
}

func (d *dumper) events() error {
	return d.each("dump events", qDumpEvents, nil, func(rec *neo4j.Record) error {
		e, err := decodeEvent(rec.Values[0])
		if err != nil {
			return err
		}
		return d.fn(&lineage.Record{Event: &e})
	})
}

func (d *dumper) docs() error {
	return d.each("dump docs", qDumpDocs, nil, func(rec *neo4j.Record) error {
		return d.fn(&lineage.Record{Doc: &lineage.Doc{Collection: asString(rec.Values[0]), Key: asString(rec.Values[1]),
			Value: docValue(rec.Values[2])}})
	})
}
