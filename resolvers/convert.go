package resolvers

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pedigree-ml/pedigree/graph/model"
	"github.com/pedigree-ml/pedigree/lineage"
)

// keyValues turns a map into key/value pairs sorted by key.
func keyValues(m map[string]string) []*model.KeyValue {
	out := make([]*model.KeyValue, 0, len(m))
	if len(m) == 0 {
		return out
	}
	kvs := make([]model.KeyValue, 0, len(m)) // one allocation for all pairs
	for k, v := range m {
		kvs = append(kvs, model.KeyValue{Key: k, Value: v})
	}
	slices.SortFunc(kvs, func(a, b model.KeyValue) int { return strings.Compare(a.Key, b.Key) })
	for i := range kvs {
		out = append(out, &kvs[i])
	}
	return out
}

// toMap turns key/value input into a map. A key given twice is refused
// rather than silently resolved; sizes are the Service's to check.
func toMap(field string, kvs []*model.KeyValueInput) (map[string]string, error) {
	if kvs == nil {
		return nil, nil
	}
	if len(kvs) > lineage.MaxBatch {
		return nil, lineage.Invalid(field, "must have at most %d entries", lineage.MaxBatch)
	}
	m := make(map[string]string, len(kvs))
	for i, kv := range kvs {
		if _, dup := m[kv.Key]; dup {
			return nil, lineage.Invalid(fmt.Sprintf("%s[%d].key", field, i), "duplicate key %q", kv.Key)
		}
		m[kv.Key] = kv.Value
	}
	return m, nil
}

// pageSize applies a `first` argument's default and clamps it to max:
// asking for too much is not an error, asking for less than one is.
func pageSize(first *int, def, max int) (int, error) {
	if first == nil {
		return def, nil
	}
	if *first < 1 {
		return 0, lineage.Invalid("first", "must be at least 1")
	}
	return min(*first, max), nil
}

// page builds a Service page from connection arguments.
func page(first *int, after *string) (lineage.Page, error) {
	n, err := pageSize(first, lineage.DefaultPageSize, lineage.MaxPageSize)
	return lineage.Page{First: n, After: deref(after)}, err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// pageInfo describes a page the Service cut: it reports the end cursor only.
// listPage lists live entities of one kind (children of parent, if any) for
// a Relay connection. Only the page's last edge has a cursor.
func listPage[T lineage.Entity](ctx context.Context, svc service, kind lineage.Kind, parent lineage.ID, first *int, after *string) ([]T, []*string, *model.PageInfo, error) {
	p, err := page(first, after)
	if err != nil {
		return nil, nil, nil, err
	}
	ep, err := svc.List(ctx, kind, parent, p)
	if err != nil {
		return nil, nil, nil, err
	}
	pi := pageInfo(ep.EndCursor, ep.HasNext)
	nodes := entitiesOf[T](ep.Entities)
	cursors := make([]*string, len(nodes))
	for i := range nodes {
		cursors[i] = lastCursor(pi, i, len(nodes))
	}
	return nodes, cursors, pi, nil
}

func pageInfo(endCursor string, hasNext bool) *model.PageInfo {
	pi := &model.PageInfo{HasNextPage: hasNext}
	if endCursor != "" {
		pi.EndCursor = &endCursor
	}
	return pi
}

// lastCursor is the cursor of item i of n on a Service page: only the last
// item's is known.
func lastCursor(pi *model.PageInfo, i, n int) *string {
	if i == n-1 {
		return pi.EndCursor
	}
	return nil
}

// idCursor is the cursor of pages the resolvers cut themselves from a list
// of IDs: the item's ID, base64url-encoded so clients treat it as opaque.
func idCursor(id lineage.ID) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// pageOfIDs cuts a page of first IDs after the cursor of an earlier page.
func pageOfIDs(ids []lineage.ID, first *int, after *string) (out []lineage.ID, pi *model.PageInfo, err error) {
	n, err := pageSize(first, lineage.DefaultPageSize, lineage.MaxPageSize)
	if err != nil {
		return nil, nil, err
	}
	start := 0
	if a := deref(after); a != "" {
		raw, err := base64.RawURLEncoding.DecodeString(a)
		i := slices.Index(ids, lineage.ID(raw))
		if err != nil || i < 0 {
			return nil, nil, lineage.Invalid("after", "is not a cursor of this list")
		}
		start = i + 1
	}
	end := min(start+n, len(ids))
	out = ids[start:end]
	pi = &model.PageInfo{HasNextPage: end < len(ids)}
	if len(out) > 0 {
		pi.StartCursor = ptr(idCursor(out[0]))
		pi.EndCursor = ptr(idCursor(out[len(out)-1]))
	}
	return out, pi, nil
}

// newestFirst returns the far ends of edges (recorded oldest first) newest first.
func newestFirst(es []lineage.Edge, dir lineage.Direction) []lineage.ID {
	ids := otherEnds(es, dir)
	slices.Reverse(ids)
	return ids
}

// runConnection builds a connection over runs.
func runConnection(runs []*lineage.Run, pi *model.PageInfo, cursor func(i int) *string) *model.RunConnection {
	c := &model.RunConnection{Nodes: runs, PageInfo: pi, Edges: make([]*model.RunEdge, len(runs))}
	if c.Nodes == nil {
		c.Nodes = []*lineage.Run{}
	}
	for i, run := range runs {
		c.Edges[i] = &model.RunEdge{Cursor: cursor(i), Node: run}
	}
	return c
}

// parseID validates a client-supplied ID argument.
func parseID(field string, id lineage.ID) (lineage.ID, error) {
	return lineage.ParseID(field, string(id))
}

// parseIDs validates a list of client-supplied IDs.
func parseIDs(field string, ids []lineage.ID, max int) ([]lineage.ID, error) {
	if len(ids) > max {
		return nil, lineage.Invalid(field, "must have at most %d IDs", max)
	}
	for i, id := range ids {
		if _, err := lineage.ParseID(fmt.Sprintf("%s[%d]", field, i), string(id)); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// runDataFields are the Run fields served from RunData.
var runDataFields = map[string]bool{"params": true, "tags": true, "metrics": true, "metric": true,
	"paramMap": true, "tagMap": true, "metricMap": true}

// selectsRunData reports whether the selection below the current field asks
// any Run for params, tags or metrics.
func selectsRunData(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return false
	}
	return walkSelections(fc.Field.Selections, 0, func(f *ast.Field) bool {
		return f.ObjectDefinition != nil && f.ObjectDefinition.Name == "Run" && runDataFields[f.Name]
	})
}

// walkSelections reports whether match holds for any field in a selection
// set, fragments included. Depth is bounded by the depth limit already.
func walkSelections(set ast.SelectionSet, depth int, match func(*ast.Field) bool) bool {
	if depth > 64 {
		return false
	}
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			if match(s) || walkSelections(s.SelectionSet, depth+1, match) {
				return true
			}
		case *ast.InlineFragment:
			if walkSelections(s.SelectionSet, depth+1, match) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && walkSelections(s.Definition.SelectionSet, depth+1, match) {
				return true
			}
		}
	}
	return false
}
