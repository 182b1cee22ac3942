package resolvers

import (
	"context"
	"time"

	"github.com/pedigree-ml/pedigree/graph/model"
	"github.com/pedigree-ml/pedigree/lineage"
)

type queryResolver struct{ *Resolver }

func (r queryResolver) Node(ctx context.Context, id lineage.ID) (lineage.Entity, error) {
	if _, err := parseID("id", id); err != nil {
		return nil, err
	}
	e, err := r.svc.Node(ctx, id)
	if lineage.ErrorCode(err) == lineage.ENOTFOUND {
		return nil, nil // Relay: a missing node is null, not an error
	}
	return e, err
}

func (r queryResolver) Nodes(ctx context.Context, ids []lineage.ID) ([]lineage.Entity, error) {
	if _, err := parseIDs("ids", ids, lineage.MaxPageSize); err != nil {
		return nil, err
	}
	es, err := r.svc.Nodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i, e := range es {
		if e != nil && lineage.EntityMeta(e).DeletedAt != nil {
			es[i] = nil // as node(id): soft-deleted nodes are gone
		}
	}
	return es, nil
}

func (r queryResolver) Dataset(ctx context.Context, name string) (*lineage.Dataset, error) {
	return r.svc.Dataset(ctx, name)
}

func (r queryResolver) Datasets(ctx context.Context, first *int, after *string) (*model.DatasetConnection, error) {
	nodes, cursors, pi, err := listPage[*lineage.Dataset](ctx, r.svc, lineage.KindDataset, "", first, after)
	if err != nil {
		return nil, err
	}
	c := &model.DatasetConnection{PageInfo: pi, Nodes: nodes, Edges: make([]*model.DatasetEdge, len(nodes))}
	for i, n := range nodes {
		c.Edges[i] = &model.DatasetEdge{Cursor: cursors[i], Node: n}
	}
	return c, nil
}

func (r queryResolver) DatasetVersion(ctx context.Context, dataset string, version int) (*lineage.DatasetVersion, error) {
	return r.svc.DatasetVersion(ctx, dataset, int64(version))
}

func (r queryResolver) FeatureSet(ctx context.Context, name string) (*lineage.FeatureSet, error) {
	return r.svc.FeatureSet(ctx, name)
}

func (r queryResolver) Experiment(ctx context.Context, name string) (*lineage.Experiment, error) {
	return r.svc.Experiment(ctx, name)
}

func (r queryResolver) Experiments(ctx context.Context, first *int, after *string) (*model.ExperimentConnection, error) {
	nodes, cursors, pi, err := listPage[*lineage.Experiment](ctx, r.svc, lineage.KindExperiment, "", first, after)
	if err != nil {
		return nil, err
	}
	c := &model.ExperimentConnection{PageInfo: pi, Nodes: nodes, Edges: make([]*model.ExperimentEdge, len(nodes))}
	for i, n := range nodes {
		c.Edges[i] = &model.ExperimentEdge{Cursor: cursors[i], Node: n}
	}
	return c, nil
}

func (r queryResolver) Pipeline(ctx context.Context, name string) (*lineage.Pipeline, error) {
	return r.svc.Pipeline(ctx, name)
}

func (r queryResolver) Run(ctx context.Context, id lineage.ID) (*lineage.Run, error) {
	if _, err := parseID("id", id); err != nil {
		return nil, err
	}
	return r.svc.Run(ctx, id)
}

func (r queryResolver) Runs(ctx context.Context, filter *string, experiment *string, orderBy []string, first *int, after *string) (*model.RunConnection, error) {
	return r.runs(ctx, filter, experiment, orderBy, first, after)
}

func (r queryResolver) Model(ctx context.Context, name string) (*lineage.Model, error) {
	return r.svc.Model(ctx, name)
}

func (r queryResolver) Models(ctx context.Context, first *int, after *string) (*model.ModelConnection, error) {
	nodes, cursors, pi, err := listPage[*lineage.Model](ctx, r.svc, lineage.KindModel, "", first, after)
	if err != nil {
		return nil, err
	}
	c := &model.ModelConnection{PageInfo: pi, Nodes: nodes, Edges: make([]*model.ModelEdge, len(nodes))}
	for i, n := range nodes {
		c.Edges[i] = &model.ModelEdge{Cursor: cursors[i], Node: n}
	}
	return c, nil
}

func (r queryResolver) ModelVersion(ctx context.Context, model string, version *int, stage *lineage.Stage, alias *string) (*lineage.ModelVersion, error) {
	return r.svc.ModelVersion(ctx, model, selector(version, stage, alias))
}

func (r queryResolver) Search(ctx context.Context, query string, kinds []lineage.Kind, first *int) ([]lineage.Entity, error) {
	n, err := pageSize(first, 20, lineage.MaxSearchResults)
	if err != nil {
		return nil, err
	}
	es, err := r.svc.Search(ctx, query, kinds, n)
	if es == nil && err == nil {
		es = []lineage.Entity{}
	}
	return es, err
}

func (r queryResolver) Lineage(ctx context.Context, of lineage.ID, direction *lineage.Direction, depth *int, kinds []lineage.Kind, asOf *time.Time, limit *int) (*lineage.LineageGraph, error) {
	return r.lineage(ctx, of, direction, depth, kinds, asOf, limit)
}

// lineage serves Query.lineage and ModelVersion.lineage. Depth and limit
// beyond their maxima are clamped by the Service.
func (r *Resolver) lineage(ctx context.Context, of lineage.ID, direction *lineage.Direction, depth *int, kinds []lineage.Kind, asOf *time.Time, limit *int) (*lineage.LineageGraph, error) {
	if depth != nil && *depth < 1 {
		return nil, lineage.Invalid("depth", "must be at least 1")
	}
	if limit != nil && *limit < 1 {
		return nil, lineage.Invalid("limit", "must be at least 1")
	}
	in := lineage.LineageInput{Of: of, Direction: deref(direction), Depth: deref(depth), Kinds: kinds, AsOf: asOf, Limit: deref(limit)}
	g, err := r.svc.Lineage(ctx, in)
	if err != nil {
		return nil, err
	}
	// Lineage nodes are already loaded: later references (edge fromNode,
	// toNode) must not load them again.
	l := r.loadersFor(ctx)
	for _, n := range g.Nodes {
		l.nodes.Prime(lineage.EntityID(n.Node), n.Node)
	}
	return g, nil
}

func (r queryResolver) LineagePath(ctx context.Context, from lineage.ID, to lineage.ID) ([]*lineage.Edge, error) {
	es, err := r.svc.LineagePath(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]*lineage.Edge, len(es))
	for i := range es {
		out[i] = &es[i]
	}
	return out, nil
}

func (r queryResolver) Impact(ctx context.Context, of lineage.ID) (*lineage.Impact, error) {
	if _, err := parseID("of", of); err != nil {
		return nil, err
	}
	im, err := r.svc.Impact(ctx, of)
	if err != nil {
		return nil, err
	}
	if err := r.primeRunData(ctx, im.Runs); err != nil {
		return nil, err
	}
	return im, nil
}

func (r queryResolver) CompareRuns(ctx context.Context, ids []lineage.ID) (*lineage.RunComparison, error) {
	if _, err := parseIDs("ids", ids, lineage.MaxCompareRuns); err != nil {
		return nil, err
	}
	c, err := r.svc.CompareRuns(ctx, ids)
	if err != nil {
		return nil, err
	}
	if err := r.primeRunData(ctx, c.Runs); err != nil {
		return nil, err
	}
	return c, nil
}

func (r queryResolver) DiffModelVersions(ctx context.Context, model string, from int, to int) (*lineage.ModelVersionDiff, error) {
	return r.svc.DiffModelVersions(ctx, model, int64(from), int64(to))
}

func (r queryResolver) Events(ctx context.Context, model *string, afterSeq *int64, types []lineage.EventType, first *int) ([]*lineage.Event, error) {
	n, err := pageSize(first, lineage.DefaultPageSize, lineage.MaxPageSize)
	if err != nil {
		return nil, err
	}
	evs, err := r.svc.Events(ctx, deref(model), deref(afterSeq), types, n)
	if err != nil {
		return nil, err
	}
	out := make([]*lineage.Event, len(evs))
	for i := range evs {
		out[i] = &evs[i]
	}
	return out, nil
}
