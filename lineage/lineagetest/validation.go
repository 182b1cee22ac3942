package lineagetest

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
)

// validationCase is one bad call: the code and field it must fail with,
// and no change to the store.
type validationCase struct {
	name        string
	call        func(e *env, w *world) error
	code, field string
}

func (h *harness) testValidation(t *testing.T) {
	e := h.newEnv(t)
	w := e.buildWorld()
	own, err := e.svc.RegisterArtifact(e.ctx, lineage.RegisterArtifactInput{Name: "report", Digest: dg("report"), Run: w.run1.ID})
	mustNoErr(t, "RegisterArtifact", err)
	fresh := e.mustSimpleRun("churn")
	ctx := e.ctx

	dvIn := func(dataset, digest string) func(*env, *world) error {
		return func(e *env, w *world) error {
			_, err := e.svc.RegisterDatasetVersion(ctx, lineage.RegisterDatasetVersionInput{Dataset: dataset, Digest: digest})
			return err
		}
	}
	mvURI := func(uri string) func(*env, *world) error {
		return func(e *env, w *world) error {
			_, err := e.svc.RegisterModelVersion(ctx, lineage.RegisterModelVersionInput{Model: "churn", Run: w.run1.ID, ArtifactURI: uri})
			return err
		}
	}
	mvIn := func(mod func(*lineage.RegisterModelVersionInput)) func(*env, *world) error {
		return func(e *env, w *world) error {
			in := registerInput("churn", w.run1.ID, "z.pkl")
			mod(&in)
			_, err := e.svc.RegisterModelVersion(ctx, in)
			return err
		}
	}
	metrics := func(run func(w *world) lineage.ID, pts ...lineage.MetricPoint) func(*env, *world) error {
		return func(e *env, w *world) error { _, err := e.svc.LogMetrics(ctx, run(w), pts); return err }
	}
	run1 := func(w *world) lineage.ID { return w.run1.ID }
	startRun := func(mod func(*lineage.StartRunInput, *world)) func(*env, *world) error {
		return func(e *env, w *world) error {
			in := lineage.StartRunInput{Experiment: "churn", Name: "v"}
			mod(&in, w)
			_, err := e.svc.StartRun(ctx, in)
			return err
		}
	}
	transition := func(in lineage.TransitionInput) func(*env, *world) error {
		return func(e *env, w *world) error { _, err := e.svc.TransitionModelVersionStage(ctx, in); return err }
	}
	lineageQ := func(in lineage.LineageInput) func(*env, *world) error {
		return func(e *env, w *world) error { _, err := e.svc.Lineage(ctx, in); return err }
	}
	many := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprint("k", i)] = "v"
		}
		return m
	}
	points := func(n int) []lineage.MetricPoint {
		pts := make([]lineage.MetricPoint, n)
		for i := range pts {
			pts[i] = lineage.MetricPoint{Key: "loss", Value: 1, Step: int64(i)}
		}
		return pts
	}
	hex64 := strings.Repeat("ab", 32)
	const inv, nf = lineage.EINVALID, lineage.ENOTFOUND

	cases := []validationCase{
		// Names.
		{"empty dataset name", dvIn("", dg("x")), inv, "dataset"},
		{"dataset name with a slash", dvIn("a/b", dg("x")), inv, "dataset"},
		{"dataset name with dot-dot", dvIn("../etc", dg("x")), inv, "dataset"},
		{"dataset name with a colon", dvIn("a:b", dg("x")), inv, "dataset"},
		{"dataset name with a space", dvIn("has space", dg("x")), inv, "dataset"},
		{"dataset name starting with '-'", dvIn("-rf", dg("x")), inv, "dataset"},
		{"dataset name too long", dvIn(strings.Repeat("a", lineage.MaxNameLen+1), dg("x")), inv, "dataset"},
		{"dataset name with CRLF", dvIn("a\r\nX-Injected: 1", dg("x")), inv, "dataset"},
		{"model name with traversal", mvIn(func(in *lineage.RegisterModelVersionInput) { in.Model = "churn/../fraud" }), inv, "model"},
		{"model name with an escape", mvIn(func(in *lineage.RegisterModelVersionInput) { in.Model = "\x1b[31mred" }), inv, "model"},
		{"experiment name with a newline", startRun(func(in *lineage.StartRunInput, w *world) { in.Experiment = "exp\n" }), inv, "experiment"},
		{"pipeline name with a slash", startRun(func(in *lineage.StartRunInput, w *world) { in.Pipeline = "a/b" }), inv, "pipeline"},
		{"artifact name with a space", func(e *env, w *world) error {
			_, err := e.svc.RegisterArtifact(ctx, lineage.RegisterArtifactInput{Name: "x y", Digest: dg("x")})
			return err
		}, inv, "name"},
		{"empty feature set name", func(e *env, w *world) error {
			_, err := e.svc.RegisterFeatureSetVersion(ctx, lineage.RegisterFeatureSetVersionInput{Features: []lineage.Feature{{Name: "a", Type: "int"}}})
			return err
		}, inv, "featureSet"},
		{"reserved alias", func(e *env, w *world) error { _, err := e.svc.SetModelAlias(ctx, "churn", "production", 1); return err }, inv, "alias"},

		// Digests.
		{"missing digest", dvIn("customers", ""), inv, "digest"},
		{"digest not hex", dvIn("customers", "sha256:"+strings.Repeat("zz", 32)), inv, "digest"},
		{"digest one digit short", dvIn("customers", "sha256:"+hex64[1:]), inv, "digest"},
		{"digest of an unknown algorithm", dvIn("customers", "blake3:"+hex64), inv, "digest"},
		{"md5 digest of sha256 length", dvIn("customers", "md5:"+hex64), inv, "digest"},
		{"bare hex of the wrong length", dvIn("customers", hex64[:40]), inv, "digest"},
		{"artifact digest", mvIn(func(in *lineage.RegisterModelVersionInput) { in.ArtifactDigest = "sha1:xyz" }), inv, "artifactDigest"},
		{"split digest", func(e *env, w *world) error {
			_, err := e.svc.RegisterSplits(ctx, lineage.RegisterSplitsInput{DatasetVersion: w.ds1.ID, Splits: []lineage.SplitInput{{Name: "x", Digest: "sha256:1"}}})
			return err
		}, inv, "splits[0].digest"},
		{"image digest", func(e *env, w *world) error {
			_, err := e.svc.RegisterEnvironment(ctx, lineage.RegisterEnvironmentInput{Language: "python", ImageDigest: "latest"})
			return err
		}, inv, "imageDigest"},

		// Artifact locations (SECURITY.md: Paths and locations).
		{"file URI", mvURI("file:///etc/passwd"), inv, "artifactUri"},
		{"FILE URI in capitals", mvURI("FILE:///etc/passwd"), inv, "artifactUri"},
		{"http URI to the metadata service", mvURI("http://169.254.169.254/latest/meta-data/"), inv, "artifactUri"},
		{"https URI", mvURI("https://example.com/model.pkl"), inv, "artifactUri"},
		{"scheme-relative path", mvURI("//proc/self/root/etc/passwd"), inv, "artifactUri"},
		{"absolute path", mvURI("/etc/passwd"), inv, "artifactUri"},
		{"relative path", mvURI("../../etc/passwd"), inv, "artifactUri"},
		{"dot-dot segments", mvURI("s3://models/../../etc/passwd"), inv, "artifactUri"},
		{"encoded dot-dot segments", mvURI("s3://models/a/%2e%2e/%2E%2E/etc"), inv, "artifactUri"},
		{"dot segment", mvURI("s3://models/a/./b"), inv, "artifactUri"},
		{"no bucket", mvURI("s3:///model.pkl"), inv, "artifactUri"},
		{"backslash", mvURI(`s3://models/a\..\b`), inv, "artifactUri"},
		{"encoded NUL", mvURI("s3://models/model.pkl%00.txt"), inv, "artifactUri"},
		{"control character", mvURI("s3://models/model\x00.pkl"), inv, "artifactUri"},
		{"empty", mvURI(""), inv, "artifactUri"},
		// SECURITY.md's list for registerModelVersion sources, and the
		// upload rules: a pedigree:// URI only from a verified upload.
		{"file URI to /etc/passwd", mvURI("file:///etc/passwd"), inv, "artifactUri"},
		{"proc self root", mvURI("//proc/self/root/etc"), inv, "artifactUri"},
		{"link-local metadata host", mvURI("http://169.254.169.254/"), inv, "artifactUri"},
		{"https to another host", mvURI("https://evil/x"), inv, "artifactUri"},
		{"bucket escape with dot-dot", mvURI("s3://b/../../x"), inv, "artifactUri"},
		{"bucket escape with encoded dot-dot", mvURI("s3://b/%2e%2e/x"), inv, "artifactUri"},
		{"bucket escape with double-encoded dot-dot", mvURI("s3://b/%252e%252e/x"), inv, "artifactUri"},
		{"backslashes", mvURI(`s3://b/a\b`), inv, "artifactUri"},
		{"NUL", mvURI("s3://b/x\x00"), inv, "artifactUri"},
		{"pedigree URI typed by hand", mvURI("pedigree://artifacts/sha256/" + hex64), inv, "artifactUri"},
		{"pedigree URI in capitals typed by hand", mvURI("PEDIGREE://artifacts/sha256/" + hex64), inv, "artifactUri"},
		{"pedigree URI with a digest but no upload", mvIn(func(in *lineage.RegisterModelVersionInput) {
			in.ArtifactURI, in.ArtifactDigest = "pedigree://artifacts/sha256/"+hex64, "sha256:"+hex64
		}), inv, "artifactUri"},
		{"upload nobody looked up", mvIn(func(in *lineage.RegisterModelVersionInput) { in.Upload = "sha256:" + hex64 }), inv, "upload"},
		{"verified external reference", mvIn(func(in *lineage.RegisterModelVersionInput) { in.Verified = true }), inv, "artifactUri"},
		{"negative artifact size", mvIn(func(in *lineage.RegisterModelVersionInput) {
			in.ArtifactURI, in.ArtifactDigest, in.Verified, in.ArtifactSize = "pedigree://artifacts/sha256/"+hex64, "sha256:"+hex64, true, ptr(int64(-1))
		}), inv, "artifactSize"},
		{"dataset pedigree URI typed by hand", func(e *env, w *world) error {
			_, err := e.svc.RegisterDatasetVersion(ctx, lineage.RegisterDatasetVersionInput{Dataset: "c", Digest: "sha256:" + hex64, URI: "pedigree://artifacts/sha256/" + hex64})
			return err
		}, inv, "uri"},
		{"artifact pedigree URI typed by hand", func(e *env, w *world) error {
			_, err := e.svc.RegisterArtifact(ctx, lineage.RegisterArtifactInput{Name: "r", Digest: "sha256:" + hex64, URI: "pedigree://artifacts/sha256/" + hex64})
			return err
		}, inv, "uri"},
		{"dataset upload nobody looked up", func(e *env, w *world) error {
			_, err := e.svc.RegisterDatasetVersion(ctx, lineage.RegisterDatasetVersionInput{Dataset: "c", Digest: "sha256:" + hex64, Upload: "sha256:" + hex64})
			return err
		}, inv, "upload"},
		{"dataset URI with dot-dot", func(e *env, w *world) error {
			_, err := e.svc.RegisterDatasetVersion(ctx, lineage.RegisterDatasetVersionInput{Dataset: "c", Digest: dg("c"), URI: "s3://lake/../secret"})
			return err
		}, inv, "uri"},

		// Metrics.
		{"NaN metric", metrics(run1, lineage.MetricPoint{Key: "loss", Value: math.NaN()}), inv, "metrics[0].value"},
		{"+Inf metric", metrics(run1, lineage.MetricPoint{Key: "loss", Value: 1}, lineage.MetricPoint{Key: "loss", Value: 2, Step: 1}, lineage.MetricPoint{Key: "loss", Value: math.Inf(1), Step: 2}), inv, "metrics[2].value"},
		{"-Inf metric", metrics(run1, lineage.MetricPoint{Key: "loss", Value: math.Inf(-1)}), inv, "metrics[0].value"},
		{"negative step", metrics(run1, lineage.MetricPoint{Key: "loss", Value: 1, Step: -1}), inv, "metrics[0].step"},
		{"bad metric key", metrics(run1, lineage.MetricPoint{Key: "loss;drop table", Value: 1}), inv, "metrics[0].key"},
		{"empty metric key", metrics(run1, lineage.MetricPoint{Key: "", Value: 1}), inv, "metrics[0].key"},
		{"too many points", metrics(run1, points(lineage.MaxMetricBatch+1)...), inv, "metrics"},
		{"metrics of an unknown run", metrics(func(*world) lineage.ID { return "run:00000000-0000-7000-8000-000000000000" }, lineage.MetricPoint{Key: "a", Value: 1}), nf, "run"},
		{"metrics of a bad run ID", metrics(func(*world) lineage.ID { return "nope" }, lineage.MetricPoint{Key: "a", Value: 1}), inv, "run"},
		{"metrics of a dataset version", metrics(func(w *world) lineage.ID { return w.ds1.ID }, lineage.MetricPoint{Key: "a", Value: 1}), inv, "run"},

		// Batches and sizes.
		{"too many params", startRun(func(in *lineage.StartRunInput, w *world) { in.Params = many(lineage.MaxBatch + 1) }), inv, "params"},
		{"param value too long", startRun(func(in *lineage.StartRunInput, w *world) {
			in.Params = map[string]string{"k": strings.Repeat("v", lineage.MaxValueLen+1)}
		}), inv, "params.k"},
		{"param value with a terminal escape", func(e *env, w *world) error {
			_, err := e.svc.LogParams(ctx, w.run1.ID, map[string]string{"k": "\x1b[2J"})
			return err
		}, inv, "params.k"},
		{"description too long", startRun(func(in *lineage.StartRunInput, w *world) {
			in.Description = strings.Repeat("d", lineage.MaxDescription+1)
		}), inv, "description"},
		{"too many splits", func(e *env, w *world) error {
			in := lineage.RegisterSplitsInput{DatasetVersion: w.ds1.ID}
			for i := range lineage.MaxBatch + 1 {
				in.Splits = append(in.Splits, lineage.SplitInput{Name: fmt.Sprint("s", i)})
			}
			_, err := e.svc.RegisterSplits(ctx, in)
			return err
		}, inv, "splits"},
		{"split fractions over 1", func(e *env, w *world) error {
			_, err := e.svc.RegisterSplits(ctx, lineage.RegisterSplitsInput{DatasetVersion: w.ds1.ID, Splits: []lineage.SplitInput{{Name: "a", Fraction: ptr(0.7)}, {Name: "b", Fraction: ptr(0.7)}}})
			return err
		}, inv, "splits"},
		{"split fraction out of range", func(e *env, w *world) error {
			_, err := e.svc.RegisterSplits(ctx, lineage.RegisterSplitsInput{DatasetVersion: w.ds1.ID, Splits: []lineage.SplitInput{{Name: "a", Fraction: ptr(1.5)}}})
			return err
		}, inv, "splits[0].fraction"},
		{"no features", func(e *env, w *world) error {
			_, err := e.svc.RegisterFeatureSetVersion(ctx, lineage.RegisterFeatureSetVersionInput{FeatureSet: "f"})
			return err
		}, inv, "features"},
		{"too many runs to compare", func(e *env, w *world) error {
			ids := make([]lineage.ID, lineage.MaxCompareRuns+1)
			for i := range ids {
				ids[i] = lineage.ID(fmt.Sprint("run:", i))
			}
			_, err := e.svc.CompareRuns(ctx, ids)
			return err
		}, inv, "ids"},

		// Unknown and wrong references.
		{"unknown code version", startRun(func(in *lineage.StartRunInput, w *world) { in.Code = "codeversion:github.com/acme/x@abcdef1" }), nf, "code"},
		{"code that is a dataset version", startRun(func(in *lineage.StartRunInput, w *world) { in.Code = w.ds1.ID }), inv, "code"},
		{"unknown parent run", startRun(func(in *lineage.StartRunInput, w *world) { in.Parent = "run:nope" }), nf, "parent"},
		{"unknown environment", startRun(func(in *lineage.StartRunInput, w *world) { in.Environment = "environment:0000000000000000" }), nf, "environment"},
		{"unknown input", startRun(func(in *lineage.StartRunInput, w *world) {
			in.Inputs = []lineage.RunInput{{Node: w.train1.ID, Role: "train"}, {Node: "datasetversion:nope/1", Role: "test"}}
		}), nf, "inputs[1].node"},
		{"input with a bad ID", startRun(func(in *lineage.StartRunInput, w *world) { in.Inputs = []lineage.RunInput{{Node: "nope"}} }), inv, "inputs[0].node"},
		{"input with a bad role", startRun(func(in *lineage.StartRunInput, w *world) {
			in.Inputs = []lineage.RunInput{{Node: w.train1.ID, Role: "Train!"}}
		}), inv, "inputs[0].role"},
		{"bad trigger kind", startRun(func(in *lineage.StartRunInput, w *world) { in.Trigger.Kind = "CRON" }), inv, "trigger.kind"},
		{"idempotency key with a newline", startRun(func(in *lineage.StartRunInput, w *world) { in.IdempotencyKey = "a\nb" }), inv, "idempotencyKey"},
		{"a run using its own output", func(e *env, w *world) error {
			_, err := e.svc.AddRunInputs(ctx, w.run1.ID, []lineage.RunInput{{Node: own.ID, Role: "eval"}})
			return err
		}, inv, "inputs[0].node"},
		{"a run generating its own input", func(e *env, w *world) error {
			_, err := e.svc.AddRunOutputs(ctx, w.run1.ID, []lineage.ID{w.train1.ID})
			return err
		}, inv, "outputs[0]"},
		{"a run using itself", func(e *env, w *world) error {
			_, err := e.svc.AddRunInputs(ctx, fresh.ID, []lineage.RunInput{{Node: fresh.ID}})
			return err
		}, inv, "inputs[0].node"},
		{"splits of an unknown dataset version", func(e *env, w *world) error {
			_, err := e.svc.RegisterSplits(ctx, lineage.RegisterSplitsInput{DatasetVersion: "datasetversion:nope/1", Splits: []lineage.SplitInput{{Name: "a"}}})
			return err
		}, nf, "datasetVersion"},
		{"splits of a run", func(e *env, w *world) error {
			_, err := e.svc.RegisterSplits(ctx, lineage.RegisterSplitsInput{DatasetVersion: w.run1.ID, Splits: []lineage.SplitInput{{Name: "a"}}})
			return err
		}, inv, "datasetVersion"},
		{"derived from an unknown node", func(e *env, w *world) error {
			_, err := e.svc.RegisterDatasetVersion(ctx, lineage.RegisterDatasetVersionInput{Dataset: "c", Digest: dg("new"), DerivedFrom: []lineage.ID{w.raw.ID, "datasetversion:nope/1"}})
			return err
		}, nf, "derivedFrom[1]"},
		{"features from an unknown source", func(e *env, w *world) error {
			_, err := e.svc.RegisterFeatureSetVersion(ctx, lineage.RegisterFeatureSetVersionInput{FeatureSet: "f", Features: []lineage.Feature{{Name: "a", Type: "int"}}, Sources: []lineage.ID{"dataset:nope"}})
			return err
		}, nf, "sources[0]"},
		{"model version of an unknown run", mvIn(func(in *lineage.RegisterModelVersionInput) { in.Run = "run:nope" }), nf, "run"},
		{"model version signature not JSON", mvIn(func(in *lineage.RegisterModelVersionInput) { in.Signature = []byte("{inputs:") }), inv, "signature"},
		{"transition of an unknown model", transition(lineage.TransitionInput{Model: "nope", Version: 1, Stage: lineage.StageStaging}), nf, "model"},
		{"transition of an unknown version", transition(lineage.TransitionInput{Model: "churn", Version: 99, Stage: lineage.StageStaging}), nf, "version"},
		{"transition to a made-up stage", transition(lineage.TransitionInput{Model: "churn", Version: 1, Stage: "LIVE"}), inv, "stage"},
		{"lower-case stage", transition(lineage.TransitionInput{Model: "churn", Version: 1, Stage: "production"}), inv, "stage"},
		{"made-up expected stage", transition(lineage.TransitionInput{Model: "churn", Version: 1, Stage: lineage.StageStaging, ExpectedStage: ptr(lineage.Stage("X"))}), inv, "expectedStage"},
		{"deployment with a bad status", func(e *env, w *world) error {
			_, err := e.svc.RecordDeployment(ctx, lineage.RecordDeploymentInput{Model: "churn", Version: 1, Environment: "prod", Status: "UP"})
			return err
		}, inv, "status"},
		{"finish with RUNNING", func(e *env, w *world) error {
			_, err := e.svc.FinishRun(ctx, lineage.FinishRunInput{Run: fresh.ID, Status: lineage.RunRunning})
			return err
		}, inv, "status"},
		{"finish before the start", func(e *env, w *world) error {
			_, err := e.svc.FinishRun(ctx, lineage.FinishRunInput{Run: fresh.ID, Status: lineage.RunFinished, EndedAt: ptr(at(-1000))})
			return err
		}, inv, "endedAt"},
		{"code version with a bad commit", func(e *env, w *world) error {
			_, err := e.svc.RegisterCodeVersion(ctx, lineage.RegisterCodeVersionInput{Repository: "github.com/acme/churn", Commit: "HEAD"})
			return err
		}, inv, "commit"},
		{"code version without a repository", func(e *env, w *world) error {
			_, err := e.svc.RegisterCodeVersion(ctx, lineage.RegisterCodeVersionInput{Commit: "abcdef1"})
			return err
		}, inv, "repository"},
		{"code version with traversal in the repository", func(e *env, w *world) error {
			_, err := e.svc.RegisterCodeVersion(ctx, lineage.RegisterCodeVersionInput{Repository: "github.com/../../etc", Commit: "abcdef1"})
			return err
		}, inv, "repository"},
		{"dirty code version without a diff digest", func(e *env, w *world) error {
			_, err := e.svc.RegisterCodeVersion(ctx, lineage.RegisterCodeVersionInput{Repository: "github.com/acme/churn", Commit: "abcdef1", Dirty: true})
			return err
		}, inv, "diffDigest"},

		// Queries.
		{"lineage of an unknown node", lineageQ(lineage.LineageInput{Of: "datasetversion:nope/1"}), nf, "of"},
		{"lineage of a malformed ID", lineageQ(lineage.LineageInput{Of: "not-an-id"}), inv, "of"},
		{"lineage direction", lineageQ(lineage.LineageInput{Of: "run:x", Direction: "SIDEWAYS"}), inv, "direction"},
		{"lineage kinds", lineageQ(lineage.LineageInput{Of: "run:x", Kinds: []lineage.Kind{"Table"}}), inv, "kinds[0]"},
		{"lineage negative depth", lineageQ(lineage.LineageInput{Of: "run:x", Depth: -1}), inv, "depth"},
		{"search with a bad kind", func(e *env, w *world) error {
			_, err := e.svc.Search(ctx, "churn", []lineage.Kind{"Model", "model"}, 10)
			return err
		}, inv, "kinds[1]"},
		{"search text with a newline", func(e *env, w *world) error { _, err := e.svc.Search(ctx, "a\nb", nil, 10); return err }, inv, "query"},
		{"runs filter syntax", func(e *env, w *world) error {
			_, err := e.svc.Runs(ctx, lineage.RunsInput{Filter: "metrics.auc >"})
			return err
		}, inv, "filter"},
		{"runs filter injection", func(e *env, w *world) error {
			_, err := e.svc.Runs(ctx, lineage.RunsInput{Filter: "params.model = 'x' OR 1=1 --"})
			return err
		}, inv, "filter"},
		{"runs orderBy", func(e *env, w *world) error {
			_, err := e.svc.Runs(ctx, lineage.RunsInput{OrderBy: []string{"nope.auc"}})
			return err
		}, inv, "orderBy"},
		{"runs of an unknown experiment", func(e *env, w *world) error {
			_, err := e.svc.Runs(ctx, lineage.RunsInput{Experiment: "nope"})
			return err
		}, nf, "experiment"},
		{"metric history key", func(e *env, w *world) error {
			_, err := e.svc.MetricHistory(ctx, lineage.MetricHistoryQuery{Run: w.run1.ID, Key: "a;b"})
			return err
		}, inv, "key"},
		{"events of a bad model name", func(e *env, w *world) error { _, err := e.svc.Events(ctx, "a/b", 0, nil, 10); return err }, inv, "model"},
		{"node with a bad ID", func(e *env, w *world) error { _, err := e.svc.Node(ctx, "nokind"); return err }, inv, "id"},
		{"node of an unknown kind", func(e *env, w *world) error { _, err := e.svc.Node(ctx, "table:x"); return err }, inv, "id"},
		{"unknown node", func(e *env, w *world) error { _, err := e.svc.Node(ctx, "model:nope"); return err }, nf, "id"},
		{"soft delete of an unknown node", func(e *env, w *world) error { return e.svc.DeleteNode(ctx, "model:nope", false) }, nf, "id"},
		{"hard delete of an unknown node", func(e *env, w *world) error { return e.svc.DeleteNode(ctx, "model:nope", true) }, nf, "id"},
		{"delete with a bad ID", func(e *env, w *world) error { return e.svc.DeleteNode(ctx, "../x", true) }, inv, "id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			before := snapshot(t, e.store)
			err := c.call(e, w)
			wantErr(t, c.name, err, c.code, c.field)
			wantUnchanged(t, c.name, e.store, before)
		})
	}
}

// registryTrace is what a registry scenario leaves behind, without the
// random parts (run IDs, event IDs).
type registryTrace struct {
	Stages      map[int64]lineage.Stage
	Transitions []string
	Events      []string
	Kinds       map[lineage.Kind]int
}

func (e *env) registryScenario() registryTrace {
	e.t.Helper()
	w := e.buildWorld()
	run := e.mustSimpleRun("churn")
	for range 2 {
		e.mustRegister("churn", run.ID)
	}
	// Idempotent retries and natural keys.
	e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "customers", Digest: w.ds1.Digest})
	e.mustSplits(w.ds1.ID, 3, "train", "test")
	in := registerInput("churn", run.ID, "k.pkl")
	in.IdempotencyKey = "k1"
	for range 2 {
		_, err := e.svc.RegisterModelVersion(e.ctx, in)
		mustNoErr(e.t, "RegisterModelVersion(key)", err)
	}
	for v := int64(1); v <= 3; v++ {
		e.mustTransition("churn", v, lineage.StageProduction)
	}
	_, err := e.svc.RollbackModel(e.ctx, "churn", "bad")
	mustNoErr(e.t, "RollbackModel", err)
	_, err = e.svc.RollbackModel(e.ctx, "churn", "worse")
	mustNoErr(e.t, "RollbackModel", err)
	e.mustTransition("churn", 4, lineage.StageStaging)
	_, err = e.svc.SetModelAlias(e.ctx, "churn", "champion", 1)
	mustNoErr(e.t, "SetModelAlias", err)
	_, err = e.svc.SetModelAlias(e.ctx, "churn", "champion", 4)
	mustNoErr(e.t, "SetModelAlias", err)
	_, err = e.svc.RecordDeployment(e.ctx, lineage.RecordDeploymentInput{Model: "churn", Version: 1, Environment: "prod", Status: lineage.DeploymentSucceeded})
	mustNoErr(e.t, "RecordDeployment", err)
	_, err = e.svc.LogParams(e.ctx, w.run1.ID, map[string]string{"extra": "1"})
	mustNoErr(e.t, "LogParams", err)
	mustNoErr(e.t, "DeleteNode", e.svc.DeleteNode(e.ctx, w.codeA.ID, false))

	tr := registryTrace{Stages: e.stages("churn"), Kinds: map[lineage.Kind]int{}}
	var ids []lineage.ID
	for v := range tr.Stages {
		ids = append(ids, lineage.NewID(lineage.KindModelVersion, "churn", fmt.Sprint(v)))
	}
	trail, err := e.svc.Transitions(e.ctx, sortedIDs(ids))
	mustNoErr(e.t, "Transitions", err)
	for _, x := range trail {
		tr.Transitions = append(tr.Transitions, fmt.Sprintf("%s %s→%s rollback=%v", x.ModelVersion, x.From, x.To, x.Rollback))
	}
	for _, ev := range e.allEvents("") {
		tr.Events = append(tr.Events, fmt.Sprintf("%s#%d %s", ev.Model, ev.ModelSeq, ev.Type))
	}
	for _, k := range lineage.Kinds {
		tr.Kinds[k] = e.count(k, "")
	}
	return tr
}

// The Store may call an Update's fn more than once; the Service's results
// must not depend on it. The same scenario runs on the store directly and
// through a wrapper that makes every first attempt fail after fn returns.
func (h *harness) testRetriedTransactions(t *testing.T) {
	plain := h.newEnv(t)
	want := plain.registryScenario()

	s := h.open(t)
	rs := &retryingStore{Store: s}
	c := newClock()
	retried := &env{t: t, store: s, svc: lineage.NewService(rs, lineage.WithClock(c.Now)), clock: c, ctx: bg}
	got := retried.registryScenario()
	if rs.attempts == 0 {
		t.Fatal("the retrying store was not used")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scenario with every transaction retried once (-direct +retried):\n%s", diff)
	}
}
