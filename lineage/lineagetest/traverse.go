package lineagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
)

func hopIDs(g *lineage.Subgraph) []lineage.ID {
	out := make([]lineage.ID, len(g.Nodes))
	for i, h := range g.Nodes {
		out[i] = h.ID
	}
	return out
}

func hopDepths(g *lineage.Subgraph) map[lineage.ID]int {
	out := make(map[lineage.ID]int, len(g.Nodes))
	for _, h := range g.Nodes {
		out[h.ID] = h.Depth
	}
	return out
}

// checkSubgraph checks what every Subgraph promises: Of first at depth 0,
// breadth-first order, each node once, edges that are provenance edges
// between returned nodes.
func checkSubgraph(tb testing.TB, q lineage.TraversalQuery, g *lineage.Subgraph) {
	tb.Helper()
	if len(g.Nodes) == 0 || g.Nodes[0].ID != q.Of || g.Nodes[0].Depth != 0 {
		tb.Errorf("Traverse(%s): first hop = %v, want the start at depth 0", q.Of, g.Nodes)
		return
	}
	if q.Limit > 0 && len(g.Nodes) > q.Limit {
		tb.Errorf("Traverse(%s, Limit %d) returned %d nodes", q.Of, q.Limit, len(g.Nodes))
	}
	seen := map[lineage.ID]bool{}
	for i, h := range g.Nodes {
		if seen[h.ID] {
			tb.Errorf("Traverse(%s): %s returned twice", q.Of, h.ID)
		}
		seen[h.ID] = true
		if i > 0 && h.Depth < g.Nodes[i-1].Depth {
			tb.Errorf("Traverse(%s): nodes not in breadth-first order: %v", q.Of, g.Nodes)
		}
		if h.Depth > q.Depth {
			tb.Errorf("Traverse(%s, Depth %d): %s at depth %d", q.Of, q.Depth, h.ID, h.Depth)
		}
	}
	for _, e := range g.Edges {
		if !seen[e.From] || !seen[e.To] {
			tb.Errorf("Traverse(%s): edge %s connects a node not returned", q.Of, keyOf(e))
		}
		if !e.Type.Provenance() {
			tb.Errorf("Traverse(%s): grouping edge %s returned", q.Of, keyOf(e))
		}
	}
}

func mustTraverse(tb testing.TB, s lineage.Store, q lineage.TraversalQuery) *lineage.Subgraph {
	tb.Helper()
	g, err := s.Traverse(bg, q)
	if err != nil {
		tb.Fatalf("Traverse(%+v): %v", q, err)
	}
	checkSubgraph(tb, q, g)
	return g
}

// provenanceWorld is a small realistic graph with every edge type:
//
//	dataset ←VERSION_OF─ dv1 ←SPLIT_OF─ train ←USED{train}─ run ─RAN_CODE→ code
//	                     ↑                                  │ ─PART_OF→ exp
//	dv2 ─DERIVED_FROM────┘            child ─CHILD_OF→ run  ↑ GENERATED_BY
//	                                  model ←VERSION_OF─ mv ┘ ←SERVES─ dep
type provenanceWorld struct {
	dataset, dv1, dv2, train, run, code, exp, child, model, mv, dep lineage.ID
	edges                                                           map[string]lineage.Edge
}

func buildProvenance(tb testing.TB, s lineage.Store) provenanceWorld {
	w := provenanceWorld{
		dataset: "dataset:customers", dv1: "datasetversion:customers/1", dv2: "datasetversion:customers/2",
		train: "split:customers/1/train", run: "run:r1", code: "codeversion:github.com/acme/churn@abc1234",
		exp: "experiment:churn", child: "run:r2", model: "model:churn", mv: "modelversion:churn/1", dep: "deployment:churn/1/prod",
	}
	// Inserted in an order unrelated to the graph's.
	createNodes(tb, s,
		mkNode(w.mv, w.model, "churn v1", at(8)), mkNode(w.dep, w.model, "churn @ prod", at(9)),
		mkNode(w.run, w.exp, "r1", at(5)), mkNode(w.dv2, w.dataset, "customers v2", at(3)),
		mkNode(w.train, w.dv1, "train", at(4)), mkNode(w.dv1, w.dataset, "customers v1", at(2)),
		mkNode(w.dataset, "", "customers", at(1)), mkNode(w.code, "", "code", at(1)), mkNode(w.exp, "", "churn", at(1)),
		mkNode(w.child, w.exp, "r2", at(6)), mkNode(w.model, "", "churn", at(7)),
	)
	w.edges = map[string]lineage.Edge{
		"dv1>dataset":  edge(w.dv1, w.dataset, lineage.EdgeVersionOf, "", at(2)),
		"dv2>dataset":  edge(w.dv2, w.dataset, lineage.EdgeVersionOf, "", at(3)),
		"dv2>dv1":      edge(w.dv2, w.dv1, lineage.EdgeDerivedFrom, "", at(3)),
		"train>dv1":    edge(w.train, w.dv1, lineage.EdgeSplitOf, "", at(4)),
		"run>train":    edge(w.run, w.train, lineage.EdgeUsed, "train", at(5)),
		"run>code":     edge(w.run, w.code, lineage.EdgeRanCode, "", at(5)),
		"run>exp":      edge(w.run, w.exp, lineage.EdgePartOf, "", at(5)),
		"child>run":    edge(w.child, w.run, lineage.EdgeChildOf, "", at(6)),
		"child>exp":    edge(w.child, w.exp, lineage.EdgePartOf, "", at(6)),
		"mv>model":     edge(w.mv, w.model, lineage.EdgeVersionOf, "", at(8)),
		"mv>run":       edge(w.mv, w.run, lineage.EdgeGeneratedBy, "", at(8)),
		"dep>mv":       edge(w.dep, w.mv, lineage.EdgeServes, "", at(9)),
		"child>train2": edge(w.child, w.train, lineage.EdgeUsed, "eval", at(6)),
	}
	for _, k := range []string{"mv>run", "dep>mv", "child>run", "run>exp", "dv2>dv1", "train>dv1", "dv1>dataset",
		"run>code", "run>train", "dv2>dataset", "child>exp", "mv>model", "child>train2"} {
		addEdges(tb, s, w.edges[k])
	}
	return w
}

func (w provenanceWorld) keys(names ...string) []edgeKey {
	var es []lineage.Edge
	for _, n := range names {
		e, ok := w.edges[n]
		if !ok {
			panic("no edge " + n)
		}
		es = append(es, e)
	}
	return sortedEdgeKeys(es)
}

// Traverse walks provenance edges from q.Of, cycle-safe, each node at its
// smallest depth; ENOTFOUND if q.Of does not exist; soft-deleted nodes are
// walked through.
func (h *harness) traverseTests(t *testing.T) {
	t.Run("Directions", func(t *testing.T) {
		s := h.open(t)
		w := buildProvenance(t, s)
		for _, c := range []struct {
			name   string
			q      lineage.TraversalQuery
			depths map[lineage.ID]int
			edges  []edgeKey
		}{
			{"upstream of the model version",
				lineage.TraversalQuery{Of: w.mv, Direction: lineage.Upstream, Depth: 10, Limit: 100},
				map[lineage.ID]int{w.mv: 0, w.run: 1, w.train: 2, w.code: 2, w.dv1: 3},
				w.keys("mv>run", "run>train", "run>code", "train>dv1")},
			{"upstream, depth 2",
				lineage.TraversalQuery{Of: w.mv, Direction: lineage.Upstream, Depth: 2, Limit: 100},
				map[lineage.ID]int{w.mv: 0, w.run: 1, w.train: 2, w.code: 2},
				w.keys("mv>run", "run>train", "run>code")},
			{"upstream, depth 1",
				lineage.TraversalQuery{Of: w.mv, Direction: lineage.Upstream, Depth: 1, Limit: 100},
				map[lineage.ID]int{w.mv: 0, w.run: 1},
				w.keys("mv>run")},
			{"downstream of the first dataset version",
				lineage.TraversalQuery{Of: w.dv1, Direction: lineage.Downstream, Depth: 10, Limit: 100},
				map[lineage.ID]int{w.dv1: 0, w.train: 1, w.dv2: 1, w.run: 2, w.child: 2, w.mv: 3, w.dep: 4},
				w.keys("train>dv1", "dv2>dv1", "run>train", "child>train2", "child>run", "mv>run", "dep>mv")},
			{"downstream of a logical dataset: grouping edges are not followed",
				lineage.TraversalQuery{Of: w.dataset, Direction: lineage.Downstream, Depth: 10, Limit: 100},
				map[lineage.ID]int{w.dataset: 0}, nil},
			{"upstream of an experiment's run: PART_OF not followed",
				lineage.TraversalQuery{Of: w.child, Direction: lineage.Upstream, Depth: 1, Limit: 100},
				map[lineage.ID]int{w.child: 0, w.run: 1, w.train: 1},
				w.keys("child>run", "child>train2")},
			{"both directions from the run",
				lineage.TraversalQuery{Of: w.run, Direction: lineage.Both, Depth: 1, Limit: 100},
				map[lineage.ID]int{w.run: 0, w.train: 1, w.code: 1, w.mv: 1, w.child: 1},
				w.keys("run>train", "run>code", "mv>run", "child>run")},
			// BOTH is upstream and downstream together ("what it was made from
			// … what was made from it, or both"), not an undirected walk: the
			// child run is a sibling consumer of mv's run, neither upstream
			// nor downstream of mv.
			{"both directions from the model version, depth 3",
				lineage.TraversalQuery{Of: w.mv, Direction: lineage.Both, Depth: 3, Limit: 100},
				map[lineage.ID]int{w.mv: 0, w.run: 1, w.dep: 1, w.train: 2, w.code: 2, w.dv1: 3},
				w.keys("mv>run", "dep>mv", "run>train", "run>code", "train>dv1")},
		} {
			t.Run(c.name, func(t *testing.T) {
				g := mustTraverse(t, s, c.q)
				if diff := cmp.Diff(c.depths, hopDepths(g)); diff != "" {
					t.Errorf("nodes and depths (-want +got):\n%s", diff)
				}
				wantEdges(t, g, c.edges, nil)
				if g.Truncated {
					t.Errorf("Truncated = true, want false")
				}
			})
		}
	})

	t.Run("CycleSafeSmallestDepth", func(t *testing.T) {
		s := h.open(t)
		id := func(n string) lineage.ID { return lineage.ID("artifact:" + n) }
		var nodes []*lineage.Node
		for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
			nodes = append(nodes, mkNode(id(n), "", n, at(1)))
		}
		createNodes(t, s, nodes...)
		d := func(from, to string) lineage.Edge { return edge(id(from), id(to), lineage.EdgeDerivedFrom, "", at(2)) }
		// A cycle a→b→c→a plus a→c: c is at depth 1, so d behind it is at
		// depth 2. A depth-first walk that reaches c through b first puts c
		// at 2, and with Depth 2 loses d. e has a self-loop.
		addEdges(t, s, d("a", "b"), d("b", "c"), d("c", "a"), d("c", "d"), d("a", "c"), d("d", "e"), d("e", "e"), d("f", "a"))
		g := mustTraverse(t, s, lineage.TraversalQuery{Of: id("a"), Direction: lineage.Upstream, Depth: 100, Limit: 100})
		if diff := cmp.Diff(map[lineage.ID]int{id("a"): 0, id("b"): 1, id("c"): 1, id("d"): 2, id("e"): 3}, hopDepths(g)); diff != "" {
			t.Errorf("upstream through a cycle (-want +got):\n%s", diff)
		}
		g = mustTraverse(t, s, lineage.TraversalQuery{Of: id("a"), Direction: lineage.Upstream, Depth: 2, Limit: 100})
		if diff := cmp.Diff(map[lineage.ID]int{id("a"): 0, id("b"): 1, id("c"): 1, id("d"): 2}, hopDepths(g)); diff != "" {
			t.Errorf("upstream depth 2 (each node at its smallest depth) (-want +got):\n%s", diff)
		}
		g = mustTraverse(t, s, lineage.TraversalQuery{Of: id("a"), Direction: lineage.Downstream, Depth: 100, Limit: 100})
		if diff := cmp.Diff(map[lineage.ID]int{id("a"): 0, id("c"): 1, id("f"): 1, id("b"): 2}, hopDepths(g)); diff != "" {
			t.Errorf("downstream through a cycle (-want +got):\n%s", diff)
		}
		g = mustTraverse(t, s, lineage.TraversalQuery{Of: id("e"), Direction: lineage.Both, Depth: 1, Limit: 100})
		if diff := cmp.Diff(map[lineage.ID]int{id("e"): 0, id("d"): 1}, hopDepths(g)); diff != "" {
			t.Errorf("both from a node with a self-loop (-want +got):\n%s", diff)
		}
	})

	t.Run("LimitTruncated", func(t *testing.T) {
		s := h.open(t)
		hub := lineage.ID("artifact:hub")
		nodes := []*lineage.Node{mkNode(hub, "", "hub", at(1))}
		var edges []lineage.Edge
		for i := range 5 {
			leaf, leaf2 := lineage.ID(fmt.Sprintf("artifact:leaf%d", i)), lineage.ID(fmt.Sprintf("artifact:deep%d", i))
			nodes = append(nodes, mkNode(leaf, "", string(leaf), at(1)), mkNode(leaf2, "", string(leaf2), at(1)))
			edges = append(edges, edge(hub, leaf, lineage.EdgeDerivedFrom, "", at(2)), edge(leaf, leaf2, lineage.EdgeDerivedFrom, "", at(2)))
		}
		createNodes(t, s, nodes...)
		addEdges(t, s, edges...)
		for _, c := range []struct {
			limit, want, wantDepth1 int
			truncated               bool
		}{
			{1, 1, 0, true}, {3, 3, 2, true}, {6, 6, 5, true}, {7, 7, 5, true}, {10, 10, 5, true}, {11, 11, 5, false}, {12, 11, 5, false}, {1000, 11, 5, false},
		} {
			q := lineage.TraversalQuery{Of: hub, Direction: lineage.Upstream, Depth: 5, Limit: c.limit}
			g := mustTraverse(t, s, q)
			depth1 := 0
			for _, hp := range g.Nodes {
				if hp.Depth == 1 {
					depth1++
				}
			}
			if len(g.Nodes) != c.want || g.Truncated != c.truncated || depth1 != c.wantDepth1 {
				t.Errorf("Limit %d: %d nodes (%d at depth 1), Truncated %v; want %d nodes (%d at depth 1, the nearest first), Truncated %v",
					c.limit, len(g.Nodes), depth1, g.Truncated, c.want, c.wantDepth1, c.truncated)
			}
		}
	})

	t.Run("SoftDeletedWalkedThrough", func(t *testing.T) {
		s := h.open(t)
		a, b, c := lineage.ID("artifact:a"), lineage.ID("artifact:b"), lineage.ID("artifact:c")
		nb := mkNode(b, "", "b", at(1))
		nb.DeletedAt = ptr(at(2))
		createNodes(t, s, mkNode(a, "", "a", at(1)), nb, mkNode(c, "", "c", at(1)))
		addEdges(t, s, edge(a, b, lineage.EdgeDerivedFrom, "", at(1)), edge(b, c, lineage.EdgeDerivedFrom, "", at(1)))
		g := mustTraverse(t, s, lineage.TraversalQuery{Of: a, Direction: lineage.Upstream, Depth: 5, Limit: 10})
		if diff := cmp.Diff(map[lineage.ID]int{a: 0, b: 1, c: 2}, hopDepths(g)); diff != "" {
			t.Errorf("through a soft-deleted node (-want +got):\n%s", diff)
		}
		g = mustTraverse(t, s, lineage.TraversalQuery{Of: b, Direction: lineage.Downstream, Depth: 5, Limit: 10})
		if diff := cmp.Diff(map[lineage.ID]int{b: 0, a: 1}, hopDepths(g)); diff != "" {
			t.Errorf("from a soft-deleted node (-want +got):\n%s", diff)
		}
	})

	t.Run("RemovedEdgesNotFollowed", func(t *testing.T) {
		s := h.open(t)
		a, b, c := lineage.ID("artifact:a"), lineage.ID("artifact:b"), lineage.ID("artifact:c")
		createNodes(t, s, mkNode(a, "", "a", at(1)), mkNode(b, "", "b", at(1)), mkNode(c, "", "c", at(1)))
		addEdges(t, s, edge(a, b, lineage.EdgeDerivedFrom, "", at(2)), edge(a, c, lineage.EdgeDerivedFrom, "", at(2)))
		mustUpdate(t, s, func(tx lineage.Tx) error { return tx.RemoveEdge(a, b, lineage.EdgeDerivedFrom, at(3)) })
		g := mustTraverse(t, s, lineage.TraversalQuery{Of: a, Direction: lineage.Both, Depth: 5, Limit: 10})
		if diff := cmp.Diff(map[lineage.ID]int{a: 0, c: 1}, hopDepths(g)); diff != "" {
			t.Errorf("after RemoveEdge (-want +got):\n%s", diff)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := h.open(t)
		createNodes(t, s, mkNode("artifact:a", "", "a", at(5)))
		for _, dir := range []lineage.Direction{lineage.Upstream, lineage.Downstream, lineage.Both} {
			_, err := s.Traverse(bg, lineage.TraversalQuery{Of: "artifact:nope", Direction: dir, Depth: 3, Limit: 10})
			wantCode(t, fmt.Sprintf("Traverse(absent, %s)", dir), err, lineage.ENOTFOUND)
		}
	})

	t.Run("AsOf", func(t *testing.T) {
		h.skipAsOf(t)
		s := h.open(t)
		a, b, c, d, e := lineage.ID("artifact:a"), lineage.ID("artifact:b"), lineage.ID("artifact:c"), lineage.ID("artifact:d"), lineage.ID("artifact:e")
		// e was created at 9, but its edge claims 2: a node that did not
		// exist at AsOf is left out whatever its edges say.
		createNodes(t, s, mkNode(e, "", "e", at(9)), mkNode(c, "", "c", at(5)), mkNode(a, "", "a", at(1)), mkNode(b, "", "b", at(2)), mkNode(d, "", "d", at(2)))
		addEdges(t, s,
			edge(a, c, lineage.EdgeDerivedFrom, "", at(7)),
			edge(a, b, lineage.EdgeDerivedFrom, "", at(3)),
			edge(b, d, lineage.EdgeUsed, "train", at(3)),
			edge(a, e, lineage.EdgeDerivedFrom, "", at(2)),
			edge(d, b, lineage.EdgeDerivedFrom, "", at(8)), // between nodes returned as of 3: not there yet
		)
		mustUpdate(t, s, func(tx lineage.Tx) error { return tx.RemoveEdge(b, d, lineage.EdgeUsed, at(4)) })
		mustUpdate(t, s, func(tx lineage.Tx) error { return tx.RemoveEdge(a, b, lineage.EdgeDerivedFrom, at(6)) })
		ab, bd, db := edgeKey{a, b, lineage.EdgeDerivedFrom, ""}, edgeKey{b, d, lineage.EdgeUsed, "train"}, edgeKey{d, b, lineage.EdgeDerivedFrom, ""}
		for _, tc := range []struct {
			asOf             *int
			depths           map[lineage.ID]int
			edges, forbidden []edgeKey
		}{
			{ptr(3), map[lineage.ID]int{a: 0, b: 1, d: 2}, []edgeKey{ab, bd}, []edgeKey{db}},
			{ptr(5), map[lineage.ID]int{a: 0, b: 1}, []edgeKey{ab}, nil},
			{ptr(8), map[lineage.ID]int{a: 0, c: 1}, []edgeKey{{a, c, lineage.EdgeDerivedFrom, ""}}, nil},
			{ptr(10), map[lineage.ID]int{a: 0, c: 1, e: 1}, nil, nil},
			{nil, map[lineage.ID]int{a: 0, c: 1, e: 1}, nil, nil},
		} {
			q := lineage.TraversalQuery{Of: a, Direction: lineage.Upstream, Depth: 5, Limit: 100}
			name := "now"
			if tc.asOf != nil {
				// Half a second after the named second: between events.
				q.AsOf = ptr(at(*tc.asOf).Add(500 * time.Millisecond))
				name = fmt.Sprintf("AsOf t+%ds", *tc.asOf)
			}
			g := mustTraverse(t, s, q)
			if diff := cmp.Diff(tc.depths, hopDepths(g)); diff != "" {
				t.Errorf("%s: nodes (-want +got):\n%s", name, diff)
			}
			wantEdges(t, g, tc.edges, tc.forbidden)
		}
		// Downstream as of a time: d was used by b only until 4.
		g := mustTraverse(t, s, lineage.TraversalQuery{Of: d, Direction: lineage.Downstream, Depth: 5, Limit: 100, AsOf: ptr(at(3).Add(500 * time.Millisecond))})
		if diff := cmp.Diff(map[lineage.ID]int{d: 0, b: 1, a: 2}, hopDepths(g)); diff != "" {
			t.Errorf("downstream AsOf 3.5s (-want +got):\n%s", diff)
		}
		_, err := s.Traverse(bg, lineage.TraversalQuery{Of: c, Direction: lineage.Upstream, Depth: 5, Limit: 100, AsOf: ptr(at(4))})
		wantCode(t, "Traverse(Of created after AsOf)", err, lineage.ENOTFOUND)
	})
}

// wantEdges checks that a traversal returned the edges it must (the ones it
// walked) and none of the forbidden ones. Other edges between returned
// nodes are allowed: Subgraph only promises that edges connect returned
// nodes.
func wantEdges(tb testing.TB, g *lineage.Subgraph, must, forbidden []edgeKey) {
	tb.Helper()
	got := map[edgeKey]bool{}
	for _, e := range g.Edges {
		got[keyOf(e)] = true
	}
	for _, k := range must {
		if !got[k] {
			tb.Errorf("edge %s missing from the subgraph; got %v", k, sortedEdgeKeys(g.Edges))
		}
	}
	for _, k := range forbidden {
		if got[k] {
			tb.Errorf("edge %s returned; it did not exist at AsOf", k)
		}
	}
}

// checkPath checks that edges form a path from one node to another,
// following every edge in its direction or every edge against it.
func checkPath(tb testing.TB, from, to lineage.ID, edges []lineage.Edge, wantLen int) {
	tb.Helper()
	if len(edges) != wantLen {
		tb.Errorf("Path(%s, %s) = %v, want %d edges", from, to, edgeKeys(edges), wantLen)
		return
	}
	walk := func(forward bool) bool {
		cur := from
		for _, e := range edges {
			a, b := e.From, e.To
			if !forward {
				a, b = b, a
			}
			if a != cur {
				return false
			}
			cur = b
		}
		return cur == to
	}
	if !walk(true) && !walk(false) {
		tb.Errorf("Path(%s, %s) = %v: not a path from %s to %s in one direction", from, to, edgeKeys(edges), from, to)
	}
}

// Path returns the edges of a shortest provenance path, following edges in
// their direction or against it; nil if none within maxDepth hops.
func (h *harness) testPath(t *testing.T) {
	s := h.open(t)
	w := buildProvenance(t, s)
	for _, c := range []struct {
		from, to lineage.ID
		max      int
		want     int // edges; 0: none
	}{
		{w.mv, w.dv1, 10, 3},    // mv → run → train → dv1, with the edges
		{w.dv1, w.mv, 10, 3},    // the same path, against the edges
		{w.mv, w.code, 10, 2},   // mv → run → code
		{w.dep, w.dv1, 10, 4},   // deployment to data
		{w.dv1, w.dep, 10, 4},   // and back
		{w.child, w.dv1, 10, 2}, // child → train → dv1 is shorter than child → run → train → dv1
		{w.mv, w.dv1, 3, 3},
		{w.mv, w.dv1, 2, 0},       // too far for maxDepth
		{w.dv2, w.mv, 10, 0},      // dv2 → dv1 ← train ← run ← mv changes direction: no path
		{w.mv, w.child, 10, 0},    // mv → run ← child: no path
		{w.mv, w.model, 10, 0},    // VERSION_OF is not provenance
		{w.run, w.exp, 10, 0},     // nor PART_OF
		{w.dataset, w.dv1, 10, 0}, // nor against VERSION_OF
	} {
		got, err := s.Path(bg, c.from, c.to, c.max)
		mustNoErr(t, "Path", err)
		if c.want == 0 {
			if len(got) != 0 {
				t.Errorf("Path(%s, %s, %d) = %v, want none", c.from, c.to, c.max, edgeKeys(got))
			}
			continue
		}
		checkPath(t, c.from, c.to, got, c.want)
	}
	// A removed edge is not a path.
	mustUpdate(t, s, func(tx lineage.Tx) error { return tx.RemoveEdge(w.train, w.dv1, lineage.EdgeSplitOf, at(20)) })
	if got, err := s.Path(bg, w.mv, w.dv1, 10); err != nil || len(got) != 0 {
		t.Errorf("Path over a removed edge = %v, %v; want none", edgeKeys(got), err)
	}
}
