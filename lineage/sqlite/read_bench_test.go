package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// BenchmarkRunData reads params and metric summaries of 100 runs × 50
// params × 50 metrics in one call, as compareRuns does (DESIGN.md §6:
// compareRuns p99 ≤ 20 ms end to end). The runs are written through the
// Store, one Update each.
func BenchmarkRunData(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "rd.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	ids := make([]lineage.ID, 100)
	for i := range ids {
		ids[i] = lineage.NewID(lineage.KindRun, fmt.Sprintf("r%03d", i))
		params := map[string]string{}
		var points []lineage.MetricPoint
		for k := range 50 {
			params[fmt.Sprintf("p%d", k)] = fmt.Sprint(k * (i%3 + 1))
			points = append(points, lineage.MetricPoint{Key: fmt.Sprintf("m%d", k), Value: float64(i*k) / 100, Step: 1})
		}
		err := s.Update(ctx, func(tx lineage.Tx) error {
			if err := tx.CreateNode(node(ids[i], i)); err != nil {
				return err
			}
			if err := tx.SetRunParams(ids[i], params); err != nil {
				return err
			}
			if err := tx.SetRunTags(ids[i], map[string]string{"team": "risk"}); err != nil {
				return err
			}
			return tx.LogMetrics(ids[i], points)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		err := s.View(ctx, func(tx lineage.ReadTx) error {
			m, err := tx.RunData(ids)
			if err == nil && (len(m) != 100 || len(m[ids[1]].Params) != 50 || len(m[ids[1]].Metrics) != 50) {
				err = fmt.Errorf("RunData: got %d runs, want 100 with 50 params and 50 metrics", len(m))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEdges reads the edges of 100 runs of the 10k-node graph in one
// View, one Edges call each, as compareRuns does: provenance types only
// (USED, RAN_CODE), every type (PART_OF too), and both directions.
func BenchmarkEdges(b *testing.B) {
	s := openGraph(b, "10k", 10_000)
	families := 10_000 / familySize
	runs := make([]lineage.ID, 100)
	for i := range runs {
		runs[i] = lineage.NewID(lineage.KindRun, fmt.Sprint("f", (i*37)%families, "-", i%20))
	}
	for _, tc := range []struct {
		name  string
		dir   lineage.Direction
		types []lineage.EdgeType
	}{
		{"used-rancode", lineage.Upstream, []lineage.EdgeType{lineage.EdgeUsed, lineage.EdgeRanCode}},
		{"all-types", lineage.Upstream, nil},
		{"both", lineage.Both, []lineage.EdgeType{lineage.EdgeUsed, lineage.EdgeRanCode, lineage.EdgeGeneratedBy}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			edges := 0
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				edges = 0
				err := s.View(ctx, func(tx lineage.ReadTx) error {
					for _, id := range runs {
						es, err := tx.Edges(id, tc.dir, tc.types...)
						if err != nil {
							return err
						}
						edges += len(es)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*len(runs)), "ns/call")
			b.ReportMetric(float64(edges)/float64(len(runs)), "edges/call")
		})
	}
}

// BenchmarkLogMetricsWideRun is BenchmarkLogMetrics (batches of 1,000
// points over 10 keys) on a run that already has 100, 128 (runDataMax) or
// 1,000 metrics: the cost of keeping run_data, whose metrics column is
// recomputed from all of the run's summaries at each commit that changed
// one, up to runDataMax of them.
func BenchmarkLogMetricsWideRun(b *testing.B) {
	for _, width := range []int{100, runDataMax, 1000} {
		b.Run(fmt.Sprint(width), func(b *testing.B) {
			s, err := Open(context.Background(), filepath.Join(b.TempDir(), "m.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			now := time.Now()
			keys := []string{"loss", "val_loss", "acc", "val_acc", "auc", "lr", "grad_norm", "epoch_time", "precision", "recall"}
			var wide []lineage.MetricPoint
			for i := range width - len(keys) {
				wide = append(wide, lineage.MetricPoint{Key: fmt.Sprintf("layer%04d/grad_norm", i), Value: float64(i), Timestamp: now})
			}
			err = s.Update(ctx, func(tx lineage.Tx) error {
				if err := tx.CreateNode(node("run:r", 1)); err != nil {
					return err
				}
				return tx.LogMetrics("run:r", wide)
			})
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]lineage.MetricPoint, 1000)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range batch {
					step := int64(i*100 + j/len(keys))
					batch[j] = lineage.MetricPoint{Key: keys[j%len(keys)], Value: float64(j) / 1000, Step: step, Timestamp: now.Add(time.Duration(step) * time.Millisecond)}
				}
				if err := s.Update(ctx, func(tx lineage.Tx) error { return tx.LogMetrics("run:r", batch) }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "points/s")
		})
	}
}
