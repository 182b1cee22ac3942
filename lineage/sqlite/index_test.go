package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// indexDump is the logical content of an index, independent of layout.
type indexDump struct {
	Nodes, Edges []string
}

func dumpIndex(ix *index) indexDump {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var d indexDump
	for s := 1; s < len(ix.nodes); s++ {
		if ix.nodes[s].live {
			d.Nodes = append(d.Nodes, fmt.Sprintf("%s@%d", ix.id(uint32(s)), ix.nodes[s].created))
		}
	}
	for i := range uint32(len(ix.edges)) {
		r := ix.edges[i]
		if r.flags&edgeDead != 0 {
			continue
		}
		e := ix.edge(i, ix.id(r.src), ix.id(r.dst))
		s := fmt.Sprintf("%s-%s/%s->%s@%d", e.From, e.Type, e.Role, e.To, e.CreatedAt.UnixNano())
		if e.RemovedAt != nil {
			s += fmt.Sprintf("-%d", e.RemovedAt.UnixNano())
		}
		d.Edges = append(d.Edges, s)
	}
	slices.Sort(d.Nodes)
	slices.Sort(d.Edges)
	return d
}

// lineageGraph is a small ML lineage:
//
//	dv1 ← dv2 ← split:train, split:test ← r1 → codeversion:c
//	r1 ← m/1 ← deployment:prod, r2 ← m/2; grouping edges to model:m and experiment:e
//	artifact:a ⇄ artifact:b → artifact:c (a cycle)
func lineageGraph(tb testing.TB, s *Store) {
	ids := []lineage.ID{"datasetversion:d/1", "datasetversion:d/2", "split:train", "split:test", "codeversion:c",
		"run:r1", "modelversion:m/1", "model:m", "experiment:e", "deployment:prod", "run:r2", "modelversion:m/2",
		"artifact:a", "artifact:b", "artifact:c"}
	var nodes []*lineage.Node
	for i, id := range ids {
		nodes = append(nodes, node(id, i))
	}
	used := func(from, to lineage.ID, role string) lineage.Edge {
		return lineage.Edge{From: from, To: to, Type: lineage.EdgeUsed, Role: role, CreatedAt: at(20)}
	}
	MustCreate(tb, s, nodes, []lineage.Edge{
		edge("datasetversion:d/2", "datasetversion:d/1", lineage.EdgeDerivedFrom, 20),
		edge("split:train", "datasetversion:d/2", lineage.EdgeSplitOf, 20),
		edge("split:test", "datasetversion:d/2", lineage.EdgeSplitOf, 20),
		used("run:r1", "split:train", "train"),
		used("run:r1", "split:test", "test"),
		edge("run:r1", "experiment:e", lineage.EdgePartOf, 20),
		edge("run:r1", "codeversion:c", lineage.EdgeRanCode, 20),
		edge("modelversion:m/1", "run:r1", lineage.EdgeGeneratedBy, 20),
		edge("modelversion:m/1", "model:m", lineage.EdgeVersionOf, 20),
		edge("deployment:prod", "modelversion:m/1", lineage.EdgeServes, 20),
		used("run:r2", "modelversion:m/1", "base_model"),
		edge("modelversion:m/2", "run:r2", lineage.EdgeGeneratedBy, 20),
		edge("artifact:a", "artifact:b", lineage.EdgeDerivedFrom, 20),
		edge("artifact:b", "artifact:a", lineage.EdgeDerivedFrom, 20),
		edge("artifact:b", "artifact:c", lineage.EdgeDerivedFrom, 20),
	})
}

// hops renders a subgraph compactly: "id:depth" and "from>to".
func hops(g *lineage.Subgraph) (nodes, edges []string) {
	for _, h := range g.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s:%d", h.ID, h.Depth))
	}
	for _, e := range g.Edges {
		edges = append(edges, fmt.Sprintf("%s>%s", e.From, e.To))
	}
	return nodes, edges
}

func TestTraverse(t *testing.T) {
	s := MustOpen(t)
	lineageGraph(t, s)
	upFromM2 := []string{"modelversion:m/2:0", "run:r2:1", "modelversion:m/1:2", "run:r1:3", "split:train:4", "split:test:4",
		"codeversion:c:4", "datasetversion:d/2:5", "datasetversion:d/1:6"}
	upFromM2Edges := []string{"modelversion:m/2>run:r2", "run:r2>modelversion:m/1", "modelversion:m/1>run:r1",
		"run:r1>split:train", "run:r1>split:test", "run:r1>codeversion:c",
		"split:train>datasetversion:d/2", "split:test>datasetversion:d/2", "datasetversion:d/2>datasetversion:d/1"}
	for _, tc := range []struct {
		name      string
		q         lineage.TraversalQuery
		nodes     []string
		edges     []string
		truncated bool
	}{
		{"upstream, whole closure", lineage.TraversalQuery{Of: "modelversion:m/2", Direction: lineage.Upstream, Depth: 10, Limit: 100},
			upFromM2, upFromM2Edges, false},
		{"upstream, limit exactly the closure", lineage.TraversalQuery{Of: "modelversion:m/2", Direction: lineage.Upstream, Depth: 10, Limit: 9},
			upFromM2, upFromM2Edges, false},
		{"upstream, depth 2", lineage.TraversalQuery{Of: "modelversion:m/2", Direction: lineage.Upstream, Depth: 2},
			upFromM2[:3], upFromM2Edges[:2], false},
		{"upstream, limit 3", lineage.TraversalQuery{Of: "modelversion:m/2", Direction: lineage.Upstream, Depth: 10, Limit: 3},
			upFromM2[:3], upFromM2Edges[:2], true},
		{"depth 0 is the start alone", lineage.TraversalQuery{Of: "run:r1", Direction: lineage.Both, Depth: 0},
			[]string{"run:r1:0"}, nil, false},
		{"downstream", lineage.TraversalQuery{Of: "datasetversion:d/1", Direction: lineage.Downstream, Depth: 10},
			[]string{"datasetversion:d/1:0", "datasetversion:d/2:1", "split:train:2", "split:test:2", "run:r1:3",
				"modelversion:m/1:4", "deployment:prod:5", "run:r2:5", "modelversion:m/2:6"},
			[]string{"datasetversion:d/2>datasetversion:d/1", "split:train>datasetversion:d/2", "split:test>datasetversion:d/2",
				"run:r1>split:train", "run:r1>split:test", "modelversion:m/1>run:r1", "deployment:prod>modelversion:m/1",
				"run:r2>modelversion:m/1", "modelversion:m/2>run:r2"}, false},
		{"both, depth 1; grouping edges not followed", lineage.TraversalQuery{Of: "run:r1", Direction: lineage.Both, Depth: 1},
			[]string{"run:r1:0", "split:train:1", "split:test:1", "codeversion:c:1", "modelversion:m/1:1"},
			[]string{"run:r1>split:train", "run:r1>split:test", "run:r1>codeversion:c", "modelversion:m/1>run:r1"}, false},
		{"cycle, upstream", lineage.TraversalQuery{Of: "artifact:a", Direction: lineage.Upstream, Depth: 10},
			[]string{"artifact:a:0", "artifact:b:1", "artifact:c:2"},
			[]string{"artifact:a>artifact:b", "artifact:b>artifact:a", "artifact:b>artifact:c"}, false},
		{"cycle, downstream", lineage.TraversalQuery{Of: "artifact:a", Direction: lineage.Downstream, Depth: 10},
			[]string{"artifact:a:0", "artifact:b:1"},
			[]string{"artifact:a>artifact:b", "artifact:b>artifact:a"}, false},
		{"cycle, both, limit 2", lineage.TraversalQuery{Of: "artifact:c", Direction: lineage.Both, Depth: 10, Limit: 2},
			[]string{"artifact:c:0", "artifact:b:1"}, []string{"artifact:b>artifact:c"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := s.Traverse(context.Background(), tc.q)
			if err != nil {
				t.Fatalf("Traverse: %v", err)
			}
			nodes, edges := hops(g)
			if !reflect.DeepEqual(nodes, tc.nodes) {
				t.Errorf("nodes:\n got %v\nwant %v", nodes, tc.nodes)
			}
			if !reflect.DeepEqual(edges, tc.edges) {
				t.Errorf("edges:\n got %v\nwant %v", edges, tc.edges)
			}
			if g.Truncated != tc.truncated {
				t.Errorf("truncated: got %v, want %v", g.Truncated, tc.truncated)
			}
		})
	}
	_, err := s.Traverse(context.Background(), lineage.TraversalQuery{Of: "run:nope", Direction: lineage.Upstream, Depth: 1})
	wantCode(t, "Traverse of a missing node", err, lineage.ENOTFOUND)
	_, err = s.Traverse(context.Background(), lineage.TraversalQuery{Of: "run:r1", Direction: "SIDEWAYS", Depth: 1})
	wantCode(t, "Traverse with a bad direction", err, lineage.EINVALID)

	// Edges carry type, role and times; soft-deleted nodes are walked through.
	MustUpdate(t, s, func(tx lineage.Tx) error {
		n := node("run:r1", 5)
		n.DeletedAt = ptr(at(30))
		return tx.UpdateNode(n)
	})
	g, err := s.Traverse(context.Background(), lineage.TraversalQuery{Of: "modelversion:m/2", Direction: lineage.Upstream, Depth: 10})
	if err != nil {
		t.Fatal(err)
	}
	if nodes, _ := hops(g); !reflect.DeepEqual(nodes, upFromM2) {
		t.Errorf("through a soft-deleted run:\n got %v\nwant %v", nodes, upFromM2)
	}
	if want := (lineage.Edge{From: "run:r2", To: "modelversion:m/1", Type: lineage.EdgeUsed, Role: "base_model", CreatedAt: at(20)}); !reflect.DeepEqual(g.Edges[1], want) {
		t.Errorf("edge: got %+v, want %+v", g.Edges[1], want)
	}
}

func TestTraverseAsOf(t *testing.T) {
	s := MustOpen(t)
	MustCreate(t, s, []*lineage.Node{node("dataset:n1", 1), node("dataset:n2", 2)}, []lineage.Edge{edge("dataset:n2", "dataset:n1", lineage.EdgeDerivedFrom, 3)})
	MustCreate(t, s, []*lineage.Node{node("dataset:n3", 5)}, []lineage.Edge{edge("dataset:n3", "dataset:n2", lineage.EdgeDerivedFrom, 5)})
	MustUpdate(t, s, func(tx lineage.Tx) error {
		return tx.RemoveEdge("dataset:n2", "dataset:n1", lineage.EdgeDerivedFrom, at(6))
	})
	MustCreate(t, s, nil, []lineage.Edge{edge("dataset:n2", "dataset:n1", lineage.EdgeDerivedFrom, 8)})

	all := []string{"dataset:n1:0", "dataset:n2:1", "dataset:n3:2"}
	for _, tc := range []struct {
		asOf  *time.Time
		nodes []string
		edges []string // from>to@created[-removed]
	}{
		{ptr(at(2)), all[:1], nil},
		{ptr(at(3)), all[:2], []string{"dataset:n2>dataset:n1@3-6"}},
		{ptr(at(5)), all, []string{"dataset:n2>dataset:n1@3-6", "dataset:n3>dataset:n2@5"}},
		{ptr(at(6)), all[:1], nil}, // removed at 6: gone at 6
		{ptr(at(7)), all[:1], nil},
		{ptr(at(8)), all, []string{"dataset:n2>dataset:n1@8", "dataset:n3>dataset:n2@5"}},
		{nil, all, []string{"dataset:n2>dataset:n1@8", "dataset:n3>dataset:n2@5"}},
	} {
		g, err := s.Traverse(context.Background(), lineage.TraversalQuery{Of: "dataset:n1", Direction: lineage.Downstream, Depth: 5, AsOf: tc.asOf})
		if err != nil {
			t.Fatalf("AsOf %v: %v", tc.asOf, err)
		}
		nodes, _ := hops(g)
		var edges []string
		for _, e := range g.Edges {
			s := fmt.Sprintf("%s>%s@%d", e.From, e.To, e.CreatedAt.Sub(t0)/time.Second)
			if e.RemovedAt != nil {
				s += fmt.Sprintf("-%d", e.RemovedAt.Sub(t0)/time.Second)
			}
			edges = append(edges, s)
		}
		slices.Sort(edges)
		if !reflect.DeepEqual(nodes, tc.nodes) || !reflect.DeepEqual(edges, tc.edges) {
			t.Errorf("AsOf %v:\n got %v %v\nwant %v %v", tc.asOf, nodes, edges, tc.nodes, tc.edges)
		}
	}
	_, err := s.Traverse(context.Background(), lineage.TraversalQuery{Of: "dataset:n3", Direction: lineage.Upstream, Depth: 5, AsOf: ptr(at(4))})
	wantCode(t, "Traverse AsOf before the start existed", err, lineage.ENOTFOUND)
}

func TestPath(t *testing.T) {
	s := MustOpen(t)
	lineageGraph(t, s)
	for _, tc := range []struct {
		from, to lineage.ID
		maxDepth int
		want     []string
	}{
		{"modelversion:m/2", "datasetversion:d/1", 10, []string{"modelversion:m/2>run:r2", "run:r2>modelversion:m/1",
			"modelversion:m/1>run:r1", "run:r1>split:train", "split:train>datasetversion:d/2", "datasetversion:d/2>datasetversion:d/1"}},
		{"datasetversion:d/1", "modelversion:m/2", 10, []string{"datasetversion:d/2>datasetversion:d/1", "split:train>datasetversion:d/2",
			"run:r1>split:train", "modelversion:m/1>run:r1", "run:r2>modelversion:m/1", "modelversion:m/2>run:r2"}},
		{"run:r1", "codeversion:c", 1, []string{"run:r1>codeversion:c"}},
		{"modelversion:m/2", "datasetversion:d/1", 5, nil},
		{"modelversion:m/1", "model:m", 10, nil},      // grouping edges are not provenance
		{"split:train", "split:test", 10, nil},        // siblings: no directed path
		{"artifact:a", "datasetversion:d/1", 10, nil}, // disconnected
		{"artifact:a", "artifact:nope", 10, nil},      // missing
		{"modelversion:m/1", "modelversion:m/1", 10, []string{}},
	} {
		p, err := s.Path(context.Background(), tc.from, tc.to, tc.maxDepth)
		if err != nil {
			t.Fatalf("Path(%s, %s): %v", tc.from, tc.to, err)
		}
		got := []string{}
		if p == nil {
			got = nil
		}
		for _, e := range p {
			got = append(got, fmt.Sprintf("%s>%s", e.From, e.To))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Path(%s, %s, %d):\n got %#v\nwant %#v", tc.from, tc.to, tc.maxDepth, got, tc.want)
		}
	}
}

// The index built at Open equals the one kept in step with commits.
func TestIndexAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	s := MustOpenPath(t, path)
	lineageGraph(t, s)
	MustUpdate(t, s, func(tx lineage.Tx) error {
		if err := tx.RemoveEdge("split:test", "datasetversion:d/2", lineage.EdgeSplitOf, at(40)); err != nil {
			return err
		}
		if err := tx.DeleteNode("artifact:b"); err != nil {
			return err
		}
		if err := tx.CreateNode(node("artifact:b", 41)); err != nil { // same ID, new node
			return err
		}
		return tx.AddEdge(edge("artifact:b", "artifact:c", lineage.EdgeDerivedFrom, 42))
	})
	// Enough nodes to grow the node table a few times.
	var many []*lineage.Node
	for i := range 300 {
		many = append(many, node(lineage.NewID(lineage.KindArtifact, "bulk", fmt.Sprint(i)), 50))
	}
	MustCreate(t, s, many, nil)
	before := dumpIndex(s.idx)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = MustOpenPath(t, path)
	if after := dumpIndex(s.idx); !reflect.DeepEqual(after, before) {
		t.Errorf("index after reopen:\n got %v\nwant %v", after, before)
	}
	if n := len(before.Nodes); n != 315 {
		t.Errorf("nodes in index: got %d, want 315", n)
	}
}
