package lineagetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
)

func (h *harness) storeTests(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"CreateNode", h.testCreateNode},
		{"UpdateNode", h.testUpdateNode},
		{"SoftDeletedNodes", h.testSoftDeleted},
		{"DeleteNode", h.testDeleteNode},
		{"Nodes", h.testNodes},
		{"List", h.testList},
		{"ListPaging", h.testListPaging},
		{"AddEdgeAndEdges", h.testEdges},
		{"RemoveEdge", h.testRemoveEdge},
		{"NextVersion", h.testNextVersion},
		{"NextVersionConcurrent", h.testNextVersionConcurrent},
		{"SetCounter", h.testSetCounter},
		{"AddRemovedEdge", h.testAddRemovedEdge},
		{"RunParamsAndTags", h.testRunParamsAndTags},
		{"LogMetricsSummaries", h.testMetricSummaries},
		{"MetricHistory", h.testMetricHistory},
		{"Transitions", h.testTransitions},
		{"Idempotency", h.testIdempotency},
		{"Events", h.testEvents},
		{"UpdateAtomicity", h.testUpdateAtomicity},
		{"UpdateErrorPassthrough", h.testUpdateErrorPassthrough},
		{"UpdateReadYourWrites", h.testReadYourWrites},
		{"View", h.testView},
		{"Ping", h.testPing},
		{"Traverse", h.traverseTests},
		{"Path", h.testPath},
		{"SearchRuns", h.searchRunsTests},
		{"Search", h.testSearch},
		{"Docs", h.docsTests},
		{"DumpRestore", h.dumpTests},
	} {
		t.Run(tc.name, tc.fn)
	}
}

// CreateNode inserts a node. ECONFLICT if the ID exists.
// Node returns a node by ID, soft-deleted ones included. ENOTFOUND if absent.
func (h *harness) testCreateNode(t *testing.T) {
	s := h.open(t)
	deleted := mkNode("dataset:old", "", "old", at(1))
	deleted.DeletedAt = ptr(at(5))
	model := &lineage.Node{
		ID: "model:churn", Kind: lineage.KindModel, Name: "Churn",
		Props:     props(map[string]any{"name": "Churn", "aliases": map[string]int{"champion": 1}, "description": "ünïcode ✓ 'q' \"dq\" \\ %_"}),
		CreatedAt: at(3), UpdatedAt: at(4),
	}
	nodes := []*lineage.Node{
		mkNode("datasetversion:customers/1", "dataset:customers", "customers v1", at(2)), // parent created after it: Parent is a plain column
		mkNode("dataset:customers", "", "customers", at(1)),
		model,
		deleted,
		{ID: "environment:0123456789abcdef", Kind: lineage.KindEnvironment, Name: "python 3.12", CreatedAt: at(6), UpdatedAt: at(6), Props: props(map[string]any{})},
	}
	createNodes(t, s, nodes...)
	mustView(t, s, func(tx lineage.ReadTx) error {
		for _, want := range nodes {
			got, err := tx.Node(want.ID)
			if err != nil {
				t.Errorf("Node(%s): %v", want.ID, err)
				continue
			}
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Errorf("Node(%s) round trip (-want +got):\n%s", want.ID, diff)
			}
		}
		_, err := tx.Node("dataset:nope")
		wantCode(t, "Node(absent)", err, lineage.ENOTFOUND)
		return nil
	})

	err := s.Update(bg, func(tx lineage.Tx) error {
		err := tx.CreateNode(mkNode("dataset:customers", "", "impostor", at(9)))
		wantCode(t, "CreateNode(existing) inside the transaction", err, lineage.ECONFLICT)
		return err
	})
	wantCode(t, "Update(CreateNode(existing))", err, lineage.ECONFLICT)
	err = s.Update(bg, func(tx lineage.Tx) error { return tx.CreateNode(mkNode("dataset:old", "", "again", at(9))) })
	wantCode(t, "CreateNode(soft-deleted ID)", err, lineage.ECONFLICT)
	mustView(t, s, func(tx lineage.ReadTx) error {
		got, err := tx.Node("dataset:customers")
		if err != nil || got.Name != "customers" {
			t.Errorf("after a conflicting CreateNode, Node = %+v, %v; want the original", got, err)
		}
		return nil
	})
}

// UpdateNode replaces Name, Props, UpdatedAt and DeletedAt of an existing
// node. ENOTFOUND if absent.
func (h *harness) testUpdateNode(t *testing.T) {
	s := h.open(t)
	orig := mkNode("modelversion:churn/1", "model:churn", "churn v1", at(1))
	createNodes(t, s, mkNode("model:churn", "", "churn", at(1)), orig)

	// The Service updates with Parent "" and whatever it decoded: only the
	// four named fields may change.
	upd := &lineage.Node{ID: orig.ID, Kind: orig.Kind, Parent: "", Name: "churn v1 (renamed)",
		Props: props(map[string]any{"stage": "STAGING"}), CreatedAt: at(50), UpdatedAt: at(2)}
	mustUpdate(t, s, func(tx lineage.Tx) error { return tx.UpdateNode(upd) })
	want := &lineage.Node{ID: orig.ID, Kind: orig.Kind, Parent: "model:churn", Name: "churn v1 (renamed)",
		Props: props(map[string]any{"stage": "STAGING"}), CreatedAt: at(1), UpdatedAt: at(2)}
	mustView(t, s, func(tx lineage.ReadTx) error {
		got, err := tx.Node(orig.ID)
		mustNoErr(t, "Node", err)
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("after UpdateNode (-want +got):\n%s", diff)
		}
		if got := nodeIDs(listAll(t, tx, lineage.KindModelVersion, "model:churn", 10)); !cmp.Equal(got, []lineage.ID{orig.ID}) {
			t.Errorf("List by parent after UpdateNode = %v, want [%s] (UpdateNode must keep Parent)", got, orig.ID)
		}
		return nil
	})

	err := s.Update(bg, func(tx lineage.Tx) error {
		return tx.UpdateNode(mkNode("modelversion:churn/2", "model:churn", "ghost", at(3)))
	})
	wantCode(t, "UpdateNode(absent)", err, lineage.ENOTFOUND)
	mustView(t, s, func(tx lineage.ReadTx) error {
		_, err := tx.Node("modelversion:churn/2")
		wantCode(t, "Node after UpdateNode(absent)", err, lineage.ENOTFOUND)
		return nil
	})
}

// Soft-deleted nodes (DeletedAt set through UpdateNode) are returned by Node
// and Nodes and left out of List; clearing DeletedAt brings them back.
func (h *harness) testSoftDeleted(t *testing.T) {
	s := h.open(t)
	a, b, c := mkNode("dataset:a", "", "a", at(1)), mkNode("dataset:b", "", "b", at(2)), mkNode("dataset:c", "", "c", at(3))
	createNodes(t, s, a, b, c)
	del := cloneNode(b)
	del.DeletedAt, del.UpdatedAt = ptr(at(10)), at(10)
	mustUpdate(t, s, func(tx lineage.Tx) error { return tx.UpdateNode(del) })
	mustView(t, s, func(tx lineage.ReadTx) error {
		got, err := tx.Node(b.ID)
		if err != nil || got.DeletedAt == nil || !got.DeletedAt.Equal(at(10)) {
			t.Errorf("Node(soft-deleted) = %+v, %v; want it with DeletedAt %v", got, err, at(10))
		}
		if got := nodeIDs(listAll(t, tx, lineage.KindDataset, "", 10)); !cmp.Equal(got, []lineage.ID{a.ID, c.ID}) {
			t.Errorf("List = %v, want [%s %s] (soft-deleted left out)", got, a.ID, c.ID)
		}
		ns, err := tx.Nodes([]lineage.ID{c.ID, b.ID, a.ID})
		mustNoErr(t, "Nodes", err)
		if got := nodeIDs(ns); !cmp.Equal(got, []lineage.ID{c.ID, b.ID, a.ID}) {
			t.Errorf("Nodes = %v, want soft-deleted included in order", got)
		}
		return nil
	})
	undel := cloneNode(b)
	undel.UpdatedAt = at(11)
	mustUpdate(t, s, func(tx lineage.Tx) error { return tx.UpdateNode(undel) })
	mustView(t, s, func(tx lineage.ReadTx) error {
		if got := nodeIDs(listAll(t, tx, lineage.KindDataset, "", 10)); !cmp.Equal(got, []lineage.ID{a.ID, b.ID, c.ID}) {
			t.Errorf("List after clearing DeletedAt = %v, want [a b c] in insertion order", got)
		}
		return nil
	})
}

// DeleteNode removes a node and every edge touching it. ENOTFOUND if absent.
func (h *harness) testDeleteNode(t *testing.T) {
	s := h.open(t)
	run, dv, code, mv := lineage.ID("run:r1"), lineage.ID("datasetversion:d/1"), lineage.ID("codeversion:repo@abc1234"), lineage.ID("modelversion:m/1")
	createNodes(t, s, mkNode(run, "", "r1", at(1)), mkNode(dv, "", "d v1", at(1)), mkNode(code, "", "code", at(1)), mkNode(mv, "", "m v1", at(1)))
	addEdges(t, s,
		edge(run, dv, lineage.EdgeUsed, "train", at(2)),
		edge(run, code, lineage.EdgeRanCode, "", at(2)),
		edge(mv, run, lineage.EdgeGeneratedBy, "", at(3)),
	)
	mustUpdate(t, s, func(tx lineage.Tx) error { return tx.DeleteNode(run) })
	mustView(t, s, func(tx lineage.ReadTx) error {
		_, err := tx.Node(run)
		wantCode(t, "Node(hard-deleted)", err, lineage.ENOTFOUND)
		for _, c := range []struct {
			id  lineage.ID
			dir lineage.Direction
		}{{dv, lineage.Downstream}, {code, lineage.Downstream}, {mv, lineage.Upstream}} {
			es, err := tx.Edges(c.id, c.dir)
			mustNoErr(t, "Edges", err)
			if len(es) != 0 {
				t.Errorf("Edges(%s, %s) after DeleteNode(%s) = %v, want none", c.id, c.dir, run, edgeKeys(es))
			}
		}
		ns, err := tx.Nodes([]lineage.ID{dv, run, mv})
		mustNoErr(t, "Nodes", err)
		if got := nodeIDs(ns); !cmp.Equal(got, []lineage.ID{dv, mv}) {
			t.Errorf("Nodes after delete = %v, want [%s %s]", got, dv, mv)
		}
		if got := nodeIDs(listAll(t, tx, lineage.KindRun, "", 10)); len(got) != 0 {
			t.Errorf("List(Run) after delete = %v, want empty", got)
		}
		return nil
	})
	g, err := s.Traverse(bg, lineage.TraversalQuery{Of: mv, Direction: lineage.Upstream, Depth: 5, Limit: 100})
	mustNoErr(t, "Traverse", err)
	if got := hopIDs(g); !cmp.Equal(got, []lineage.ID{mv}) {
		t.Errorf("Traverse after DeleteNode = %v, want only the start", got)
	}
	err = s.Update(bg, func(tx lineage.Tx) error { return tx.DeleteNode(run) })
	wantCode(t, "DeleteNode(absent)", err, lineage.ENOTFOUND)
}

// Nodes returns the nodes that exist among ids, in the order of ids.
func (h *harness) testNodes(t *testing.T) {
	s := h.open(t)
	for i := 12; i >= 1; i-- { // inserted in reverse
		id := lineage.ID(fmt.Sprintf("artifact:a/%d", i))
		createNodes(t, s, mkNode(id, "", string(id), at(i)))
	}
	mustView(t, s, func(tx lineage.ReadTx) error {
		ask := []lineage.ID{"artifact:a/3", "artifact:missing/1", "artifact:a/10", "artifact:a/1", "dataset:nope", "artifact:a/2"}
		ns, err := tx.Nodes(ask)
		mustNoErr(t, "Nodes", err)
		want := []lineage.ID{"artifact:a/3", "artifact:a/10", "artifact:a/1", "artifact:a/2"}
		if got := nodeIDs(ns); !cmp.Equal(got, want) {
			t.Errorf("Nodes(%v) = %v, want %v", ask, got, want)
		}
		for _, n := range ns {
			if n.Kind != lineage.KindArtifact || n.Name != string(n.ID) || len(n.Props) == 0 {
				t.Errorf("Nodes returned an incomplete node: %+v", n)
			}
		}
		ns, err = tx.Nodes(nil)
		if err != nil || len(ns) != 0 {
			t.Errorf("Nodes(nil) = %v, %v; want empty", ns, err)
		}
		return nil
	})
}

// List returns nodes of one kind, optionally with one parent, in insertion
// order, soft-deleted ones left out.
func (h *harness) testList(t *testing.T) {
	s := h.open(t)
	createNodes(t, s, mkNode("model:churn", "", "churn", at(0)), mkNode("model:fraud", "", "fraud", at(0)))
	var churn, all []lineage.ID
	for v := 1; v <= 12; v++ {
		// Insertion order differs from the lexical order of IDs (…/10 < …/2)
		// and from CreatedAt (decreasing), so only insertion order passes.
		c := lineage.ID(fmt.Sprintf("modelversion:churn/%d", v))
		createNodes(t, s, mkNode(c, "model:churn", string(c), at(100-v)))
		churn, all = append(churn, c), append(all, c)
		if v%3 == 0 {
			f := lineage.ID(fmt.Sprintf("modelversion:fraud/%d", v/3))
			createNodes(t, s, mkNode(f, "model:fraud", string(f), at(100-v)))
			all = append(all, f)
		}
	}
	createNodes(t, s, mkNode("run:r1", "experiment:e", "r1", at(1)))
	mustView(t, s, func(tx lineage.ReadTx) error {
		if got := nodeIDs(listAll(t, tx, lineage.KindModelVersion, "model:churn", 100)); !cmp.Equal(got, churn) {
			t.Errorf("List(ModelVersion, model:churn) = %v\nwant insertion order %v", got, churn)
		}
		if got := nodeIDs(listAll(t, tx, lineage.KindModelVersion, "", 100)); !cmp.Equal(got, all) {
			t.Errorf("List(ModelVersion, \"\") = %v\nwant every parent in insertion order %v", got, all)
		}
		if got := nodeIDs(listAll(t, tx, lineage.KindModel, "", 100)); !cmp.Equal(got, []lineage.ID{"model:churn", "model:fraud"}) {
			t.Errorf("List(Model) = %v", got)
		}
		if got := listAll(t, tx, lineage.KindModelVersion, "model:nope", 100); len(got) != 0 {
			t.Errorf("List(ModelVersion, model:nope) = %v, want empty", nodeIDs(got))
		}
		np, err := tx.List(lineage.KindDeployment, "", lineage.Page{First: 10})
		if err != nil || len(np.Nodes) != 0 || np.HasNext {
			t.Errorf("List(Deployment) on none = %+v, %v; want empty, HasNext false", np, err)
		}
		return nil
	})
}

// Paging: First items after the opaque cursor After, every node exactly
// once, cursors that survive inserts and deletes between pages.
func (h *harness) testListPaging(t *testing.T) {
	s := h.open(t)
	var want []lineage.ID
	for v := 1; v <= 11; v++ {
		id := lineage.ID(fmt.Sprintf("datasetversion:d/%d", v))
		createNodes(t, s, mkNode(id, "dataset:d", string(id), at(v)))
		want = append(want, id)
	}
	mustView(t, s, func(tx lineage.ReadTx) error {
		for _, first := range []int{1, 2, 3, 5, 10, 11, 12, 50} {
			got := nodeIDs(listAll(t, tx, lineage.KindDatasetVersion, "dataset:d", first))
			if !cmp.Equal(got, want) {
				t.Errorf("paging with First=%d = %v, want %v", first, got, want)
			}
			np, err := tx.List(lineage.KindDatasetVersion, "dataset:d", lineage.Page{First: first})
			mustNoErr(t, "List", err)
			if wantNext := first < len(want); np.HasNext != wantNext {
				t.Errorf("First=%d of %d: HasNext = %v, want %v", first, len(want), np.HasNext, wantNext)
			}
			if np.EndCursor == "" {
				t.Errorf("First=%d: EndCursor empty on a non-empty page", first)
			}
		}
		return nil
	})

	// Page 1, then a soft delete of the cursor's own node and of a later
	// one, and an insert: the next pages continue after the cursor.
	var page1 *lineage.NodePage
	mustView(t, s, func(tx lineage.ReadTx) error {
		var err error
		page1, err = tx.List(lineage.KindDatasetVersion, "dataset:d", lineage.Page{First: 4})
		return err
	})
	if got := nodeIDs(page1.Nodes); !cmp.Equal(got, want[:4]) {
		t.Fatalf("first page = %v, want %v", got, want[:4])
	}
	mustUpdate(t, s, func(tx lineage.Tx) error {
		for _, id := range []lineage.ID{want[3], want[6]} {
			n, err := tx.Node(id)
			if err != nil {
				return err
			}
			n.DeletedAt = ptr(at(50))
			if err := tx.UpdateNode(n); err != nil {
				return err
			}
		}
		return tx.CreateNode(mkNode("datasetversion:d/12", "dataset:d", "d/12", at(51)))
	})
	var rest []lineage.ID
	mustView(t, s, func(tx lineage.ReadTx) error {
		page := lineage.Page{First: 3, After: page1.EndCursor}
		for i := 0; i < 20; i++ {
			np, err := tx.List(lineage.KindDatasetVersion, "dataset:d", page)
			mustNoErr(t, "List(After)", err)
			rest = append(rest, nodeIDs(np.Nodes)...)
			if !np.HasNext {
				break
			}
			page.After = np.EndCursor
		}
		return nil
	})
	wantRest := []lineage.ID{want[4], want[5], want[7], want[8], want[9], want[10], "datasetversion:d/12"}
	if !cmp.Equal(rest, wantRest) {
		t.Errorf("pages after the cursor (its node soft-deleted since, one more deleted, one inserted) = %v\nwant %v", rest, wantRest)
	}
}

// AddEdge inserts an edge; an identical unremoved edge again is a no-op;
// both ends must exist (ENOTFOUND). Edges returns unremoved edges leaving
// (Upstream) or entering (Downstream) a node, optionally of some types,
// oldest first.
func (h *harness) testEdges(t *testing.T) {
	s := h.open(t)
	run, dv1, dv2, code, exp, mv := lineage.ID("run:r1"), lineage.ID("datasetversion:d/1"), lineage.ID("datasetversion:d/2"),
		lineage.ID("codeversion:repo@abc1234"), lineage.ID("experiment:e"), lineage.ID("modelversion:m/1")
	createNodes(t, s, mkNode(mv, "", "mv", at(0)), mkNode(exp, "", "e", at(0)), mkNode(code, "", "c", at(0)),
		mkNode(dv2, "", "d2", at(0)), mkNode(dv1, "", "d1", at(0)), mkNode(run, "", "r", at(0)))
	e1 := edge(run, dv2, lineage.EdgeUsed, "train", at(1))
	e2 := edge(run, dv1, lineage.EdgeUsed, "test", at(2))
	e3 := edge(run, code, lineage.EdgeRanCode, "", at(3))
	e4 := edge(run, exp, lineage.EdgePartOf, "", at(4))
	e5 := edge(mv, run, lineage.EdgeGeneratedBy, "", at(5))
	e6 := edge(run, dv2, lineage.EdgeUsed, "validation", at(6)) // same ends and type, another role: another edge
	addEdges(t, s, e1, e2, e3)
	addEdges(t, s, e4, e5, e6)
	// Duplicates are no-ops, in the same transaction or a later one.
	addEdges(t, s, edge(run, dv1, lineage.EdgeUsed, "test", at(7)), edge(run, dv1, lineage.EdgeUsed, "test", at(8)))

	err := s.Update(bg, func(tx lineage.Tx) error {
		return tx.AddEdge(edge(run, "datasetversion:nope/1", lineage.EdgeUsed, "train", at(9)))
	})
	wantCode(t, "AddEdge(to absent)", err, lineage.ENOTFOUND)
	err = s.Update(bg, func(tx lineage.Tx) error {
		return tx.AddEdge(edge("modelversion:nope/1", run, lineage.EdgeGeneratedBy, "", at(9)))
	})
	wantCode(t, "AddEdge(from absent)", err, lineage.ENOTFOUND)

	mustView(t, s, func(tx lineage.ReadTx) error {
		for _, c := range []struct {
			id    lineage.ID
			dir   lineage.Direction
			types []lineage.EdgeType
			want  []lineage.Edge
		}{
			{run, lineage.Upstream, nil, []lineage.Edge{e1, e2, e3, e4, e6}},
			{run, lineage.Upstream, []lineage.EdgeType{lineage.EdgeUsed}, []lineage.Edge{e1, e2, e6}},
			{run, lineage.Upstream, []lineage.EdgeType{lineage.EdgeRanCode, lineage.EdgeUsed}, []lineage.Edge{e1, e2, e3, e6}},
			{run, lineage.Upstream, []lineage.EdgeType{lineage.EdgeChildOf}, nil},
			{run, lineage.Downstream, nil, []lineage.Edge{e5}},
			{dv2, lineage.Downstream, nil, []lineage.Edge{e1, e6}},
			{dv2, lineage.Upstream, nil, nil},
			{mv, lineage.Upstream, []lineage.EdgeType{lineage.EdgeGeneratedBy}, []lineage.Edge{e5}},
			{exp, lineage.Downstream, []lineage.EdgeType{lineage.EdgePartOf}, []lineage.Edge{e4}},
		} {
			got, err := tx.Edges(c.id, c.dir, c.types...)
			mustNoErr(t, "Edges", err)
			if diff := cmp.Diff(c.want, got, cmpOpts); diff != "" {
				t.Errorf("Edges(%s, %s, %v) oldest first (-want +got):\n%s", c.id, c.dir, c.types, diff)
			}
		}
		return nil
	})
}

// RemoveEdge marks unremoved edges matching from, to and type as removed.
func (h *harness) testRemoveEdge(t *testing.T) {
	s := h.open(t)
	run, dv, code := lineage.ID("run:r1"), lineage.ID("datasetversion:d/1"), lineage.ID("codeversion:c@abc1234")
	createNodes(t, s, mkNode(run, "", "r", at(0)), mkNode(dv, "", "d", at(0)), mkNode(code, "", "c", at(0)))
	train, eval := edge(run, dv, lineage.EdgeUsed, "train", at(1)), edge(run, dv, lineage.EdgeUsed, "eval", at(2))
	derived := edge(run, dv, lineage.EdgeDerivedFrom, "", at(3))
	addEdges(t, s, train, eval, derived, edge(run, code, lineage.EdgeRanCode, "", at(4)))
	mustUpdate(t, s, func(tx lineage.Tx) error {
		if err := tx.RemoveEdge(run, dv, lineage.EdgeUsed, at(10)); err != nil {
			return err
		}
		err := tx.RemoveEdge(run, dv, lineage.EdgeChildOf, at(10))
		wantCode(t, "RemoveEdge(no match)", err, "")
		return nil
	})
	mustView(t, s, func(tx lineage.ReadTx) error {
		got, err := tx.Edges(run, lineage.Upstream)
		mustNoErr(t, "Edges", err)
		want := []edgeKey{keyOf(derived), {run, code, lineage.EdgeRanCode, ""}}
		if diff := cmp.Diff(want, edgeKeys(got)); diff != "" {
			t.Errorf("Edges after RemoveEdge(USED) (-want +got):\n%s", diff)
		}
		got, _ = tx.Edges(dv, lineage.Downstream, lineage.EdgeUsed)
		if len(got) != 0 {
			t.Errorf("Edges(dv, Downstream, USED) after removal = %v, want none", edgeKeys(got))
		}
		return nil
	})
	// Adding a removed edge again makes a new, visible edge.
	again := edge(run, dv, lineage.EdgeUsed, "train", at(11))
	addEdges(t, s, again)
	mustView(t, s, func(tx lineage.ReadTx) error {
		got, err := tx.Edges(run, lineage.Upstream, lineage.EdgeUsed)
		mustNoErr(t, "Edges", err)
		if diff := cmp.Diff([]lineage.Edge{again}, got, cmpOpts); diff != "" {
			t.Errorf("re-added edge (-want +got):\n%s", diff)
		}
		return nil
	})
}

// NextVersion returns the next number of a counter (1, 2, …), atomically
// with the transaction: a rolled-back transaction leaves no gap.
func (h *harness) testNextVersion(t *testing.T) {
	s := h.open(t)
	createNodes(t, s, mkNode("model:churn", "", "churn", at(0)))
	next := func(tx lineage.Tx, c lineage.ID) int64 {
		v, err := tx.NextVersion(c)
		if err != nil {
			t.Fatalf("NextVersion(%s): %v", c, err)
		}
		return v
	}
	var got []int64
	mustUpdate(t, s, func(tx lineage.Tx) error {
		got = append(got, next(tx, "model:churn"), next(tx, "model:churn"), next(tx, "model:churn"))
		got = append(got, next(tx, "artifact:report")) // a counter need not be a node
		return nil
	})
	mustUpdate(t, s, func(tx lineage.Tx) error { got = append(got, next(tx, "model:churn")); return nil })
	errBoom := errors.New("boom")
	err := s.Update(bg, func(tx lineage.Tx) error {
		next(tx, "model:churn")
		next(tx, "artifact:report")
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("Update returned %v, want the fn's error", err)
	}
	mustUpdate(t, s, func(tx lineage.Tx) error {
		got = append(got, next(tx, "model:churn"), next(tx, "artifact:report"), next(tx, "model:Churn"))
		return nil
	})
	want := []int64{1, 2, 3, 1, 4, 5, 2, 1}
	if !cmp.Equal(got, want) {
		t.Errorf("NextVersion sequence = %v, want %v (rolled-back numbers reused; counters independent; IDs are exact strings)", got, want)
	}
}

func (h *harness) testNextVersionConcurrent(t *testing.T) {
	h.skipConcurrency(t)
	s := h.open(t)
	const n = 32
	var wg sync.WaitGroup
	vs, errs := make([]int64, n), make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Update(bg, func(tx lineage.Tx) error {
				v, err := tx.NextVersion("model:race")
				vs[i] = v
				return err
			})
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("writer %d: %v", i, errs[i])
		}
		seen[vs[i]] = true
	}
	for v := int64(1); v <= n; v++ {
		if !seen[v] {
			t.Errorf("%d concurrent NextVersion: %d missing; got %v", n, v, vs)
		}
	}
}

// SetRunParams and SetRunTags upsert; RunData gives runs with none an empty
// RunData in the map.
func (h *harness) testRunParamsAndTags(t *testing.T) {
	s := h.open(t)
	r1, r2, r3 := lineage.ID("run:r1"), lineage.ID("run:r2"), lineage.ID("run:r3")
	createNodes(t, s, mkNode(r1, "", "r1", at(1)), mkNode(r2, "", "r2", at(2)), mkNode(r3, "", "r3", at(3)))
	long := strings.Repeat("x", lineage.MaxValueLen)
	mustUpdate(t, s, func(tx lineage.Tx) error {
		if err := tx.SetRunParams(r1, map[string]string{"lr": "0.1", "depth": "6", "model": "x' OR 1=1 --"}); err != nil {
			return err
		}
		if err := tx.SetRunTags(r1, map[string]string{"team": "risk", "owner": "ann"}); err != nil {
			return err
		}
		return tx.SetRunParams(r2, map[string]string{"train/batch size": long, "unicode": "ünï ✓ \n tab\t"})
	})
	mustUpdate(t, s, func(tx lineage.Tx) error {
		if err := tx.SetRunParams(r1, map[string]string{"depth": "8", "seed": "42"}); err != nil {
			return err
		}
		return tx.SetRunTags(r1, map[string]string{"owner": "bob", "env": "prod"})
	})
	mustView(t, s, func(tx lineage.ReadTx) error {
		got, err := tx.RunData([]lineage.ID{r3, r1, r2})
		mustNoErr(t, "RunData", err)
		want := map[lineage.ID]*lineage.RunData{
			r1: {Params: map[string]string{"lr": "0.1", "depth": "8", "model": "x' OR 1=1 --", "seed": "42"},
				Tags: map[string]string{"team": "risk", "owner": "bob", "env": "prod"}},
			r2: {Params: map[string]string{"train/batch size": long, "unicode": "ünï ✓ \n tab\t"}},
			r3: {},
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("RunData (-want +got):\n%s", diff)
		}
		if got[r3] == nil {
			t.Errorf("RunData: a run with no data must have an empty, non-nil RunData in the map")
		}
		return nil
	})
}

// LogMetrics appends points and updates summaries; Last is the value at the
// highest step (latest timestamp among equal steps), whatever the order the
// points arrive in.
func (h *harness) testMetricSummaries(t *testing.T) {
	s := h.open(t)
	run, other := lineage.ID("run:r1"), lineage.ID("run:r2")
	createNodes(t, s, mkNode(run, "", "r1", at(0)), mkNode(other, "", "r2", at(0)))
	logMetrics(t, s, run,
		pt("train/loss", 5, 0.2, 5), pt("train/loss", 1, 0.9, 1),
		pt("auc", 2, 0.75, 6), // latest timestamp at step 2, inserted first
	)
	logMetrics(t, s, run,
		pt("train/loss", 3, 0.5, 3),
		pt("auc", 2, 0.70, 2), // same step, earlier timestamp, inserted later
		pt("auc", 1, 0.60, 7), // lower step, latest timestamp
	)
	logMetrics(t, s, run, pt("train/loss", 0, -0.05, 8), pt("big", 0, 1e300, 9))
	logMetrics(t, s, other, pt("auc", 9, 0.99, 9))
	mustView(t, s, func(tx lineage.ReadTx) error {
		got, err := tx.RunData([]lineage.ID{run, other})
		mustNoErr(t, "RunData", err)
		want := []lineage.MetricSummary{
			{Key: "auc", Last: 0.75, LastStep: 2, Min: 0.60, Max: 0.75, Count: 3},
			{Key: "big", Last: 1e300, LastStep: 0, Min: 1e300, Max: 1e300, Count: 1},
			{Key: "train/loss", Last: 0.2, LastStep: 5, Min: -0.05, Max: 0.9, Count: 4},
		}
		if diff := cmp.Diff(want, got[run].Metrics); diff != "" {
			t.Errorf("metric summaries, sorted by key (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]lineage.MetricSummary{{Key: "auc", Last: 0.99, LastStep: 9, Min: 0.99, Max: 0.99, Count: 1}}, got[other].Metrics); diff != "" {
			t.Errorf("other run's summaries (-want +got):\n%s", diff)
		}
		return nil
	})
}

func pt(key string, step int64, v float64, ts int) lineage.MetricPoint {
	return lineage.MetricPoint{Key: key, Step: step, Value: v, Timestamp: at(ts)}
}

func logMetrics(tb testing.TB, s lineage.Store, run lineage.ID, pts ...lineage.MetricPoint) {
	tb.Helper()
	mustUpdate(tb, s, func(tx lineage.Tx) error { return tx.LogMetrics(run, pts) })
}

// MetricHistory returns points of one metric ordered by step, then timestamp.
func (h *harness) testMetricHistory(t *testing.T) {
	s := h.open(t)
	run, other := lineage.ID("run:r1"), lineage.ID("run:r2")
	createNodes(t, s, mkNode(run, "", "r1", at(0)), mkNode(other, "", "r2", at(0)))
	logMetrics(t, s, run, pt("loss", 10, 0.1, 10), pt("loss", 2, 0.8, 12), pt("auc", 1, 0.5, 1))
	logMetrics(t, s, run, pt("loss", 2, 0.7, 11), pt("loss", 0, 1.0, 20), pt("loss", 5, 0.4, 5))
	logMetrics(t, s, other, pt("loss", 1, 9, 1))
	all := []lineage.MetricPoint{pt("loss", 0, 1.0, 20), pt("loss", 2, 0.7, 11), pt("loss", 2, 0.8, 12), pt("loss", 5, 0.4, 5), pt("loss", 10, 0.1, 10)}
	mustView(t, s, func(tx lineage.ReadTx) error {
		for _, c := range []struct {
			name string
			q    lineage.MetricHistoryQuery
			want []lineage.MetricPoint
		}{
			{"all", lineage.MetricHistoryQuery{Run: run, Key: "loss", Limit: 100}, all},
			{"AfterStep 2", lineage.MetricHistoryQuery{Run: run, Key: "loss", AfterStep: ptr(int64(2)), Limit: 100}, all[3:]},
			{"AfterStep 0 Limit 2", lineage.MetricHistoryQuery{Run: run, Key: "loss", AfterStep: ptr(int64(0)), Limit: 2}, all[1:3]},
			{"Limit 1", lineage.MetricHistoryQuery{Run: run, Key: "loss", Limit: 1}, all[:1]},
			{"AfterStep past the end", lineage.MetricHistoryQuery{Run: run, Key: "loss", AfterStep: ptr(int64(10)), Limit: 100}, nil},
			{"unknown key", lineage.MetricHistoryQuery{Run: run, Key: "nope", Limit: 100}, nil},
			{"other run", lineage.MetricHistoryQuery{Run: other, Key: "loss", Limit: 100}, []lineage.MetricPoint{pt("loss", 1, 9, 1)}},
		} {
			got, err := tx.MetricHistory(c.q)
			mustNoErr(t, "MetricHistory", err)
			if diff := cmp.Diff(c.want, got, cmpOpts); diff != "" {
				t.Errorf("MetricHistory %s (-want +got):\n%s", c.name, diff)
			}
		}
		return nil
	})
}

// AddTransition appends to a version's audit trail; Transitions returns
// the trails of the given versions, oldest first — in the order the
// transitions were added, which RollbackModel relies on, not by At.
func (h *harness) testTransitions(t *testing.T) {
	s := h.open(t)
	v1, v2, v3 := lineage.ID("modelversion:m/1"), lineage.ID("modelversion:m/2"), lineage.ID("modelversion:m/3")
	createNodes(t, s, mkNode(v1, "model:m", "v1", at(0)), mkNode(v2, "model:m", "v2", at(0)), mkNode(v3, "model:m", "v3", at(0)))
	tr := []lineage.Transition{
		{ModelVersion: v1, From: lineage.StageNone, To: lineage.StageStaging, Actor: "ann", Reason: "ready ✓", At: at(1)},
		{ModelVersion: v2, From: lineage.StageNone, To: lineage.StageStaging, Actor: "bob", At: at(2)},
		{ModelVersion: v1, From: lineage.StageStaging, To: lineage.StageProduction, Actor: "ann", Reason: "ship it", At: at(3)},
		{ModelVersion: v1, From: lineage.StageProduction, To: lineage.StageArchived, Actor: "ci", Reason: "rollback", At: at(4), Rollback: true},
		// Committed last with an earlier time (a writer whose clock lags):
		// the trail is the order transitions were added, which is the
		// order they happened in.
		{ModelVersion: v2, From: lineage.StageStaging, To: lineage.StageProduction, Actor: "lagging", At: at(3)},
	}
	mustUpdate(t, s, func(tx lineage.Tx) error {
		for _, x := range tr[:2] {
			if err := tx.AddTransition(x); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx lineage.Tx) error {
		for _, x := range tr[2:] {
			if err := tx.AddTransition(x); err != nil {
				return err
			}
		}
		return nil
	})
	mustView(t, s, func(tx lineage.ReadTx) error {
		for _, c := range []struct {
			ids  []lineage.ID
			want []lineage.Transition
		}{
			{[]lineage.ID{v1}, []lineage.Transition{tr[0], tr[2], tr[3]}},
			{[]lineage.ID{v2, v1}, tr},
			{[]lineage.ID{v2}, []lineage.Transition{tr[1], tr[4]}},
			{[]lineage.ID{v3}, nil},
			{nil, nil},
		} {
			got, err := tx.Transitions(c.ids)
			mustNoErr(t, "Transitions", err)
			if diff := cmp.Diff(c.want, got, cmpOpts); diff != "" {
				t.Errorf("Transitions(%v) (-want +got):\n%s", c.ids, diff)
			}
		}
		return nil
	})
}

// PutIdempotency stores a record, ECONFLICT if the key exists; Idempotency
// returns it, ENOTFOUND if absent.
func (h *harness) testIdempotency(t *testing.T) {
	s := h.open(t)
	rec := lineage.IdempotencyRecord{Key: "startRun:k-1", Operation: "startRun", Digest: "sha256:" + strings.Repeat("ab", 32), Result: "run:r1", CreatedAt: at(1)}
	nat := lineage.IdempotencyRecord{Key: "natural:datasetversion:d:sha256:00", Operation: "natural", Result: "datasetversion:d/1", CreatedAt: at(2)}
	mustUpdate(t, s, func(tx lineage.Tx) error {
		if err := tx.PutIdempotency(rec); err != nil {
			return err
		}
		return tx.PutIdempotency(nat)
	})
	err := s.Update(bg, func(tx lineage.Tx) error {
		return tx.PutIdempotency(lineage.IdempotencyRecord{Key: rec.Key, Operation: "startRun", Digest: "sha256:other", Result: "run:r2", CreatedAt: at(3)})
	})
	wantCode(t, "PutIdempotency(existing key)", err, lineage.ECONFLICT)
	// Keys are opaque: another case is another key.
	mustUpdate(t, s, func(tx lineage.Tx) error {
		return tx.PutIdempotency(lineage.IdempotencyRecord{Key: "startRun:K-1", Operation: "startRun", Result: "run:r3", CreatedAt: at(4)})
	})
	mustView(t, s, func(tx lineage.ReadTx) error {
		for _, want := range []lineage.IdempotencyRecord{rec, nat} {
			got, err := tx.Idempotency(want.Key)
			mustNoErr(t, "Idempotency", err)
			if diff := cmp.Diff(&want, got, cmpOpts); diff != "" {
				t.Errorf("Idempotency(%q) (-want +got):\n%s", want.Key, diff)
			}
		}
		_, err := tx.Idempotency("startRun:nope")
		wantCode(t, "Idempotency(absent)", err, lineage.ENOTFOUND)
		return nil
	})
}

// AddEvent appends to the outbox and sets Seq (increasing); Events filters
// by model, afterSeq and limit in Seq order; LastEventSeq and LastModelSeq.
func (h *harness) testEvents(t *testing.T) {
	s := h.open(t)
	seq, err := s.LastEventSeq(bg)
	if err != nil || seq != 0 {
		t.Errorf("LastEventSeq on an empty store = %d, %v; want 0", seq, err)
	}
	evs, err := s.Events(bg, "", 0, 10)
	if err != nil || len(evs) != 0 {
		t.Errorf("Events on an empty store = %v, %v; want none", evs, err)
	}
	mk := func(model string, mseq int64, typ lineage.EventType, ts int) *lineage.Event {
		return &lineage.Event{ID: fmt.Sprintf("evt-%s-%d", model, mseq), Model: model, ModelSeq: mseq, Type: typ,
			Payload: props(map[string]any{"model": model, "version": mseq, "q": "'\"✓"}), CreatedAt: at(ts)}
	}
	var all []lineage.Event
	add := func(es ...*lineage.Event) {
		t.Helper()
		mustUpdate(t, s, func(tx lineage.Tx) error {
			for _, e := range es {
				if err := tx.AddEvent(e); err != nil {
					return err
				}
				if e.Seq <= 0 {
					t.Errorf("AddEvent left Seq = %d, want it set", e.Seq)
				}
				got, err := tx.LastModelSeq(e.Model)
				mustNoErr(t, "LastModelSeq", err)
				if got < e.ModelSeq {
					t.Errorf("LastModelSeq(%s) inside the transaction = %d after adding ModelSeq %d", e.Model, got, e.ModelSeq)
				}
			}
			return nil
		})
		for _, e := range es {
			all = append(all, *e)
		}
	}
	add(mk("churn", 1, lineage.EventModelVersionRegistered, 1), mk("fraud", 1, lineage.EventModelVersionRegistered, 2))
	add(mk("churn", 2, lineage.EventStageChanged, 3))
	// A rolled-back event is never seen.
	err = s.Update(bg, func(tx lineage.Tx) error {
		if err := tx.AddEvent(mk("churn", 3, lineage.EventStageChanged, 4)); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("Update with a failing fn returned nil")
	}
	// ModelSeq is the Service's; LastModelSeq is the highest, not the latest.
	add(mk("churn", 5, lineage.EventAliasSet, 5), mk("churn", 4, lineage.EventAliasDeleted, 6), mk("fraud", 2, lineage.EventDeploymentRecorded, 7))
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Errorf("Seq not increasing in commit order: %d then %d", all[i-1].Seq, all[i].Seq)
		}
	}
	filter := func(model string, after int64) []lineage.Event {
		var out []lineage.Event
		for _, e := range all {
			if (model == "" || e.Model == model) && e.Seq > after {
				out = append(out, e)
			}
		}
		return out
	}
	for _, c := range []struct {
		model string
		after int64
		limit int
	}{
		{"", 0, 100}, {"churn", 0, 100}, {"fraud", 0, 100}, {"nope", 0, 100},
		{"", all[1].Seq, 100}, {"churn", all[0].Seq, 100}, {"", 0, 2}, {"churn", all[2].Seq, 1}, {"", all[len(all)-1].Seq, 100},
	} {
		want := filter(c.model, c.after)
		if len(want) > c.limit {
			want = want[:c.limit]
		}
		got, err := s.Events(bg, c.model, c.after, c.limit)
		mustNoErr(t, "Events", err)
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("Events(%q, after %d, limit %d) (-want +got):\n%s", c.model, c.after, c.limit, diff)
		}
	}
	if seq, err := s.LastEventSeq(bg); err != nil || seq != all[len(all)-1].Seq {
		t.Errorf("LastEventSeq = %d, %v; want %d", seq, err, all[len(all)-1].Seq)
	}
	mustView(t, s, func(tx lineage.ReadTx) error {
		for model, want := range map[string]int64{"churn": 5, "fraud": 2, "nope": 0} {
			if got, err := tx.LastModelSeq(model); err != nil || got != want {
				t.Errorf("LastModelSeq(%q) = %d, %v; want %d", model, got, err, want)
			}
		}
		return nil
	})
}

// Update: every write fn makes is committed together, or none is when fn
// fails — including edges that Traverse sees.
func (h *harness) testUpdateAtomicity(t *testing.T) {
	s := h.open(t)
	a, b, c, run, mv := lineage.ID("artifact:a/1"), lineage.ID("artifact:b/1"), lineage.ID("artifact:c/1"), lineage.ID("run:r1"), lineage.ID("modelversion:m/1")
	createNodes(t, s, mkNode(a, "", "a", at(1)), mkNode(b, "", "b", at(1)), mkNode(c, "", "c", at(1)), mkNode(run, "", "r", at(1)), mkNode(mv, "model:m", "mv", at(1)))
	addEdges(t, s, edge(a, c, lineage.EdgeDerivedFrom, "", at(2)))
	mustUpdate(t, s, func(tx lineage.Tx) error {
		if _, err := tx.NextVersion("model:m"); err != nil {
			return err
		}
		return tx.AddEvent(&lineage.Event{ID: "e1", Model: "m", ModelSeq: 1, Type: lineage.EventModelVersionRegistered, Payload: props(map[string]int{}), CreatedAt: at(2)})
	})
	before := snapshot(t, s)
	headBefore, _ := s.LastEventSeq(bg)

	errBoom := errors.New("boom")
	err := s.Update(bg, func(tx lineage.Tx) error {
		steps := []func() error{
			func() error { return tx.CreateNode(mkNode("artifact:d/1", "", "d", at(3))) },
			func() error { n := mkNode(a, "", "renamed", at(1)); n.UpdatedAt = at(3); return tx.UpdateNode(n) },
			func() error { return tx.AddEdge(edge(a, b, lineage.EdgeDerivedFrom, "", at(3))) },
			func() error { return tx.AddEdge(edge(b, "artifact:d/1", lineage.EdgeDerivedFrom, "", at(3))) },
			func() error { return tx.RemoveEdge(a, c, lineage.EdgeDerivedFrom, at(3)) },
			func() error { _, err := tx.NextVersion("model:m"); return err },
			func() error { return tx.SetRunParams(run, map[string]string{"lr": "0.1"}) },
			func() error { return tx.SetRunTags(run, map[string]string{"team": "risk"}) },
			func() error { return tx.LogMetrics(run, []lineage.MetricPoint{pt("auc", 1, 0.9, 3)}) },
			func() error {
				return tx.AddTransition(lineage.Transition{ModelVersion: mv, From: lineage.StageNone, To: lineage.StageProduction, Actor: "x", At: at(3)})
			},
			func() error {
				return tx.PutIdempotency(lineage.IdempotencyRecord{Key: "k", Operation: "op", Result: a, CreatedAt: at(3)})
			},
			func() error {
				return tx.AddEvent(&lineage.Event{ID: "e2", Model: "m", ModelSeq: 2, Type: lineage.EventStageChanged, Payload: props(map[string]int{}), CreatedAt: at(3)})
			},
			func() error { return tx.DeleteNode(b) },
		}
		for i, step := range steps {
			if err := step(); err != nil {
				t.Errorf("write %d in the failing transaction: %v", i, err)
			}
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("Update returned %v, want an error wrapping fn's error", err)
	}
	wantUnchanged(t, "a failed Update", s, before)
	mustView(t, s, func(tx lineage.ReadTx) error {
		for _, id := range []lineage.ID{"artifact:d/1"} {
			_, err := tx.Node(id)
			wantCode(t, "Node(created in a failed Update)", err, lineage.ENOTFOUND)
		}
		if md, _ := tx.MetricHistory(lineage.MetricHistoryQuery{Run: run, Key: "auc", Limit: 10}); len(md) != 0 {
			t.Errorf("metric history of a failed Update survived: %v", md)
		}
		_, err := tx.Idempotency("k")
		wantCode(t, "Idempotency(put in a failed Update)", err, lineage.ENOTFOUND)
		if got, _ := tx.LastModelSeq("m"); got != 1 {
			t.Errorf("LastModelSeq after a failed Update = %d, want 1", got)
		}
		return nil
	})
	if head, _ := s.LastEventSeq(bg); head != headBefore {
		t.Errorf("LastEventSeq after a failed Update = %d, want %d", head, headBefore)
	}
	for _, q := range []lineage.TraversalQuery{
		{Of: a, Direction: lineage.Upstream, Depth: 5, Limit: 100},
		{Of: b, Direction: lineage.Both, Depth: 5, Limit: 100},
	} {
		g, err := s.Traverse(bg, q)
		mustNoErr(t, "Traverse", err)
		want := map[lineage.ID][]lineage.ID{a: {a, c}, b: {b}}[q.Of]
		if got := sortedIDs(hopIDs(g)); !cmp.Equal(got, want) {
			t.Errorf("Traverse(%s, %s) after a failed Update = %v, want %v (the failed edges must not be visible)", q.Of, q.Direction, got, want)
		}
	}
	mustUpdate(t, s, func(tx lineage.Tx) error {
		v, err := tx.NextVersion("model:m")
		if v != 2 {
			t.Errorf("NextVersion after a failed Update = %d, want 2", v)
		}
		return err
	})
	// And a committed edge is visible to Traverse at once.
	addEdges(t, s, edge(a, b, lineage.EdgeDerivedFrom, "", at(4)))
	g, err := s.Traverse(bg, lineage.TraversalQuery{Of: a, Direction: lineage.Upstream, Depth: 5, Limit: 100})
	mustNoErr(t, "Traverse", err)
	if got := sortedIDs(hopIDs(g)); !cmp.Equal(got, []lineage.ID{a, b, c}) {
		t.Errorf("Traverse after a committed AddEdge = %v, want [a b c]", got)
	}
}

// Errors are *Error with a code: an fn's application error comes back from
// Update with its code and field intact, so the Service's errors reach the
// client.
func (h *harness) testUpdateErrorPassthrough(t *testing.T) {
	s := h.open(t)
	for _, want := range []*lineage.Error{
		{Code: lineage.EINVALID, Field: "points[3].value", Message: "m"},
		{Code: lineage.ECONFLICT, Field: "expectedStage", Message: "m"},
		{Code: lineage.ENOTFOUND, Field: "run", Message: "m"},
	} {
		err := s.Update(bg, func(tx lineage.Tx) error {
			if err := tx.CreateNode(mkNode("artifact:x/1", "", "x", at(1))); err != nil {
				return err
			}
			return want
		})
		wantErr(t, "Update(fn returns *Error)", err, want.Code, want.Field)
		err = s.View(bg, func(tx lineage.ReadTx) error { return want })
		wantErr(t, "View(fn returns *Error)", err, want.Code, want.Field)
	}
	mustView(t, s, func(tx lineage.ReadTx) error {
		_, err := tx.Node("artifact:x/1")
		wantCode(t, "Node after failed Updates", err, lineage.ENOTFOUND)
		return nil
	})
}

// Within one Update, reads see the transaction's own writes, and a read that
// finds nothing (ENOTFOUND) does not spoil the transaction.
func (h *harness) testReadYourWrites(t *testing.T) {
	s := h.open(t)
	x, y, run, mv := lineage.ID("artifact:x/1"), lineage.ID("artifact:y/1"), lineage.ID("run:r1"), lineage.ID("modelversion:m/1")
	mustUpdate(t, s, func(tx lineage.Tx) error {
		if _, err := tx.Node(x); lineage.ErrorCode(err) != lineage.ENOTFOUND {
			t.Errorf("Node(absent) = %v, want ENOTFOUND", err)
		}
		if _, err := tx.Idempotency("k"); lineage.ErrorCode(err) != lineage.ENOTFOUND {
			t.Errorf("Idempotency(absent) = %v, want ENOTFOUND", err)
		}
		for _, n := range []*lineage.Node{mkNode(x, "", "x", at(1)), mkNode(y, "", "y", at(1)), mkNode(run, "experiment:e", "r", at(1)), mkNode(mv, "model:m", "mv", at(1))} {
			if err := tx.CreateNode(n); err != nil {
				return err
			}
		}
		if n, err := tx.Node(x); err != nil || n.Name != "x" {
			t.Errorf("Node(just created) = %v, %v", n, err)
		}
		if got := nodeIDs(listAll(t, tx, lineage.KindArtifact, "", 10)); !cmp.Equal(got, []lineage.ID{x, y}) {
			t.Errorf("List inside the transaction = %v", got)
		}
		if err := tx.AddEdge(edge(x, y, lineage.EdgeDerivedFrom, "", at(1))); err != nil {
			return err
		}
		if es, _ := tx.Edges(y, lineage.Downstream); len(es) != 1 {
			t.Errorf("Edges(just added) = %v", edgeKeys(es))
		}
		if err := tx.SetRunParams(run, map[string]string{"lr": "0.1"}); err != nil {
			return err
		}
		if err := tx.LogMetrics(run, []lineage.MetricPoint{pt("auc", 1, 0.9, 1)}); err != nil {
			return err
		}
		if rd, _ := tx.RunData([]lineage.ID{run}); rd[run] == nil || rd[run].Params["lr"] != "0.1" || len(rd[run].Metrics) != 1 {
			t.Errorf("RunData inside the transaction = %+v", rd[run])
		}
		if ps, _ := tx.MetricHistory(lineage.MetricHistoryQuery{Run: run, Key: "auc", Limit: 10}); len(ps) != 1 {
			t.Errorf("MetricHistory inside the transaction = %v", ps)
		}
		if err := tx.AddTransition(lineage.Transition{ModelVersion: mv, From: lineage.StageNone, To: lineage.StageStaging, At: at(1)}); err != nil {
			return err
		}
		if tr, _ := tx.Transitions([]lineage.ID{mv}); len(tr) != 1 {
			t.Errorf("Transitions inside the transaction = %v", tr)
		}
		if err := tx.PutIdempotency(lineage.IdempotencyRecord{Key: "k", Operation: "op", Result: x, CreatedAt: at(1)}); err != nil {
			return err
		}
		if r, err := tx.Idempotency("k"); err != nil || r.Result != x {
			t.Errorf("Idempotency inside the transaction = %v, %v", r, err)
		}
		n := mkNode(y, "", "y2", at(1))
		if err := tx.UpdateNode(n); err != nil {
			return err
		}
		if got, _ := tx.Node(y); got == nil || got.Name != "y2" {
			t.Errorf("Node after UpdateNode inside the transaction = %v", got)
		}
		if err := tx.DeleteNode(x); err != nil {
			return err
		}
		if _, err := tx.Node(x); lineage.ErrorCode(err) != lineage.ENOTFOUND {
			t.Errorf("Node after DeleteNode inside the transaction: %v, want ENOTFOUND", err)
		}
		return nil
	})
	mustView(t, s, func(tx lineage.ReadTx) error {
		if n, err := tx.Node(y); err != nil || n.Name != "y2" {
			t.Errorf("after commit, Node(y) = %v, %v", n, err)
		}
		if _, err := tx.Idempotency("k"); err != nil {
			t.Errorf("after commit, Idempotency(k): %v", err)
		}
		return nil
	})
}

// View runs fn on a consistent read snapshot.
func (h *harness) testView(t *testing.T) {
	s := h.open(t)
	createNodes(t, s, mkNode("artifact:a/1", "", "a", at(1)))
	errBoom := errors.New("boom")
	if err := s.View(bg, func(tx lineage.ReadTx) error { return errBoom }); !errors.Is(err, errBoom) {
		t.Errorf("View returned %v, want fn's error", err)
	}
	// A write that commits while a View runs is not seen by it. A backend
	// may also make the writer wait for the View: both are consistent.
	done := make(chan error, 1)
	mustView(t, s, func(tx lineage.ReadTx) error {
		n1 := len(listAll(t, tx, lineage.KindArtifact, "", 10))
		go func() {
			done <- s.Update(bg, func(tx lineage.Tx) error { return tx.CreateNode(mkNode("artifact:b/1", "", "b", at(2))) })
		}()
		select {
		case err := <-done:
			done <- err
		case <-time.After(300 * time.Millisecond):
		}
		if n2 := len(listAll(t, tx, lineage.KindArtifact, "", 10)); n2 != n1 {
			t.Errorf("View saw %d then %d artifacts: not a snapshot", n1, n2)
		}
		if _, err := tx.Node("artifact:b/1"); lineage.ErrorCode(err) != lineage.ENOTFOUND {
			t.Errorf("View saw a node committed after it began (err %v)", err)
		}
		return nil
	})
	if err := <-done; err != nil {
		t.Fatalf("concurrent Update: %v", err)
	}
	mustView(t, s, func(tx lineage.ReadTx) error {
		if n := len(listAll(t, tx, lineage.KindArtifact, "", 10)); n != 2 {
			t.Errorf("a View after the commit sees %d artifacts, want 2", n)
		}
		return nil
	})
}

func (h *harness) testPing(t *testing.T) {
	s := h.open(t)
	if err := s.Ping(bg); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
