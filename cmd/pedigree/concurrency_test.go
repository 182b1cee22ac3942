package main

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// One model, 64 pipelines registering at once: 64 contiguous versions, no errors.
func TestConcurrentRegistration(t *testing.T) {
	m := MustServe(t, t.TempDir())
	c := newClient(m.URL())
	var run struct{ StartRun idResult }
	c.must(t, startRun, map[string]any{"in": map[string]any{"experiment": "race"}}, &run)

	versions := make([]int, 64)
	var wg sync.WaitGroup
	for i := range versions {
		wg.Go(func() {
			data, errs := c.do(t, registerVersion, map[string]any{"in": map[string]any{
				"model": "racer", "run": run.StartRun.ID, "artifactUri": fmt.Sprintf("s3://models/racer/%d", i)}})
			if errs != nil {
				t.Errorf("registration %d: %+v", i, errs)
				return
			}
			var out struct{ RegisterModelVersion idResult }
			if err := jsonUnmarshal(data, &out); err != nil {
				t.Error(err)
			}
			versions[i] = out.RegisterModelVersion.Version
		})
	}
	wg.Wait()
	slices.Sort(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions = %v, want 1..64 each once", versions)
		}
	}
}

// 32 writers doing different mutations at once never see an error, in
// particular never "database is locked".
func TestConcurrentWriters(t *testing.T) {
	m := MustServe(t, t.TempDir())
	c := newClient(m.URL())
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for i := range 5 {
				var run struct{ StartRun idResult }
				data, errs := c.do(t, startRun, map[string]any{"in": map[string]any{"experiment": fmt.Sprintf("exp-%d", w%4)}})
				if errs == nil {
					errs = jsonErr(jsonUnmarshal(data, &run))
				}
				if errs == nil {
					_, errs = c.do(t, logMetrics, map[string]any{"in": map[string]any{"run": run.StartRun.ID,
						"metrics": []map[string]any{{"key": "loss", "value": 0.5, "step": i}}}})
				}
				if errs == nil {
					_, errs = c.do(t, registerDataset, map[string]any{"in": map[string]any{
						"dataset": fmt.Sprintf("ds-%d", w%3), "digest": sha(fmt.Sprintf("%d-%d", w, i))}})
				}
				if errs != nil {
					t.Errorf("writer %d: %+v", w, errs)
					return
				}
			}
		})
	}
	wg.Wait()
}
