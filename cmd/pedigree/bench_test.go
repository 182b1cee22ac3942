package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// latencies records per-operation times and reports percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) time(f func()) {
	start := time.Now()
	f()
	l.mu.Lock()
	l.d = append(l.d, time.Since(start))
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return
	}
	at := func(p float64) float64 { return float64(l.d[int(p*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// logMetrics over HTTP in batches of 1,000 points, 4 clients at once, with
// the points as a MetricPoints value (the fast path) and as a list of input
// objects. DESIGN.md §6 target: ≥ 150,000 points/s.
func BenchmarkLogMetricsHTTP(b *testing.B) {
	for _, field := range []string{"points", "metrics"} {
		b.Run(field, func(b *testing.B) { benchmarkLogMetrics(b, field) })
	}
}

func benchmarkLogMetrics(b *testing.B, field string) {
	m := MustServe(b, b.TempDir())
	c := newClient(m.URL())
	var run struct{ StartRun idResult }
	c.must(b, startRun, map[string]any{"in": map[string]any{"experiment": "bench"}}, &run)
	batch := make([]map[string]any, 1000)
	for i := range batch {
		batch[i] = map[string]any{"key": fmt.Sprintf("m%d", i%10), "value": float64(i) * 0.001, "step": i / 10}
	}
	vars := map[string]any{"in": map[string]any{"run": run.StartRun.ID, field: batch}}
	b.SetParallelism(2)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.must(b, logMetrics, vars, nil)
		}
	})
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "points/s")
}

// lineageGraph writes a layered ML lineage through the Service: dataset
// versions → splits → runs → model versions, runs also using earlier model
// versions as base models, all in one environment. It returns the
// environment, whose downstream holds every run and model version.
func lineageGraph(b *testing.B, svc *lineage.Service, runs int) lineage.ID {
	ctx := context.Background()
	env, err := svc.RegisterEnvironment(ctx, lineage.RegisterEnvironmentInput{Language: "python", LanguageVersion: "3.11"})
	if err != nil {
		b.Fatal(err)
	}
	var prev []lineage.ID
	for i := range runs {
		dv, err := svc.RegisterDatasetVersion(ctx, lineage.RegisterDatasetVersionInput{Dataset: fmt.Sprintf("d%d", i%50), Digest: sha(fmt.Sprintf("dv%d", i))})
		if err != nil {
			b.Fatal(err)
		}
		splits, err := svc.RegisterSplits(ctx, lineage.RegisterSplitsInput{DatasetVersion: dv.ID,
			Splits: []lineage.SplitInput{{Name: "train"}, {Name: "test"}}})
		if err != nil {
			b.Fatal(err)
		}
		inputs := []lineage.RunInput{{Node: splits[0].ID, Role: "train"}, {Node: splits[1].ID, Role: "test"}}
		for j := 1; j <= 3 && j <= len(prev); j++ {
			inputs = append(inputs, lineage.RunInput{Node: prev[len(prev)-j], Role: "base_model"})
		}
		run, err := svc.StartRun(ctx, lineage.StartRunInput{Experiment: "bench", Inputs: inputs, Environment: env.ID})
		if err != nil {
			b.Fatal(err)
		}
		mv, err := svc.RegisterModelVersion(ctx, lineage.RegisterModelVersionInput{Model: fmt.Sprintf("m%d", i%20), Run: run.ID, ArtifactURI: "s3://b/m"})
		if err != nil {
			b.Fatal(err)
		}
		prev = append(prev, mv.ID)
	}
	return env.ID
}

// lineage depth 10 end to end over HTTP, ids and kinds of up to 1,000 nodes.
// DESIGN.md §6 target: p99 ≤ 10 ms (store-level figures for 10k–1M nodes:
// lineage/sqlite benchmarks).
//
// With PEDIGREE_BENCH_DATA_DIR set to a data directory (for instance one
// holding the 1M-node graph lineage/sqlite's benchmarks generate, copied to
// pedigree.db) and PEDIGREE_BENCH_OF to a node in it, it measures that graph.
func BenchmarkLineageHTTP(b *testing.B) {
	dir, of := os.Getenv("PEDIGREE_BENCH_DATA_DIR"), lineage.ID(os.Getenv("PEDIGREE_BENCH_OF"))
	if dir == "" {
		dir = b.TempDir()
	}
	m := MustServe(b, dir)
	if of == "" {
		of = lineageGraph(b, m.Service, 400) // ≈ 2,000 nodes
	}
	c := newClient(m.URL())
	q := `query($of: ID!) { lineage(of: $of, direction: DOWNSTREAM, depth: 10, limit: 1000) {
		truncated nodes { depth node { id __typename } } edges { from to type role } } }`
	vars := map[string]any{"of": string(of)}
	var lat latencies
	var nodes int
	b.ResetTimer()
	for b.Loop() {
		lat.time(func() {
			var out struct {
				Lineage struct{ Nodes []struct{ Depth int } }
			}
			c.must(b, q, vars, &out)
			nodes = len(out.Lineage.Nodes)
		})
	}
	lat.report(b)
	b.ReportMetric(float64(nodes), "nodes")
}

// compareRuns of 100 runs × 50 params × 50 metrics, with the metric values
// as numbers (lastValues) and as MetricSummary objects (values { last }).
// DESIGN.md §6 target: p99 ≤ 20 ms.
func BenchmarkCompareRunsHTTP(b *testing.B) {
	for name, metrics := range map[string]string{"lastValues": "lastValues", "values": "values { last }"} {
		b.Run(name, func(b *testing.B) { benchmarkCompareRuns(b, metrics) })
	}
}

func benchmarkCompareRuns(b *testing.B, metrics string) {
	m := MustServe(b, b.TempDir())
	ctx := context.Background()
	ids := make([]string, 100)
	for i := range ids {
		params := map[string]string{}
		var points []lineage.MetricPoint
		for k := range 50 {
			params[fmt.Sprintf("p%d", k)] = fmt.Sprint(k * (i%3 + 1))
			points = append(points, lineage.MetricPoint{Key: fmt.Sprintf("m%d", k), Value: float64(i*k) / 100})
		}
		run, err := m.Service.StartRun(ctx, lineage.StartRunInput{Experiment: "cmp", Params: params})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Service.LogMetrics(ctx, run.ID, points); err != nil {
			b.Fatal(err)
		}
		ids[i] = string(run.ID)
	}
	c := newClient(m.URL())
	q := `query($ids: [ID!]!) { compareRuns(ids: $ids) { params { key values differs } metrics { key bestIndex ` + metrics + ` } } }`
	var lat latencies
	b.ResetTimer()
	for b.Loop() {
		lat.time(func() { c.must(b, q, map[string]any{"ids": ids}, nil) })
	}
	lat.report(b)
}

// A trivial query, 4 clients at once. DESIGN.md §6 target: ≥ 20,000 req/s.
func BenchmarkTrivialQueryHTTP(b *testing.B) {
	m := MustServe(b, b.TempDir())
	c := newClient(m.URL())
	b.SetParallelism(2)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.must(b, `{ __typename }`, nil, nil)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
