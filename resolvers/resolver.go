// Package resolvers is Pedigree's hand-written GraphQL layer: thin resolvers
// (parse arguments, call lineage.Service, convert), the dataloaders that keep
// list fields from making one Service call per item, the error presenter, the
// request limits and the HTTP handler for /graphql. The executable schema it
// serves is generated into graph/ from schema.graphqls.
package resolvers

import (
	"context"
	"time"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/graph"
	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/webhook"
)

// service is what the GraphQL layer asks of lineage.Service. Resolvers
// depend on this narrow seam rather than on *lineage.Service so that limit,
// error and serialization tests can run without a store.
type service interface {
	Node(ctx context.Context, id lineage.ID) (lineage.Entity, error)
	Nodes(ctx context.Context, ids []lineage.ID) ([]lineage.Entity, error)
	List(ctx context.Context, kind lineage.Kind, parent lineage.ID, page lineage.Page) (*lineage.EntityPage, error)
	Dataset(ctx context.Context, name string) (*lineage.Dataset, error)
	DatasetVersion(ctx context.Context, dataset string, version int64) (*lineage.DatasetVersion, error)
	Experiment(ctx context.Context, name string) (*lineage.Experiment, error)
	FeatureSet(ctx context.Context, name string) (*lineage.FeatureSet, error)
	Pipeline(ctx context.Context, name string) (*lineage.Pipeline, error)
	Run(ctx context.Context, id lineage.ID) (*lineage.Run, error)
	RunData(ctx context.Context, ids []lineage.ID) (map[lineage.ID]*lineage.RunData, error)
	Runs(ctx context.Context, in lineage.RunsInput) (*lineage.RunsPage, error)
	MetricHistory(ctx context.Context, q lineage.MetricHistoryQuery) ([]lineage.MetricPoint, error)
	Model(ctx context.Context, name string) (*lineage.Model, error)
	ModelVersion(ctx context.Context, model string, sel lineage.VersionSelector) (*lineage.ModelVersion, error)
	Transitions(ctx context.Context, versions []lineage.ID) ([]lineage.Transition, error)
	Edges(ctx context.Context, id lineage.ID, dir lineage.Direction, types ...lineage.EdgeType) ([]lineage.Edge, error)
	Search(ctx context.Context, text string, kinds []lineage.Kind, limit int) ([]lineage.Entity, error)
	Lineage(ctx context.Context, in lineage.LineageInput) (*lineage.LineageGraph, error)
	LineagePath(ctx context.Context, from, to lineage.ID) ([]lineage.Edge, error)
	Impact(ctx context.Context, of lineage.ID) (*lineage.Impact, error)
	CompareRuns(ctx context.Context, ids []lineage.ID) (*lineage.RunComparison, error)
	DiffModelVersions(ctx context.Context, model string, from, to int64) (*lineage.ModelVersionDiff, error)
	Reproduction(ctx context.Context, version lineage.ID) (*lineage.Reproduction, error)
	Events(ctx context.Context, model string, afterSeq int64, types []lineage.EventType, limit int) ([]lineage.Event, error)
	Subscribe(ctx context.Context, model string, types []lineage.EventType, afterSeq int64) (<-chan lineage.Event, error)

	RegisterDatasetVersion(ctx context.Context, in lineage.RegisterDatasetVersionInput) (*lineage.DatasetVersion, error)
	RegisterSplits(ctx context.Context, in lineage.RegisterSplitsInput) ([]*lineage.Split, error)
	RegisterFeatureSetVersion(ctx context.Context, in lineage.RegisterFeatureSetVersionInput) (*lineage.FeatureSetVersion, error)
	RegisterCodeVersion(ctx context.Context, in lineage.RegisterCodeVersionInput) (*lineage.CodeVersion, error)
	RegisterEnvironment(ctx context.Context, in lineage.RegisterEnvironmentInput) (*lineage.Environment, error)
	RegisterArtifact(ctx context.Context, in lineage.RegisterArtifactInput) (*lineage.Artifact, error)
	StartRun(ctx context.Context, in lineage.StartRunInput) (*lineage.Run, error)
	LogParams(ctx context.Context, run lineage.ID, params map[string]string) (*lineage.Run, error)
	SetRunTags(ctx context.Context, run lineage.ID, tags map[string]string) (*lineage.Run, error)
	LogMetrics(ctx context.Context, run lineage.ID, points []lineage.MetricPoint) (int, error)
	AddRunInputs(ctx context.Context, run lineage.ID, inputs []lineage.RunInput) (*lineage.Run, error)
	AddRunOutputs(ctx context.Context, run lineage.ID, outputs []lineage.ID) (*lineage.Run, error)
	FinishRun(ctx context.Context, in lineage.FinishRunInput) (*lineage.Run, error)
	RegisterModelVersion(ctx context.Context, in lineage.RegisterModelVersionInput) (*lineage.ModelVersion, error)
	TransitionModelVersionStage(ctx context.Context, in lineage.TransitionInput) (*lineage.ModelVersion, error)
	RollbackModel(ctx context.Context, model, reason string) (*lineage.ModelVersion, error)
	SetModelAlias(ctx context.Context, model, alias string, version int64) (*lineage.ModelVersion, error)
	DeleteModelAlias(ctx context.Context, model, alias string) (*lineage.Model, error)
	RecordDeployment(ctx context.Context, in lineage.RecordDeploymentInput) (*lineage.Deployment, error)
	UpdateModel(ctx context.Context, in lineage.UpdateModelInput) (*lineage.Model, error)
	DeleteNode(ctx context.Context, id lineage.ID, hard bool) error
}

var _ service = (*lineage.Service)(nil)

// Resolver is the root of every resolver. It holds no per-request state:
// loaders live in the request context (see withLoaders).
type Resolver struct {
	svc   service
	hooks *webhook.Dispatcher // nil: webhooks are not served
	// loaderWait is how long a dataloader collects keys before one batched call.
	loaderWait time.Duration
	// maxSubscriptions bounds the subscriptions of one websocket connection.
	maxSubscriptions int
	// blobs stores uploads; nil: artifact storage is not enabled.
	blobs *artifact.Store
	// maxUploadBytes bounds one file of uploadArtifact.
	maxUploadBytes int64
}

var _ graph.ResolverRoot = (*Resolver)(nil)

func (r *Resolver) Artifact() graph.ArtifactResolver             { return artifactResolver{r} }
func (r *Resolver) CodeVersion() graph.CodeVersionResolver       { return codeVersionResolver{r} }
func (r *Resolver) Dataset() graph.DatasetResolver               { return datasetResolver{r} }
func (r *Resolver) DatasetVersion() graph.DatasetVersionResolver { return datasetVersionResolver{r} }
func (r *Resolver) Deployment() graph.DeploymentResolver         { return deploymentResolver{r} }
func (r *Resolver) Environment() graph.EnvironmentResolver       { return environmentResolver{r} }
func (r *Resolver) Experiment() graph.ExperimentResolver         { return experimentResolver{r} }
func (r *Resolver) FeatureSet() graph.FeatureSetResolver         { return featureSetResolver{r} }
func (r *Resolver) FeatureSetVersion() graph.FeatureSetVersionResolver {
	return featureSetVersionResolver{r}
}
func (r *Resolver) LineageEdge() graph.LineageEdgeResolver   { return lineageEdgeResolver{r} }
func (r *Resolver) Model() graph.ModelResolver               { return modelResolver{r} }
func (r *Resolver) ModelAlias() graph.ModelAliasResolver     { return modelAliasResolver{r} }
func (r *Resolver) ModelEvent() graph.ModelEventResolver     { return modelEventResolver{r} }
func (r *Resolver) ModelVersion() graph.ModelVersionResolver { return modelVersionResolver{r} }
func (r *Resolver) ModelVersionDiff() graph.ModelVersionDiffResolver {
	return modelVersionDiffResolver{r}
}
func (r *Resolver) Mutation() graph.MutationResolver           { return mutationResolver{r} }
func (r *Resolver) Pipeline() graph.PipelineResolver           { return pipelineResolver{r} }
func (r *Resolver) Query() graph.QueryResolver                 { return queryResolver{r} }
func (r *Resolver) Reproduction() graph.ReproductionResolver   { return reproductionResolver{r} }
func (r *Resolver) Run() graph.RunResolver                     { return runResolver{r} }
func (r *Resolver) RunComparison() graph.RunComparisonResolver { return runComparisonResolver{r} }
func (r *Resolver) Split() graph.SplitResolver                 { return splitResolver{r} }
func (r *Resolver) Subscription() graph.SubscriptionResolver   { return subscriptionResolver{r} }
func (r *Resolver) Trigger() graph.TriggerResolver             { return triggerResolver{r} }

func (r *Resolver) FinishRunInput() graph.FinishRunInputResolver { return finishRunInput{} }
func (r *Resolver) RegisterArtifactInput() graph.RegisterArtifactInputResolver {
	return registerArtifactInput{}
}
func (r *Resolver) RegisterDatasetVersionInput() graph.RegisterDatasetVersionInputResolver {
	return registerDatasetVersionInput{}
}
func (r *Resolver) RegisterEnvironmentInput() graph.RegisterEnvironmentInputResolver {
	return registerEnvironmentInput{}
}
func (r *Resolver) RegisterFeatureSetVersionInput() graph.RegisterFeatureSetVersionInputResolver {
	return registerFeatureSetVersionInput{}
}
func (r *Resolver) RegisterModelVersionInput() graph.RegisterModelVersionInputResolver {
	return registerModelVersionInput{}
}
func (r *Resolver) StartRunInput() graph.StartRunInputResolver { return startRunInput{} }
