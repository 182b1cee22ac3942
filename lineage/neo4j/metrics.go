package neo4j

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"slices"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/internal/metric"
)

// chunkSize bounds the points of one (:MetricChunk): a batch larger than
// this is stored as several chunks, so no node's lists grow without bound.
const chunkSize = 1000

var errBadRecord = errors.New("malformed record")

var (
	// qMetricState reads, in one round trip, whether the run exists, the
	// summaries of the batch's keys and which of the batch's digests are
	// stored already (a retried batch).
	qMetricState = cypher("metric state", `OPTIONAL MATCH (r:Node {id: $run})
		RETURN r IS NOT NULL AS found,
			COLLECT { MATCH (m:Metric {run: $run}) WHERE m.key IN $keys RETURN properties(m) } AS summaries,
			COLLECT { MATCH (c:MetricChunk {run: $run}) WHERE c.digest IN $digests RETURN DISTINCT c.digest } AS stored`)
	qPutChunks    = cypher("put chunks", `UNWIND $chunks AS c CREATE (x:MetricChunk) SET x = c`)
	qPutSummaries = cypher("put summaries", `UNWIND $summaries AS s
		MERGE (m:Metric {run: s.run, key: s.key}) SET m += s`)
)

type point = metric.Point

var comparePoints = metric.Compare

// summary is a metric's summary and its key.
type summary struct {
	key string
	metric.Summary
}

func (m *summary) public() lineage.MetricSummary {
	return lineage.MetricSummary{Key: m.key, Last: m.Last, LastStep: m.LastStep, Min: m.Min, Max: m.Max, Count: m.Count}
}

// props is what (:Metric) stores; null stands for NaN, so that a filter
// comparison never matches it (as SQL NULL does in the embedded store).
func (m *summary) props(run lineage.ID) map[string]any {
	return map[string]any{"run": string(run), "key": m.key, "last": floatOrNil(m.Last), "lastStep": m.LastStep,
		"lastTs": m.LastTS, "min": floatOrNil(m.Min), "max": floatOrNil(m.Max), "count": m.Count}
}

func decodeSummary(v any) (summary, error) {
	m, err := asMap(v)
	if err != nil {
		return summary{}, err
	}
	s := summary{key: asString(m["key"])}
	for _, f := range []struct {
		dst *float64
		key string
	}{{&s.Last, "last"}, {&s.Min, "min"}, {&s.Max, "max"}} {
		if *f.dst, err = asFloat(m[f.key]); err != nil {
			return s, err
		}
	}
	for _, f := range []struct {
		dst *int64
		key string
	}{{&s.LastStep, "lastStep"}, {&s.LastTS, "lastTs"}, {&s.Count, "count"}} {
		if *f.dst, err = asInt(m[f.key]); err != nil {
			return s, err
		}
	}
	return s, nil
}

func decodeChunk(steps, timestamps, values any) ([]point, error) {
	st, err := asInts(steps)
	if err != nil {
		return nil, err
	}
	ts, err := asInts(timestamps)
	if err != nil {
		return nil, err
	}
	vs, err := asFloats(values)
	if err != nil {
		return nil, err
	}
	if len(st) != len(ts) || len(st) != len(vs) {
		return nil, errBadRecord
	}
	pts := make([]point, len(st))
	for i := range pts {
		pts[i] = point{Step: st[i], TS: ts[i], Value: vs[i]}
	}
	return pts, nil
}

// digestPoints identifies one key's batch, so that a retried batch is
// recognised and stored once.
func digestPoints(key string, pts []point) string {
	h := sha256.New()
	h.Write([]byte(key))
	var b [24]byte
	for _, p := range pts {
		binary.LittleEndian.PutUint64(b[0:], uint64(p.Step))
		binary.LittleEndian.PutUint64(b[8:], uint64(p.TS))
		binary.LittleEndian.PutUint64(b[16:], math.Float64bits(p.Value))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LogMetrics stores each key's points, sorted and deduplicated, in chunks
// of at most chunkSize, and folds them into the run's summaries: three
// round trips whatever the batch. A key's batch equal to one already
// stored (same digest: a retry) adds nothing. A zero Timestamp means now.
func (t *txn) LogMetrics(run lineage.ID, points []lineage.MetricPoint) error {
	if len(points) == 0 {
		return nil
	}
	batch := metric.NewBatch(points, t.s.now().UnixNano())
	digests := make([]string, len(batch.Keys))
	for i, k := range batch.Keys {
		digests[i] = digestPoints(k, batch.Points[k])
	}

	rec, err := t.single(qMetricState, map[string]any{"run": string(run), "keys": batch.Keys, "digests": digests})
	if err != nil {
		return txError("log metrics", err)
	}
	if found, _ := rec.Values[0].(bool); !found {
		return notFound(run)
	}
	old := map[string]summary{}
	list, _ := rec.Values[1].([]any)
	for _, v := range list {
		s, err := decodeSummary(v)
		if err != nil {
			return err
		}
		old[s.key] = s
	}
	stored := map[string]bool{}
	list, _ = rec.Values[2].([]any)
	for _, v := range list {
		stored[asString(v)] = true
	}

	var chunks, sums []map[string]any
	for i, key := range batch.Keys {
		pts, digest := batch.Points[key], digests[i]
		if stored[digest] {
			continue // this very batch is stored: a retry
		}
		m, ok := old[key]
		if !ok {
			m = summary{key, metric.NewSummary()}
		}
		for _, p := range pts {
			m.Add(p)
		}
		sums = append(sums, m.props(run))
		for part := range slices.Chunk(pts, chunkSize) {
			c := map[string]any{"run": string(run), "key": key, "digest": digest,
				"minStep": part[0].Step, "maxStep": part[len(part)-1].Step}
			steps, ts, vals := make([]int64, len(part)), make([]int64, len(part)), make([]float64, len(part))
			for i, p := range part {
				steps[i], ts[i], vals[i] = p.Step, p.TS, p.Value
			}
			c["steps"], c["timestamps"], c["values"] = steps, ts, vals
			chunks = append(chunks, c)
		}
	}
	if len(chunks) == 0 {
		return nil
	}
	if err := t.exec(qPutChunks, map[string]any{"chunks": chunks}); err != nil {
		return txError("log metrics", err)
	}
	return txError("log metrics", t.exec(qPutSummaries, map[string]any{"summaries": sums}))
}
