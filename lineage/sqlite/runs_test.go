package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

type testRun struct {
	key     string
	exp     string
	status  lineage.RunStatus
	name    string
	started string
	params  map[string]string
	tags    map[string]string
	metrics map[string]float64
	deleted bool
}

const injection = `x' OR 1=1 --`

var testRuns = []testRun{
	{"r0", "A", lineage.RunFinished, "baseline", "2025-01-01T00:00:00Z",
		map[string]string{"model": "xgb", "lr": "0.1"}, map[string]string{"team": "risk"}, map[string]float64{"auc": 0.95, "loss": 0.2}, false},
	{"r1", "A", lineage.RunFailed, "xgb-deep", "2025-01-02T00:00:00.5Z",
		map[string]string{"model": "xgb", "lr": "0.01"}, map[string]string{"team": "growth"}, map[string]float64{"auc": 0.85}, false},
	{"r2", "B", lineage.RunFinished, "lgbm-1", "2025-01-03T00:00:00+02:00",
		map[string]string{"model": "lgbm"}, map[string]string{"team": "Risk"}, map[string]float64{"auc": 0.91, "loss": 0.3}, false},
	{"r3", "B", lineage.RunRunning, "rf", "2025-01-04T00:00:00Z",
		map[string]string{"model": "rf"}, nil, nil, false},
	{"r4", "A", lineage.RunFinished, "injection", "2025-01-05T00:00:00Z",
		map[string]string{"model": injection, `it's "quoted"`: "yes"}, nil, map[string]float64{"auc": 0.99}, false},
	{"r5", "A", lineage.RunFinished, "deleted", "2025-01-06T00:00:00Z",
		map[string]string{"model": "xgb"}, nil, map[string]float64{"auc": 0.97}, true},
}

func createRuns(tb testing.TB, s *Store, runs []testRun, sec int) {
	tb.Helper()
	MustUpdate(tb, s, func(tx lineage.Tx) error {
		for i, r := range runs {
			started, err := time.Parse(time.RFC3339Nano, r.started)
			if err != nil {
				return err
			}
			props, _ := json.Marshal(&lineage.Run{Name: r.name, Experiment: r.exp, Status: r.status, StartedAt: started})
			n := &lineage.Node{ID: lineage.ID("run:" + r.key), Kind: lineage.KindRun, Parent: lineage.ID("experiment:" + r.exp),
				Name: r.name, Props: props, CreatedAt: at(sec + i)}
			if r.deleted {
				n.DeletedAt = ptr(at(100))
			}
			if err := tx.CreateNode(n); err != nil {
				return err
			}
			if err := tx.SetRunParams(n.ID, r.params); err != nil {
				return err
			}
			if err := tx.SetRunTags(n.ID, r.tags); err != nil {
				return err
			}
			var pts []lineage.MetricPoint
			for k, v := range r.metrics {
				pts = append(pts, lineage.MetricPoint{Key: k, Value: v, Step: 1, Timestamp: at(sec + i)})
			}
			if err := tx.LogMetrics(n.ID, pts); err != nil {
				return err
			}
		}
		return nil
	})
}

func runKeys(p *lineage.RunPage) []string {
	var keys []string
	for _, id := range p.IDs {
		keys = append(keys, id.Key())
	}
	return keys
}

func mustFilter(tb testing.TB, s string) lineage.Filter {
	tb.Helper()
	f, err := lineage.ParseFilter(s)
	if err != nil {
		tb.Fatalf("ParseFilter(%q): %v", s, err)
	}
	return f
}

func mustOrder(tb testing.TB, terms ...string) []lineage.OrderBy {
	tb.Helper()
	o, err := lineage.ParseOrderBy("orderBy", terms)
	if err != nil {
		tb.Fatalf("ParseOrderBy(%q): %v", terms, err)
	}
	return o
}

func TestSearchRunsFilter(t *testing.T) {
	s := MustOpen(t)
	createRuns(t, s, testRuns, 0)
	defer func(f, m int) { probeFirst, probeMax = f, m }(probeFirst, probeMax)
	for _, window := range [][2]int{{256, 2048}, {1, 2}, {0, 0}} { // one by one; adaptive; as sets
		probeFirst, probeMax = window[0], window[1]
		testSearchRunsFilter(t, s)
	}
}

func testSearchRunsFilter(t *testing.T, s *Store) {
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", []string{"r4", "r3", "r2", "r1", "r0"}},
		{"metrics.auc > 0.9", []string{"r4", "r2", "r0"}},
		{"metrics.auc > 0.9 and params.model = 'xgb'", []string{"r0"}},
		{"metrics.auc >= 0.91 and metrics.auc <= 0.95", []string{"r2", "r0"}},
		{"metrics.auc = 0.85", []string{"r1"}},
		{"metrics.loss != 0.2", []string{"r2"}}, // runs without the metric never match
		{"params.model = 'xgb' or tags.team = 'growth'", []string{"r1", "r0"}},
		{"params.model != 'xgb'", []string{"r4", "r3", "r2"}},
		{"tags.team != 'risk'", []string{"r2", "r1"}},
		{"tags.team LIKE 'r%'", []string{"r0"}},
		{"tags.team ILIKE 'r%'", []string{"r2", "r0"}},
		{"tags.team LIKE '_isk'", []string{"r2", "r0"}},
		{"params.model IN ('lgbm', 'rf')", []string{"r3", "r2"}},
		{"params.model NOT IN ('lgbm', 'rf')", []string{"r4", "r1", "r0"}},
		{"params.lr = '0.1'", []string{"r0"}},
		{"attributes.status = 'FINISHED'", []string{"r4", "r2", "r0"}},
		{"status = 'FINISHED' and metrics.loss < 0.25", []string{"r0"}},
		{"attributes.run_name LIKE '%xgb%'", []string{"r1"}},
		{"run_name ILIKE 'LGBM%'", []string{"r2"}},
		{"start_time > '2025-01-02T00:00:00Z'", []string{"r4", "r3", "r2", "r1"}},
		{"start_time > '2025-01-02T22:00:00Z'", []string{"r4", "r3"}},
		{"start_time < 1735776000000", []string{"r0"}}, // unix ms of 2025-01-02T00:00:00Z
		{"start_time = 1735776000500", []string{"r1"}},
		{"end_time < 1735776000000", nil},
		{"experiment = 'B'", []string{"r3", "r2"}},
		{"(metrics.auc > 0.9 or metrics.auc < 0.86) and tags.team = 'risk'", []string{"r0"}},
		{"run_id = 'run:r3'", []string{"r3"}},
		// Injection attempts stay values.
		{"params.model = 'x'' OR 1=1 --'", []string{"r4"}},
		{"params.model = 'x'", nil},
		{`params.model = 'xgb'' OR ''1''=''1'`, nil},
		{`params."it's \"quoted\"" = 'yes'`, []string{"r4"}},
		{"params.model LIKE 'x%'", []string{"r4", "r1", "r0"}},
		{"params.model LIKE 'x\\' OR%'", []string{"r4"}},
		{"params.model LIKE '%--'", []string{"r4"}},
	} {
		p, err := s.SearchRuns(context.Background(), lineage.RunQuery{Filter: mustFilter(t, tc.filter)})
		if err != nil {
			t.Errorf("probe %d-%d, %s: %v", probeFirst, probeMax, tc.filter, err)
			continue
		}
		if got := runKeys(p); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("probe %d-%d, %s: got %v, want %v", probeFirst, probeMax, tc.filter, got, tc.want)
		}
	}
}

func TestSearchRunsUpdates(t *testing.T) {
	s := MustOpen(t)
	createRuns(t, s, testRuns, 0)
	p, err := s.SearchRuns(context.Background(), lineage.RunQuery{Experiment: "experiment:B"})
	if got := runKeys(p); err != nil || !reflect.DeepEqual(got, []string{"r3", "r2"}) {
		t.Errorf("experiment:B: got %v, %v; want [r3 r2]", got, err)
	}

	// UpdateNode keeps the attribute columns in step with props; other
	// kinds never match.
	MustUpdate(t, s, func(tx lineage.Tx) error {
		props, _ := json.Marshal(&lineage.Run{Name: "rf", Experiment: "B", Status: lineage.RunFinished,
			StartedAt: time.Date(2025, 1, 4, 0, 0, 0, 0, time.UTC), EndedAt: ptr(time.Date(2025, 1, 4, 1, 0, 0, 0, time.UTC))})
		if err := tx.UpdateNode(&lineage.Node{ID: "run:r3", Name: "rf", Props: props}); err != nil {
			return err
		}
		return tx.CreateNode(&lineage.Node{ID: "experiment:x", Kind: lineage.KindExperiment, Props: json.RawMessage(`{"status":"FINISHED"}`)})
	})
	for filter, want := range map[string][]string{
		"status = 'FINISHED'":                   {"r4", "r3", "r2", "r0"},
		"status = 'RUNNING'":                    nil,
		"end_time >= '2025-01-04T01:00:00Z'":    {"r3"},
		"end_time < '2025-01-04T01:00:00.001Z'": {"r3"},
	} {
		p, err := s.SearchRuns(context.Background(), lineage.RunQuery{Filter: mustFilter(t, filter)})
		if got := runKeys(p); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("after UpdateNode, %s: got %v, %v; want %v", filter, got, err, want)
		}
	}
}

// Keys and values reach SQLite as parameters, never as SQL text.
func TestSearchRunsParameters(t *testing.T) {
	key := `k" = 1) OR (1=1 --`
	f := lineage.And{
		Left:  lineage.Compare{Field: lineage.FieldRef{Namespace: "params", Key: key}, Op: "=", Values: []any{injection}},
		Right: lineage.Compare{Field: lineage.FieldRef{Namespace: "metrics", Key: "a'b"}, Op: "IN", Values: []any{1.0, "2"}},
	}
	plan, err := planRuns(lineage.RunQuery{Filter: f, OrderBy: []lineage.OrderBy{{Field: lineage.FieldRef{Namespace: "tags", Key: key}}}})
	if err != nil {
		t.Fatal(err)
	}
	newest, err := planRuns(lineage.RunQuery{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sel  runSelect
		want []any
	}{
		// The orderBy join, the key's condition, then the filter.
		{plan.keyed, []any{key, key, injection, "a'b", 1.0, 2.0}},
		{plan.missing, []any{key, key, injection, "a'b", 1.0, 2.0}},
		{newest.keyed, []any{key, injection, "a'b", 1.0, 2.0}},
		{newest.probe, []any{key, injection, "a'b", 1.0, 2.0}},
	} {
		q, args := tc.sel.sql("n.id")
		for _, bad := range []string{injection, key, "a'b", "1=1"} {
			if strings.Contains(q, bad) {
				t.Errorf("SQL text contains %q:\n%s", bad, q)
			}
		}
		if !reflect.DeepEqual(args, tc.want) {
			t.Errorf("args:\n got %#v\nwant %#v", args, tc.want)
		}
		if n := strings.Count(q, "?"); n != len(args) {
			t.Errorf("placeholders: got %d, want %d (one per argument)", n, len(args))
		}
	}

	s := MustOpen(t)
	createRuns(t, s, testRuns, 0)
	p, err := s.SearchRuns(context.Background(), lineage.RunQuery{Filter: f})
	if err != nil || len(p.IDs) != 0 {
		t.Errorf("SearchRuns with hostile keys: got %v, %v; want no runs", p, err)
	}
}

func TestSearchRunsOrder(t *testing.T) {
	s := MustOpen(t)
	createRuns(t, s, testRuns, 0)
	for _, tc := range []struct {
		order []string
		want  []string
	}{
		{[]string{"metrics.auc DESC"}, []string{"r4", "r0", "r2", "r1", "r3"}},
		{[]string{"metrics.auc"}, []string{"r1", "r2", "r0", "r4", "r3"}},
		{[]string{"params.model ASC"}, []string{"r2", "r3", "r4", "r1", "r0"}},
		{[]string{"tags.team"}, []string{"r2", "r1", "r0", "r4", "r3"}},
		{[]string{"start_time DESC"}, []string{"r4", "r3", "r2", "r1", "r0"}},
		{[]string{"attributes.status", "metrics.loss DESC"}, []string{"r1", "r2", "r0", "r4", "r3"}},
	} {
		p, err := s.SearchRuns(context.Background(), lineage.RunQuery{OrderBy: mustOrder(t, tc.order...)})
		if err != nil {
			t.Fatalf("%v: %v", tc.order, err)
		}
		if got := runKeys(p); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("orderBy %v: got %v, want %v", tc.order, got, tc.want)
		}
	}
}

func TestSearchRunsPages(t *testing.T) {
	s := MustOpen(t)
	createRuns(t, s, testRuns, 0)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		q     lineage.RunQuery
		pages [][]string
	}{
		{"newest first", lineage.RunQuery{}, [][]string{{"r4", "r3"}, {"r2", "r1"}, {"r0"}}},
		{"by a metric", lineage.RunQuery{OrderBy: mustOrder(t, "metrics.auc DESC")}, [][]string{{"r4", "r0"}, {"r2", "r1"}, {"r3"}}},
		{"filtered", lineage.RunQuery{Filter: mustFilter(t, "params.model = 'xgb'")}, [][]string{{"r1", "r0"}}},
		{"filtered, pages of 2", lineage.RunQuery{Filter: mustFilter(t, "params.model != 'lgbm'")}, [][]string{{"r4", "r3"}, {"r1", "r0"}}},
	} {
		for _, window := range [][2]int{{256, 2048}, {1, 2}, {0, 0}} {
			probeFirst, probeMax = window[0], window[1]
			t.Run(fmt.Sprint(tc.name, "/probe ", window), func(t *testing.T) {
				q := tc.q
				q.Page.First = 2
				for i, want := range tc.pages {
					p, err := s.SearchRuns(ctx, q)
					if err != nil {
						t.Fatalf("page %d: %v", i, err)
					}
					if got := runKeys(p); !reflect.DeepEqual(got, want) {
						t.Errorf("page %d: got %v, want %v", i, got, want)
					}
					if wantNext := i < len(tc.pages)-1; p.HasNext != wantNext {
						t.Errorf("page %d: HasNext got %v, want %v", i, p.HasNext, wantNext)
					}
					q.Page.After = p.EndCursor
				}
			})
		}
	}
	probeFirst, probeMax = 256, 2048

	// Any page size walks the same order, across the runs that have the
	// sort key and those that do not.
	for _, order := range [][]string{{"metrics.loss DESC"}, {"tags.team", "metrics.auc"}, {"end_time"}, {"params.lr DESC"}} {
		all, err := s.SearchRuns(ctx, lineage.RunQuery{OrderBy: mustOrder(t, order...)})
		if err != nil {
			t.Fatal(err)
		}
		for first := 1; first <= 6; first++ {
			var got []string
			q := lineage.RunQuery{OrderBy: mustOrder(t, order...), Page: lineage.Page{First: first}}
			for range 10 {
				p, err := s.SearchRuns(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, runKeys(p)...)
				if !p.HasNext {
					break
				}
				q.Page.After = p.EndCursor
			}
			if want := runKeys(all); !reflect.DeepEqual(got, want) {
				t.Errorf("orderBy %v in pages of %d: got %v, want %v", order, first, got, want)
			}
		}
	}

	// A keyset page does not shift when newer runs arrive.
	p1, _ := s.SearchRuns(ctx, lineage.RunQuery{Page: lineage.Page{First: 2}})
	createRuns(t, s, []testRun{{key: "r6", exp: "A", status: lineage.RunRunning, started: "2025-02-01T00:00:00Z"}}, 50)
	p2, err := s.SearchRuns(ctx, lineage.RunQuery{Page: lineage.Page{First: 2, After: p1.EndCursor}})
	if got := runKeys(p2); err != nil || !reflect.DeepEqual(got, []string{"r2", "r1"}) {
		t.Errorf("page 2 after an insert: got %v, %v; want [r2 r1]", got, err)
	}

	// A cursor from one kind of query is refused by the other.
	_, err = s.SearchRuns(ctx, lineage.RunQuery{OrderBy: mustOrder(t, "metrics.auc"), Page: lineage.Page{After: p1.EndCursor}})
	wantCode(t, "keyset cursor with orderBy", err, lineage.EINVALID)
	_, err = s.SearchRuns(ctx, lineage.RunQuery{Page: lineage.Page{After: "bm9wZQ"}})
	wantCode(t, "garbage cursor", err, lineage.EINVALID)
}

func TestSearchRunsInvalid(t *testing.T) {
	s := MustOpen(t)
	cmp := func(ns, key, op string, vals ...any) lineage.Compare {
		return lineage.Compare{Field: lineage.FieldRef{Namespace: ns, Key: key}, Op: op, Values: vals}
	}
	ref := func(ns, key string) []lineage.OrderBy {
		return []lineage.OrderBy{{Field: lineage.FieldRef{Namespace: ns, Key: key}}}
	}
	deep := lineage.Filter(cmp("metrics", "a", ">", 1.0))
	for range 200 {
		deep = lineage.And{Left: deep, Right: cmp("metrics", "a", ">", 1.0)}
	}
	for _, tc := range []struct {
		name  string
		q     lineage.RunQuery
		field string
	}{
		{"unknown namespace", lineage.RunQuery{Filter: cmp("nodes", "x", "=", "1")}, "filter"},
		{"unknown operator", lineage.RunQuery{Filter: cmp("params", "x", "~", "1")}, "filter"},
		{"unknown attribute", lineage.RunQuery{Filter: cmp("attributes", "password", "=", "1")}, "filter"},
		{"LIKE on a metric", lineage.RunQuery{Filter: cmp("metrics", "auc", "LIKE", "1%")}, "filter"},
		{"LIKE on a time", lineage.RunQuery{Filter: cmp("attributes", "startedAt", "LIKE", "2025%")}, "filter"},
		{"a metric compared with text", lineage.RunQuery{Filter: cmp("metrics", "auc", ">", "high")}, "filter"},
		{"a time that is not one", lineage.RunQuery{Filter: cmp("attributes", "startedAt", ">", "yesterday")}, "filter"},
		{"IN without values", lineage.RunQuery{Filter: cmp("params", "x", "IN")}, "filter"},
		{"= with two values", lineage.RunQuery{Filter: cmp("params", "x", "=", "a", "b")}, "filter"},
		{"a value of another type", lineage.RunQuery{Filter: cmp("params", "x", "=", true)}, "filter"},
		{"an empty And", lineage.RunQuery{Filter: lineage.And{Left: cmp("params", "x", "=", "a")}}, "filter"},
		{"too many comparisons", lineage.RunQuery{Filter: deep}, "filter"},
		{"orderBy unknown namespace", lineage.RunQuery{OrderBy: ref("nodes", "x")}, "orderBy"},
		{"orderBy unknown attribute", lineage.RunQuery{OrderBy: ref("attributes", "props")}, "orderBy"},
	} {
		_, err := s.SearchRuns(context.Background(), tc.q)
		wantCode(t, tc.name, err, lineage.EINVALID)
		if got := lineage.ErrorField(err); got != tc.field {
			t.Errorf("%s: field got %q, want %q", tc.name, got, tc.field)
		}
	}
}

func TestLikePattern(t *testing.T) {
	for _, tc := range []struct {
		in         string
		glob, like string
	}{
		{"a%b_c", "a*b?c", "a%b_c"},
		{`50\%`, "50%", `50\%`},
		{`a\_b`, "a_b", `a\_b`},
		{"x*y?[z]", "x[*]y[?][[]z]", "x*y?[z]"},
		{`back\\slash`, `back\slash`, `back\\slash`},
		{"ünï%", "ünï*", "ünï%"},
	} {
		if got, err := likePattern(tc.in, true); got != tc.glob || err != nil {
			t.Errorf("likePattern(%q, glob): got %q, %v; want %q", tc.in, got, err, tc.glob)
		}
		if got, err := likePattern(tc.in, false); got != tc.like || err != nil {
			t.Errorf("likePattern(%q, like): got %q, %v; want %q", tc.in, got, err, tc.like)
		}
	}
	if _, err := likePattern(`dangling\`, true); err == nil {
		t.Error("likePattern of a dangling escape: got nil error")
	}
}
