package resolvers

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/pedigree-ml/pedigree/lineage"
)

// countingNodes serves nodes from a map and records each batch it is asked for.
type countingNodes struct {
	mu      sync.Mutex
	byID    map[lineage.ID]lineage.Entity
	batches [][]lineage.ID
}

func (c *countingNodes) nodes(_ context.Context, ids []lineage.ID) ([]lineage.Entity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches = append(c.batches, append([]lineage.ID(nil), ids...))
	out := make([]lineage.Entity, len(ids))
	for i, id := range ids {
		out[i] = c.byID[id]
	}
	return out, nil
}

func TestNodeLoaderBatches(t *testing.T) {
	c := &countingNodes{byID: map[lineage.ID]lineage.Entity{}}
	var ids []string
	for _, name := range []string{"churn", "fraud", "ltv"} {
		m := &lineage.Model{Meta: lineage.Meta{ID: lineage.NameID(lineage.KindModel, name)}, Name: name}
		run := &lineage.Run{Meta: lineage.Meta{ID: lineage.ID("run:" + name)}, Name: "train-" + name}
		mv := &lineage.ModelVersion{Meta: lineage.Meta{ID: lineage.VersionID(lineage.KindModelVersion, name, 1)}, Model: name, Version: 1, Run: run.ID}
		for _, e := range []lineage.Entity{m, run, mv} {
			c.byID[lineage.EntityID(e)] = e
		}
		ids = append(ids, fmt.Sprintf("%q", mv.ID))
	}
	s := newTestServer(t, &stubService{nodes: c.nodes}, Options{LoaderWait: 50e6}) // 50 ms: robust on a busy machine
	q := fmt.Sprintf(`{ nodes(ids: [%s, %s, %s]) { ... on ModelVersion { label model { name } run { name } } } }`, ids[0], ids[1], ids[2])
	r := s.post(t, q, nil)
	if len(r.Errors) != 0 {
		t.Fatal(r.Raw)
	}
	if got := fmt.Sprint(r.Data["nodes"]); got != "[map[label:churn@v1 model:map[name:churn] run:map[name:train-churn]] "+
		"map[label:fraud@v1 model:map[name:fraud] run:map[name:train-fraud]] map[label:ltv@v1 model:map[name:ltv] run:map[name:train-ltv]]]" {
		t.Errorf("data = %s", got)
	}
	// One call for the versions, one for the 6 models and runs they refer to.
	if len(c.batches) != 2 || len(c.batches[1]) != 6 {
		t.Errorf("Service.Nodes batches = %v, want 2 batches, the second of 6 IDs", c.batches)
	}
}

func TestRunDataLoadedOncePerPage(t *testing.T) {
	var mu sync.Mutex
	var calls [][]lineage.ID
	runs := []*lineage.Run{{Meta: lineage.Meta{ID: "run:a"}}, {Meta: lineage.Meta{ID: "run:b"}}, {Meta: lineage.Meta{ID: "run:c"}}}
	svc := &stubService{
		runs: func(context.Context, lineage.RunsInput) (*lineage.RunsPage, error) {
			return &lineage.RunsPage{Runs: runs}, nil
		},
		runData: func(_ context.Context, ids []lineage.ID) (map[lineage.ID]*lineage.RunData, error) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, ids)
			out := map[lineage.ID]*lineage.RunData{}
			for _, id := range ids {
				out[id] = &lineage.RunData{Params: map[string]string{"lr": "0.1", "depth": string(id)},
					Metrics: []lineage.MetricSummary{{Key: "auc", Last: 0.9}, {Key: "loss", Last: 0.2}}}
			}
			return out, nil
		},
	}
	s := newTestServer(t, svc, Options{})
	for _, q := range []string{
		`{ runs { nodes { params { key value } tags { key } metrics { key } metric(key: "loss") { last } } } }`,
		`{ runs { edges { node { ...R } } } } fragment R on Run { paramMap metricMap }`,
	} {
		calls = nil
		r := s.post(t, q, nil)
		if len(r.Errors) != 0 {
			t.Fatal(r.Raw)
		}
		if len(calls) != 1 || len(calls[0]) != len(runs) {
			t.Errorf("%s: RunData calls = %v, want one for the page", q, calls)
		}
	}
	// Params come sorted by key; one metric is found by key.
	r := s.post(t, `{ runs(first: 1) { nodes { params { key } metric(key: "loss") { last } nope: metric(key: "x") { last } } } }`, nil)
	if got := fmt.Sprint(r.Data["runs"]); got != "map[nodes:[map[metric:map[last:0.2] nope:<nil> params:[map[key:depth] map[key:lr]]] "+
		"map[metric:map[last:0.2] nope:<nil> params:[map[key:depth] map[key:lr]]] map[metric:map[last:0.2] nope:<nil> params:[map[key:depth] map[key:lr]]]]]" {
		t.Errorf("data = %s", got)
	}
	// A query that does not ask for run data does not load it.
	calls = nil
	s.post(t, `{ runs { nodes { id } } }`, nil)
	if len(calls) != 0 {
		t.Errorf("RunData called %d times for ids only", len(calls))
	}
}
