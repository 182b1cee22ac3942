// Package metric is what the backends share about metric histories: a
// point's order and how points fold into a summary, so that every store
// answers a run's metrics alike.
package metric

import (
	"cmp"
	"math"
	"slices"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Point is a metric point without its key, the time as unix nanoseconds.
type Point struct {
	Step, TS int64
	Value    float64
}

// Compare orders points by step, then time, then value as IEEE 754 bits
// (a total order, NaN included).
func Compare(a, b Point) int {
	return cmp.Or(cmp.Compare(a.Step, b.Step), cmp.Compare(a.TS, b.TS),
		cmp.Compare(math.Float64bits(a.Value), math.Float64bits(b.Value)))
}

// Summary is what a run shows of one metric's history: Last is the value
// at the highest step (latest time among equal steps). NaN Min/Max mean
// "no number seen yet".
type Summary struct {
	Last             float64
	LastStep, LastTS int64
	Min, Max         float64
	Count            int64
}

// NewSummary returns the summary of no points.
func NewSummary() Summary { return Summary{Min: math.NaN(), Max: math.NaN()} }

// Add folds a point in.
func (m *Summary) Add(p Point) {
	if m.Count == 0 || p.Step > m.LastStep || p.Step == m.LastStep && p.TS >= m.LastTS {
		m.Last, m.LastStep, m.LastTS = p.Value, p.Step, p.TS
	}
	if !math.IsNaN(p.Value) {
		if math.IsNaN(m.Min) || p.Value < m.Min {
			m.Min = p.Value
		}
		if math.IsNaN(m.Max) || p.Value > m.Max {
			m.Max = p.Value
		}
	}
	m.Count++
}

// Merge folds in the summary of later points.
func (m *Summary) Merge(b *Summary) {
	if b.LastStep > m.LastStep || b.LastStep == m.LastStep && b.LastTS >= m.LastTS {
		m.Last, m.LastStep, m.LastTS = b.Last, b.LastStep, b.LastTS
	}
	if math.IsNaN(m.Min) || b.Min < m.Min {
		m.Min = b.Min
	}
	if math.IsNaN(m.Max) || b.Max > m.Max {
		m.Max = b.Max
	}
	m.Count += b.Count
}

// Batch is a LogMetrics batch as a store writes it: each key's points
// sorted by Compare without repeats, and the keys in byte order (a fixed
// write order). A zero Timestamp means now (unix ns).
type Batch struct {
	Keys   []string
	Points map[string][]Point
}

// NewBatch groups points by key.
func NewBatch(points []lineage.MetricPoint, now int64) Batch {
	b := Batch{Points: make(map[string][]Point)}
	for _, p := range points {
		ts := now
		if !p.Timestamp.IsZero() {
			ts = p.Timestamp.UnixNano()
		}
		b.Points[p.Key] = append(b.Points[p.Key], Point{Step: p.Step, TS: ts, Value: p.Value})
	}
	for k, pts := range b.Points {
		slices.SortFunc(pts, Compare)
		b.Points[k] = slices.CompactFunc(pts, func(a, c Point) bool { return Compare(a, c) == 0 })
		b.Keys = append(b.Keys, k)
	}
	slices.Sort(b.Keys)
	return b
}
