package lineagetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
)

func (e *env) count(kind lineage.Kind, parent lineage.ID) int {
	e.t.Helper()
	n := 0
	mustView(e.t, e.store, func(tx lineage.ReadTx) error {
		n = len(listAll(e.t, tx, kind, parent, 500))
		return nil
	})
	return n
}

func (e *env) upstreamEdges(id lineage.ID, types ...lineage.EdgeType) []lineage.Edge {
	e.t.Helper()
	es, err := e.svc.Edges(e.ctx, id, lineage.Upstream, types...)
	mustNoErr(e.t, "Edges", err)
	return es
}

// RegisterDatasetVersion is idempotent on the digest, per dataset; names
// are unique on their lower-case form.
func (h *harness) testRegisterDatasetVersion(t *testing.T) {
	e := h.newEnv(t)
	d1, d2 := dg("customers-1"), dg("customers-2")
	v1 := e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "Customers", Digest: d1, Description: "first", URI: "s3://lake/c/1/"})
	if v1.ID != "datasetversion:customers/1" || v1.Version != 1 || v1.Digest != d1 || v1.Dataset != "Customers" {
		t.Errorf("first version = %+v, want datasetversion:customers/1, version 1", v1)
	}
	for _, again := range []lineage.RegisterDatasetVersionInput{
		{Dataset: "customers", Digest: d1, Description: "a retry with other metadata"},
		{Dataset: "CUSTOMERS", Digest: strings.ToUpper(d1)},
		{Dataset: "customers", Digest: strings.TrimPrefix(d1, "sha256:")}, // bare hex is sha256
	} {
		got := e.mustDatasetVersion(again)
		if got.ID != v1.ID || got.Version != 1 || got.Description != "first" {
			t.Errorf("RegisterDatasetVersion(%s, %s) again = %s v%d %q, want the existing %s unchanged", again.Dataset, again.Digest, got.ID, got.Version, got.Description, v1.ID)
		}
	}
	v2 := e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "customers", Digest: d2})
	if v2.ID != "datasetversion:customers/2" || v2.Version != 2 {
		t.Errorf("second digest = %s v%d, want datasetversion:customers/2", v2.ID, v2.Version)
	}
	other := e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "orders", Digest: d1})
	if other.ID != "datasetversion:orders/1" {
		t.Errorf("same digest in another dataset = %s, want datasetversion:orders/1", other.ID)
	}
	if n := e.count(lineage.KindDatasetVersion, "dataset:customers"); n != 2 {
		t.Errorf("customers has %d versions, want 2", n)
	}
	if n := e.count(lineage.KindDataset, ""); n != 2 {
		t.Errorf("%d datasets, want 2", n)
	}
	ds, err := e.svc.Dataset(e.ctx, "CUSTOMERS")
	if err != nil || ds.ID != "dataset:customers" {
		t.Errorf("Dataset(CUSTOMERS) = %v, %v", ds, err)
	}
	got, err := e.svc.DatasetVersion(e.ctx, "customers", 2)
	if err != nil || got.Digest != d2 {
		t.Errorf("DatasetVersion(customers, 2) = %v, %v", got, err)
	}
	if es := e.upstreamEdges(v1.ID, lineage.EdgeVersionOf); len(es) != 1 || es[0].To != "dataset:customers" {
		t.Errorf("VERSION_OF edges of %s = %v", v1.ID, edgeKeys(es))
	}
}

// RegisterSplits: a split that exists with the same digest is returned as
// is; another digest is a CONFLICT.
func (h *harness) testRegisterSplits(t *testing.T) {
	e := h.newEnv(t)
	dv := e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "customers", Digest: dg("c")})
	in := lineage.RegisterSplitsInput{DatasetVersion: dv.ID, Strategy: "stratified", Seed: ptr(int64(7)), Splits: []lineage.SplitInput{
		{Name: "train", Digest: dg("train"), Rows: ptr(int64(800)), Fraction: ptr(0.8)},
		{Name: "test", Digest: dg("test"), Rows: ptr(int64(200)), Fraction: ptr(0.2)},
	}}
	sp, err := e.svc.RegisterSplits(e.ctx, in)
	mustNoErr(t, "RegisterSplits", err)
	want := []lineage.ID{"split:customers/1/train", "split:customers/1/test"}
	if got := entityIDs(sp); !cmp.Equal(got, want) {
		t.Fatalf("splits = %v, want %v", got, want)
	}
	if sp[0].DatasetVersion != dv.ID || sp[0].Seed == nil || *sp[0].Seed != 7 || sp[0].Strategy != "stratified" {
		t.Errorf("split = %+v", sp[0])
	}
	for _, s := range sp {
		if es := e.upstreamEdges(lineage.EntityID(s), lineage.EdgeSplitOf); len(es) != 1 || es[0].To != dv.ID {
			t.Errorf("SPLIT_OF edges of %s = %v", lineage.EntityID(s), edgeKeys(es))
		}
	}
	again := in
	again.Splits = []lineage.SplitInput{{Name: "TRAIN", Digest: dg("train")}, {Name: "test", Digest: dg("test")}}
	sp2, err := e.svc.RegisterSplits(e.ctx, again)
	mustNoErr(t, "RegisterSplits again", err)
	if got := entityIDs(sp2); !cmp.Equal(got, want) {
		t.Errorf("splits again = %v, want %v", got, want)
	}
	if n := e.count(lineage.KindSplit, ""); n != 2 {
		t.Errorf("%d splits after a retry, want 2", n)
	}
	before := snapshot(t, e.store)
	_, err = e.svc.RegisterSplits(e.ctx, lineage.RegisterSplitsInput{DatasetVersion: dv.ID, Splits: []lineage.SplitInput{
		{Name: "validation", Digest: dg("validation")}, {Name: "train", Digest: dg("other")}}})
	wantErr(t, "RegisterSplits(existing name, other digest)", err, lineage.ECONFLICT, "splits[1].digest")
	wantUnchanged(t, "a conflicting RegisterSplits", e.store, before)
}

// RegisterFeatureSetVersion: the digest is computed from the features and
// transformation; the same definition again returns the existing version.
func (h *harness) testRegisterFeatureSetVersion(t *testing.T) {
	e := h.newEnv(t)
	dv := e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "customers", Digest: dg("c")})
	reg := func(transformation string, features ...lineage.Feature) *lineage.FeatureSetVersion {
		t.Helper()
		fv, err := e.svc.RegisterFeatureSetVersion(e.ctx, lineage.RegisterFeatureSetVersionInput{FeatureSet: "Customer-Features",
			Features: features, Transformation: transformation, Sources: []lineage.ID{dv.ID}})
		mustNoErr(t, "RegisterFeatureSetVersion", err)
		return fv
	}
	a, b := lineage.Feature{Name: "tenure", Type: "int"}, lineage.Feature{Name: "spend", Type: "float"}
	v1 := reg("select tenure, spend", a, b)
	if v1.ID != "featuresetversion:customer-features/1" || v1.Version != 1 || !strings.HasPrefix(v1.Digest, "sha256:") {
		t.Errorf("first version = %s v%d digest %q", v1.ID, v1.Version, v1.Digest)
	}
	if again := reg("select tenure, spend", b, a); again.ID != v1.ID {
		t.Errorf("same features in another order = %s, want %s", again.ID, v1.ID)
	}
	v2 := reg("select tenure, spend * 2", a, b)
	if v2.Version != 2 || v2.Digest == v1.Digest {
		t.Errorf("another transformation = v%d digest %s, want v2 with another digest", v2.Version, v2.Digest)
	}
	if v3 := reg("select tenure, spend", a, lineage.Feature{Name: "spend", Type: "double"}); v3.Version != 3 {
		t.Errorf("another feature type = v%d, want v3", v3.Version)
	}
	if es := e.upstreamEdges(v1.ID, lineage.EdgeDerivedFrom); len(es) != 1 || es[0].To != dv.ID {
		t.Errorf("DERIVED_FROM edges of %s = %v, want its source", v1.ID, edgeKeys(es))
	}
	if n := e.count(lineage.KindFeatureSetVersion, "featureset:customer-features"); n != 3 {
		t.Errorf("%d feature set versions, want 3", n)
	}
}

// RegisterCodeVersion is idempotent on repository + commit (+ diff digest
// when dirty), with the repository normalized.
func (h *harness) testRegisterCodeVersion(t *testing.T) {
	e := h.newEnv(t)
	first := e.mustCode("https://github.com/Acme/Churn.git", "ABCDEF0123456")
	if first.Repository != "github.com/acme/churn" || first.Commit != "abcdef0123456" {
		t.Errorf("normalized = %q @ %q, want github.com/acme/churn @ abcdef0123456", first.Repository, first.Commit)
	}
	for _, repo := range []string{
		"git@github.com:acme/churn.git",
		"git@github.com:acme/churn",
		"github.com/acme/churn",
		"ssh://git@github.com/acme/churn.git",
		"https://github.com/acme/churn/",
		"https://ci-token@github.com/acme/churn.git",
		"  https://GITHUB.com/acme/churn  ",
	} {
		if got := e.mustCode(repo, "abcdef0123456"); got.ID != first.ID {
			t.Errorf("RegisterCodeVersion(%q) = %s, want %s", repo, got.ID, first.ID)
		}
	}
	if n := e.count(lineage.KindCodeVersion, ""); n != 1 {
		t.Errorf("%d code versions after 8 spellings of one commit, want 1", n)
	}
	if other := e.mustCode("github.com/acme/churn", "1234567"); other.ID == first.ID {
		t.Errorf("another commit got the same ID %s", other.ID)
	}
	if other := e.mustCode("github.com/acme/fraud", "abcdef0123456"); other.ID == first.ID {
		t.Errorf("another repository got the same ID %s", other.ID)
	}
	dirty := func(diff string) *lineage.CodeVersion {
		t.Helper()
		cv, err := e.svc.RegisterCodeVersion(e.ctx, lineage.RegisterCodeVersionInput{Repository: "github.com/acme/churn", Commit: "abcdef0123456", Dirty: true, DiffDigest: diff})
		mustNoErr(t, "RegisterCodeVersion(dirty)", err)
		return cv
	}
	d1, d2, d1again := dirty(dg("diff1")), dirty(dg("diff2")), dirty(dg("diff1"))
	if d1.ID == first.ID || d1.ID == d2.ID || d1again.ID != d1.ID || !d1.Dirty {
		t.Errorf("dirty trees: clean %s, diff1 %s, diff2 %s, diff1 again %s; want three IDs and a stable one", first.ID, d1.ID, d2.ID, d1again.ID)
	}
}

// RegisterEnvironment: identity is the digest of the content.
func (h *harness) testRegisterEnvironment(t *testing.T) {
	e := h.newEnv(t)
	np, sk := lineage.Package{Name: "numpy", Version: "1.26.0"}, lineage.Package{Name: "scikit-learn", Version: "1.4.0"}
	a := e.mustEnvironment("3.12", np, sk)
	b := e.mustEnvironment("3.12", sk, np)
	c := e.mustEnvironment("3.12", np, lineage.Package{Name: "scikit-learn", Version: "1.4.1"})
	d := e.mustEnvironment("3.11", np, sk)
	if a.ID != b.ID || a.Digest == "" {
		t.Errorf("same packages in another order: %s and %s, want one environment with a digest", a.ID, b.ID)
	}
	if c.ID == a.ID || d.ID == a.ID || c.ID == d.ID {
		t.Errorf("different content must give different environments: %s %s %s", a.ID, c.ID, d.ID)
	}
	if got := a.Packages; len(got) != 2 || got[0].Name != "numpy" {
		t.Errorf("packages = %v, want sorted by name", got)
	}
	if n := e.count(lineage.KindEnvironment, ""); n != 3 {
		t.Errorf("%d environments, want 3", n)
	}
}

// RegisterArtifact: the same (name, digest) again returns the existing
// version; a producing run gets a GENERATED_BY edge.
func (h *harness) testRegisterArtifact(t *testing.T) {
	e := h.newEnv(t)
	run := e.mustSimpleRun("churn")
	reg := func(digest string, run lineage.ID) *lineage.Artifact {
		t.Helper()
		a, err := e.svc.RegisterArtifact(e.ctx, lineage.RegisterArtifactInput{Name: "eval-report", Type: "report", URI: "s3://reports/eval.html",
			Digest: digest, MediaType: "text/html", Run: run})
		mustNoErr(t, "RegisterArtifact", err)
		return a
	}
	a1 := reg(dg("r1"), run.ID)
	if a1.ID != "artifact:eval-report/1" || a1.Version != 1 {
		t.Errorf("first artifact = %s v%d", a1.ID, a1.Version)
	}
	if again := reg(dg("r1"), run.ID); again.ID != a1.ID {
		t.Errorf("same digest again = %s, want %s", again.ID, a1.ID)
	}
	if a2 := reg(dg("r2"), ""); a2.Version != 2 {
		t.Errorf("another digest = v%d, want 2", a2.Version)
	}
	if es := e.upstreamEdges(a1.ID, lineage.EdgeGeneratedBy); len(es) != 1 || es[0].To != run.ID {
		t.Errorf("GENERATED_BY of the artifact = %v, want its run", edgeKeys(es))
	}
	other := e.mustSimpleRun("churn")
	_, err := e.svc.AddRunOutputs(e.ctx, other.ID, []lineage.ID{a1.ID})
	wantErr(t, "AddRunOutputs(an artifact another run generated)", err, lineage.ECONFLICT, "outputs[0]")
}

// A run's life: start, params (immutable), tags, metrics, finish (retry-safe).
func (h *harness) testRunLifecycle(t *testing.T) {
	e := h.newEnv(t)
	ctx := lineage.WithActor(e.ctx, "ann")
	r, err := e.svc.StartRun(ctx, lineage.StartRunInput{Experiment: "churn", Pipeline: "nightly", Name: "baseline",
		Params: map[string]string{"lr": "0.1"}, Tags: map[string]string{"team": "risk"}, Trigger: lineage.Trigger{Kind: lineage.TriggerCI, ExternalID: "build-7"}})
	mustNoErr(t, "StartRun", err)
	if r.Status != lineage.RunRunning || r.Experiment != "churn" || r.Trigger.Actor != "ann" || !r.StartedAt.Equal(e.clock.Last()) || lineage.ID(r.ID).Kind() != lineage.KindRun {
		t.Errorf("started run = %+v", r)
	}
	var groups []lineage.ID
	for _, pe := range e.upstreamEdges(r.ID, lineage.EdgePartOf) {
		groups = append(groups, pe.To)
	}
	if got := sortedIDs(groups); !cmp.Equal(got, []lineage.ID{"experiment:churn", "pipeline:nightly"}) {
		t.Errorf("PART_OF edges lead to %v, want the experiment and the pipeline", got)
	}
	if d := e.mustSimpleRun(""); d.Experiment != lineage.DefaultExperiment {
		t.Errorf("run without experiment is in %q, want %q", d.Experiment, lineage.DefaultExperiment)
	}
	_, err = e.svc.LogParams(e.ctx, r.ID, map[string]string{"lr": "0.1", "depth": "6"})
	wantCode(t, "LogParams(same value again, new key)", err, "")
	_, err = e.svc.LogParams(e.ctx, r.ID, map[string]string{"lr": "0.2"})
	wantErr(t, "LogParams(another value)", err, lineage.ECONFLICT, "params.lr")
	_, err = e.svc.SetRunTags(e.ctx, r.ID, map[string]string{"team": "growth"})
	mustNoErr(t, "SetRunTags", err)
	n, err := e.svc.LogMetrics(e.ctx, r.ID, []lineage.MetricPoint{{Key: "auc", Value: 0.7, Step: 2}, {Key: "auc", Value: 0.9, Step: 5}, {Key: "auc", Value: 0.8, Step: 3}})
	if err != nil || n != 3 {
		t.Errorf("LogMetrics = %d, %v; want 3", n, err)
	}
	rd, err := e.svc.RunData(e.ctx, []lineage.ID{r.ID})
	mustNoErr(t, "RunData", err)
	want := &lineage.RunData{Params: map[string]string{"lr": "0.1", "depth": "6"}, Tags: map[string]string{"team": "growth"},
		Metrics: []lineage.MetricSummary{{Key: "auc", Last: 0.9, LastStep: 5, Min: 0.7, Max: 0.9, Count: 3}}}
	if diff := cmp.Diff(want, rd[r.ID], cmpOpts); diff != "" {
		t.Errorf("RunData (-want +got):\n%s", diff)
	}
	pts, err := e.svc.MetricHistory(e.ctx, lineage.MetricHistoryQuery{Run: r.ID, Key: "auc"})
	mustNoErr(t, "MetricHistory", err)
	if len(pts) != 3 || pts[0].Step != 2 || pts[2].Step != 5 || pts[0].Timestamp.IsZero() {
		t.Errorf("MetricHistory = %v, want 3 points by step with server timestamps", pts)
	}
	fin, err := e.svc.FinishRun(e.ctx, lineage.FinishRunInput{Run: r.ID, Status: lineage.RunFinished, Compute: map[string]string{"gpu_hours": "1.5"}})
	mustNoErr(t, "FinishRun", err)
	if fin.Status != lineage.RunFinished || fin.EndedAt == nil || fin.Compute["gpu_hours"] != "1.5" {
		t.Errorf("finished run = %+v", fin)
	}
	_, err = e.svc.FinishRun(e.ctx, lineage.FinishRunInput{Run: r.ID, Status: lineage.RunFinished})
	wantCode(t, "FinishRun again with the same status", err, "")
	_, err = e.svc.FinishRun(e.ctx, lineage.FinishRunInput{Run: r.ID, Status: lineage.RunFailed})
	wantErr(t, "FinishRun with another status", err, lineage.ECONFLICT, "status")
	got, err := e.svc.Run(e.ctx, r.ID)
	if err != nil || got.Status != lineage.RunFinished {
		t.Errorf("Run = %+v, %v", got, err)
	}
}

// startRun: same key and payload → the same run; same key, another payload
// → CONFLICT on idempotencyKey and nothing written.
func (h *harness) testStartRunIdempotency(t *testing.T) {
	e := h.newEnv(t)
	code := e.mustCode("github.com/acme/churn", "abcdef1")
	in := lineage.StartRunInput{Experiment: "churn", Name: "nightly", Params: map[string]string{"lr": "0.1"}, Code: code.ID, IdempotencyKey: "airflow:churn:2026-03-01:try1"}
	r1 := e.mustRun(in)
	r2 := e.mustRun(in)
	if r1.ID != r2.ID {
		t.Errorf("retried startRun = %s, want %s", r2.ID, r1.ID)
	}
	if n := e.count(lineage.KindRun, ""); n != 1 {
		t.Errorf("%d runs after a retry, want 1", n)
	}
	before := snapshot(t, e.store)
	changed := in
	changed.Params = map[string]string{"lr": "0.2"}
	_, err := e.svc.StartRun(e.ctx, changed)
	wantErr(t, "startRun(same key, other params)", err, lineage.ECONFLICT, "idempotencyKey")
	wantUnchanged(t, "a conflicting startRun", e.store, before)
	other := in
	other.IdempotencyKey = "airflow:churn:2026-03-01:try2"
	if r3 := e.mustRun(other); r3.ID == r1.ID {
		t.Errorf("another key returned the same run %s", r3.ID)
	}
	// Keys are per operation.
	mv, err := e.svc.RegisterModelVersion(e.ctx, lineage.RegisterModelVersionInput{Model: "churn", Run: r1.ID, ArtifactURI: "s3://m/churn/1", IdempotencyKey: in.IdempotencyKey})
	if err != nil || mv.Version != 1 {
		t.Errorf("registerModelVersion with a key startRun used = %v, %v; want version 1", mv, err)
	}
}

// registerModelVersion: same key and payload → the same version; another
// payload → CONFLICT, no version number consumed, no event.
func (h *harness) testRegisterModelVersionIdempotency(t *testing.T) {
	e := h.newEnv(t)
	run := e.mustSimpleRun("churn")
	in := registerInput("churn", run.ID, "a.pkl")
	in.IdempotencyKey = "deploy-pipeline-991"
	v1, err := e.svc.RegisterModelVersion(e.ctx, in)
	mustNoErr(t, "RegisterModelVersion", err)
	again, err := e.svc.RegisterModelVersion(e.ctx, in)
	mustNoErr(t, "RegisterModelVersion retry", err)
	if again.ID != v1.ID || again.Version != 1 {
		t.Errorf("retry = %s v%d, want %s", again.ID, again.Version, v1.ID)
	}
	before := snapshot(t, e.store)
	changed := in
	changed.ArtifactURI = "s3://models/churn/b.pkl"
	_, err = e.svc.RegisterModelVersion(e.ctx, changed)
	wantErr(t, "registerModelVersion(same key, other artifact)", err, lineage.ECONFLICT, "idempotencyKey")
	wantUnchanged(t, "a conflicting registerModelVersion", e.store, before)
	if v2 := e.mustRegister("churn", run.ID); v2.Version != 2 {
		t.Errorf("next registration = v%d, want 2", v2.Version)
	}
	if again, _ := e.svc.RegisterModelVersion(e.ctx, in); again == nil || again.ID != v1.ID {
		t.Errorf("retry after another registration = %v, want %s", again, v1.ID)
	}
	reg := 0
	for _, ev := range e.allEvents("") {
		if ev.Type == lineage.EventModelVersionRegistered {
			reg++
		}
	}
	if reg != 2 {
		t.Errorf("%d MODEL_VERSION_REGISTERED events, want 2 (retries write none)", reg)
	}
}

// A ModelVersion is generated by exactly one Run.
func (h *harness) testOneGeneratingRun(t *testing.T) {
	e := h.newEnv(t)
	w := e.buildWorld()
	before := snapshot(t, e.store)
	_, err := e.svc.AddRunOutputs(e.ctx, w.run2.ID, []lineage.ID{w.mv1.ID})
	wantErr(t, "AddRunOutputs(a model version)", err, lineage.EINVALID, "outputs[0]")
	_, err = e.svc.RegisterModelVersion(e.ctx, lineage.RegisterModelVersionInput{Model: "churn", ArtifactURI: "s3://m/churn/x"})
	wantErr(t, "RegisterModelVersion without a run", err, lineage.EINVALID, "run")
	_, err = e.svc.RegisterModelVersion(e.ctx, registerInput("churn", w.ds1.ID, "x"))
	wantErr(t, "RegisterModelVersion with a dataset version as run", err, lineage.EINVALID, "run")
	wantUnchanged(t, "refused outputs", e.store, before)
	for _, mv := range []*lineage.ModelVersion{w.mv1, w.mv2} {
		es := e.upstreamEdges(mv.ID, lineage.EdgeGeneratedBy)
		if len(es) != 1 || es[0].To != mv.Run {
			t.Errorf("GENERATED_BY edges of %s = %v, want exactly one to %s", mv.ID, edgeKeys(es), mv.Run)
		}
	}
}

// Version numbers per model are contiguous from 1; a failed registration
// consumes none.
func (h *harness) testContiguousVersions(t *testing.T) {
	e := h.newEnv(t)
	run := e.mustSimpleRun("churn")
	var got []int64
	for i := range 3 {
		got = append(got, e.mustRegister("churn", run.ID).Version)
		if i == 1 {
			_, err := e.svc.RegisterModelVersion(e.ctx, registerInput("churn", "run:00000000-0000-7000-8000-000000000000", "x"))
			wantErr(t, "RegisterModelVersion(unknown run)", err, lineage.ENOTFOUND, "run")
			_, err = e.svc.RegisterModelVersion(e.ctx, registerInput("churn", run.ID, "../../etc/passwd"))
			wantErr(t, "RegisterModelVersion(bad artifact)", err, lineage.EINVALID, "artifactUri")
		}
	}
	got = append(got, e.mustRegister("fraud", run.ID).Version)
	got = append(got, e.mustRegister("CHURN", run.ID).Version)
	if want := []int64{1, 2, 3, 1, 4}; !cmp.Equal(got, want) {
		t.Errorf("versions = %v, want %v", got, want)
	}
	if diff := cmp.Diff(map[int64]lineage.Stage{1: "NONE", 2: "NONE", 3: "NONE", 4: "NONE"}, e.stages("churn")); diff != "" {
		t.Errorf("churn versions (-want +got):\n%s", diff)
	}
}

// 64 concurrent registerModelVersion on one model: versions 1..64, no errors.
func (h *harness) testConcurrentRegistration(t *testing.T) {
	h.skipConcurrency(t)
	e := h.newEnv(t)
	run := e.mustSimpleRun("churn")
	const n = 64
	vs, errs := make([]int64, n), make([]error, n)
	start := make(chan struct{})
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			mv, err := e.svc.RegisterModelVersion(e.ctx, registerInput("race", run.ID, fmt.Sprintf("m%d.pkl", i)))
			if err == nil {
				vs[i] = mv.Version
			}
			errs[i] = err
		}()
	}
	close(start)
	for range n {
		<-done
	}
	seen := map[int64]int{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("registration %d: %v", i, errs[i])
		}
		seen[vs[i]]++
	}
	for v := int64(1); v <= n; v++ {
		if seen[v] != 1 {
			t.Errorf("version %d assigned %d times", v, seen[v])
		}
	}
	if got := len(e.stages("race")); got != n {
		t.Errorf("%d versions stored, want %d", got, n)
	}
	wantModelSeqs(t, e.allEvents("race"), n)
}

// wantModelSeqs checks that a model's events have ModelSeq 1..n in Seq order.
func wantModelSeqs(tb testing.TB, evs []lineage.Event, n int) {
	tb.Helper()
	if len(evs) != n {
		tb.Errorf("%d events, want %d", len(evs), n)
	}
	for i, ev := range evs {
		if ev.ModelSeq != int64(i+1) {
			tb.Errorf("event %d (Seq %d, %s): ModelSeq %d, want %d (contiguous per model)", i, ev.Seq, ev.Type, ev.ModelSeq, i+1)
			return
		}
		if i > 0 && ev.Seq <= evs[i-1].Seq {
			tb.Errorf("event Seq not increasing: %d after %d", ev.Seq, evs[i-1].Seq)
		}
	}
}

// Locations the transport verified (uploads) are stored with their size and
// marked verified; external references are recorded as given, unverified.
func (h *harness) testUploadedLocations(t *testing.T) {
	e := h.newEnv(t)
	run := e.mustSimpleRun("churn")
	hex := strings.TrimPrefix(dg("model bytes"), "sha256:")
	uri, digest := "pedigree://artifacts/sha256/"+hex, "sha256:"+hex

	mv, err := e.svc.RegisterModelVersion(e.ctx, lineage.RegisterModelVersionInput{Model: "churn", Run: run.ID,
		ArtifactURI: uri, ArtifactDigest: digest, ArtifactSize: ptr(int64(11)), Verified: true, Upload: digest})
	mustNoErr(t, "RegisterModelVersion(verified upload)", err)
	ext := e.mustRegister("churn", run.ID)
	dv, err := e.svc.RegisterDatasetVersion(e.ctx, lineage.RegisterDatasetVersionInput{Dataset: "customers",
		URI: uri, Digest: digest, Size: ptr(int64(11)), Verified: true, Upload: digest})
	mustNoErr(t, "RegisterDatasetVersion(verified upload)", err)
	a, err := e.svc.RegisterArtifact(e.ctx, lineage.RegisterArtifactInput{Name: "report",
		URI: uri, Digest: digest, Size: ptr(int64(11)), Verified: true, Upload: digest})
	mustNoErr(t, "RegisterArtifact(verified upload)", err)

	for _, id := range []lineage.ID{mv.ID, ext.ID, dv.ID, a.ID} {
		n, err := e.svc.Node(e.ctx, id)
		mustNoErr(t, "Node("+string(id)+")", err)
		type loc struct {
			URI, Digest string
			Size        *int64
			Verified    bool
		}
		var got, want loc
		switch n := n.(type) {
		case *lineage.ModelVersion:
			got = loc{n.ArtifactURI, n.ArtifactDigest, n.ArtifactSize, n.ArtifactVerified}
			want = loc{uri, digest, ptr(int64(11)), true}
			if id == ext.ID {
				want = loc{ext.ArtifactURI, ext.ArtifactDigest, nil, false}
			}
		case *lineage.DatasetVersion:
			got, want = loc{n.URI, n.Digest, n.Size, n.Verified}, loc{uri, digest, ptr(int64(11)), true}
		case *lineage.Artifact:
			got, want = loc{n.URI, n.Digest, n.Size, n.Verified}, loc{uri, digest, ptr(int64(11)), true}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s location (-want +got):\n%s", id, diff)
		}
	}
}
