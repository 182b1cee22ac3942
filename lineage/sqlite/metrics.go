package sqlite

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"math"
	"slices"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/internal/metric"
)

// Metric histories are stored in chunks: the points one LogMetrics call
// logged for one key, sorted by (step, time, value) and packed as
//
//	version byte 1, uvarint count, then per point:
//	varint step delta, varint unix-ns delta, 8 bytes little-endian float64 bits
//
// (deltas from the previous point, the first from 0). Inserting one chunk
// row instead of a row per point is what makes 1,000-point batches cheap
// with this driver, and the packing halves the bytes written.

var crcTable = crc64.MakeTable(crc64.ECMA)

// point is a metric point without its key, times as unix ns.
type point = metric.Point

var comparePoints = metric.Compare

func encodePoints(buf []byte, pts []point) []byte {
	buf = append(buf[:0], 1)
	buf = binary.AppendUvarint(buf, uint64(len(pts)))
	var step, ts int64
	for _, p := range pts {
		buf = binary.AppendVarint(buf, p.Step-step) // wraps both ways alike
		buf = binary.AppendVarint(buf, p.TS-ts)
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(p.Value))
		step, ts = p.Step, p.TS
	}
	return buf
}

var errBadChunk = errors.New("metric chunk: malformed")

func decodePoints(b []byte, fn func(point)) error {
	if len(b) < 1 || b[0] != 1 {
		return errBadChunk
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return errBadChunk
	}
	b = b[k:]
	var p point
	for range n {
		d, k := binary.Varint(b)
		if k <= 0 {
			return errBadChunk
		}
		p.Step += d
		b = b[k:]
		if d, k = binary.Varint(b); k <= 0 {
			return errBadChunk
		}
		p.TS += d
		b = b[k:]
		if len(b) < 8 {
			return errBadChunk
		}
		p.Value = math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
		fn(p)
	}
	return nil
}

// LogMetrics stores each key's points as one chunk and folds them into the
// run's summaries. Identical points in a batch are stored once, and a batch
// whose points for a key equal an already stored chunk's (a retry) adds
// nothing. A zero Timestamp means now.
func (t *txn) LogMetrics(run lineage.ID, points []lineage.MetricPoint) error {
	if len(points) == 0 {
		return nil
	}
	seq, err := t.seq(run)
	if err != nil {
		return err
	}
	batch := metric.NewBatch(points, t.s.now().UnixNano())
	var buf []byte
	for _, key := range batch.Keys {
		pts := batch.Points[key]
		buf = encodePoints(buf, pts)
		res, err := t.exec(sInsertChunk, seq, key, pts[0].Step, pts[len(pts)-1].Step,
			int64(crc64.Checksum(buf, crcTable)), len(pts), buf)
		if err != nil {
			return formatError("log metrics", err)
		}
		if k, err := res.RowsAffected(); err != nil {
			return formatError("log metrics", err)
		} else if k == 0 {
			continue // this very chunk is stored: a retry
		}
		m := metric.NewSummary()
		for _, p := range pts {
			m.Add(p)
		}
		old, err := t.summary(seq, key)
		if err != nil {
			return err
		}
		if old.Count > 0 {
			old.Merge(&m)
			m = old
		}
		if _, err := t.exec(sPutSummary, seq, key, nullIfNaN(m.Last), m.LastStep, m.LastTS,
			nullIfNaN(m.Min), nullIfNaN(m.Max), m.Count); err != nil {
			return formatError("log metrics", err)
		}
		t.touch(seq, partMetrics)
	}
	return nil
}

func (t *txn) summary(seq int64, key string) (metric.Summary, error) {
	var (
		m            metric.Summary
		last, lo, hi sql.NullFloat64
	)
	err := t.stmt(sSummary).QueryRowContext(t.ctx, seq, key).Scan(&last, &m.LastStep, &m.LastTS, &lo, &hi, &m.Count)
	if errors.Is(err, sql.ErrNoRows) {
		return metric.Summary{}, nil
	}
	m.Last, m.Min, m.Max = nanIfNull(last), nanIfNull(lo), nanIfNull(hi)
	return m, formatError("log metrics", err)
}

// MetricHistory returns nothing for a run that does not exist. Limit < 1
// means all points. Chunks are read in order of their first step and
// reading stops once no later chunk can hold one of the first Limit points.
func (r *reader) MetricHistory(q lineage.MetricHistoryQuery) ([]lineage.MetricPoint, error) {
	seq, err := r.seq(q.Run)
	if lineage.ErrorCode(err) == lineage.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	after := int64(math.MinInt64)
	if q.AfterStep != nil {
		after = *q.AfterStep
	}
	rows, err := r.stmt(sHistory).QueryContext(r.ctx, seq, q.Key, after)
	if err != nil {
		return nil, formatError("metric history", err)
	}
	defer rows.Close()
	var (
		pts      []point
		minStep  int64
		chunk    []byte
		complete = func() bool { // the first Limit points are known
			if q.Limit < 1 || len(pts) < q.Limit {
				return false
			}
			slices.SortFunc(pts, comparePoints)
			return pts[q.Limit-1].Step < minStep
		}
	)
	for rows.Next() {
		if err := rows.Scan(&minStep, &chunk); err != nil {
			return nil, formatError("metric history", err)
		}
		if complete() {
			break
		}
		err := decodePoints(chunk, func(p point) {
			if p.Step > after {
				pts = append(pts, p)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("metric history of %s/%s: %w", q.Run, q.Key, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, formatError("metric history", err)
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
