package resolvers

import (
	"time"

	"reflect"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pedigree-ml/pedigree/graph"
	"github.com/pedigree-ml/pedigree/lineage"
)

// ListEstimate is the complexity multiplier of lists that take no size
// argument (a run's params, a version's splits, …): a guess at their
// typical length, so that a query cannot nest them cheaply.
const ListEstimate = 10

// complexityRoot returns the cost model of the schema. A field costs 1 plus
// its selection; a list multiplies its selection by how many items it can
// return: `first` or `limit` (defaulted and clamped as the resolvers do),
// the number of IDs asked for, or ListEstimate.
func complexityRoot(schema *ast.Schema) graph.ComplexityRoot {
	var c graph.ComplexityRoot
	estimateLists(&c, schema)

	conn := func(child int, first *int) int {
		return times(child, clampFirst(first, lineage.DefaultPageSize, lineage.MaxPageSize))
	}
	pageFn := func(child int, first *int, _ *string) int { return conn(child, first) }

	c.Query.Datasets = pageFn
	c.Query.Experiments = pageFn
	c.Query.Models = pageFn
	c.Query.Runs = func(child int, _ *string, _ *string, _ []string, first *int, _ *string) int {
		return conn(child, first)
	}
	c.Dataset.Versions = pageFn
	c.FeatureSet.Versions = pageFn
	c.Model.Versions = pageFn
	c.Pipeline.Runs = pageFn
	c.Run.Children = pageFn
	c.Experiment.Runs = func(child int, _ *string, _ []string, first *int, _ *string) int {
		return conn(child, first)
	}
	c.Run.MetricHistory = func(child int, _ string, _ *int64, first *int) int {
		return times(child, clampFirst(first, lineage.MaxPageSize, lineage.MaxPageSize))
	}
	c.Query.Search = func(child int, _ string, _ []lineage.Kind, first *int) int {
		return times(child, clampFirst(first, 20, lineage.MaxSearchResults))
	}
	c.Query.Events = func(child int, _ *string, _ *int64, _ []lineage.EventType, first *int) int {
		return times(child, clampFirst(first, lineage.DefaultPageSize, lineage.MaxPageSize))
	}
	c.Query.Nodes = func(child int, ids []lineage.ID) int { return times(child, len(ids)) }
	c.Query.CompareRuns = func(child int, ids []lineage.ID) int { return times(child, len(ids)) }
	c.Query.Lineage = func(child int, _ lineage.ID, _ *lineage.Direction, _ *int, _ []lineage.Kind, _ *time.Time, limit *int) int {
		return times(child, clampFirst(limit, lineage.DefaultLimit, lineage.MaxLimit))
	}
	c.ModelVersion.Lineage = func(child int, _ *lineage.Direction, _ *int, _ []lineage.Kind, limit *int) int {
		return times(child, clampFirst(limit, lineage.DefaultLimit, lineage.MaxLimit))
	}
	// Impact lists at most ImpactListLimit runs and data nodes.
	c.Query.Impact = func(child int, _ lineage.ID) int { return times(child, lineage.ImpactListLimit) }
	// The selection of a lineage graph or impact is priced per node above:
	// its lists must not multiply again.
	one := func(child int) int { return 1 + child }
	c.LineageGraph.Nodes, c.LineageGraph.Edges = one, one
	c.Impact.Runs, c.Impact.Data, c.Impact.Deployments, c.Impact.ModelVersions = one, one, one, one
	c.StageGroup.Versions = one
	// Connections: priced by `first` on the field that returns them.
	for _, f := range []*func(int) int{
		&c.DatasetConnection.Edges, &c.DatasetConnection.Nodes,
		&c.DatasetVersionConnection.Edges, &c.DatasetVersionConnection.Nodes,
		&c.FeatureSetVersionConnection.Edges, &c.FeatureSetVersionConnection.Nodes,
		&c.ExperimentConnection.Edges, &c.ExperimentConnection.Nodes,
		&c.RunConnection.Edges, &c.RunConnection.Nodes,
		&c.ModelConnection.Edges, &c.ModelConnection.Nodes,
		&c.ModelVersionConnection.Edges, &c.ModelVersionConnection.Nodes,
	} {
		*f = one
	}
	return c
}

// estimateLists sets every argument-less list field of the schema to cost
// ListEstimate times its selection. It walks ComplexityRoot by reflection so
// that fields added to the schema are covered without a line here.
func estimateLists(c *graph.ComplexityRoot, schema *ast.Schema) {
	est := reflect.ValueOf(func(child int) int { return times(child, ListEstimate) })
	root := reflect.ValueOf(c).Elem()
	for i := range root.NumField() {
		def := schema.Types[root.Type().Field(i).Name]
		if def == nil {
			continue
		}
		obj := root.Field(i)
		for j := range obj.NumField() {
			f := obj.Field(j)
			if f.Type() != est.Type() {
				continue // takes arguments: priced explicitly
			}
			for _, fd := range def.Fields {
				if strings.EqualFold(fd.Name, obj.Type().Field(j).Name) && fd.Type.Elem != nil {
					f.Set(est)
				}
			}
		}
	}
}

// clampFirst applies a size argument's default and maximum, as the resolvers do.
func clampFirst(n *int, def, max int) int {
	if n == nil || *n < 1 {
		return def
	}
	return min(*n, max)
}

// times is 1 + n×child, saturating so that a huge product cannot wrap.
func times(child, n int) int {
	const limit = 1 << 40
	if n > 0 && child > limit/n {
		return limit
	}
	return 1 + n*child
}
