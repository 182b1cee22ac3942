package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
)

const (
	registerDataset = `mutation($in: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $in) { id version digest } }`
	registerSplits  = `mutation($in: RegisterSplitsInput!) { registerSplits(input: $in) { id name } }`
	registerFS      = `mutation($in: RegisterFeatureSetVersionInput!) { registerFeatureSetVersion(input: $in) { id version } }`
	registerCode    = `mutation($in: RegisterCodeVersionInput!) { registerCodeVersion(input: $in) { id } }`
	registerEnv     = `mutation($in: RegisterEnvironmentInput!) { registerEnvironment(input: $in) { id } }`
	startRun        = `mutation($in: StartRunInput!, $key: String) { startRun(input: $in, idempotencyKey: $key) { id status } }`
	logMetrics      = `mutation($in: LogMetricsInput!) { logMetrics(input: $in) }`
	finishRun       = `mutation($in: FinishRunInput!) { finishRun(input: $in) { id status } }`
	registerVersion = `mutation($in: RegisterModelVersionInput!, $key: String) { registerModelVersion(input: $in, idempotencyKey: $key) { id version stage } }`
	transition      = `mutation($in: TransitionModelVersionStageInput!) { transitionModelVersionStage(input: $in) { id version stage } }`
	rollback        = `mutation($in: RollbackModelInput!) { rollbackModel(input: $in) { id version stage } }`
)

type idResult struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Stage   string `json:"stage"`
}

func sha(s string) string {
	return fmt.Sprintf("sha256:%064x", []byte(s)[:min(len(s), 32)])
}

// fixture is the scenario's state, built through the API as a pipeline would.
type fixture struct {
	c        *client
	datasets [2]idResult
	splits   [2][]idResult
	features [2]idResult
	code     [2]idResult
	envs     [2]idResult
	runs     [2]string
}

// build registers data, features, code and environments, then two training
// runs with metric histories and a model version from each.
func (f *fixture) build(t *testing.T) {
	c := f.c
	for i := range 2 {
		var d struct{ RegisterDatasetVersion idResult }
		c.must(t, registerDataset, map[string]any{"in": map[string]any{
			"dataset": "customers", "uri": fmt.Sprintf("s3://lake/customers/v%d/", i+1), "digest": sha(fmt.Sprintf("customers-%d", i)),
			"format": "parquet", "rows": 1000 * (i + 1),
		}}, &d)
		f.datasets[i] = d.RegisterDatasetVersion
		var s struct{ RegisterSplits []idResult }
		c.must(t, registerSplits, map[string]any{"in": map[string]any{
			"datasetVersion": d.RegisterDatasetVersion.ID, "strategy": "random", "seed": 42,
			"splits": []map[string]any{
				{"name": "train", "digest": sha(fmt.Sprintf("train-%d", i)), "fraction": 0.8},
				{"name": "test", "digest": sha(fmt.Sprintf("test-%d", i)), "fraction": 0.2},
			},
		}}, &s)
		f.splits[i] = s.RegisterSplits
		features := []map[string]any{{"name": "tenure", "type": "int"}, {"name": "charges", "type": "float"}}
		if i == 1 {
			features = append(features, map[string]any{"name": "logins", "type": "int"})
		}
		var fs struct{ RegisterFeatureSetVersion idResult }
		c.must(t, registerFS, map[string]any{"in": map[string]any{
			"featureSet": "churn-features", "features": features, "sources": []string{d.RegisterDatasetVersion.ID},
		}}, &fs)
		f.features[i] = fs.RegisterFeatureSetVersion
		var cv struct{ RegisterCodeVersion idResult }
		c.must(t, registerCode, map[string]any{"in": map[string]any{
			"repository": "git@github.com:acme/churn.git", "commit": fmt.Sprintf("%040d", i+1), "branch": "main",
		}}, &cv)
		f.code[i] = cv.RegisterCodeVersion
		var env struct{ RegisterEnvironment idResult }
		c.must(t, registerEnv, map[string]any{"in": map[string]any{
			"language": "python", "languageVersion": "3.11",
			"packages": []map[string]any{{"name": "xgboost", "version": []string{"2.0.3", "2.1.0"}[i]}, {"name": "pandas", "version": "2.2.1"}},
		}}, &env)
		f.envs[i] = env.RegisterEnvironment
	}
	for i := range 2 {
		var r struct{ StartRun idResult }
		c.must(t, startRun, map[string]any{"key": fmt.Sprintf("train-%d", i), "in": map[string]any{
			"experiment": "churn", "name": fmt.Sprintf("train-%d", i+1),
			"params":  []map[string]any{{"key": "model", "value": "xgb"}, {"key": "max_depth", "value": fmt.Sprint(6 + 2*i)}, {"key": "seed", "value": "42"}},
			"trigger": map[string]any{"kind": "CI", "actor": "ci-bot"},
			"code":    f.code[i].ID, "environment": f.envs[i].ID,
			"inputs": []map[string]any{{"node": f.splits[i][0].ID, "role": "train"}, {"node": f.splits[i][1].ID, "role": "test"},
				{"node": f.features[i].ID, "role": "features"}},
		}}, &r)
		f.runs[i] = r.StartRun.ID
		var points []map[string]any
		for step := range 20 {
			points = append(points, map[string]any{"key": "auc", "step": step, "value": 0.5 + float64(step)*0.02 + float64(i)*0.03},
				map[string]any{"key": "loss", "step": step, "value": 1 - float64(step)*0.03 - float64(i)*0.02})
		}
		// One run logs through the list of input objects, the other through the MetricPoints fast path.
		c.must(t, logMetrics, map[string]any{"in": map[string]any{"run": r.StartRun.ID, []string{"metrics", "points"}[i]: points}}, nil)
		c.must(t, finishRun, map[string]any{"in": map[string]any{"run": r.StartRun.ID, "status": "FINISHED"}}, nil)
		var mv struct{ RegisterModelVersion idResult }
		c.must(t, registerVersion, map[string]any{"key": fmt.Sprintf("register-%d", i), "in": map[string]any{
			"model": "churn", "run": r.StartRun.ID, "artifactUri": fmt.Sprintf("s3://models/churn/%d/model.xgb", i+1),
			"artifactDigest": sha(fmt.Sprintf("model-%d", i)), "framework": "xgboost",
		}}, &mv)
		if mv.RegisterModelVersion.Version != i+1 {
			t.Fatalf("registered version = %d, want %d", mv.RegisterModelVersion.Version, i+1)
		}
	}
}

func (f *fixture) transition(t *testing.T, version int, stage string, expected any) (idResult, []gqlError) {
	data, errs := f.c.do(t, transition, map[string]any{"in": map[string]any{
		"model": "churn", "version": version, "stage": stage, "expectedStage": expected, "reason": "test",
	}})
	var out struct{ TransitionModelVersionStage idResult }
	_ = json.Unmarshal(data, &out)
	return out.TransitionModelVersionStage, errs
}

func TestScenario(t *testing.T) {
	m := MustServe(t, t.TempDir())
	f := &fixture{c: newClient(m.URL())}
	f.build(t)
	c := f.c

	t.Run("retries are idempotent", func(t *testing.T) {
		var d struct{ RegisterDatasetVersion idResult }
		c.must(t, registerDataset, map[string]any{"in": map[string]any{"dataset": "customers", "digest": sha("customers-0")}}, &d)
		if d.RegisterDatasetVersion.ID != f.datasets[0].ID {
			t.Errorf("same digest again: got %s, want %s", d.RegisterDatasetVersion.ID, f.datasets[0].ID)
		}
		var cv struct{ RegisterCodeVersion idResult }
		c.must(t, registerCode, map[string]any{"in": map[string]any{"repository": "https://github.com/acme/churn", "commit": fmt.Sprintf("%040d", 1)}}, &cv)
		if cv.RegisterCodeVersion.ID != f.code[0].ID {
			t.Errorf("same commit, other remote spelling: got %s, want %s", cv.RegisterCodeVersion.ID, f.code[0].ID)
		}
		_, errs := c.do(t, registerVersion, map[string]any{"key": "register-0", "in": map[string]any{
			"model": "churn", "run": f.runs[0], "artifactUri": "s3://models/churn/other"}})
		if len(errs) != 1 || errs[0].Extensions.Code != "CONFLICT" || errs[0].Extensions.Field != "idempotencyKey" {
			t.Errorf("key reused with another payload: got %+v, want one CONFLICT on idempotencyKey", errs)
		}
	})

	t.Run("promotion race has one winner", func(t *testing.T) {
		if _, errs := f.transition(t, 1, "PRODUCTION", nil); errs != nil {
			t.Fatal(errs)
		}
		if _, errs := f.transition(t, 2, "STAGING", nil); errs != nil {
			t.Fatal(errs)
		}
		var wg sync.WaitGroup
		codes := make([]string, 8)
		for i := range codes {
			wg.Go(func() {
				_, errs := f.transition(t, 2, "PRODUCTION", "STAGING")
				if len(errs) > 0 {
					codes[i] = errs[0].Extensions.Code
				}
			})
		}
		wg.Wait()
		slices.Sort(codes)
		want := []string{"", "CONFLICT", "CONFLICT", "CONFLICT", "CONFLICT", "CONFLICT", "CONFLICT", "CONFLICT"}
		if !slices.Equal(codes, want) {
			t.Errorf("8 racing promotions with expectedStage: codes %q, want one success and 7 CONFLICT", codes)
		}
	})

	t.Run("rollback restores the previous Production version", func(t *testing.T) {
		var r struct{ RollbackModel idResult }
		c.must(t, rollback, map[string]any{"in": map[string]any{"model": "churn", "reason": "AUC regression"}}, &r)
		if r.RollbackModel.Version != 1 || r.RollbackModel.Stage != "PRODUCTION" {
			t.Errorf("rollback: got %+v, want v1 in PRODUCTION", r.RollbackModel)
		}
		data, _ := c.do(t, `{ model(name: "churn") { versions(first: 10) { edges { node { version stage aliases
			transitions { from to actor reason } } } } } }`, nil)
		golden(t, "registry", data)
	})

	queries := []struct{ name, query string }{
		{"lineage-upstream", `{ lineage(of: "modelversion:churn/2", direction: UPSTREAM, depth: 10) {
			truncated nodes { depth node { id __typename } } edges { from to type role } } }`},
		{"lineage-downstream", `{ lineage(of: "datasetversion:customers/1", direction: DOWNSTREAM) {
			truncated nodes { depth node { id } } edges { from to type role } } }`},
		{"lineage-kinds", `{ lineage(of: "modelversion:churn/1", kinds: [DATASET_VERSION, SPLIT]) { nodes { depth node { id } } } }`},
		{"lineage-path", `{ lineagePath(from: "modelversion:churn/1", to: "datasetversion:customers/1") { from to type role } }`},
		{"impact", `{ impact(of: "datasetversion:customers/2") { total truncated runs { name } data { id }
			modelVersions { stage versions { id } } deployments { id } } }`},
		{"diff", `{ diffModelVersions(model: "churn", from: 1, to: 2) {
			data { kind before { id } after { id } } features { kind before { id } after { id } }
			code { kind before { id } after { id } } environment { name kind before after }
			params { key kind before after } metrics { key before after delta } } }`},
		{"reproduction", `{ modelVersion(model: "churn", version: 2) { reproduction {
			code { repository commit } environment { id } inputs { role digest node { id } } params { key value } seeds { name value } } } }`},
		{"runs-filter", `{ runs(filter: "metrics.auc > 0.8 and (params.max_depth = '8' or tags.team = 'x')", orderBy: ["metrics.auc DESC"]) {
			edges { node { name metric(key: "auc") { last min max count } } } } }`},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			data, errs := c.do(t, q.query, nil)
			if errs != nil {
				t.Fatal(errs)
			}
			golden(t, q.name, data)
		})
	}

	t.Run("compareRuns", func(t *testing.T) {
		data, errs := c.do(t, `query($ids: [ID!]!) { compareRuns(ids: $ids) {
			params { key values differs } metrics { key bestIndex higherIsBetter differs values { last } }
			inputs { role differs } code { differs } } }`, map[string]any{"ids": f.runs[:]})
		if errs != nil {
			t.Fatal(errs)
		}
		golden(t, "compare", data)
	})

	t.Run("metric history", func(t *testing.T) {
		var out struct {
			Run struct {
				MetricHistory []struct {
					Step  int64
					Value float64
				}
			}
		}
		c.must(t, `query($id: ID!) { run(id: $id) { metricHistory(key: "auc") { step value } } }`, map[string]any{"id": f.runs[1]}, &out)
		if got := len(out.Run.MetricHistory); got != 20 {
			t.Fatalf("history has %d points, want 20", got)
		}
		if p := out.Run.MetricHistory[19]; p.Step != 19 {
			t.Errorf("last point step = %d, want 19", p.Step)
		}
	})
}
