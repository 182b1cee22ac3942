package lineagetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
)

func (h *harness) serviceTests(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"RegisterDatasetVersion", h.testRegisterDatasetVersion},
		{"RegisterSplits", h.testRegisterSplits},
		{"RegisterFeatureSetVersion", h.testRegisterFeatureSetVersion},
		{"RegisterCodeVersion", h.testRegisterCodeVersion},
		{"RegisterEnvironment", h.testRegisterEnvironment},
		{"RegisterArtifact", h.testRegisterArtifact},
		{"RunLifecycle", h.testRunLifecycle},
		{"StartRunIdempotency", h.testStartRunIdempotency},
		{"RegisterModelVersionIdempotency", h.testRegisterModelVersionIdempotency},
		{"OneGeneratingRun", h.testOneGeneratingRun},
		{"ContiguousVersions", h.testContiguousVersions},
		{"UploadedLocations", h.testUploadedLocations},
		{"ConcurrentRegistration", h.testConcurrentRegistration},
		{"ConcurrentMixedWriters", h.testConcurrentMixedWriters},
		{"OneProductionVersion", h.testOneProduction},
		{"ExpectedStage", h.testExpectedStage},
		{"ArchiveExisting", h.testArchiveExisting},
		{"AuditTrail", h.testAuditTrail},
		{"Rollback", h.testRollback},
		{"RollbackFollowsCommitOrder", h.testRollbackCommitOrder},
		{"Aliases", h.testAliases},
		{"ModelVersionSelectors", h.testModelVersionSelectors},
		{"Deployments", h.testDeployments},
		{"AutoRollback", h.testAutoRollback},
		{"NonModelEvents", h.testNonModelEvents},
		{"EventsOutbox", h.testEventsOutbox},
		{"Subscribe", h.testSubscribe},
		{"EventsModelNameCase", h.testEventsModelNameCase},
		{"Deletes", h.testDeletes},
		{"Lineage", h.testLineage},
		{"LineageAsOf", h.testLineageAsOf},
		{"LineagePath", h.testLineagePath},
		{"Impact", h.testImpact},
		{"CompareRuns", h.testCompareRuns},
		{"DiffModelVersions", h.testDiffModelVersions},
		{"Reproduction", h.testReproduction},
		{"Runs", h.testRuns},
		{"Validation", h.testValidation},
		{"RetriedTransactions", h.testRetriedTransactions},
	} {
		t.Run(tc.name, tc.fn)
	}
}

// env is a Service on a fresh store with the suite's clock.
type env struct {
	t     *testing.T
	store lineage.Store
	svc   *lineage.Service
	clock *Clock
	ctx   context.Context
}

func (h *harness) newEnv(t *testing.T) *env {
	t.Helper()
	s := h.open(t)
	c := newClock()
	return &env{t: t, store: s, svc: lineage.NewService(s, lineage.WithClock(c.Now)), clock: c, ctx: bg}
}

// dg is a well-formed sha256 digest of s.
func dg(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (e *env) mustDatasetVersion(in lineage.RegisterDatasetVersionInput) *lineage.DatasetVersion {
	e.t.Helper()
	dv, err := e.svc.RegisterDatasetVersion(e.ctx, in)
	mustNoErr(e.t, fmt.Sprintf("RegisterDatasetVersion(%s, %s)", in.Dataset, in.Digest), err)
	return dv
}

func (e *env) mustSplits(dv lineage.ID, seed int64, names ...string) []*lineage.Split {
	e.t.Helper()
	in := lineage.RegisterSplitsInput{DatasetVersion: dv, Strategy: "random", Seed: &seed}
	for _, n := range names {
		in.Splits = append(in.Splits, lineage.SplitInput{Name: n, Digest: dg(string(dv) + n), Rows: ptr(int64(100)), Fraction: ptr(1 / float64(len(names)))})
	}
	sp, err := e.svc.RegisterSplits(e.ctx, in)
	mustNoErr(e.t, "RegisterSplits", err)
	return sp
}

func (e *env) mustFeatures(name, transformation string, sources ...lineage.ID) *lineage.FeatureSetVersion {
	e.t.Helper()
	fv, err := e.svc.RegisterFeatureSetVersion(e.ctx, lineage.RegisterFeatureSetVersionInput{
		FeatureSet: name, Transformation: transformation, Sources: sources,
		Features: []lineage.Feature{{Name: "tenure", Type: "int"}, {Name: "spend_30d", Type: "float"}},
	})
	mustNoErr(e.t, "RegisterFeatureSetVersion", err)
	return fv
}

func (e *env) mustCode(repo, commit string) *lineage.CodeVersion {
	e.t.Helper()
	cv, err := e.svc.RegisterCodeVersion(e.ctx, lineage.RegisterCodeVersionInput{Repository: repo, Commit: commit, Branch: "main", Path: "train.py"})
	mustNoErr(e.t, "RegisterCodeVersion", err)
	return cv
}

func (e *env) mustEnvironment(pyVersion string, pkgs ...lineage.Package) *lineage.Environment {
	e.t.Helper()
	en, err := e.svc.RegisterEnvironment(e.ctx, lineage.RegisterEnvironmentInput{Language: "python", LanguageVersion: pyVersion, Packages: pkgs})
	mustNoErr(e.t, "RegisterEnvironment", err)
	return en
}

func (e *env) mustRun(in lineage.StartRunInput) *lineage.Run {
	e.t.Helper()
	r, err := e.svc.StartRun(e.ctx, in)
	mustNoErr(e.t, "StartRun", err)
	return r
}

// mustSimpleRun starts a run with no inputs in experiment exp.
func (e *env) mustSimpleRun(exp string) *lineage.Run {
	e.t.Helper()
	return e.mustRun(lineage.StartRunInput{Experiment: exp, Name: "run"})
}

func (e *env) mustMetrics(run lineage.ID, pts ...lineage.MetricPoint) {
	e.t.Helper()
	_, err := e.svc.LogMetrics(e.ctx, run, pts)
	mustNoErr(e.t, "LogMetrics", err)
}

func (e *env) mustFinish(run lineage.ID) {
	e.t.Helper()
	_, err := e.svc.FinishRun(e.ctx, lineage.FinishRunInput{Run: run, Status: lineage.RunFinished})
	mustNoErr(e.t, "FinishRun", err)
}

func (e *env) mustRegister(model string, run lineage.ID) *lineage.ModelVersion {
	e.t.Helper()
	mv, err := e.svc.RegisterModelVersion(e.ctx, registerInput(model, run, "model.pkl"))
	mustNoErr(e.t, "RegisterModelVersion("+model+")", err)
	return mv
}

func registerInput(model string, run lineage.ID, file string) lineage.RegisterModelVersionInput {
	return lineage.RegisterModelVersionInput{Model: model, Run: run, ArtifactURI: "s3://models/" + model + "/" + file,
		ArtifactDigest: dg(model + file), Framework: "sklearn"}
}

func (e *env) mustTransition(model string, version int64, stage lineage.Stage) *lineage.ModelVersion {
	e.t.Helper()
	mv, err := e.svc.TransitionModelVersionStage(e.ctx, lineage.TransitionInput{Model: model, Version: version, Stage: stage, ArchiveExisting: true})
	mustNoErr(e.t, fmt.Sprintf("Transition(%s v%d → %s)", model, version, stage), err)
	return mv
}

func (e *env) version(model string, v int64) *lineage.ModelVersion {
	e.t.Helper()
	mv, err := e.svc.ModelVersion(e.ctx, model, lineage.VersionSelector{Version: &v})
	mustNoErr(e.t, fmt.Sprintf("ModelVersion(%s v%d)", model, v), err)
	return mv
}

// stages returns the stage of every live version of a model, by version.
func (e *env) stages(model string) map[int64]lineage.Stage {
	e.t.Helper()
	out := map[int64]lineage.Stage{}
	mustView(e.t, e.store, func(tx lineage.ReadTx) error {
		for _, n := range listAll(e.t, tx, lineage.KindModelVersion, lineage.NewID(lineage.KindModel, strings.ToLower(model)), 200) {
			ent, err := lineage.Decode(n)
			if err != nil {
				return err
			}
			mv := ent.(*lineage.ModelVersion)
			out[mv.Version] = mv.Stage
		}
		return nil
	})
	return out
}

// allEvents reads the whole outbox (optionally one model's) from the store.
func (e *env) allEvents(model string) []lineage.Event {
	e.t.Helper()
	var out []lineage.Event
	var after int64
	for {
		evs, err := e.store.Events(e.ctx, model, after, 100)
		mustNoErr(e.t, "Events", err)
		out = append(out, evs...)
		if len(evs) < 100 {
			return out
		}
		after = evs[len(evs)-1].Seq
	}
}

func (e *env) head() int64 {
	e.t.Helper()
	seq, err := e.store.LastEventSeq(e.ctx)
	mustNoErr(e.t, "LastEventSeq", err)
	return seq
}

// world is a realistic registration flow: two versions of a churn model
// trained on two versions of a customers dataset (both derived from raw
// events), with splits, features, code, environments, params and metrics.
type world struct {
	raw, ds1, ds2                *lineage.DatasetVersion
	train1, test1, train2, test2 *lineage.Split
	fs1, fs2                     *lineage.FeatureSetVersion
	codeA, codeB                 *lineage.CodeVersion
	env1, env2                   *lineage.Environment
	run1, run2                   *lineage.Run
	mv1, mv2                     *lineage.ModelVersion
}

func (e *env) buildWorld() *world {
	e.t.Helper()
	w := &world{}
	w.raw = e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "raw-events", Digest: dg("raw"), URI: "s3://lake/raw/2026-03-01/", Format: "parquet"})
	w.ds1 = e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "customers", Digest: dg("customers-1"), URI: "s3://lake/customers/1/",
		Format: "parquet", Rows: ptr(int64(1000)), Schema: []lineage.Column{{Name: "id", Type: "int"}}, DerivedFrom: []lineage.ID{w.raw.ID}})
	w.ds2 = e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "customers", Digest: dg("customers-2"), URI: "s3://lake/customers/2/",
		Format: "parquet", Rows: ptr(int64(1200)), DerivedFrom: []lineage.ID{w.raw.ID}})
	sp1 := e.mustSplits(w.ds1.ID, 3, "train", "test")
	sp2 := e.mustSplits(w.ds2.ID, 7, "train", "test")
	w.train1, w.test1, w.train2, w.test2 = sp1[0], sp1[1], sp2[0], sp2[1]
	w.fs1 = e.mustFeatures("customer-features", "select 1", w.ds1.ID)
	w.fs2 = e.mustFeatures("customer-features", "select 2", w.ds2.ID)
	w.codeA = e.mustCode("https://github.com/acme/churn.git", "aaaaaaa1111111")
	w.codeB = e.mustCode("git@github.com:acme/churn.git", "bbbbbbb2222222")
	w.env1 = e.mustEnvironment("3.11", lineage.Package{Name: "scikit-learn", Version: "1.3.0"}, lineage.Package{Name: "pandas", Version: "2.1.0"})
	w.env2 = e.mustEnvironment("3.12", lineage.Package{Name: "scikit-learn", Version: "1.4.0"}, lineage.Package{Name: "numpy", Version: "1.26.0"})
	w.run1 = e.mustRun(lineage.StartRunInput{Experiment: "churn", Pipeline: "nightly", Name: "baseline",
		Params: map[string]string{"lr": "0.1", "seed": "42"}, Code: w.codeA.ID, Environment: w.env1.ID,
		Inputs: []lineage.RunInput{{Node: w.train1.ID, Role: "train"}, {Node: w.test1.ID, Role: "test"}, {Node: w.fs1.ID, Role: "features"}}})
	e.mustMetrics(w.run1.ID, lineage.MetricPoint{Key: "auc", Value: 0.80, Step: 1}, lineage.MetricPoint{Key: "loss", Value: 0.5, Step: 1})
	e.mustFinish(w.run1.ID)
	w.run2 = e.mustRun(lineage.StartRunInput{Experiment: "churn", Pipeline: "nightly", Name: "tuned",
		Params: map[string]string{"lr": "0.2", "depth": "6", "seed": "42"}, Code: w.codeB.ID, Environment: w.env2.ID,
		Inputs: []lineage.RunInput{{Node: w.train2.ID, Role: "train"}, {Node: w.test2.ID, Role: "test"}, {Node: w.fs2.ID, Role: "features"}}})
	e.mustMetrics(w.run2.ID, lineage.MetricPoint{Key: "auc", Value: 0.85, Step: 1}, lineage.MetricPoint{Key: "loss", Value: 0.4, Step: 1},
		lineage.MetricPoint{Key: "f1", Value: 0.7, Step: 1})
	e.mustFinish(w.run2.ID)
	w.mv1 = e.mustRegister("churn", w.run1.ID)
	w.mv2 = e.mustRegister("churn", w.run2.ID)
	return w
}

// wantVersionStages compares a model's stages with want.
func (e *env) wantStages(what, model string, want map[int64]lineage.Stage) {
	e.t.Helper()
	if diff := cmp.Diff(want, e.stages(model)); diff != "" {
		e.t.Errorf("%s: stages of %s (-want +got):\n%s", what, model, diff)
	}
}
