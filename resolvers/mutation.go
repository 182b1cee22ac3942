package resolvers

import (
	"context"
	"errors"
	"strings"

	"github.com/pedigree-ml/pedigree/graph/model"
	"github.com/pedigree-ml/pedigree/lineage"
)

// Mutations hand their input to the Service, which validates it (so every
// transport gets the same rules) and runs it in one transaction.

type mutationResolver struct{ *Resolver }

func (r mutationResolver) RegisterSplits(ctx context.Context, in lineage.RegisterSplitsInput) ([]*lineage.Split, error) {
	return r.svc.RegisterSplits(ctx, in)
}

func (r mutationResolver) RegisterFeatureSetVersion(ctx context.Context, in lineage.RegisterFeatureSetVersionInput) (*lineage.FeatureSetVersion, error) {
	return r.svc.RegisterFeatureSetVersion(ctx, in)
}

func (r mutationResolver) RegisterCodeVersion(ctx context.Context, in lineage.RegisterCodeVersionInput) (*lineage.CodeVersion, error) {
	return r.svc.RegisterCodeVersion(ctx, in)
}

func (r mutationResolver) RegisterEnvironment(ctx context.Context, in lineage.RegisterEnvironmentInput) (*lineage.Environment, error) {
	return r.svc.RegisterEnvironment(ctx, in)
}

func (r mutationResolver) StartRun(ctx context.Context, in lineage.StartRunInput, idempotencyKey *string) (*lineage.Run, error) {
	in.IdempotencyKey = deref(idempotencyKey)
	return r.svc.StartRun(ctx, in)
}

func (r mutationResolver) LogParams(ctx context.Context, in model.LogParamsInput) (*lineage.Run, error) {
	params, err := toMap("params", in.Params)
	if err != nil {
		return nil, err
	}
	return r.svc.LogParams(ctx, in.Run, params)
}

func (r mutationResolver) SetRunTags(ctx context.Context, in model.SetRunTagsInput) (*lineage.Run, error) {
	tags, err := toMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	return r.svc.SetRunTags(ctx, in.Run, tags)
}

func (r mutationResolver) LogMetrics(ctx context.Context, in model.LogMetricsInput) (int, error) {
	if in.Metrics != nil && in.Points != nil {
		return 0, lineage.Invalid("points", "give metrics or points, not both")
	}
	if len(in.Metrics) > lineage.MaxMetricBatch {
		return 0, lineage.Invalid("metrics", "must have at most %d points per call", lineage.MaxMetricBatch)
	}
	if in.Metrics == nil {
		n, err := r.svc.LogMetrics(ctx, in.Run, in.Points)
		return n, renameField(err, "metrics", "points")
	}
	points := make([]lineage.MetricPoint, len(in.Metrics))
	for i, p := range in.Metrics {
		points[i] = *p
	}
	return r.svc.LogMetrics(ctx, in.Run, points)
}

// renameField makes an error name the input field the client actually used.
func renameField(err error, from, to string) error {
	var e *lineage.Error
	if !errors.As(err, &e) || !strings.HasPrefix(e.Field, from) {
		return err
	}
	return &lineage.Error{Code: e.Code, Field: to + strings.TrimPrefix(e.Field, from), Message: to + strings.TrimPrefix(e.Message, from)}
}

func (r mutationResolver) AddRunInputs(ctx context.Context, in model.AddRunInputsInput) (*lineage.Run, error) {
	inputs := make([]lineage.RunInput, len(in.Inputs))
	for i, ri := range in.Inputs {
		inputs[i] = *ri
	}
	return r.svc.AddRunInputs(ctx, in.Run, inputs)
}

func (r mutationResolver) AddRunOutputs(ctx context.Context, in model.AddRunOutputsInput) (*lineage.Run, error) {
	return r.svc.AddRunOutputs(ctx, in.Run, in.Outputs)
}

func (r mutationResolver) FinishRun(ctx context.Context, in lineage.FinishRunInput) (*lineage.Run, error) {
	return r.svc.FinishRun(ctx, in)
}

func (r mutationResolver) TransitionModelVersionStage(ctx context.Context, in lineage.TransitionInput) (*lineage.ModelVersion, error) {
	return r.svc.TransitionModelVersionStage(ctx, in)
}

func (r mutationResolver) RollbackModel(ctx context.Context, in model.RollbackModelInput) (*lineage.ModelVersion, error) {
	return r.svc.RollbackModel(ctx, in.Model, deref(in.Reason))
}

func (r mutationResolver) SetModelAlias(ctx context.Context, in model.SetModelAliasInput) (*lineage.ModelVersion, error) {
	return r.svc.SetModelAlias(ctx, in.Model, in.Alias, int64(in.Version))
}

func (r mutationResolver) DeleteModelAlias(ctx context.Context, in model.DeleteModelAliasInput) (*lineage.Model, error) {
	return r.svc.DeleteModelAlias(ctx, in.Model, in.Alias)
}

func (r mutationResolver) RecordDeployment(ctx context.Context, in lineage.RecordDeploymentInput) (*lineage.Deployment, error) {
	return r.svc.RecordDeployment(ctx, in)
}

func (r mutationResolver) UpdateModel(ctx context.Context, in lineage.UpdateModelInput) (*lineage.Model, error) {
	return r.svc.UpdateModel(ctx, in)
}

func (r mutationResolver) DeleteNode(ctx context.Context, in model.DeleteNodeInput) (lineage.ID, error) {
	if _, err := parseID("id", in.ID); err != nil {
		return "", err
	}
	if err := r.svc.DeleteNode(ctx, in.ID, deref(in.Hard)); err != nil {
		return "", err
	}
	return in.ID, nil
}

// Input field resolvers: key/value lists become the maps the Service takes.

type (
	finishRunInput                 struct{}
	registerArtifactInput          struct{}
	registerDatasetVersionInput    struct{}
	registerEnvironmentInput       struct{}
	registerFeatureSetVersionInput struct{}
	registerModelVersionInput      struct{}
	startRunInput                  struct{}
)

func (finishRunInput) Compute(_ context.Context, o *lineage.FinishRunInput, kvs []*model.KeyValueInput) (err error) {
	o.Compute, err = toMap("compute", kvs)
	return err
}

func (registerArtifactInput) Tags(_ context.Context, o *lineage.RegisterArtifactInput, kvs []*model.KeyValueInput) (err error) {
	o.Tags, err = toMap("tags", kvs)
	return err
}

func (registerDatasetVersionInput) Tags(_ context.Context, o *lineage.RegisterDatasetVersionInput, kvs []*model.KeyValueInput) (err error) {
	o.Tags, err = toMap("tags", kvs)
	return err
}

func (registerEnvironmentInput) Hardware(_ context.Context, o *lineage.RegisterEnvironmentInput, kvs []*model.KeyValueInput) (err error) {
	o.Hardware, err = toMap("hardware", kvs)
	return err
}

func (registerFeatureSetVersionInput) Tags(_ context.Context, o *lineage.RegisterFeatureSetVersionInput, kvs []*model.KeyValueInput) (err error) {
	o.Tags, err = toMap("tags", kvs)
	return err
}

func (registerModelVersionInput) Tags(_ context.Context, o *lineage.RegisterModelVersionInput, kvs []*model.KeyValueInput) (err error) {
	o.Tags, err = toMap("tags", kvs)
	return err
}

func (startRunInput) Params(_ context.Context, o *lineage.StartRunInput, kvs []*model.KeyValueInput) (err error) {
	o.Params, err = toMap("params", kvs)
	return err
}

func (startRunInput) Tags(_ context.Context, o *lineage.StartRunInput, kvs []*model.KeyValueInput) (err error) {
	o.Tags, err = toMap("tags", kvs)
	return err
}

type subscriptionResolver struct{ *Resolver }

// ModelEvents streams committed events from Service.Subscribe. Without
// afterSeq only new events are sent. The Service closes its channel when
// the subscription's context ends; this one follows.
func (r subscriptionResolver) ModelEvents(ctx context.Context, model *string, types []lineage.EventType, afterSeq *int64) (<-chan *lineage.Event, error) {
	after := int64(-1)
	if afterSeq != nil {
		if *afterSeq < 0 {
			return nil, lineage.Invalid("afterSeq", "must not be negative")
		}
		after = *afterSeq
	}
	st := stateFrom(ctx)
	if st != nil && !st.addSubscription(r.maxSubscriptions) {
		return nil, requestError(CodeSubscriptionLimit, "a websocket may carry at most %d subscriptions", r.maxSubscriptions)
	}
	done := func() {
		if st != nil {
			st.doneSubscription()
		}
	}
	in, err := r.svc.Subscribe(ctx, deref(model), types, after)
	if err != nil {
		done()
		return nil, err
	}
	out := make(chan *lineage.Event)
	go func() {
		defer done()
		defer close(out)
		for ev := range in {
			select {
			case out <- &ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
