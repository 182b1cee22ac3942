package lineage

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Lineage returns the provenance subgraph around a node: upstream (what it
// was made from), downstream (what was made from it) or both. Depth and
// limit are clamped to MaxDepth and MaxLimit. With kinds, only nodes of
// those kinds (and the start) are returned, with the edges between them.
// With asOf, the graph as it stood then, model version stages included.
func (s *Service) Lineage(ctx context.Context, in LineageInput) (*LineageGraph, error) {
	if _, err := ParseID("of", string(in.Of)); err != nil {
		return nil, err
	}
	switch in.Direction {
	case "":
		in.Direction = Upstream
	case Upstream, Downstream, Both:
	default:
		return nil, Invalid("direction", "must be UPSTREAM, DOWNSTREAM or BOTH")
	}
	for i, k := range in.Kinds {
		if !k.Valid() {
			return nil, Invalid(indexed("kinds", i), "unknown kind %q", k)
		}
	}
	if in.Depth < 0 || in.Limit < 0 {
		return nil, Invalid("depth", "depth and limit must not be negative")
	}
	if in.Depth == 0 {
		in.Depth = DefaultDepth
	}
	if in.Limit == 0 {
		in.Limit = DefaultLimit
	}
	q := TraversalQuery{Of: in.Of, Direction: in.Direction, Depth: min(in.Depth, MaxDepth), Limit: min(in.Limit, MaxLimit), AsOf: in.AsOf}
	sub, err := s.store.Traverse(ctx, q)
	if ErrorCode(err) == ENOTFOUND {
		return nil, &Error{Code: ENOTFOUND, Field: "of", Message: "of: " + string(in.Of) + " not found"}
	} else if err != nil {
		return nil, err
	}
	keep := func(id ID) bool { return len(in.Kinds) == 0 || id == in.Of || slices.Contains(in.Kinds, id.Kind()) }
	ids := make([]ID, 0, len(sub.Nodes))
	depth := make(map[ID]int, len(sub.Nodes))
	for _, h := range sub.Nodes {
		if keep(h.ID) {
			ids = append(ids, h.ID)
			depth[h.ID] = h.Depth
		}
	}
	entities, err := s.Nodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	if in.AsOf != nil {
		if err := s.stagesAsOf(ctx, entities, *in.AsOf); err != nil {
			return nil, err
		}
	}
	g := &LineageGraph{Truncated: sub.Truncated}
	for _, e := range entities {
		if e != nil {
			g.Nodes = append(g.Nodes, LineageNode{Node: e, Depth: depth[EntityID(e)]})
		}
	}
	for _, e := range sub.Edges {
		if _, ok := depth[e.From]; ok {
			if _, ok := depth[e.To]; ok {
				g.Edges = append(g.Edges, e)
			}
		}
	}
	return g, nil
}

// stagesAsOf rewinds model versions' stages to what the audit trail says
// they were at t.
func (s *Service) stagesAsOf(ctx context.Context, entities []Entity, t time.Time) error {
	mvs := map[ID]*ModelVersion{}
	var ids []ID
	for _, e := range entities {
		if mv, ok := e.(*ModelVersion); ok {
			mvs[mv.ID] = mv
			ids = append(ids, mv.ID)
			mv.Stage = StageNone
		}
	}
	if len(ids) == 0 {
		return nil
	}
	trail, err := s.Transitions(ctx, ids)
	if err != nil {
		return err
	}
	for _, tr := range trail { // oldest first
		if !tr.At.After(t) {
			mvs[tr.ModelVersion].Stage = tr.To
		}
	}
	return nil
}

// LineagePath returns the edges of a shortest provenance path between two
// nodes, in either direction; empty when they are not connected.
func (s *Service) LineagePath(ctx context.Context, from, to ID) ([]Edge, error) {
	if _, err := ParseID("from", string(from)); err != nil {
		return nil, err
	}
	if _, err := ParseID("to", string(to)); err != nil {
		return nil, err
	}
	err := s.view(ctx, func(tx ReadTx) error {
		if _, err := exists(tx, "from", from); err != nil {
			return err
		}
		_, err := exists(tx, "to", to)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.store.Path(ctx, from, to, MaxDepth)
}

// Impact answers "this node is bad: what does it affect?" — every run,
// derived data, model version (grouped by stage) and deployment downstream.
func (s *Service) Impact(ctx context.Context, of ID) (*Impact, error) {
	start, err := s.live(ctx, "of", of)
	if err != nil {
		return nil, err
	}
	sub, err := s.store.Traverse(ctx, TraversalQuery{Of: of, Direction: Downstream, Depth: MaxDepth, Limit: MaxImpactNodes})
	if err != nil {
		return nil, err
	}
	out := &Impact{Of: start, Total: len(sub.Nodes) - 1, Truncated: sub.Truncated}
	// Kinds are read from IDs, so only what is listed gets loaded.
	var runs, data, load []ID
	for _, h := range sub.Nodes[1:] {
		switch h.ID.Kind() {
		case KindRun:
			out.RunCount++
			runs = append(runs, h.ID)
		case KindDatasetVersion, KindSplit, KindFeatureSetVersion, KindArtifact:
			out.DataCount++
			if len(data) < ImpactListLimit {
				data = append(data, h.ID)
			}
		case KindModelVersion, KindDeployment:
			load = append(load, h.ID)
		}
	}
	// Run IDs are time-ordered (UUIDv7): newest first, then the first ImpactListLimit.
	slices.SortFunc(runs, func(a, b ID) int { return strings.Compare(string(b), string(a)) })
	runs = runs[:min(len(runs), ImpactListLimit)]
	entities, err := s.Nodes(ctx, slices.Concat(runs, data, load))
	if err != nil {
		return nil, err
	}
	groups := map[Stage]*StageGroup{}
	for _, e := range entities {
		switch e := e.(type) {
		case *Run:
			out.Runs = append(out.Runs, e)
		case *ModelVersion:
			if groups[e.Stage] == nil {
				groups[e.Stage] = &StageGroup{Stage: e.Stage}
			}
			groups[e.Stage].Versions = append(groups[e.Stage].Versions, e)
		case *Deployment:
			out.Deployments = append(out.Deployments, e)
		case nil:
		default:
			out.Data = append(out.Data, e)
		}
	}
	for _, st := range []Stage{StageProduction, StageStaging, StageNone, StageArchived} {
		if g := groups[st]; g != nil {
			out.ModelVersions = append(out.ModelVersions, *g)
		}
	}
	return out, nil
}
