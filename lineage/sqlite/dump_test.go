package sqlite

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Dump reads one snapshot: a write committed while it runs is not in it.
func TestDumpIsASnapshot(t *testing.T) {
	s := MustOpen(t)
	MustCreate(t, s, []*lineage.Node{node("dataset:a", 1), node("dataset:b", 2)}, nil)
	var got []lineage.ID
	err := s.Dump(context.Background(), func(r *lineage.Record) error {
		if r.Node == nil {
			return nil
		}
		if len(got) == 0 {
			MustCreate(t, s, []*lineage.Node{node("dataset:c", 3)}, nil)
		}
		got = append(got, r.Node.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []lineage.ID{"dataset:a", "dataset:b"}; !slices.Equal(got, want) {
		t.Errorf("dumped nodes %v, want %v (the snapshot at the first read)", got, want)
	}
}

// Dump merges a history's chunks, logged in any order with overlapping
// steps, into the order MetricHistory reads, and returns fn's error as is.
func TestDumpMergesMetricChunks(t *testing.T) {
	s := MustOpen(t)
	MustCreate(t, s, []*lineage.Node{node("run:r", 1)}, nil)
	rng := rand.New(rand.NewPCG(3, 4))
	for b := range 40 {
		var pts []lineage.MetricPoint
		lo := rng.Int64N(3000)
		for range 1 + rng.IntN(400) {
			pts = append(pts, lineage.MetricPoint{Key: "loss", Step: lo + rng.Int64N(200), Value: float64(rng.IntN(5)), Timestamp: at(rng.IntN(5))})
		}
		if b%7 == 0 {
			pts = append(pts, lineage.MetricPoint{Key: "acc", Step: int64(b), Value: 1, Timestamp: at(b)})
		}
		MustUpdate(t, s, func(tx lineage.Tx) error { return tx.LogMetrics("run:r", pts) })
	}
	var want []lineage.DumpPoint
	MustView(t, s, func(tx lineage.ReadTx) error {
		for _, key := range []string{"acc", "loss"} {
			pts, err := tx.MetricHistory(lineage.MetricHistoryQuery{Run: "run:r", Key: key})
			if err != nil {
				return err
			}
			for _, p := range pts {
				want = append(want, lineage.DumpPoint{Step: p.Step, Timestamp: p.Timestamp, Value: lineage.MetricValue(p.Value)})
			}
		}
		return nil
	})
	var got []lineage.DumpPoint
	records := 0
	err := s.Dump(context.Background(), func(r *lineage.Record) error {
		if r.Metrics != nil {
			records++
			if len(r.Metrics.Points) > lineage.MaxDumpPoints {
				t.Errorf("a metrics record of %d points", len(r.Metrics.Points))
			}
			got = append(got, r.Metrics.Points...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dumped points differ from MetricHistory (-want +got):\n%s", diff)
	}
	if records < len(want)/lineage.MaxDumpPoints+1 {
		t.Errorf("%d metrics records for %d points", records, len(want))
	}

	calls := 0
	err = s.Dump(context.Background(), func(r *lineage.Record) error {
		calls++
		if r.Metrics != nil {
			return errTest
		}
		return nil
	})
	if err != errTest {
		t.Errorf("Dump returned %v, want fn's error as is", err)
	}
	if calls != 2 {
		t.Errorf("fn called %d times, want 2 (the node, then the first metrics record)", calls)
	}
	s.Close()
	if err := s.Dump(context.Background(), func(*lineage.Record) error { return nil }); !errors.Is(err, errClosed) {
		t.Errorf("Dump of a closed store = %v", err)
	}
}

// BenchmarkDumpRestore moves a metrics-heavy store (200 runs × 5 metrics ×
// 1,000 points, 1M points) through Dump and Restore, the path of pedigree
// migrate without the JSON: the figures are points per second.
func BenchmarkDumpRestore(b *testing.B) {
	const runs, keys, steps = 200, 5, 1000
	src := MustOpen(b)
	for r := range runs {
		id := lineage.ID("run:r" + string(rune('a'+r%26)) + itoa(r))
		MustUpdate(b, src, func(tx lineage.Tx) error {
			if err := tx.CreateNode(&lineage.Node{ID: id, Kind: lineage.KindRun, CreatedAt: at(r)}); err != nil {
				return err
			}
			pts := make([]lineage.MetricPoint, 0, keys*steps)
			for k := range keys {
				for s := range steps {
					pts = append(pts, lineage.MetricPoint{Key: "m" + itoa(k), Value: float64(s) / steps, Step: int64(s), Timestamp: at(s)})
				}
			}
			return tx.LogMetrics(id, pts)
		})
	}
	var recs []*lineage.Record
	dump := func() {
		recs = recs[:0]
		if err := src.Dump(context.Background(), func(r *lineage.Record) error { recs = append(recs, r); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	const points = runs * keys * steps
	b.Run("dump", func(b *testing.B) {
		for b.Loop() {
			dump()
		}
		b.ReportMetric(float64(points*b.N)/b.Elapsed().Seconds(), "points/s")
	})
	b.Run("restore", func(b *testing.B) {
		dump()
		for b.Loop() {
			b.StopTimer()
			dst := MustOpen(b)
			i := 0
			b.StartTimer()
			err := lineage.Restore(context.Background(), dst, func() (*lineage.Record, error) {
				if i == len(recs) {
					return nil, io.EOF
				}
				i++
				return recs[i-1], nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(points*b.N)/b.Elapsed().Seconds(), "points/s")
	})
}

func itoa(i int) string { return strconv.Itoa(i) }
