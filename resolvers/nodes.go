package resolvers

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/pedigree-ml/pedigree/graph/model"
	"github.com/pedigree-ml/pedigree/lineage"
)

// Field resolvers of the node types: labels, maps as key/value lists, and
// relations loaded through the per-response loaders.

type datasetResolver struct{ *Resolver }

func (datasetResolver) Label(_ context.Context, o *lineage.Dataset) (string, error) {
	return lineage.Label(o), nil
}
func (datasetResolver) Tags(_ context.Context, o *lineage.Dataset) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (r datasetResolver) Versions(ctx context.Context, o *lineage.Dataset, first *int, after *string) (*model.DatasetVersionConnection, error) {
	nodes, cursors, pi, err := listPage[*lineage.DatasetVersion](ctx, r.svc, lineage.KindDatasetVersion, o.ID, first, after)
	if err != nil {
		return nil, err
	}
	c := &model.DatasetVersionConnection{PageInfo: pi, Nodes: nodes, Edges: make([]*model.DatasetVersionEdge, len(nodes))}
	for i, n := range nodes {
		c.Edges[i] = &model.DatasetVersionEdge{Cursor: cursors[i], Node: n}
	}
	return c, nil
}

// entitiesOf keeps the entities of one Go type.
func entitiesOf[T lineage.Entity](es []lineage.Entity) []T {
	out := make([]T, 0, len(es))
	for _, e := range es {
		if t, ok := e.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

type datasetVersionResolver struct{ *Resolver }

func (datasetVersionResolver) Label(_ context.Context, o *lineage.DatasetVersion) (string, error) {
	return lineage.Label(o), nil
}
func (datasetVersionResolver) Tags(_ context.Context, o *lineage.DatasetVersion) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (r datasetVersionResolver) Dataset(ctx context.Context, o *lineage.DatasetVersion) (*lineage.Dataset, error) {
	return mustTyped[*lineage.Dataset](ctx, r.Resolver, lineage.NameID(lineage.KindDataset, o.Dataset))
}
func (r datasetVersionResolver) Splits(ctx context.Context, o *lineage.DatasetVersion) ([]*lineage.Split, error) {
	es, err := r.related(ctx, o.ID, lineage.Downstream, lineage.EdgeSplitOf)
	return entitiesOf[*lineage.Split](es), err
}
func (r datasetVersionResolver) DerivedFrom(ctx context.Context, o *lineage.DatasetVersion) ([]lineage.Entity, error) {
	return r.related(ctx, o.ID, lineage.Upstream, lineage.EdgeDerivedFrom)
}

type splitResolver struct{ *Resolver }

func (splitResolver) Label(_ context.Context, o *lineage.Split) (string, error) {
	return lineage.Label(o), nil
}
func (splitResolver) Tags(_ context.Context, o *lineage.Split) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (r splitResolver) DatasetVersion(ctx context.Context, o *lineage.Split) (*lineage.DatasetVersion, error) {
	return mustTyped[*lineage.DatasetVersion](ctx, r.Resolver, o.DatasetVersion)
}

type featureSetResolver struct{ *Resolver }

func (featureSetResolver) Label(_ context.Context, o *lineage.FeatureSet) (string, error) {
	return lineage.Label(o), nil
}
func (featureSetResolver) Tags(_ context.Context, o *lineage.FeatureSet) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (r featureSetResolver) Versions(ctx context.Context, o *lineage.FeatureSet, first *int, after *string) (*model.FeatureSetVersionConnection, error) {
	nodes, cursors, pi, err := listPage[*lineage.FeatureSetVersion](ctx, r.svc, lineage.KindFeatureSetVersion, o.ID, first, after)
	if err != nil {
		return nil, err
	}
	c := &model.FeatureSetVersionConnection{PageInfo: pi, Nodes: nodes, Edges: make([]*model.FeatureSetVersionEdge, len(nodes))}
	for i, n := range nodes {
		c.Edges[i] = &model.FeatureSetVersionEdge{Cursor: cursors[i], Node: n}
	}
	return c, nil
}

type featureSetVersionResolver struct{ *Resolver }

func (featureSetVersionResolver) Label(_ context.Context, o *lineage.FeatureSetVersion) (string, error) {
	return lineage.Label(o), nil
}
func (featureSetVersionResolver) Tags(_ context.Context, o *lineage.FeatureSetVersion) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (r featureSetVersionResolver) FeatureSet(ctx context.Context, o *lineage.FeatureSetVersion) (*lineage.FeatureSet, error) {
	return mustTyped[*lineage.FeatureSet](ctx, r.Resolver, lineage.NameID(lineage.KindFeatureSet, o.FeatureSet))
}
func (r featureSetVersionResolver) Sources(ctx context.Context, o *lineage.FeatureSetVersion) ([]lineage.Entity, error) {
	return r.related(ctx, o.ID, lineage.Upstream, lineage.EdgeDerivedFrom)
}

type codeVersionResolver struct{ *Resolver }

func (codeVersionResolver) Label(_ context.Context, o *lineage.CodeVersion) (string, error) {
	return lineage.Label(o), nil
}
func (codeVersionResolver) Tags(_ context.Context, o *lineage.CodeVersion) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}

type environmentResolver struct{ *Resolver }

func (environmentResolver) Label(_ context.Context, o *lineage.Environment) (string, error) {
	return lineage.Label(o), nil
}
func (environmentResolver) Tags(_ context.Context, o *lineage.Environment) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (environmentResolver) Hardware(_ context.Context, o *lineage.Environment) ([]*model.KeyValue, error) {
	return keyValues(o.Hardware), nil
}

type experimentResolver struct{ *Resolver }

func (experimentResolver) Label(_ context.Context, o *lineage.Experiment) (string, error) {
	return lineage.Label(o), nil
}
func (experimentResolver) Tags(_ context.Context, o *lineage.Experiment) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (r experimentResolver) Runs(ctx context.Context, o *lineage.Experiment, filter *string, orderBy []string, first *int, after *string) (*model.RunConnection, error) {
	return r.runs(ctx, filter, &o.Name, orderBy, first, after)
}

// runs serves Query.runs and Experiment.runs.
func (r *Resolver) runs(ctx context.Context, filter, experiment *string, orderBy []string, first *int, after *string) (*model.RunConnection, error) {
	p, err := page(first, after)
	if err != nil {
		return nil, err
	}
	rp, err := r.svc.Runs(ctx, lineage.RunsInput{Filter: deref(filter), Experiment: deref(experiment), OrderBy: orderBy, Page: p})
	if err != nil {
		return nil, err
	}
	if err := r.primeRunData(ctx, rp.Runs); err != nil {
		return nil, err
	}
	pi := pageInfo(rp.EndCursor, rp.HasNext)
	return runConnection(rp.Runs, pi, func(i int) *string { return lastCursor(pi, i, len(rp.Runs)) }), nil
}

// runsOf pages runs at the far end of a node's edges, newest first.
func (r *Resolver) runsOf(ctx context.Context, id lineage.ID, t lineage.EdgeType, first *int, after *string) (*model.RunConnection, error) {
	es, err := r.edges(ctx, id, lineage.Downstream, t)
	if err != nil {
		return nil, err
	}
	ids, pi, err := pageOfIDs(newestFirst(es, lineage.Downstream), first, after)
	if err != nil {
		return nil, err
	}
	nodes, err := r.nodesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	runs := entitiesOf[*lineage.Run](nodes)
	if err := r.primeRunData(ctx, runs); err != nil {
		return nil, err
	}
	return runConnection(runs, pi, func(i int) *string { return ptr(idCursor(runs[i].ID)) }), nil
}

type pipelineResolver struct{ *Resolver }

func (pipelineResolver) Label(_ context.Context, o *lineage.Pipeline) (string, error) {
	return lineage.Label(o), nil
}
func (pipelineResolver) Tags(_ context.Context, o *lineage.Pipeline) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (r pipelineResolver) Runs(ctx context.Context, o *lineage.Pipeline, first *int, after *string) (*model.RunConnection, error) {
	return r.runsOf(ctx, o.ID, lineage.EdgePartOf, first, after)
}

type triggerResolver struct{ *Resolver }

func (triggerResolver) Kind(_ context.Context, o *lineage.Trigger) (*lineage.TriggerKind, error) {
	if o.Kind == "" {
		return nil, nil
	}
	return &o.Kind, nil
}

type runResolver struct{ *Resolver }

func (runResolver) Label(_ context.Context, o *lineage.Run) (string, error) {
	return lineage.Label(o), nil
}
func (r runResolver) Tags(ctx context.Context, o *lineage.Run) ([]*model.KeyValue, error) {
	d, err := r.runData(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return keyValues(d.Tags), nil
}
func (r runResolver) Experiment(ctx context.Context, o *lineage.Run) (*lineage.Experiment, error) {
	return typed[*lineage.Experiment](ctx, r.Resolver, lineage.NameID(lineage.KindExperiment, o.Experiment))
}
func (r runResolver) Pipeline(ctx context.Context, o *lineage.Run) (*lineage.Pipeline, error) {
	if o.Pipeline == "" {
		return nil, nil
	}
	return typed[*lineage.Pipeline](ctx, r.Resolver, lineage.NameID(lineage.KindPipeline, o.Pipeline))
}
func (runResolver) Compute(_ context.Context, o *lineage.Run) ([]*model.KeyValue, error) {
	return keyValues(o.Compute), nil
}
func (r runResolver) Params(ctx context.Context, o *lineage.Run) ([]*model.KeyValue, error) {
	d, err := r.runData(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return keyValues(d.Params), nil
}
func (r runResolver) Metrics(ctx context.Context, o *lineage.Run) ([]*lineage.MetricSummary, error) {
	d, err := r.runData(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*lineage.MetricSummary, len(d.Metrics))
	for i := range d.Metrics {
		out[i] = &d.Metrics[i]
	}
	return out, nil
}
func (r runResolver) ParamMap(ctx context.Context, o *lineage.Run) (json.RawMessage, error) {
	d, err := r.runData(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return jsonObject(d.Params)
}
func (r runResolver) TagMap(ctx context.Context, o *lineage.Run) (json.RawMessage, error) {
	d, err := r.runData(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return jsonObject(d.Tags)
}

// metricJSON is one entry of Run.metricMap.
type metricJSON struct {
	Last     float64 `json:"last"`
	LastStep int64   `json:"lastStep"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	Count    int64   `json:"count"`
}

func (r runResolver) MetricMap(ctx context.Context, o *lineage.Run) (json.RawMessage, error) {
	d, err := r.runData(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]metricJSON, len(d.Metrics))
	for _, s := range d.Metrics {
		m[s.Key] = metricJSON{s.Last, s.LastStep, s.Min, s.Max, s.Count}
	}
	return jsonObject(m)
}

// jsonObject encodes a map as a JSON object with sorted keys ({} when empty).
func jsonObject[V any](m map[string]V) (json.RawMessage, error) {
	if len(m) == 0 {
		return json.RawMessage("{}"), nil
	}
	return json.Marshal(m)
}

func (r runResolver) Metric(ctx context.Context, o *lineage.Run, key string) (*lineage.MetricSummary, error) {
	d, err := r.runData(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	i, ok := slices.BinarySearchFunc(d.Metrics, key, func(m lineage.MetricSummary, k string) int { return strings.Compare(m.Key, k) })
	if !ok {
		return nil, nil
	}
	return &d.Metrics[i], nil
}
func (r runResolver) MetricHistory(ctx context.Context, o *lineage.Run, key string, afterStep *int64, first *int) ([]*lineage.MetricPoint, error) {
	n, err := pageSize(first, lineage.MaxPageSize, lineage.MaxPageSize)
	if err != nil {
		return nil, err
	}
	pts, err := r.svc.MetricHistory(ctx, lineage.MetricHistoryQuery{Run: o.ID, Key: key, AfterStep: afterStep, Limit: n})
	if err != nil {
		return nil, err
	}
	out := make([]*lineage.MetricPoint, len(pts))
	for i := range pts {
		out[i] = &pts[i]
	}
	return out, nil
}
func (r runResolver) Inputs(ctx context.Context, o *lineage.Run) ([]*model.RunInputRef, error) {
	es, err := r.edges(ctx, o.ID, lineage.Upstream, lineage.EdgeUsed)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return []*model.RunInputRef{}, nil
	}
	nodes, err := r.loadersFor(ctx).nodes.LoadAll(ctx, otherEnds(es, lineage.Upstream))
	if err != nil {
		return nil, err
	}
	out := make([]*model.RunInputRef, 0, len(es))
	for i, e := range es {
		if nodes[i] != nil {
			out = append(out, &model.RunInputRef{Role: e.Role, Node: nodes[i]})
		}
	}
	return out, nil
}
func (r runResolver) Outputs(ctx context.Context, o *lineage.Run) ([]lineage.Entity, error) {
	return r.related(ctx, o.ID, lineage.Downstream, lineage.EdgeGeneratedBy)
}
func (r runResolver) Code(ctx context.Context, o *lineage.Run) (*lineage.CodeVersion, error) {
	return oneRelated[*lineage.CodeVersion](ctx, r.Resolver, o.ID, lineage.EdgeRanCode)
}
func (r runResolver) Environment(ctx context.Context, o *lineage.Run) (*lineage.Environment, error) {
	return oneRelated[*lineage.Environment](ctx, r.Resolver, o.ID, lineage.EdgeRanIn)
}
func (r runResolver) Parent(ctx context.Context, o *lineage.Run) (*lineage.Run, error) {
	return oneRelated[*lineage.Run](ctx, r.Resolver, o.ID, lineage.EdgeChildOf)
}
func (r runResolver) Children(ctx context.Context, o *lineage.Run, first *int, after *string) (*model.RunConnection, error) {
	return r.runsOf(ctx, o.ID, lineage.EdgeChildOf, first, after)
}

// oneRelated loads the node at the end of a node's first upstream edge of a type.
func oneRelated[T lineage.Entity](ctx context.Context, r *Resolver, id lineage.ID, t lineage.EdgeType) (T, error) {
	var zero T
	es, err := r.edges(ctx, id, lineage.Upstream, t)
	if err != nil || len(es) == 0 {
		return zero, err
	}
	return typed[T](ctx, r, es[0].To)
}

type modelResolver struct{ *Resolver }

func (modelResolver) Label(_ context.Context, o *lineage.Model) (string, error) {
	return lineage.Label(o), nil
}
func (modelResolver) Tags(_ context.Context, o *lineage.Model) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}

// Versions pages a model's versions newest first. The Service lists oldest
// first, so the resolver pages the VERSION_OF edges itself.
func (r modelResolver) Versions(ctx context.Context, o *lineage.Model, first *int, after *string) (*model.ModelVersionConnection, error) {
	es, err := r.edges(ctx, o.ID, lineage.Downstream, lineage.EdgeVersionOf)
	if err != nil {
		return nil, err
	}
	ids, pi, err := pageOfIDs(newestFirst(es, lineage.Downstream), first, after)
	if err != nil {
		return nil, err
	}
	nodes, err := r.nodesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	c := &model.ModelVersionConnection{PageInfo: pi}
	for _, mv := range entitiesOf[*lineage.ModelVersion](nodes) {
		if mv.DeletedAt == nil {
			c.Nodes = append(c.Nodes, mv)
			c.Edges = append(c.Edges, &model.ModelVersionEdge{Cursor: ptr(idCursor(mv.ID)), Node: mv})
		}
	}
	if c.Nodes == nil {
		c.Nodes, c.Edges = []*lineage.ModelVersion{}, []*model.ModelVersionEdge{}
	}
	return c, nil
}

// stageOrder is the order latestVersions and impact report stages in.
var stageOrder = []lineage.Stage{lineage.StageProduction, lineage.StageStaging, lineage.StageNone, lineage.StageArchived}

func (r modelResolver) LatestVersions(ctx context.Context, o *lineage.Model, stages []lineage.Stage) ([]*lineage.ModelVersion, error) {
	out := []*lineage.ModelVersion{}
	for _, st := range stageOrder {
		if stages != nil && !slices.Contains(stages, st) {
			continue
		}
		mv, err := r.svc.ModelVersion(ctx, o.Name, lineage.VersionSelector{Stage: &st})
		if lineage.ErrorCode(err) == lineage.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, mv)
	}
	return out, nil
}
func (modelResolver) Aliases(_ context.Context, o *lineage.Model) ([]*model.ModelAlias, error) {
	out := make([]*model.ModelAlias, 0, len(o.Aliases))
	for a, v := range o.Aliases {
		out = append(out, &model.ModelAlias{Alias: a, Version: int(v), Model: o.Name})
	}
	slices.SortFunc(out, func(a, b *model.ModelAlias) int { return strings.Compare(a.Alias, b.Alias) })
	return out, nil
}
func (r modelResolver) Version(ctx context.Context, o *lineage.Model, version *int, stage *lineage.Stage, alias *string) (*lineage.ModelVersion, error) {
	mv, err := r.svc.ModelVersion(ctx, o.Name, selector(version, stage, alias))
	if lineage.ErrorCode(err) == lineage.ENOTFOUND {
		return nil, nil
	}
	return mv, err
}

// selector builds a version selector; the Service checks that exactly one is set.
func selector(version *int, stage *lineage.Stage, alias *string) lineage.VersionSelector {
	sel := lineage.VersionSelector{Stage: stage, Alias: deref(alias)}
	if version != nil {
		sel.Version = ptr(int64(*version))
	}
	return sel
}

type modelAliasResolver struct{ *Resolver }

func (r modelAliasResolver) ModelVersion(ctx context.Context, o *model.ModelAlias) (*lineage.ModelVersion, error) {
	return typed[*lineage.ModelVersion](ctx, r.Resolver, lineage.VersionID(lineage.KindModelVersion, o.Model, int64(o.Version)))
}

type modelVersionResolver struct{ *Resolver }

func (modelVersionResolver) Label(_ context.Context, o *lineage.ModelVersion) (string, error) {
	return lineage.Label(o), nil
}
func (modelVersionResolver) Tags(_ context.Context, o *lineage.ModelVersion) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (r modelVersionResolver) Model(ctx context.Context, o *lineage.ModelVersion) (*lineage.Model, error) {
	return mustTyped[*lineage.Model](ctx, r.Resolver, lineage.NameID(lineage.KindModel, o.Model))
}
func (r modelVersionResolver) Run(ctx context.Context, o *lineage.ModelVersion) (*lineage.Run, error) {
	return typed[*lineage.Run](ctx, r.Resolver, o.Run)
}
func (r modelVersionResolver) Transitions(ctx context.Context, o *lineage.ModelVersion) ([]*lineage.Transition, error) {
	ts, err := r.loadersFor(ctx).transitions.Load(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*lineage.Transition, len(ts))
	for i := range ts {
		out[i] = &ts[i]
	}
	return out, nil
}
func (r modelVersionResolver) Reproduction(ctx context.Context, o *lineage.ModelVersion) (*lineage.Reproduction, error) {
	return r.svc.Reproduction(ctx, o.ID)
}
func (r modelVersionResolver) Lineage(ctx context.Context, o *lineage.ModelVersion, direction *lineage.Direction, depth *int, kinds []lineage.Kind, limit *int) (*lineage.LineageGraph, error) {
	return r.lineage(ctx, o.ID, direction, depth, kinds, nil, limit)
}
func (r modelVersionResolver) Deployments(ctx context.Context, o *lineage.ModelVersion) ([]*lineage.Deployment, error) {
	es, err := r.related(ctx, o.ID, lineage.Downstream, lineage.EdgeServes)
	return entitiesOf[*lineage.Deployment](es), err
}

type artifactResolver struct{ *Resolver }

func (artifactResolver) Label(_ context.Context, o *lineage.Artifact) (string, error) {
	return lineage.Label(o), nil
}
func (artifactResolver) Tags(_ context.Context, o *lineage.Artifact) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (r artifactResolver) Run(ctx context.Context, o *lineage.Artifact) (*lineage.Run, error) {
	return oneRelated[*lineage.Run](ctx, r.Resolver, o.ID, lineage.EdgeGeneratedBy)
}
func (r artifactResolver) DerivedFrom(ctx context.Context, o *lineage.Artifact) ([]lineage.Entity, error) {
	return r.related(ctx, o.ID, lineage.Upstream, lineage.EdgeDerivedFrom)
}

type deploymentResolver struct{ *Resolver }

func (deploymentResolver) Label(_ context.Context, o *lineage.Deployment) (string, error) {
	return lineage.Label(o), nil
}
func (deploymentResolver) Tags(_ context.Context, o *lineage.Deployment) ([]*model.KeyValue, error) {
	return keyValues(o.Tags), nil
}
func (r deploymentResolver) Model(ctx context.Context, o *lineage.Deployment) (*lineage.Model, error) {
	return typed[*lineage.Model](ctx, r.Resolver, lineage.NameID(lineage.KindModel, o.Model))
}
func (r deploymentResolver) ModelVersion(ctx context.Context, o *lineage.Deployment) (*lineage.ModelVersion, error) {
	return typed[*lineage.ModelVersion](ctx, r.Resolver, lineage.VersionID(lineage.KindModelVersion, o.Model, o.Version))
}

type lineageEdgeResolver struct{ *Resolver }

func (r lineageEdgeResolver) FromNode(ctx context.Context, o *lineage.Edge) (lineage.Entity, error) {
	return r.node(ctx, o.From)
}
func (r lineageEdgeResolver) ToNode(ctx context.Context, o *lineage.Edge) (lineage.Entity, error) {
	return r.node(ctx, o.To)
}

type modelEventResolver struct{ *Resolver }

func (modelEventResolver) Model(_ context.Context, o *lineage.Event) (*string, error) {
	if o.Model == "" {
		return nil, nil
	}
	return &o.Model, nil
}

// eventVersion reads the model version an event's payload names; events
// without a model name none.
func eventVersion(o *lineage.Event) (id lineage.ID, version *int) {
	if o.Model == "" {
		return "", nil
	}
	var p struct {
		ID      lineage.ID `json:"id"`
		Version *int       `json:"version"`
	}
	if json.Unmarshal(o.Payload, &p) != nil {
		return "", nil
	}
	return p.ID, p.Version
}

func (modelEventResolver) Version(_ context.Context, o *lineage.Event) (*int, error) {
	_, v := eventVersion(o)
	return v, nil
}
func (r modelEventResolver) ModelVersion(ctx context.Context, o *lineage.Event) (*lineage.ModelVersion, error) {
	id, v := eventVersion(o)
	if id == "" && v != nil {
		id = lineage.VersionID(lineage.KindModelVersion, o.Model, int64(*v))
	}
	if id == "" {
		return nil, nil
	}
	return typed[*lineage.ModelVersion](ctx, r.Resolver, id)
}

type reproductionResolver struct{ *Resolver }

func (reproductionResolver) Params(_ context.Context, o *lineage.Reproduction) ([]*model.KeyValue, error) {
	return keyValues(o.Params), nil
}
func (reproductionResolver) Seeds(_ context.Context, o *lineage.Reproduction) ([]*model.Seed, error) {
	out := make([]*model.Seed, 0, len(o.Seeds))
	for name, v := range o.Seeds {
		out = append(out, &model.Seed{Name: name, Value: v})
	}
	slices.SortFunc(out, func(a, b *model.Seed) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

type modelVersionDiffResolver struct{ *Resolver }

func (modelVersionDiffResolver) FromRun(_ context.Context, o *lineage.ModelVersionDiff) (*lineage.Run, error) {
	return o.Runs[0], nil
}
func (modelVersionDiffResolver) ToRun(_ context.Context, o *lineage.ModelVersionDiff) (*lineage.Run, error) {
	return o.Runs[1], nil
}

type runComparisonResolver struct{ *Resolver }

// Metrics adds the best run's ID to each row, so clients need not index runs.
func (runComparisonResolver) Metrics(_ context.Context, o *lineage.RunComparison) ([]*model.MetricRow, error) {
	out := make([]*model.MetricRow, len(o.Metrics))
	for i, m := range o.Metrics {
		row := &model.MetricRow{Key: m.Key, Values: m.Values, HigherIsBetter: m.HigherIsBetter, Differs: m.Differs,
			LastValues: make([]*float64, len(m.Values))}
		for j, v := range m.Values {
			if v != nil {
				row.LastValues[j] = &v.Last
			}
		}
		if m.Best >= 0 && m.Best < len(o.Runs) {
			row.BestIndex = ptr(m.Best)
			row.BestRunID = &o.Runs[m.Best].ID
		}
		out[i] = row
	}
	return out, nil
}
