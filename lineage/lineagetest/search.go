package lineagetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
)

// searchRun is one run of the SearchRuns fixture.
type searchRun struct {
	name, exp, runName, pipeline string
	status                       lineage.RunStatus
	started, ended               int // seconds after t0; ended 0: still running
	params, tags                 map[string]string
	metrics                      []lineage.MetricPoint
}

// The fixture, chosen so that filters tell apart Last from Max (r1's auc),
// LIKE from ILIKE (Risk-EU), '_' and '%' wildcards from literals, ties in a
// sort key (auc 0.91) and in startedAt (r6, r7, r8).
var searchRuns = []searchRun{
	{name: "r1", exp: "churn", runName: "baseline", pipeline: "nightly", status: lineage.RunFinished, started: 10, ended: 15,
		params: map[string]string{"model": "xgb", "lr": "0.1"}, tags: map[string]string{"team": "risk"},
		metrics: []lineage.MetricPoint{pt("auc", 1, 0.81, 12), pt("auc", 0, 0.95, 11), pt("loss", 0, 0.5, 11)}},
	{name: "r2", exp: "churn", runName: "xgb-tuned", status: lineage.RunFinished, started: 20, ended: 25,
		params: map[string]string{"model": "xgb", "lr": "0.05"}, tags: map[string]string{"team": "Risk-EU"},
		metrics: []lineage.MetricPoint{pt("auc", 0, 0.91, 21), pt("loss", 0, 0.3, 21)}},
	{name: "r3", exp: "churn", runName: "lgbm", status: lineage.RunFailed, started: 30, ended: 35,
		params: map[string]string{"model": "lgbm", "lr": "0.1"}, tags: map[string]string{"team": "growth"},
		metrics: []lineage.MetricPoint{pt("auc", 0, 0.88, 31), pt("loss", 0, 0.35, 31)}},
	{name: "r4", exp: "churn", runName: "nightly_1", pipeline: "nightly2", status: lineage.RunRunning, started: 40,
		params: map[string]string{"model": "x' OR 1=1 --"}, tags: map[string]string{"team": "risk"},
		metrics: []lineage.MetricPoint{pt("auc", 0, 0.91, 41), pt("loss", 0, 0.3, 41)}},
	{name: "r5", exp: "fraud", runName: "fraud-xgb", status: lineage.RunFinished, started: 50, ended: 55,
		params: map[string]string{"model": "xgb"}, tags: map[string]string{"team": "risk"},
		metrics: []lineage.MetricPoint{pt("auc", 0, 0.99, 51)}},
	{name: "r6", exp: "churn", runName: "nightly%2", status: lineage.RunFinished, started: 60, ended: 65,
		metrics: []lineage.MetricPoint{pt("auc", 0, 0.91, 61)}},
	{name: "r7", exp: "churn", runName: "nightlyX1", status: lineage.RunFinished, started: 60, ended: 65,
		params: map[string]string{"model": "xgb"}, metrics: []lineage.MetricPoint{pt("auc", 0, 0.5, 61)}},
	{name: "r8", exp: "churn", runName: "tie", status: lineage.RunFinished, started: 60, ended: 66,
		params: map[string]string{"model": "lgbm"}, tags: map[string]string{"team": "growth"},
		metrics: []lineage.MetricPoint{pt("auc", 0, 0.91, 61)}},
}

// runID is a run ID like the Service's (a time-ordered UUID), so the order
// of IDs agrees with startedAt.
func runID(r searchRun) lineage.ID {
	return lineage.ID(fmt.Sprintf("run:%012x-7000-8000-%012d", at(r.started).UnixMilli(), r.name[1]))
}

func buildSearchRuns(tb testing.TB, s lineage.Store) map[string]lineage.ID {
	ids := map[string]lineage.ID{}
	createNodes(tb, s, mkNode("experiment:churn", "", "churn", at(0)), mkNode("experiment:fraud", "", "fraud", at(0)))
	// Inserted in neither name nor time order.
	for _, i := range []int{3, 0, 6, 2, 5, 1, 7, 4} {
		r := searchRuns[i]
		run := &lineage.Run{Name: r.runName, Experiment: r.exp, Pipeline: r.pipeline, Status: r.status, StartedAt: at(r.started),
			Trigger: lineage.Trigger{Kind: lineage.TriggerManual, Actor: "ann"}}
		if r.ended != 0 {
			run.EndedAt = ptr(at(r.ended))
		}
		id := runID(r)
		ids[r.name] = id
		n := &lineage.Node{ID: id, Kind: lineage.KindRun, Parent: lineage.NewID(lineage.KindExperiment, r.exp), Name: r.runName,
			Props: props(run), CreatedAt: at(r.started), UpdatedAt: at(r.started)}
		mustUpdate(tb, s, func(tx lineage.Tx) error {
			if err := tx.CreateNode(n); err != nil {
				return err
			}
			if err := tx.AddEdge(edge(id, n.Parent, lineage.EdgePartOf, "", n.CreatedAt)); err != nil {
				return err
			}
			if len(r.params) > 0 {
				if err := tx.SetRunParams(id, r.params); err != nil {
					return err
				}
			}
			if len(r.tags) > 0 {
				if err := tx.SetRunTags(id, r.tags); err != nil {
					return err
				}
			}
			return tx.LogMetrics(id, r.metrics)
		})
	}
	return ids
}

func msOf(n int) string { return fmt.Sprint(at(n).UnixMilli()) }

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

// searchAll pages through SearchRuns, checking page sizes and HasNext.
func searchAll(tb testing.TB, s lineage.Store, q lineage.RunQuery) []lineage.ID {
	tb.Helper()
	var out []lineage.ID
	for i := 0; ; i++ {
		p, err := s.SearchRuns(bg, q)
		if err != nil {
			tb.Fatalf("SearchRuns(%s, %v, %+v): %v", lineage.FormatFilter(q.Filter), q.OrderBy, q.Page, err)
		}
		if len(p.IDs) > q.Page.First {
			tb.Errorf("SearchRuns page of %d runs with First %d", len(p.IDs), q.Page.First)
		}
		out = append(out, p.IDs...)
		if !p.HasNext {
			return out
		}
		if p.EndCursor == "" || i > 100 {
			tb.Fatalf("SearchRuns: HasNext with EndCursor %q after %d pages", p.EndCursor, i)
		}
		q.Page.After = p.EndCursor
	}
}

// SearchRuns returns runs matching q, ordered by q.OrderBy then newest first.
func (h *harness) searchRunsTests(t *testing.T) {
	s := h.open(t)
	ids := buildSearchRuns(t, s)
	names := func(got []lineage.ID) []string {
		var out []string
		for _, id := range got {
			name := string(id)
			for n, x := range ids {
				if x == id {
					name = n
				}
			}
			out = append(out, name)
		}
		return out
	}

	t.Run("Filters", func(t *testing.T) {
		for _, c := range []struct {
			filter, exp string
			want        []string
		}{
			{`metrics.auc > 0.9`, "", []string{"r2", "r4", "r5", "r6", "r8"}}, // r1: max 0.95 but last 0.81
			{`metrics.auc = 0.91`, "", []string{"r2", "r4", "r6", "r8"}},
			{`metrics.auc >= 0.91 and params.model = 'xgb'`, "", []string{"r2", "r5"}},
			{`metrics.loss < 0.4`, "", []string{"r2", "r3", "r4"}},
			{`metrics.missing > 0`, "", nil},
			{`params.model = 'xgb' and tags.team = 'risk'`, "", []string{"r1", "r5"}},
			{`params.model = 'XGB'`, "", nil},                                 // = is case-sensitive
			{`tags.team LIKE 'risk%'`, "", []string{"r1", "r4", "r5"}},        // LIKE is case-sensitive
			{`tags.team ILIKE 'RISK%'`, "", []string{"r1", "r2", "r4", "r5"}}, // ILIKE is not
			{`tags.team LIKE '%s_'`, "", []string{"r1", "r4", "r5"}},
			{`metrics.auc > 0.9 OR (params.lr = '0.1' AND attributes.status = 'FAILED')`, "", []string{"r2", "r3", "r4", "r5", "r6", "r8"}},
			{`(metrics.auc > 0.9 OR params.lr = '0.1') AND attributes.status = 'FAILED'`, "", []string{"r3"}},
			{`params.lr IN ('0.1', '0.05')`, "", []string{"r1", "r2", "r3"}},
			{`attributes.status NOT IN ('FINISHED', 'RUNNING')`, "", []string{"r3"}},
			{`attributes.status != 'FINISHED'`, "", []string{"r3", "r4"}},
			{`status = 'RUNNING'`, "", []string{"r4"}},
			{`run_name LIKE 'nightly%'`, "", []string{"r4", "r6", "r7"}},
			{`run_name LIKE 'nightly_1'`, "", []string{"r4", "r7"}},   // '_' is LIKE's one-character wildcard
			{`attributes.run_name = 'nightly%2'`, "", []string{"r6"}}, // and '=' has none
			{`attributes.run_name = 'nightly_1'`, "", []string{"r4"}},
			{`attributes.start_time >= ` + msOf(40), "", []string{"r4", "r5", "r6", "r7", "r8"}},
			{`attributes.start_time < '2026-03-01T09:00:30Z'`, "", []string{"r1", "r2"}},
			{`attributes.start_time > '2026-03-01T10:00:59+01:00'`, "", []string{"r6", "r7", "r8"}},
			{`attributes.end_time <= ` + msOf(25), "", []string{"r1", "r2"}}, // r4 has no end
			{`attributes.pipeline = 'nightly'`, "", []string{"r1"}},
			// Injection attempts are values like any other.
			{`params.model = 'x'' OR 1=1 --'`, "", []string{"r4"}},
			{`tags.team = 'risk'' OR ''1''=''1'`, "", nil},
			{`params.model = '") OR true //'`, "", nil},
			// Experiment scope.
			{`metrics.auc > 0.9`, "fraud", []string{"r5"}},
			{`params.model = 'xgb' and tags.team = 'risk'`, "churn", []string{"r1"}},
			{``, "fraud", []string{"r5"}},
			{``, "nope", nil},
		} {
			q := lineage.RunQuery{Filter: mustFilter(t, c.filter), Page: lineage.Page{First: 100}}
			if c.exp != "" {
				q.Experiment = lineage.NewID(lineage.KindExperiment, c.exp)
			}
			got := names(searchAll(t, s, q))
			slices.Sort(got)
			if !cmp.Equal(got, c.want, cmpOpts) {
				t.Errorf("SearchRuns(%s, experiment %q) = %v, want %v", c.filter, c.exp, got, c.want)
			}
		}
	})

	t.Run("OrderBy", func(t *testing.T) {
		for _, c := range []struct {
			filter string
			order  []string
			want   [][]string // groups whose members tie on every key
		}{
			{``, nil, [][]string{{"r6", "r7", "r8"}, {"r5"}, {"r4"}, {"r3"}, {"r2"}, {"r1"}}},
			{`metrics.auc > 0.6`, []string{"metrics.auc DESC"}, [][]string{{"r5"}, {"r6", "r8"}, {"r4"}, {"r2"}, {"r3"}, {"r1"}}},
			{`metrics.auc > 0.6`, []string{"metrics.auc DESC", "attributes.start_time ASC"}, [][]string{{"r5"}, {"r2"}, {"r4"}, {"r6", "r8"}, {"r3"}, {"r1"}}},
			{`params.lr IN ('0.1', '0.05')`, []string{"params.lr"}, [][]string{{"r2"}, {"r3"}, {"r1"}}},
			{`attributes.start_time < ` + msOf(60), []string{"start_time ASC"}, [][]string{{"r1"}, {"r2"}, {"r3"}, {"r4"}, {"r5"}}},
			{`attributes.start_time < ` + msOf(60), []string{"attributes.status"}, [][]string{{"r3"}, {"r5"}, {"r2"}, {"r1"}, {"r4"}}},
			{`metrics.loss < 1`, []string{"metrics.loss"}, [][]string{{"r4"}, {"r2"}, {"r3"}, {"r1"}}},
			{`attributes.start_time < ` + msOf(60), []string{"run_name DESC"}, [][]string{{"r2"}, {"r4"}, {"r3"}, {"r5"}, {"r1"}}},
		} {
			q := lineage.RunQuery{Filter: mustFilter(t, c.filter), OrderBy: mustOrder(t, c.order...), Page: lineage.Page{First: 100}}
			got := names(searchAll(t, s, q))
			if !inGroups(got, c.want) {
				t.Errorf("SearchRuns(%s, orderBy %q) = %v, want %v (members of a group in any order)", c.filter, c.order, got, c.want)
			}
		}
	})

	t.Run("Pagination", func(t *testing.T) {
		all := make([]string, 0, len(searchRuns))
		for _, r := range searchRuns {
			all = append(all, r.name)
		}
		for _, order := range [][]string{nil, {"metrics.auc DESC"}, {"params.model"}, {"tags.team DESC", "metrics.loss"}, {"attributes.start_time"}} {
			for _, first := range []int{1, 2, 3, 7, 8, 9} {
				q := lineage.RunQuery{OrderBy: mustOrder(t, order...), Page: lineage.Page{First: first}}
				got := names(searchAll(t, s, q))
				one := names(searchAll(t, s, lineage.RunQuery{OrderBy: q.OrderBy, Page: lineage.Page{First: 100}}))
				sorted := slices.Clone(got)
				slices.Sort(sorted)
				if !cmp.Equal(sorted, all) {
					t.Errorf("orderBy %q, First %d: pages hold %v, want every run exactly once", order, first, got)
				} else if !cmp.Equal(got, one) {
					t.Errorf("orderBy %q, First %d: pages give %v, one page gives %v", order, first, got, one)
				}
			}
		}
		p, err := s.SearchRuns(bg, lineage.RunQuery{Page: lineage.Page{First: len(searchRuns)}})
		mustNoErr(t, "SearchRuns", err)
		if p.HasNext || len(p.IDs) != len(searchRuns) {
			t.Errorf("one exact page: %d runs, HasNext %v; want %d, false", len(p.IDs), p.HasNext, len(searchRuns))
		}
	})
}

// inGroups reports whether got is the concatenation of the groups, each in
// any order.
func inGroups(got []string, groups [][]string) bool {
	for _, g := range groups {
		if len(got) < len(g) {
			return false
		}
		a, b := slices.Clone(got[:len(g)]), slices.Clone(g)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			return false
		}
		got = got[len(g):]
	}
	return len(got) == 0
}

// Search returns nodes whose name contains text (case-insensitive),
// optionally only of some kinds, prefix matches first. Wildcard characters
// are literal.
func (h *harness) testSearch(t *testing.T) {
	s := h.open(t)
	createNodes(t, s,
		mkNode("dataset:customer-churn", "", "customer-churn", at(1)),
		mkNode("dataset:customers", "", "Customers", at(2)),
		mkNode("model:churn", "", "Churn", at(3)),
		mkNode("model:churn-2", "", "churn-2", at(4)),
		mkNode("experiment:100pct", "", "100% pure", at(5)),
		mkNode("artifact:a_b", "", "a_b", at(6)),
		mkNode("artifact:axb", "", "axb", at(7)),
		mkNode("artifact:half", "", "50%off", at(8)),
		mkNode("artifact:obrien", "", "o'brien", at(9)),
		mkNode("artifact:bs", "", `back\slash`, at(10)),
	)
	ids := func(ns []*lineage.Node) []lineage.ID { return sortedIDs(nodeIDs(ns)) }
	for _, c := range []struct {
		text  string
		kinds []lineage.Kind
		want  []lineage.ID
	}{
		{"churn", nil, []lineage.ID{"dataset:customer-churn", "model:churn", "model:churn-2"}},
		{"CHURN", []lineage.Kind{lineage.KindModel}, []lineage.ID{"model:churn", "model:churn-2"}},
		{"customer", []lineage.Kind{lineage.KindDataset, lineage.KindModel}, []lineage.ID{"dataset:customer-churn", "dataset:customers"}},
		{"churn", []lineage.Kind{lineage.KindRun}, nil},
		{"%", nil, []lineage.ID{"artifact:half", "experiment:100pct"}},
		{"_", nil, []lineage.ID{"artifact:a_b"}},
		{"a_b", nil, []lineage.ID{"artifact:a_b"}},
		{"0%o", nil, []lineage.ID{"artifact:half"}},
		{`\`, nil, []lineage.ID{"artifact:bs"}},
		{"o'b", nil, []lineage.ID{"artifact:obrien"}},
		{"' OR 1=1 --", nil, nil},
		{"zzz", nil, nil},
	} {
		got, err := s.Search(bg, c.text, c.kinds, 50)
		mustNoErr(t, "Search", err)
		if !cmp.Equal(ids(got), c.want, cmpOpts) {
			t.Errorf("Search(%q, %v) = %v, want %v", c.text, c.kinds, ids(got), c.want)
		}
	}
	got, err := s.Search(bg, "churn", nil, 50)
	mustNoErr(t, "Search", err)
	if len(got) == 3 && (got[2].ID != "dataset:customer-churn" || !strings.HasPrefix(strings.ToLower(got[0].Name), "churn")) {
		t.Errorf("Search(churn) = %v, want the prefix matches (Churn, churn-2) before customer-churn", nodeIDs(got))
	}
	got, err = s.Search(bg, "c", nil, 2)
	if err != nil || len(got) != 2 {
		t.Errorf("Search(c, limit 2) = %v, %v; want 2 nodes", nodeIDs(got), err)
	}
}
