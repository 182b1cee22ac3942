package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

func TestOpenIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "p.db")
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("embedded migrations: got %v, %v", files, err)
	}
	for i := range 3 {
		s, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		if i == 0 {
			MustCreate(t, s, []*lineage.Node{node("dataset:a", 1)}, nil)
		}
		var versions int
		if err := s.rdb.QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&versions); err != nil {
			t.Fatal(err)
		}
		if versions != len(files) {
			t.Errorf("open #%d: got %d applied migrations, want %d", i, versions, len(files))
		}
		MustView(t, s, func(tx lineage.ReadTx) error { _, err := tx.Node("dataset:a"); return err })
		if err := s.Close(); err != nil {
			t.Fatalf("close #%d: %v", i, err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("database file mode: got %v, want 0600", got)
	}
}

func TestOpenTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	s := MustOpenPath(t, path)
	if s2, err := Open(context.Background(), path, Options{}); err == nil {
		s2.Close()
		t.Fatal("a second Open of an open database: got nil error")
	}
	s.Close()
	MustOpenPath(t, path) // free again after Close
}

func TestOpenRefusesNonFiles(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro", "a#b"} {
		if s, err := Open(context.Background(), p, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q): got nil error, want one", p)
		}
	}
}

func TestPragmas(t *testing.T) {
	s := MustOpen(t)
	for _, tc := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.wdb, "journal_mode", "wal"},
		{s.wdb, "synchronous", "2"}, // FULL
		{s.wdb, "foreign_keys", "1"},
		{s.wdb, "busy_timeout", "10000"},
		{s.rdb, "query_only", "1"},
		{s.rdb, "busy_timeout", "10000"},
	} {
		var got string
		if err := tc.db.QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s: got %q, want %q", tc.pragma, got, tc.want)
		}
	}
	if _, err := s.rdb.Exec(`DELETE FROM nodes`); err == nil {
		t.Error("a write on the read pool: got nil error, want query_only to refuse it")
	}
}

func TestNodes(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	deleted := at(5)
	n := &lineage.Node{ID: "run:r1", Kind: lineage.KindRun, Parent: "experiment:e", Name: "Run One",
		Props: json.RawMessage(`{"status":"RUNNING"}`), CreatedAt: at(1), UpdatedAt: at(2), DeletedAt: &deleted}
	MustCreate(t, s, []*lineage.Node{n, node("dataset:d", 3)}, nil)

	err := s.Update(ctx, func(tx lineage.Tx) error { return tx.CreateNode(node("run:r1", 9)) })
	wantCode(t, "CreateNode of an existing ID", err, lineage.ECONFLICT)
	if msg := lineage.ErrorMessage(err); strings.Contains(strings.ToUpper(msg), "INSERT") || strings.Contains(msg, "UNIQUE") {
		t.Errorf("ECONFLICT message leaks SQL: %q", msg)
	}
	err = s.Update(ctx, func(tx lineage.Tx) error {
		return tx.CreateNode(&lineage.Node{ID: "run:bad", Kind: lineage.KindRun, Props: json.RawMessage(`{"a":`)})
	})
	wantCode(t, "CreateNode with invalid props", err, lineage.EINVALID)

	MustView(t, s, func(tx lineage.ReadTx) error {
		got, err := tx.Node("run:r1")
		if err != nil {
			t.Fatalf("Node: %v", err)
		}
		if !reflect.DeepEqual(got, n) {
			t.Errorf("Node:\n got %+v\nwant %+v", got, n)
		}
		_, err = tx.Node("run:nope")
		wantCode(t, "Node of a missing ID", err, lineage.ENOTFOUND)

		nodes, err := tx.Nodes([]lineage.ID{"dataset:d", "run:nope", "run:r1", "dataset:d"})
		if err != nil {
			t.Fatalf("Nodes: %v", err)
		}
		var ids []lineage.ID
		for _, n := range nodes {
			ids = append(ids, n.ID)
		}
		if want := []lineage.ID{"dataset:d", "run:r1", "dataset:d"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("Nodes: got %v, want %v", ids, want)
		}
		return nil
	})

	// UpdateNode replaces name, props, updated and deleted; nothing else.
	upd := &lineage.Node{ID: "run:r1", Kind: "ignored", Parent: "ignored", Name: "renamed", Props: json.RawMessage(`{"status":"FINISHED"}`), UpdatedAt: at(7)}
	MustUpdate(t, s, func(tx lineage.Tx) error { return tx.UpdateNode(upd) })
	err = s.Update(ctx, func(tx lineage.Tx) error { return tx.UpdateNode(node("run:nope", 1)) })
	wantCode(t, "UpdateNode of a missing ID", err, lineage.ENOTFOUND)
	err = s.Update(ctx, func(tx lineage.Tx) error { return tx.DeleteNode("run:nope") })
	wantCode(t, "DeleteNode of a missing ID", err, lineage.ENOTFOUND)
	MustView(t, s, func(tx lineage.ReadTx) error {
		got, _ := tx.Node("run:r1")
		want := &lineage.Node{ID: "run:r1", Kind: lineage.KindRun, Parent: "experiment:e", Name: "renamed",
			Props: json.RawMessage(`{"status":"FINISHED"}`), CreatedAt: at(1), UpdatedAt: at(7)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Node after UpdateNode:\n got %+v\nwant %+v", got, want)
		}
		return nil
	})
}

func TestList(t *testing.T) {
	s := MustOpen(t)
	var nodes []*lineage.Node
	for i := range 7 {
		n := node(lineage.NewID(lineage.KindDatasetVersion, "d", fmt.Sprint(i)), 10-i) // created out of order
		n.Parent = "dataset:d"
		if i%2 == 1 {
			n.Parent = "dataset:other"
		}
		if i == 4 {
			n.DeletedAt = ptr(at(20))
		}
		nodes = append(nodes, n)
	}
	MustCreate(t, s, append(nodes, node("dataset:d", 1)), nil)

	for _, tc := range []struct {
		name   string
		parent lineage.ID
		first  int
		want   [][]string // pages of keys
	}{
		{"all in insertion order", "", 100, [][]string{{"d/0", "d/1", "d/2", "d/3", "d/5", "d/6"}}},
		{"pages of two", "", 2, [][]string{{"d/0", "d/1"}, {"d/2", "d/3"}, {"d/5", "d/6"}}},
		{"one parent", "dataset:d", 2, [][]string{{"d/0", "d/2"}, {"d/6"}}},
		{"no match", "dataset:none", 2, [][]string{nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := ""
			for i, want := range tc.want {
				var p *lineage.NodePage
				MustView(t, s, func(tx lineage.ReadTx) (err error) {
					p, err = tx.List(lineage.KindDatasetVersion, tc.parent, lineage.Page{First: tc.first, After: after})
					return err
				})
				var got []string
				for _, n := range p.Nodes {
					got = append(got, n.ID.Key())
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("page %d: got %v, want %v", i, got, want)
				}
				if wantNext := i < len(tc.want)-1; p.HasNext != wantNext {
					t.Errorf("page %d: HasNext got %v, want %v", i, p.HasNext, wantNext)
				}
				after = p.EndCursor
			}
		})
	}
	err := s.View(context.Background(), func(tx lineage.ReadTx) error {
		_, err := tx.List(lineage.KindDataset, "", lineage.Page{After: "not a cursor"})
		return err
	})
	wantCode(t, "List with a bad cursor", err, lineage.EINVALID)
	if f := lineage.ErrorField(err); f != "after" {
		t.Errorf("List with a bad cursor: field got %q, want %q", f, "after")
	}
}

func TestEdges(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	MustCreate(t, s, []*lineage.Node{node("run:r", 1), node("split:s", 1), node("codeversion:c", 1), node("experiment:e", 1)}, []lineage.Edge{
		{From: "run:r", To: "split:s", Type: lineage.EdgeUsed, Role: "train", CreatedAt: at(3)},
		{From: "run:r", To: "split:s", Type: lineage.EdgeUsed, Role: "validation", CreatedAt: at(2)},
		edge("run:r", "codeversion:c", lineage.EdgeRanCode, 4),
		edge("run:r", "experiment:e", lineage.EdgePartOf, 5),
	})
	// Adding an identical unremoved edge again is a no-op.
	MustUpdate(t, s, func(tx lineage.Tx) error {
		return tx.AddEdge(lineage.Edge{From: "run:r", To: "split:s", Type: lineage.EdgeUsed, Role: "train", CreatedAt: at(9)})
	})
	err := s.Update(ctx, func(tx lineage.Tx) error { return tx.AddEdge(edge("run:r", "split:nope", lineage.EdgeUsed, 1)) })
	wantCode(t, "AddEdge to a missing node", err, lineage.ENOTFOUND)
	err = s.Update(ctx, func(tx lineage.Tx) error { return tx.AddEdge(edge("run:nope", "split:s", lineage.EdgeUsed, 1)) })
	wantCode(t, "AddEdge from a missing node", err, lineage.ENOTFOUND)

	list := func(id lineage.ID, dir lineage.Direction, types ...lineage.EdgeType) []string {
		t.Helper()
		var out []string
		MustView(t, s, func(tx lineage.ReadTx) error {
			edges, err := tx.Edges(id, dir, types...)
			for _, e := range edges {
				out = append(out, fmt.Sprintf("%s-%s/%s->%s@%d", e.From, e.Type, e.Role, e.To, e.CreatedAt.Sub(t0)/time.Second))
			}
			return err
		})
		return out
	}
	for _, tc := range []struct {
		name  string
		id    lineage.ID
		dir   lineage.Direction
		types []lineage.EdgeType
		want  []string
	}{
		{"out, oldest first", "run:r", lineage.Upstream, nil, []string{
			"run:r-USED/validation->split:s@2", "run:r-USED/train->split:s@3", "run:r-RAN_CODE/->codeversion:c@4", "run:r-PART_OF/->experiment:e@5"}},
		{"out, some types", "run:r", lineage.Upstream, []lineage.EdgeType{lineage.EdgeRanCode, lineage.EdgePartOf}, []string{
			"run:r-RAN_CODE/->codeversion:c@4", "run:r-PART_OF/->experiment:e@5"}},
		{"in", "split:s", lineage.Downstream, nil, []string{"run:r-USED/validation->split:s@2", "run:r-USED/train->split:s@3"}},
		{"none", "split:s", lineage.Upstream, nil, nil},
		{"missing node", "split:nope", lineage.Upstream, nil, nil},
	} {
		if got := list(tc.id, tc.dir, tc.types...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	// RemoveEdge hides every unremoved match; adding it again makes a new edge.
	MustUpdate(t, s, func(tx lineage.Tx) error { return tx.RemoveEdge("run:r", "split:s", lineage.EdgeUsed, at(10)) })
	if got := list("split:s", lineage.Downstream); got != nil {
		t.Errorf("after RemoveEdge: got %v, want none", got)
	}
	MustUpdate(t, s, func(tx lineage.Tx) error { return tx.RemoveEdge("run:r", "split:nope", lineage.EdgeUsed, at(10)) })
	MustUpdate(t, s, func(tx lineage.Tx) error {
		return tx.AddEdge(lineage.Edge{From: "run:r", To: "split:s", Type: lineage.EdgeUsed, Role: "train", CreatedAt: at(11)})
	})
	if got, want := list("split:s", lineage.Downstream), []string{"run:r-USED/train->split:s@11"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after re-adding: got %v, want %v", got, want)
	}
	var stored int
	s.rdb.QueryRow(`SELECT count(*) FROM edges`).Scan(&stored)
	if stored != 5 {
		t.Errorf("edge rows (removed ones kept): got %d, want 5", stored)
	}
}

func TestDeleteNodeCascades(t *testing.T) {
	s := MustOpen(t)
	MustCreate(t, s, []*lineage.Node{node("run:r", 1), node("split:s", 1), node("modelversion:m/1", 1)}, []lineage.Edge{
		edge("run:r", "split:s", lineage.EdgeUsed, 2),
		edge("modelversion:m/1", "run:r", lineage.EdgeGeneratedBy, 2),
	})
	MustUpdate(t, s, func(tx lineage.Tx) error {
		if err := tx.SetRunParams("run:r", map[string]string{"lr": "0.1"}); err != nil {
			return err
		}
		if err := tx.SetRunTags("run:r", map[string]string{"team": "risk"}); err != nil {
			return err
		}
		return tx.LogMetrics("run:r", []lineage.MetricPoint{{Key: "auc", Value: 0.9, Step: 1, Timestamp: at(3)}})
	})
	MustUpdate(t, s, func(tx lineage.Tx) error { return tx.DeleteNode("run:r") })
	for _, table := range []string{"edges", "run_params", "run_tags", "run_metrics", "metric_chunks"} {
		var n int
		if err := s.rdb.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s after DeleteNode: got %d rows, want 0", table, n)
		}
	}
	_, err := s.Traverse(context.Background(), lineage.TraversalQuery{Of: "run:r", Direction: lineage.Both, Depth: 3})
	wantCode(t, "Traverse of a deleted node", err, lineage.ENOTFOUND)
	g, err := s.Traverse(context.Background(), lineage.TraversalQuery{Of: "modelversion:m/1", Direction: lineage.Both, Depth: 3})
	if err != nil || len(g.Nodes) != 1 || len(g.Edges) != 0 {
		t.Errorf("Traverse next to a deleted node: got %+v, %v; want the start alone", g, err)
	}
	// The ID can be used again.
	MustCreate(t, s, []*lineage.Node{node("run:r", 5)}, []lineage.Edge{edge("run:r", "split:s", lineage.EdgeUsed, 6)})
	g, err = s.Traverse(context.Background(), lineage.TraversalQuery{Of: "run:r", Direction: lineage.Upstream, Depth: 3})
	if err != nil || len(g.Nodes) != 2 {
		t.Errorf("Traverse of a re-created node: got %+v, %v; want 2 nodes", g, err)
	}
}

func TestNextVersion(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	next := func(c lineage.ID) (v int64) {
		MustUpdate(t, s, func(tx lineage.Tx) (err error) { v, err = tx.NextVersion(c); return err })
		return v
	}
	if got := []int64{next("model:a"), next("model:a"), next("model:b")}; !reflect.DeepEqual(got, []int64{1, 2, 1}) {
		t.Errorf("NextVersion: got %v, want [1 2 1]", got)
	}
	err := s.Update(ctx, func(tx lineage.Tx) error {
		if _, err := tx.NextVersion("model:a"); err != nil {
			return err
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("Update: got %v, want fn's error", err)
	}
	if got := next("model:a"); got != 3 {
		t.Errorf("NextVersion after a rollback: got %d, want 3 (no gap)", got)
	}
}

func TestRunData(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	MustCreate(t, s, []*lineage.Node{node("run:a", 1), node("run:b", 2)}, nil)
	MustUpdate(t, s, func(tx lineage.Tx) error {
		if err := tx.SetRunParams("run:a", map[string]string{"lr": "0.1", "model": "xgb"}); err != nil {
			return err
		}
		if err := tx.SetRunParams("run:a", map[string]string{"lr": "0.2"}); err != nil { // upsert
			return err
		}
		if err := tx.SetRunTags("run:a", map[string]string{"team": "risk"}); err != nil {
			return err
		}
		return tx.LogMetrics("run:a", []lineage.MetricPoint{
			{Key: "loss", Value: 0.5, Step: 1, Timestamp: at(1)},
			{Key: "auc", Value: 0.7, Step: 1, Timestamp: at(1)},
		})
	})
	for _, fn := range []func(tx lineage.Tx) error{
		func(tx lineage.Tx) error { return tx.SetRunParams("run:nope", map[string]string{"a": "b"}) },
		func(tx lineage.Tx) error { return tx.SetRunTags("run:nope", map[string]string{"a": "b"}) },
		func(tx lineage.Tx) error {
			return tx.LogMetrics("run:nope", []lineage.MetricPoint{{Key: "a", Timestamp: at(1)}})
		},
	} {
		wantCode(t, "writing run data of a missing run", s.Update(ctx, fn), lineage.ENOTFOUND)
	}
	var got map[lineage.ID]*lineage.RunData
	MustView(t, s, func(tx lineage.ReadTx) (err error) {
		got, err = tx.RunData([]lineage.ID{"run:a", "run:b"})
		return err
	})
	want := map[lineage.ID]*lineage.RunData{
		"run:a": {
			Params: map[string]string{"lr": "0.2", "model": "xgb"},
			Tags:   map[string]string{"team": "risk"},
			Metrics: []lineage.MetricSummary{
				{Key: "auc", Last: 0.7, LastStep: 1, Min: 0.7, Max: 0.7, Count: 1},
				{Key: "loss", Last: 0.5, LastStep: 1, Min: 0.5, Max: 0.5, Count: 1},
			},
		},
		"run:b": {Params: map[string]string{}, Tags: map[string]string{}, Metrics: []lineage.MetricSummary{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RunData:\n got %v %v\nwant %v %v", got["run:a"], got["run:b"], want["run:a"], want["run:b"])
	}
}

func TestLogMetrics(t *testing.T) {
	s := MustOpen(t)
	MustCreate(t, s, []*lineage.Node{node("run:r", 1)}, nil)
	log := func(pts ...lineage.MetricPoint) {
		t.Helper()
		MustUpdate(t, s, func(tx lineage.Tx) error { return tx.LogMetrics("run:r", pts) })
	}
	p := func(step int64, sec int, v float64) lineage.MetricPoint {
		return lineage.MetricPoint{Key: "loss", Value: v, Step: step, Timestamp: at(sec)}
	}
	log(p(2, 10, 0.4), p(1, 5, 0.9), p(3, 12, 0.5), p(2, 10, 0.4)) // a duplicate within the batch
	log(p(3, 11, 0.45))                                            // older than the last point at step 3
	log(p(3, 11, 0.45))                                            // a retry
	log(p(3, 12, 0.3))                                             // same step and time as a stored point, another value
	log(p(0, 1, math.NaN()), p(4, 0, 1))                           // NaN is kept, but is no min or max
	log(p(4, 0, 1), p(0, 1, math.NaN()))                           // a retry, reordered

	summary := func() lineage.MetricSummary {
		var rd map[lineage.ID]*lineage.RunData
		MustView(t, s, func(tx lineage.ReadTx) (err error) { rd, err = tx.RunData([]lineage.ID{"run:r"}); return err })
		return rd["run:r"].Metrics[0]
	}
	want := lineage.MetricSummary{Key: "loss", Last: 1, LastStep: 4, Min: 0.3, Max: 1, Count: 7}
	if got := summary(); got != want {
		t.Errorf("summary: got %+v, want %+v", got, want)
	}

	history := func(q lineage.MetricHistoryQuery) []string {
		var out []string
		MustView(t, s, func(tx lineage.ReadTx) error {
			pts, err := tx.MetricHistory(q)
			for _, p := range pts {
				out = append(out, fmt.Sprintf("%d@%d=%v", p.Step, p.Timestamp.Sub(t0)/time.Second, p.Value))
			}
			return err
		})
		return out
	}
	for _, tc := range []struct {
		name string
		q    lineage.MetricHistoryQuery
		want []string
	}{
		{"all, by step then time", lineage.MetricHistoryQuery{Run: "run:r", Key: "loss"},
			[]string{"0@1=NaN", "1@5=0.9", "2@10=0.4", "3@11=0.45", "3@12=0.3", "3@12=0.5", "4@0=1"}},
		{"after a step, limited", lineage.MetricHistoryQuery{Run: "run:r", Key: "loss", AfterStep: ptr(int64(1)), Limit: 2},
			[]string{"2@10=0.4", "3@11=0.45"}},
		{"limit inside a step", lineage.MetricHistoryQuery{Run: "run:r", Key: "loss", AfterStep: ptr(int64(2)), Limit: 2},
			[]string{"3@11=0.45", "3@12=0.3"}},
		{"other key", lineage.MetricHistoryQuery{Run: "run:r", Key: "auc"}, nil},
		{"missing run", lineage.MetricHistoryQuery{Run: "run:nope", Key: "loss"}, nil},
	} {
		if got := history(tc.q); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Chunks may overlap in steps; a limited read still returns the first points.
func TestMetricHistoryAcrossChunks(t *testing.T) {
	s := MustOpen(t)
	MustCreate(t, s, []*lineage.Node{node("run:r", 1)}, nil)
	chunk := func(from, to int64, dt int, v float64) {
		var pts []lineage.MetricPoint
		for step := from; step < to; step++ {
			pts = append(pts, lineage.MetricPoint{Key: "x", Value: v, Step: step, Timestamp: at(int(step) + dt)})
		}
		MustUpdate(t, s, func(tx lineage.Tx) error { return tx.LogMetrics("run:r", pts) })
	}
	chunk(20, 30, 0, 3)
	chunk(0, 10, 0, 1)
	chunk(5, 15, 100, 2)
	for _, tc := range []struct {
		after *int64
		limit int
		want  []string
	}{
		{ptr(int64(3)), 5, []string{"4@4=1", "5@5=1", "5@105=2", "6@6=1", "6@106=2"}},
		{ptr(int64(13)), 3, []string{"14@114=2", "20@20=3", "21@21=3"}},
		{ptr(int64(28)), 0, []string{"29@29=3"}},
		{nil, 2, []string{"0@0=1", "1@1=1"}},
	} {
		var got []string
		MustView(t, s, func(tx lineage.ReadTx) error {
			pts, err := tx.MetricHistory(lineage.MetricHistoryQuery{Run: "run:r", Key: "x", AfterStep: tc.after, Limit: tc.limit})
			for _, p := range pts {
				got = append(got, fmt.Sprintf("%d@%d=%v", p.Step, p.Timestamp.Sub(t0)/time.Second, p.Value))
			}
			return err
		})
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("after %v, limit %d: got %v, want %v", tc.after, tc.limit, got, tc.want)
		}
	}
}

func TestPointEncoding(t *testing.T) {
	pts := []point{
		{Step: math.MinInt64, TS: math.MaxInt64, Value: math.Inf(-1)},
		{Step: -5, TS: math.MinInt64, Value: math.Copysign(0, -1)},
		{Step: 0, TS: 0, Value: math.NaN()},
		{Step: 7, TS: 1e18, Value: 0.1},
		{Step: math.MaxInt64, TS: -1, Value: math.MaxFloat64},
	}
	var got []point
	if err := decodePoints(encodePoints(nil, pts), func(p point) { got = append(got, p) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pts) {
		t.Fatalf("decoded %d points, want %d", len(got), len(pts))
	}
	for i := range pts {
		if comparePoints(got[i], pts[i]) != 0 {
			t.Errorf("point %d: got %+v, want %+v", i, got[i], pts[i])
		}
	}
	for _, bad := range [][]byte{nil, {2}, {1}, {1, 5}, {1, 1, 2, 2, 1, 2, 3}} {
		if err := decodePoints(bad, func(point) {}); err == nil {
			t.Errorf("decodePoints(%v): got nil error", bad)
		}
	}
}

func TestTransitionsAndIdempotency(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	MustUpdate(t, s, func(tx lineage.Tx) error {
		for _, tr := range []lineage.Transition{
			{ModelVersion: "modelversion:m/1", From: lineage.StageStaging, To: lineage.StageProduction, Actor: "ci", Reason: "b", At: at(2)},
			{ModelVersion: "modelversion:m/1", From: lineage.StageNone, To: lineage.StageStaging, Actor: "ci", Reason: "a", At: at(1)},
			{ModelVersion: "modelversion:m/2", From: lineage.StageProduction, To: lineage.StageArchived, Actor: "bob", At: at(3), Rollback: true},
			{ModelVersion: "modelversion:m/3", From: lineage.StageNone, To: lineage.StageStaging, At: at(0)},
		} {
			if err := tx.AddTransition(tr); err != nil {
				return err
			}
		}
		return tx.PutIdempotency(lineage.IdempotencyRecord{Key: "k1", Operation: "op", Digest: "d", Result: "model:m", CreatedAt: at(1)})
	})
	MustView(t, s, func(tx lineage.ReadTx) error {
		trail, err := tx.Transitions([]lineage.ID{"modelversion:m/1", "modelversion:m/2"})
		if err != nil {
			return err
		}
		var got []string
		for _, tr := range trail {
			got = append(got, fmt.Sprintf("%s %s>%s %s %s %v %v", tr.ModelVersion, tr.From, tr.To, tr.Actor, tr.Reason, int64(tr.At.Sub(t0)/time.Second), tr.Rollback))
		}
		want := []string{ // commit order, not time order
			"modelversion:m/1 STAGING>PRODUCTION ci b 2 false",
			"modelversion:m/1 NONE>STAGING ci a 1 false",
			"modelversion:m/2 PRODUCTION>ARCHIVED bob  3 true",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Transitions:\n got %q\nwant %q", got, want)
		}
		rec, err := tx.Idempotency("k1")
		if want := (&lineage.IdempotencyRecord{Key: "k1", Operation: "op", Digest: "d", Result: "model:m", CreatedAt: at(1)}); err != nil || !reflect.DeepEqual(rec, want) {
			t.Errorf("Idempotency: got %+v, %v; want %+v", rec, err, want)
		}
		_, err = tx.Idempotency("k2")
		wantCode(t, "Idempotency of a missing key", err, lineage.ENOTFOUND)
		return nil
	})
	err := s.Update(ctx, func(tx lineage.Tx) error {
		return tx.PutIdempotency(lineage.IdempotencyRecord{Key: "k1", Operation: "op", Digest: "other"})
	})
	wantCode(t, "PutIdempotency of an existing key", err, lineage.ECONFLICT)
}

func TestEvents(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	var seqs []int64
	MustUpdate(t, s, func(tx lineage.Tx) error {
		for i, m := range []string{"a", "b", "a", "a"} {
			last, err := tx.LastModelSeq(m)
			if err != nil {
				return err
			}
			e := &lineage.Event{ID: fmt.Sprint("e", i), Model: m, ModelSeq: last + 1, Type: lineage.EventStageChanged,
				Payload: json.RawMessage(`{"i":` + fmt.Sprint(i) + `}`), CreatedAt: at(i)}
			if err := tx.AddEvent(e); err != nil {
				return err
			}
			seqs = append(seqs, e.Seq)
		}
		return nil
	})
	if !reflect.DeepEqual(seqs, []int64{1, 2, 3, 4}) {
		t.Errorf("AddEvent seqs: got %v, want [1 2 3 4]", seqs)
	}
	err := s.Update(ctx, func(tx lineage.Tx) error {
		return tx.AddEvent(&lineage.Event{ID: "e0", Model: "a", ModelSeq: 9, Type: lineage.EventRolledBack})
	})
	wantCode(t, "AddEvent with an existing ID", err, lineage.ECONFLICT)

	for _, tc := range []struct {
		model string
		after int64
		limit int
		want  []string
	}{
		{"", 0, 10, []string{"e0 a/1", "e1 b/1", "e2 a/2", "e3 a/3"}},
		{"", 1, 2, []string{"e1 b/1", "e2 a/2"}},
		{"a", 1, 10, []string{"e2 a/2", "e3 a/3"}},
		{"c", 0, 10, nil},
	} {
		evs, err := s.Events(ctx, tc.model, tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%s %s/%d", e.ID, e.Model, e.ModelSeq))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Events(%q, %d, %d): got %v, want %v", tc.model, tc.after, tc.limit, got, tc.want)
		}
	}
	evs, _ := s.Events(ctx, "b", 0, 1)
	if want := (lineage.Event{Seq: 2, ID: "e1", Model: "b", ModelSeq: 1, Type: lineage.EventStageChanged, Payload: json.RawMessage(`{"i":1}`), CreatedAt: at(1)}); !reflect.DeepEqual(evs[0], want) {
		t.Errorf("Events: got %+v, want %+v", evs[0], want)
	}
	if seq, err := s.LastEventSeq(ctx); seq != 4 || err != nil {
		t.Errorf("LastEventSeq: got %d, %v; want 4", seq, err)
	}
	MustView(t, s, func(tx lineage.ReadTx) error {
		for m, want := range map[string]int64{"a": 3, "b": 1, "zzz": 0} {
			if got, err := tx.LastModelSeq(m); got != want || err != nil {
				t.Errorf("LastModelSeq(%q): got %d, %v; want %d", m, got, err, want)
			}
		}
		return nil
	})
}

// A failed Update leaves nothing behind: not in SQL, not in the index.
func TestUpdateRollsBack(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	MustCreate(t, s, []*lineage.Node{node("dataset:d", 1), node("run:keep", 1)}, []lineage.Edge{edge("run:keep", "dataset:d", lineage.EdgeUsed, 2)})
	before := dumpIndex(s.idx)
	write := func(tx lineage.Tx) error {
		for _, n := range []*lineage.Node{node("run:r", 3), node("modelversion:m/1", 3)} {
			if err := tx.CreateNode(n); err != nil {
				return err
			}
		}
		for _, e := range []lineage.Edge{edge("run:r", "dataset:d", lineage.EdgeUsed, 3), edge("modelversion:m/1", "run:r", lineage.EdgeGeneratedBy, 3)} {
			if err := tx.AddEdge(e); err != nil {
				return err
			}
		}
		if err := tx.RemoveEdge("run:keep", "dataset:d", lineage.EdgeUsed, at(3)); err != nil {
			return err
		}
		if err := tx.DeleteNode("run:keep"); err != nil {
			return err
		}
		if err := tx.SetRunParams("run:r", map[string]string{"a": "b"}); err != nil {
			return err
		}
		if err := tx.LogMetrics("run:r", []lineage.MetricPoint{{Key: "x", Value: 1, Timestamp: at(3)}}); err != nil {
			return err
		}
		if _, err := tx.NextVersion("model:m"); err != nil {
			return err
		}
		return tx.AddEvent(&lineage.Event{ID: "ev", Model: "m", ModelSeq: 1, Type: lineage.EventModelVersionRegistered})
	}
	if err := s.Update(ctx, func(tx lineage.Tx) error {
		if err := write(tx); err != nil {
			t.Fatalf("write: %v", err)
		}
		return errTest
	}); !errors.Is(err, errTest) {
		t.Fatalf("Update: got %v, want fn's error", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Update did not re-panic")
			}
		}()
		s.Update(ctx, func(tx lineage.Tx) error { write(tx); panic("boom") })
	}()

	var rows int
	s.rdb.QueryRow(`SELECT (SELECT count(*) FROM nodes) + (SELECT count(*) FROM edges WHERE removed_at IS NULL) +
		(SELECT count(*) FROM run_params) + (SELECT count(*) FROM metric_chunks) + (SELECT count(*) FROM counters) +
		(SELECT count(*) FROM events)`).Scan(&rows)
	if rows != 3 {
		t.Errorf("rows after rolled-back Updates: got %d, want 3 (2 nodes, 1 edge)", rows)
	}
	if after := dumpIndex(s.idx); !reflect.DeepEqual(after, before) {
		t.Errorf("index after rolled-back Updates:\n got %v\nwant %v", after, before)
	}
	// The writer is usable afterwards.
	MustCreate(t, s, []*lineage.Node{node("run:r", 4)}, nil)
}

// 32 concurrent writers all succeed: writes queue in Go, never on SQLite's lock.
func TestConcurrentUpdates(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	MustCreate(t, s, []*lineage.Node{node("model:m", 1)}, nil)
	const writers, each = 32, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := s.Update(ctx, func(tx lineage.Tx) error {
					v, err := tx.NextVersion("model:m")
					if err != nil {
						return err
					}
					id := lineage.NewID(lineage.KindModelVersion, "m", fmt.Sprint(v))
					if err := tx.CreateNode(node(id, 2)); err != nil {
						return err
					}
					return tx.AddEdge(edge(id, "model:m", lineage.EdgeDerivedFrom, 2))
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d, update %d: %w", w, i, err)
				}
				// Readers run meanwhile.
				if _, err := s.Traverse(ctx, lineage.TraversalQuery{Of: "model:m", Direction: lineage.Downstream, Depth: 1}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	g, err := s.Traverse(ctx, lineage.TraversalQuery{Of: "model:m", Direction: lineage.Downstream, Depth: 1})
	if err != nil || len(g.Nodes) != writers*each+1 {
		t.Fatalf("Traverse: got %d nodes, %v; want %d", len(g.Nodes), err, writers*each+1)
	}
	var maxV, n int
	s.rdb.QueryRow(`SELECT (SELECT value FROM counters), (SELECT count(*) FROM nodes WHERE kind = 'ModelVersion')`).Scan(&maxV, &n)
	if maxV != writers*each || n != writers*each {
		t.Errorf("versions: got counter %d and %d nodes, want %d of each", maxV, n, writers*each)
	}
}

func TestUpdateHonoursContext(t *testing.T) {
	s := MustOpen(t)
	hold, release := make(chan struct{}), make(chan struct{})
	go s.Update(context.Background(), func(tx lineage.Tx) error { close(hold); <-release; return nil })
	<-hold
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := s.Update(ctx, func(tx lineage.Tx) error { return nil })
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Update queued past its deadline: got %v, want context.DeadlineExceeded", err)
	}
}

func TestCloseThenUse(t *testing.T) {
	s := MustOpen(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := context.Background()
	if err := s.Update(ctx, func(tx lineage.Tx) error { return nil }); err == nil {
		t.Error("Update after Close: got nil error")
	}
	if err := s.View(ctx, func(tx lineage.ReadTx) error { return nil }); err == nil {
		t.Error("View after Close: got nil error")
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after Close: got nil error")
	}
}

func TestSearch(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	mk := func(id lineage.ID, name string) *lineage.Node {
		n := node(id, 1)
		n.Name = name
		return n
	}
	gone := mk("dataset:gone", "Churn gone")
	gone.DeletedAt = ptr(at(2))
	MustCreate(t, s, []*lineage.Node{
		mk("model:churn", "churn"),
		mk("dataset:churn-raw", "Churn-Raw"),
		mk("dataset:old-churn", "old_churn"),
		mk("experiment:c", "CHURN experiments"),
		mk("dataset:x", "x50%off"),
		mk("dataset:y", "x500"),
		mk("dataset:u", "Ünïcode Stuff"),
		gone,
	}, nil)
	for _, tc := range []struct {
		text  string
		kinds []lineage.Kind
		limit int
		want  []lineage.ID
	}{
		{"churn", nil, 10, []lineage.ID{"model:churn", "experiment:c", "dataset:churn-raw", "dataset:old-churn"}},
		{"CHURN", []lineage.Kind{lineage.KindDataset}, 10, []lineage.ID{"dataset:churn-raw", "dataset:old-churn"}},
		{"churn", nil, 2, []lineage.ID{"model:churn", "experiment:c"}},
		{"50%", nil, 10, []lineage.ID{"dataset:x"}},
		{"_churn", nil, 10, []lineage.ID{"dataset:old-churn"}},
		{"ünï", nil, 10, []lineage.ID{"dataset:u"}},
		{"nothing", nil, 10, nil},
	} {
		nodes, err := s.Search(ctx, tc.text, tc.kinds, tc.limit)
		if err != nil {
			t.Fatalf("Search(%q): %v", tc.text, err)
		}
		var got []lineage.ID
		for _, n := range nodes {
			got = append(got, n.ID)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Search(%q, %v, %d): got %v, want %v", tc.text, tc.kinds, tc.limit, got, tc.want)
		}
	}
}

func TestFormatError(t *testing.T) {
	s := MustOpen(t)
	var uniq, fk error
	s.Update(context.Background(), func(tx lineage.Tx) error {
		_, uniq = tx.(*txn).tx.Exec(`INSERT INTO counters VALUES ('a', 1), ('a', 2)`)
		_, fk = tx.(*txn).tx.Exec(`INSERT INTO run_params VALUES (12345, 'k', 'v')`)
		return nil
	})
	for _, tc := range []struct {
		err  error
		code string
	}{
		{sql.ErrNoRows, lineage.ENOTFOUND},
		{fmt.Errorf("wrapped: %w", sql.ErrNoRows), lineage.ENOTFOUND},
		{uniq, lineage.ECONFLICT},
		{fk, lineage.ENOTFOUND},
		{errors.New("disk I/O error: SELECT secret FROM x"), lineage.EINTERNAL},
		{lineage.Invalid("f", "bad"), lineage.EINVALID},
	} {
		err := formatError("op", tc.err)
		wantCode(t, fmt.Sprint(tc.err), err, tc.code)
		if msg := lineage.ErrorMessage(err); strings.Contains(msg, "SELECT") || strings.Contains(msg, "INSERT") {
			t.Errorf("formatError(%v): message %q leaks SQL", tc.err, msg)
		}
		if tc.code == lineage.EINTERNAL && !errors.Is(err, tc.err) {
			t.Errorf("formatError(%v) does not wrap it", tc.err)
		}
	}
	if formatError("op", nil) != nil {
		t.Error("formatError(nil) is not nil")
	}
}
