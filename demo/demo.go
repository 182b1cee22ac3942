// Package demo loads a small, realistic story into an empty Pedigree so that
// lineage, comparison, diff and the registry have something real to show:
// a churn model trained twice from two dataset versions with splits and a
// feature set, on two commits, promoted to Production, then a regression and
// a rollback.
package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Model is the demo's registered model.
const Model = "churn"

// Load writes the demo into svc unless the model already exists.
func Load(ctx context.Context, svc *lineage.Service) error {
	if _, err := svc.Model(ctx, Model); err == nil {
		return nil
	} else if lineage.ErrorCode(err) != lineage.ENOTFOUND {
		return err
	}
	l := &loader{ctx: lineage.WithActor(ctx, "demo"), svc: svc}
	return l.run()
}

type loader struct {
	ctx context.Context
	svc *lineage.Service
}

// failure carries an error out of the story, so it reads top to bottom
// without an error check after every call.
type failure struct{ err error }

func must[T any](v T, err error) T {
	if err != nil {
		panic(failure{err})
	}
	return v
}

func (l *loader) run() (err error) {
	defer func() {
		if p := recover(); p != nil {
			f, ok := p.(failure)
			if !ok {
				panic(p)
			}
			err = fmt.Errorf("demo: %w", f.err)
		}
	}()
	l.story()
	return nil
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func ptr[T any](v T) *T { return &v }

func (l *loader) story() {
	ctx, svc := l.ctx, l.svc
	raw := must(svc.RegisterDatasetVersion(ctx, lineage.RegisterDatasetVersionInput{
		Dataset: "raw-events", URI: "s3://acme-lake/events/2026-09/", Digest: digest("raw-events-2026-09"),
		Format: "parquet", Rows: ptr(int64(12_400_000)), Description: "Clickstream and billing events, September 2026",
	}))
	schema := []lineage.Column{{Name: "customer_id", Type: "string"}, {Name: "tenure_months", Type: "int"},
		{Name: "monthly_charges", Type: "float"}, {Name: "contract_type", Type: "string"}, {Name: "churned", Type: "bool"}}
	customers := []*lineage.DatasetVersion{
		must(svc.RegisterDatasetVersion(ctx, lineage.RegisterDatasetVersionInput{
			Dataset: "customers", URI: "s3://acme-lake/customers/v1/", Digest: digest("customers-v1"), Format: "parquet",
			Rows: ptr(int64(50_000)), Schema: schema, DerivedFrom: []lineage.ID{raw.ID},
			Stats:       []byte(`{"churned":{"mean":0.21},"tenure_months":{"mean":31.4,"p50":28}}`),
			Description: "Customer snapshot used for the first churn model", Tags: map[string]string{"team": "retention"},
		})),
		must(svc.RegisterDatasetVersion(ctx, lineage.RegisterDatasetVersionInput{
			Dataset: "customers", URI: "s3://acme-lake/customers/v2/", Digest: digest("customers-v2"), Format: "parquet",
			Rows: ptr(int64(62_000)), Schema: append(schema, lineage.Column{Name: "days_since_last_login", Type: "int"}),
			DerivedFrom: []lineage.ID{raw.ID},
			Stats:       []byte(`{"churned":{"mean":0.24},"tenure_months":{"mean":29.8,"p50":26}}`),
			Description: "Snapshot with three more months of customers and login activity", Tags: map[string]string{"team": "retention"},
		})),
	}
	var splits [2][]*lineage.Split
	for i, dv := range customers {
		splits[i] = must(svc.RegisterSplits(ctx, lineage.RegisterSplitsInput{
			DatasetVersion: dv.ID, Strategy: "stratified", Seed: ptr(int64(42)),
			Splits: []lineage.SplitInput{
				{Name: "train", Digest: digest(fmt.Sprintf("v%d-train", i+1)), Rows: ptr(*dv.Rows * 70 / 100), Fraction: ptr(0.7)},
				{Name: "validation", Digest: digest(fmt.Sprintf("v%d-validation", i+1)), Rows: ptr(*dv.Rows * 15 / 100), Fraction: ptr(0.15)},
				{Name: "test", Digest: digest(fmt.Sprintf("v%d-test", i+1)), Rows: ptr(*dv.Rows * 15 / 100), Fraction: ptr(0.15)},
			},
		}))
	}
	features := []lineage.Feature{{Name: "tenure_months", Type: "int"}, {Name: "monthly_charges", Type: "float"},
		{Name: "contract_type", Type: "category"}, {Name: "support_tickets_90d", Type: "int"}}
	fs := []*lineage.FeatureSetVersion{
		must(svc.RegisterFeatureSetVersion(ctx, lineage.RegisterFeatureSetVersionInput{
			FeatureSet: "churn-features", Features: features, Sources: []lineage.ID{customers[0].ID},
			Transformation: "SELECT customer_id, tenure_months, monthly_charges, contract_type, tickets_90d AS support_tickets_90d FROM customers",
		})),
		must(svc.RegisterFeatureSetVersion(ctx, lineage.RegisterFeatureSetVersionInput{
			FeatureSet: "churn-features", Features: append(features, lineage.Feature{Name: "days_since_last_login", Type: "int"}),
			Sources:        []lineage.ID{customers[1].ID},
			Transformation: "SELECT customer_id, tenure_months, monthly_charges, contract_type, tickets_90d AS support_tickets_90d, days_since_last_login FROM customers",
		})),
	}
	code := []*lineage.CodeVersion{
		must(svc.RegisterCodeVersion(ctx, lineage.RegisterCodeVersionInput{Repository: "https://github.com/acme/churn.git", Commit: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", Branch: "main", Path: "train.py"})),
		must(svc.RegisterCodeVersion(ctx, lineage.RegisterCodeVersionInput{Repository: "https://github.com/acme/churn.git", Commit: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", Branch: "main", Path: "train.py"})),
	}
	pkgs := func(xgb string) []lineage.Package {
		return []lineage.Package{{Name: "pandas", Version: "2.2.1"}, {Name: "scikit-learn", Version: "1.4.2"}, {Name: "xgboost", Version: xgb}}
	}
	envs := []*lineage.Environment{
		must(svc.RegisterEnvironment(ctx, lineage.RegisterEnvironmentInput{Language: "python", LanguageVersion: "3.11.7", Packages: pkgs("2.0.3"), Hardware: map[string]string{"cpu": "8 vCPU", "memory": "32 GiB"}})),
		must(svc.RegisterEnvironment(ctx, lineage.RegisterEnvironmentInput{Language: "python", LanguageVersion: "3.11.7", Packages: pkgs("2.1.0"), Hardware: map[string]string{"cpu": "8 vCPU", "memory": "32 GiB"}})),
	}

	type trial struct {
		name   string
		params map[string]string
		auc    float64
		i      int // which data, features, code and environment
		status lineage.RunStatus
	}
	trials := []trial{
		{"xgb-baseline", map[string]string{"model": "xgb", "max_depth": "6", "learning_rate": "0.1", "n_estimators": "300", "seed": "42"}, 0.87, 0, lineage.RunFinished},
		{"xgb-more-data", map[string]string{"model": "xgb", "max_depth": "8", "learning_rate": "0.05", "n_estimators": "500", "seed": "42"}, 0.91, 1, lineage.RunFinished},
		{"lgbm-trial", map[string]string{"model": "lgbm", "num_leaves": "64", "learning_rate": "0.05", "n_estimators": "400", "seed": "7"}, 0.89, 1, lineage.RunFailed},
	}
	var runs []*lineage.Run
	for _, t := range trials {
		run := must(svc.StartRun(ctx, lineage.StartRunInput{
			Experiment: "churn", Pipeline: "churn-training", Name: t.name, Params: t.params,
			Tags:    map[string]string{"team": "retention"},
			Trigger: lineage.Trigger{Kind: lineage.TriggerCI, Actor: "ci-bot", ExternalID: fmt.Sprintf("build-%d", 1200+len(runs)), URL: "https://ci.acme.internal/churn/builds/" + fmt.Sprint(1200+len(runs))},
			Code:    code[t.i].ID, Environment: envs[t.i].ID,
			Inputs: []lineage.RunInput{{Node: splits[t.i][0].ID, Role: "train"}, {Node: splits[t.i][1].ID, Role: "validation"},
				{Node: splits[t.i][2].ID, Role: "test"}, {Node: fs[t.i].ID, Role: "features"}},
		}))
		var points []lineage.MetricPoint
		for step := int64(0); step < 50; step++ {
			x := float64(step+1) / 50
			points = append(points,
				lineage.MetricPoint{Key: "auc", Step: step, Value: math.Round((0.5+(t.auc-0.5)*(1-math.Exp(-5*x)))*10000) / 10000},
				lineage.MetricPoint{Key: "logloss", Step: step, Value: math.Round((0.69-(0.69-(1-t.auc)*1.4)*(1-math.Exp(-4*x)))*10000) / 10000})
		}
		must(svc.LogMetrics(ctx, run.ID, points))
		runs = append(runs, must(svc.FinishRun(ctx, lineage.FinishRunInput{Run: run.ID, Status: t.status,
			Compute: map[string]string{"instance_type": "m6i.2xlarge", "cpu_hours": "1.5"}})))
	}
	must(svc.RegisterArtifact(ctx, lineage.RegisterArtifactInput{Name: "churn-eval-report", Type: "report",
		URI: "s3://acme-ml/reports/churn/xgb-more-data.html", Digest: digest("report-2"), MediaType: "text/html", Run: runs[1].ID}))

	for i, run := range runs[:2] {
		must(svc.RegisterModelVersion(ctx, lineage.RegisterModelVersionInput{
			Model: Model, Run: run.ID, ArtifactURI: fmt.Sprintf("s3://acme-ml/models/churn/%d/model.xgb", i+1),
			ArtifactDigest: digest(fmt.Sprintf("churn-model-%d", i+1)), Framework: "xgboost",
			Signature: []byte(`{"inputs":[{"name":"tenure_months","type":"long"},{"name":"monthly_charges","type":"double"}],"outputs":[{"name":"churn_probability","type":"double"}]}`),
		}))
	}
	promote := func(v int64, stage lineage.Stage, reason string) {
		must(svc.TransitionModelVersionStage(ctx, lineage.TransitionInput{Model: Model, Version: v, Stage: stage, ArchiveExisting: true, Reason: reason}))
	}
	deploy := func(v int64) {
		must(svc.RecordDeployment(ctx, lineage.RecordDeploymentInput{Model: Model, Version: v, Environment: "production",
			Status: lineage.DeploymentSucceeded, Endpoint: "https://models.acme.internal/churn"}))
	}
	promote(1, lineage.StageStaging, "offline AUC 0.87 beats the heuristic")
	promote(1, lineage.StageProduction, "shadow traffic looked good for a week")
	deploy(1)
	must(svc.SetModelAlias(ctx, Model, "champion", 1))
	promote(2, lineage.StageStaging, "more data and login activity: offline AUC 0.91")
	promote(2, lineage.StageProduction, "beats v1 on the holdout set")
	deploy(2)
	must(svc.SetModelAlias(ctx, Model, "champion", 2))
	must(svc.SetModelAlias(ctx, Model, "challenger", 1))
	must(svc.RollbackModel(ctx, Model, "regression: live AUC fell from 0.91 to 0.78 after v2 (login feature stale in serving)"))
	deploy(1)
	must(svc.SetModelAlias(ctx, Model, "champion", 1))
	must(svc.SetModelAlias(ctx, Model, "challenger", 2)) // back to shadow traffic while the login feature is fixed
}
