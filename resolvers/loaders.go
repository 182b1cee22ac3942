package resolvers

import (
	"context"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/pedigree-ml/pedigree/lineage"
)

// DefaultLoaderWait is how long a dataloader collects keys before it makes
// one batched Service call. gqlgen resolves sibling fields in goroutines that
// start within microseconds of each other, so a millisecond gathers a whole
// list while adding little latency to a lone lookup.
const DefaultLoaderWait = time.Millisecond

// loaders batch and cache lookups for one GraphQL response (one query, or
// one subscription event, so events never see stale data).
type loaders struct {
	nodes       *dataloadgen.Loader[lineage.ID, lineage.Entity]
	runData     *dataloadgen.Loader[lineage.ID, *lineage.RunData]
	edges       *dataloadgen.Loader[edgeKey, []lineage.Edge]
	transitions *dataloadgen.Loader[lineage.ID, []lineage.Transition]
}

// edgeKey asks for every current edge of a node in one direction.
type edgeKey struct {
	id  lineage.ID
	dir lineage.Direction
}

func newLoaders(svc service, wait time.Duration) *loaders {
	opt := dataloadgen.WithWait(wait)
	return &loaders{
		// Service.Nodes: one call for many IDs, nil where a node is missing.
		nodes: dataloadgen.NewLoader(func(ctx context.Context, ids []lineage.ID) ([]lineage.Entity, []error) {
			es, err := svc.Nodes(ctx, ids)
			if err != nil {
				return nil, []error{err}
			}
			return es, nil
		}, opt),
		// Service.RunData: params, tags and metric summaries of many runs.
		runData: dataloadgen.NewLoader(func(ctx context.Context, ids []lineage.ID) ([]*lineage.RunData, []error) {
			m, err := svc.RunData(ctx, ids)
			if err != nil {
				return nil, []error{err}
			}
			out := make([]*lineage.RunData, len(ids))
			for i, id := range ids {
				if out[i] = m[id]; out[i] == nil {
					out[i] = &lineage.RunData{}
				}
			}
			return out, nil
		}, opt),
		// Service.Edges has no batch form: the loader still collapses the
		// several relations of one node (a run's inputs, code, environment
		// and parent) into one call per node and direction.
		edges: dataloadgen.NewLoader(func(ctx context.Context, keys []edgeKey) ([][]lineage.Edge, []error) {
			out := make([][]lineage.Edge, len(keys))
			errs := make([]error, len(keys))
			for i, k := range keys {
				out[i], errs[i] = svc.Edges(ctx, k.id, k.dir)
			}
			return out, errs
		}, opt),
		// Service.Transitions: audit trails of many model versions.
		transitions: dataloadgen.NewLoader(func(ctx context.Context, ids []lineage.ID) ([][]lineage.Transition, []error) {
			all, err := svc.Transitions(ctx, ids)
			if err != nil {
				return nil, []error{err}
			}
			by := make(map[lineage.ID][]lineage.Transition, len(ids))
			for _, t := range all {
				by[t.ModelVersion] = append(by[t.ModelVersion], t)
			}
			out := make([][]lineage.Transition, len(ids))
			for i, id := range ids {
				out[i] = by[id]
			}
			return out, nil
		}, opt),
	}
}

type loadersKey struct{}

func withLoaders(ctx context.Context, l *loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// loadersFor returns the response's loaders; outside a response (never in
// the handler) it returns fresh ones so a resolver cannot fail for want of them.
func (r *Resolver) loadersFor(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return newLoaders(r.svc, r.loaderWait)
}

// node loads one node by ID; nil, nil when it does not exist.
func (r *Resolver) node(ctx context.Context, id lineage.ID) (lineage.Entity, error) {
	if id == "" {
		return nil, nil
	}
	return r.loadersFor(ctx).nodes.Load(ctx, id)
}

// nodesOf loads the nodes a single resolver already holds the IDs of with
// one Service call (no loader wait), priming the loader for other fields.
// Missing nodes are left out.
func (r *Resolver) nodesOf(ctx context.Context, ids []lineage.ID) ([]lineage.Entity, error) {
	if len(ids) == 0 {
		return []lineage.Entity{}, nil
	}
	es, err := r.svc.Nodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	l := r.loadersFor(ctx)
	out := es[:0:0]
	for i, e := range es {
		if i < len(ids) {
			l.nodes.Prime(ids[i], e)
		}
		if e != nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// typed loads a node of a known Go type; nil when missing or of another kind.
func typed[T lineage.Entity](ctx context.Context, r *Resolver, id lineage.ID) (T, error) {
	t, _, err := typedOK[T](ctx, r, id)
	return t, err
}

// mustTyped is typed for non-null fields: NOT_FOUND when missing.
func mustTyped[T lineage.Entity](ctx context.Context, r *Resolver, id lineage.ID) (T, error) {
	t, ok, err := typedOK[T](ctx, r, id)
	if err == nil && !ok {
		err = lineage.Errorf(lineage.ENOTFOUND, "%s not found", id)
	}
	return t, err
}

func typedOK[T lineage.Entity](ctx context.Context, r *Resolver, id lineage.ID) (T, bool, error) {
	var zero T
	e, err := r.node(ctx, id)
	if err != nil || e == nil {
		return zero, false, err
	}
	t, ok := e.(T)
	return t, ok, nil
}

// edges returns a node's edges of some types in one direction.
func (r *Resolver) edges(ctx context.Context, id lineage.ID, dir lineage.Direction, t lineage.EdgeType) ([]lineage.Edge, error) {
	all, err := r.loadersFor(ctx).edges.Load(ctx, edgeKey{id, dir})
	if err != nil {
		return nil, err
	}
	var out []lineage.Edge
	for _, e := range all {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out, nil
}

// related loads the nodes at the other end of a node's edges of one type.
// It goes through the node loader, so the relations of a list of parents
// (the outputs of 100 runs) are one Service.Nodes call, not one per parent.
func (r *Resolver) related(ctx context.Context, id lineage.ID, dir lineage.Direction, t lineage.EdgeType) ([]lineage.Entity, error) {
	es, err := r.edges(ctx, id, dir, t)
	if err != nil || len(es) == 0 {
		return []lineage.Entity{}, err
	}
	nodes, err := r.loadersFor(ctx).nodes.LoadAll(ctx, otherEnds(es, dir))
	if err != nil {
		return nil, err
	}
	out := make([]lineage.Entity, 0, len(nodes))
	for _, n := range nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// otherEnds returns the IDs at the far end of edges walked in dir.
func otherEnds(es []lineage.Edge, dir lineage.Direction) []lineage.ID {
	ids := make([]lineage.ID, len(es))
	for i, e := range es {
		if dir == lineage.Upstream {
			ids[i] = e.To
		} else {
			ids[i] = e.From
		}
	}
	return ids
}

// runData loads a run's params, tags and metric summaries.
func (r *Resolver) runData(ctx context.Context, run lineage.ID) (*lineage.RunData, error) {
	return r.loadersFor(ctx).runData.Load(ctx, run)
}

// primeRunData fetches the run data of a page of runs in one call when the
// operation asks for params, tags or metrics below this field, so that the
// per-run fields find it cached instead of waiting for a loader batch.
func (r *Resolver) primeRunData(ctx context.Context, runs []*lineage.Run) error {
	if len(runs) == 0 || !selectsRunData(ctx) {
		return nil
	}
	ids := make([]lineage.ID, len(runs))
	for i, run := range runs {
		ids[i] = run.ID
	}
	m, err := r.svc.RunData(ctx, ids)
	if err != nil {
		return err
	}
	l := r.loadersFor(ctx)
	for _, id := range ids {
		d := m[id]
		if d == nil {
			d = &lineage.RunData{}
		}
		l.runData.Prime(id, d)
	}
	return nil
}
