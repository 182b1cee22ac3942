package lineagetest

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Nothing upstream of a STAGING/PRODUCTION version can be hard-deleted;
// soft deletes hide a node from lookups but keep it in lineage, and
// references to a soft-deleted node are rejected.
func (h *harness) testDeletes(t *testing.T) {
	e := h.newEnv(t)
	w := e.buildWorld()
	e.mustTransition("churn", 2, lineage.StageStaging)
	before := snapshot(t, e.store)
	for _, id := range []lineage.ID{w.raw.ID, w.ds2.ID, w.train2.ID, w.fs2.ID, w.codeB.ID, w.env2.ID, w.run2.ID} {
		err := e.svc.DeleteNode(e.ctx, id, true)
		wantErr(t, "hard delete of "+string(id)+" (upstream of a STAGING version)", err, lineage.ECONFLICT, "id")
	}
	for _, hard := range []bool{false, true} {
		err := e.svc.DeleteNode(e.ctx, w.mv2.ID, hard)
		wantErr(t, "delete of a STAGING version", err, lineage.ECONFLICT, "id")
	}
	wantUnchanged(t, "refused deletes", e.store, before)

	// Soft delete of something upstream of a live version is allowed, and
	// doing it again (a retry) changes nothing.
	mustNoErr(t, "soft delete", e.svc.DeleteNode(e.ctx, w.ds1.ID, false))
	again := snapshot(t, e.store)
	mustNoErr(t, "soft delete again", e.svc.DeleteNode(e.ctx, w.ds1.ID, false))
	wantUnchanged(t, "a second soft delete", e.store, again)
	_, err := e.svc.Node(e.ctx, w.ds1.ID)
	wantErr(t, "Node(soft-deleted)", err, lineage.ENOTFOUND, "id")
	if n := e.count(lineage.KindDatasetVersion, "dataset:customers"); n != 1 {
		t.Errorf("customers lists %d versions after a soft delete, want 1", n)
	}
	g, err := e.svc.Lineage(e.ctx, lineage.LineageInput{Of: w.mv1.ID, Direction: lineage.Upstream})
	mustNoErr(t, "Lineage", err)
	found := false
	for _, n := range g.Nodes {
		if lineage.EntityID(n.Node) == w.ds1.ID {
			found = lineage.EntityMeta(n.Node).DeletedAt != nil
		}
	}
	if !found {
		t.Errorf("the soft-deleted dataset version is missing from lineage (or has no DeletedAt)")
	}
	before = snapshot(t, e.store)
	_, err = e.svc.RegisterSplits(e.ctx, lineage.RegisterSplitsInput{DatasetVersion: w.ds1.ID, Splits: []lineage.SplitInput{{Name: "holdout"}}})
	wantErr(t, "RegisterSplits(soft-deleted dataset version)", err, lineage.ENOTFOUND, "datasetVersion")
	_, err = e.svc.StartRun(e.ctx, lineage.StartRunInput{Experiment: "churn", Inputs: []lineage.RunInput{{Node: w.train2.ID, Role: "train"}, {Node: w.ds1.ID, Role: "eval"}}})
	wantErr(t, "StartRun(input soft-deleted)", err, lineage.ENOTFOUND, "inputs[1].node")
	_, err = e.svc.RegisterDatasetVersion(e.ctx, lineage.RegisterDatasetVersionInput{Dataset: "customers", Digest: dg("c3"), DerivedFrom: []lineage.ID{w.ds1.ID}})
	wantErr(t, "RegisterDatasetVersion(derived from soft-deleted)", err, lineage.ENOTFOUND, "derivedFrom[0]")
	wantUnchanged(t, "references to a soft-deleted node", e.store, before)

	mustNoErr(t, "soft delete run", e.svc.DeleteNode(e.ctx, w.run1.ID, false))
	before = snapshot(t, e.store)
	_, err = e.svc.RegisterModelVersion(e.ctx, registerInput("churn", w.run1.ID, "y"))
	wantErr(t, "RegisterModelVersion(soft-deleted run)", err, lineage.ENOTFOUND, "run")
	_, err = e.svc.LogMetrics(e.ctx, w.run1.ID, []lineage.MetricPoint{{Key: "auc", Value: 1}})
	wantErr(t, "LogMetrics(soft-deleted run)", err, lineage.ENOTFOUND, "run")
	wantUnchanged(t, "writes to a soft-deleted run", e.store, before)

	// Once the version is archived nothing protects its lineage.
	e.mustTransition("churn", 2, lineage.StageArchived)
	mustNoErr(t, "hard delete after archiving", e.svc.DeleteNode(e.ctx, w.codeB.ID, true))
	_, err = e.svc.Node(e.ctx, w.codeB.ID)
	wantErr(t, "Node(hard-deleted)", err, lineage.ENOTFOUND, "id")
	if es := e.upstreamEdges(w.run2.ID, lineage.EdgeRanCode); len(es) != 0 {
		t.Errorf("RAN_CODE edges after the code version was hard-deleted: %v", edgeKeys(es))
	}
	// A soft-deleted node can be purged once nothing live depends on it.
	mustNoErr(t, "hard delete of a soft-deleted node", e.svc.DeleteNode(e.ctx, w.ds1.ID, true))
	if _, err := e.store.Traverse(e.ctx, lineage.TraversalQuery{Of: w.ds1.ID, Direction: lineage.Both, Depth: 1, Limit: 10}); lineage.ErrorCode(err) != lineage.ENOTFOUND {
		t.Errorf("Traverse of a purged node: %v, want ENOTFOUND", err)
	}
	err = e.svc.DeleteNode(e.ctx, "codeversion:github.com/acme/nope@abcdef1", false)
	wantErr(t, "soft delete of an unknown node", err, lineage.ENOTFOUND, "id")
}

func lineageDepths(g *lineage.LineageGraph) map[lineage.ID]int {
	out := map[lineage.ID]int{}
	for _, n := range g.Nodes {
		out[lineage.EntityID(n.Node)] = n.Depth
	}
	return out
}

// Lineage: directions, kinds filter, depth clamp.
func (h *harness) testLineage(t *testing.T) {
	e := h.newEnv(t)
	w := e.buildWorld()
	up := map[lineage.ID]int{w.mv2.ID: 0, w.run2.ID: 1, w.train2.ID: 2, w.test2.ID: 2, w.fs2.ID: 2, w.codeB.ID: 2, w.env2.ID: 2, w.ds2.ID: 3, w.raw.ID: 4}
	for _, c := range []struct {
		name   string
		in     lineage.LineageInput
		depths map[lineage.ID]int
		edges  int
	}{
		{"upstream by default", lineage.LineageInput{Of: w.mv2.ID}, up, 10},
		{"depth clamped to MaxDepth", lineage.LineageInput{Of: w.mv2.ID, Direction: lineage.Upstream, Depth: 10 * lineage.MaxDepth, Limit: 10 * lineage.MaxLimit}, up, 10},
		{"depth 1", lineage.LineageInput{Of: w.mv2.ID, Depth: 1}, map[lineage.ID]int{w.mv2.ID: 0, w.run2.ID: 1}, 1},
		{"kinds", lineage.LineageInput{Of: w.mv2.ID, Kinds: []lineage.Kind{lineage.KindDatasetVersion}},
			map[lineage.ID]int{w.mv2.ID: 0, w.ds2.ID: 3, w.raw.ID: 4}, 1},
		{"downstream", lineage.LineageInput{Of: w.raw.ID, Direction: lineage.Downstream, Kinds: []lineage.Kind{lineage.KindModelVersion, lineage.KindRun}},
			map[lineage.ID]int{w.raw.ID: 0, w.run1.ID: 3, w.run2.ID: 3, w.mv1.ID: 4, w.mv2.ID: 4}, -1},
		{"both", lineage.LineageInput{Of: w.run1.ID, Direction: lineage.Both, Depth: 1},
			map[lineage.ID]int{w.run1.ID: 0, w.train1.ID: 1, w.test1.ID: 1, w.fs1.ID: 1, w.codeA.ID: 1, w.env1.ID: 1, w.mv1.ID: 1}, 6},
	} {
		g, err := e.svc.Lineage(e.ctx, c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if diff := cmp.Diff(c.depths, lineageDepths(g)); diff != "" {
			t.Errorf("%s: nodes (-want +got):\n%s", c.name, diff)
		}
		if c.edges >= 0 && len(g.Edges) != c.edges {
			t.Errorf("%s: %d edges %v, want %d", c.name, len(g.Edges), edgeKeys(g.Edges), c.edges)
		}
		for _, ed := range g.Edges {
			if _, ok := c.depths[ed.From]; !ok {
				t.Errorf("%s: edge %s leaves a node not returned", c.name, keyOf(ed))
			}
			if _, ok := c.depths[ed.To]; !ok {
				t.Errorf("%s: edge %s enters a node not returned", c.name, keyOf(ed))
			}
		}
	}
	g, err := e.svc.Lineage(e.ctx, lineage.LineageInput{Of: w.mv2.ID, Depth: 2})
	mustNoErr(t, "Lineage", err)
	roles := map[lineage.ID]string{}
	for _, ed := range g.Edges {
		if ed.Type == lineage.EdgeUsed {
			roles[ed.To] = ed.Role
		}
	}
	if want := map[lineage.ID]string{w.train2.ID: "train", w.test2.ID: "test", w.fs2.ID: "features"}; !cmp.Equal(roles, want) {
		t.Errorf("USED roles in lineage = %v, want %v", roles, want)
	}
	g, err = e.svc.Lineage(e.ctx, lineage.LineageInput{Of: w.raw.ID, Direction: lineage.Downstream, Limit: 3})
	if err != nil || len(g.Nodes) != 3 || !g.Truncated {
		t.Errorf("Lineage with Limit 3 = %d nodes, Truncated %v, %v; want 3, true", len(g.Nodes), g != nil && g.Truncated, err)
	}
}

// Lineage asOf: the graph as it stood then, stages included.
func (h *harness) testLineageAsOf(t *testing.T) {
	h.skipAsOf(t)
	e := h.newEnv(t)
	w := e.buildWorld()
	e.mustTransition("churn", 2, lineage.StageStaging)
	then := e.clock.Between()
	run3 := e.mustRun(lineage.StartRunInput{Experiment: "churn", Inputs: []lineage.RunInput{{Node: w.train2.ID, Role: "train"}}})
	mv3 := e.mustRegister("churn", run3.ID)
	e.mustTransition("churn", 2, lineage.StageProduction)
	in := lineage.LineageInput{Of: w.ds2.ID, Direction: lineage.Downstream, Kinds: []lineage.Kind{lineage.KindModelVersion, lineage.KindRun}}
	stageOf := func(g *lineage.LineageGraph) map[lineage.ID]lineage.Stage {
		out := map[lineage.ID]lineage.Stage{}
		for _, n := range g.Nodes {
			if mv, ok := n.Node.(*lineage.ModelVersion); ok {
				out[mv.ID] = mv.Stage
			}
		}
		return out
	}
	now, err := e.svc.Lineage(e.ctx, in)
	mustNoErr(t, "Lineage(now)", err)
	if diff := cmp.Diff(map[lineage.ID]lineage.Stage{w.mv2.ID: "PRODUCTION", mv3.ID: "NONE"}, stageOf(now)); diff != "" {
		t.Errorf("model versions now (-want +got):\n%s", diff)
	}
	in.AsOf = &then
	past, err := e.svc.Lineage(e.ctx, in)
	mustNoErr(t, "Lineage(asOf)", err)
	if diff := cmp.Diff(map[lineage.ID]lineage.Stage{w.mv2.ID: "STAGING"}, stageOf(past)); diff != "" {
		t.Errorf("model versions asOf (-want +got):\n%s", diff)
	}
	if _, ok := lineageDepths(past)[run3.ID]; ok {
		t.Errorf("asOf lineage contains a run started later")
	}
	early := at(0)
	_, err = e.svc.Lineage(e.ctx, lineage.LineageInput{Of: w.ds2.ID, AsOf: &early})
	wantErr(t, "Lineage(asOf before the node existed)", err, lineage.ENOTFOUND, "of")
}

// lineagePath: the edges connecting two nodes, if any.
func (h *harness) testLineagePath(t *testing.T) {
	e := h.newEnv(t)
	w := e.buildWorld()
	p, err := e.svc.LineagePath(e.ctx, w.mv2.ID, w.raw.ID)
	mustNoErr(t, "LineagePath", err)
	checkPath(t, w.mv2.ID, w.raw.ID, p, 4)
	p, err = e.svc.LineagePath(e.ctx, w.raw.ID, w.mv1.ID)
	mustNoErr(t, "LineagePath", err)
	checkPath(t, w.raw.ID, w.mv1.ID, p, 4)
	p, err = e.svc.LineagePath(e.ctx, w.mv1.ID, w.mv2.ID)
	if err != nil || len(p) != 0 {
		t.Errorf("LineagePath between two siblings = %v, %v; want none", edgeKeys(p), err)
	}
	_, err = e.svc.LineagePath(e.ctx, w.mv1.ID, "datasetversion:nope/1")
	wantErr(t, "LineagePath(unknown to)", err, lineage.ENOTFOUND, "to")
	_, err = e.svc.LineagePath(e.ctx, "bogus", w.mv1.ID)
	wantErr(t, "LineagePath(bad from)", err, lineage.EINVALID, "from")
}

// impact: runs (newest first), derived data, model versions grouped by
// stage, deployments, counts.
func (h *harness) testImpact(t *testing.T) {
	e := h.newEnv(t)
	dv := e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "events", Digest: dg("events")})
	split := e.mustSplits(dv.ID, 1, "train")[0]
	derived := e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "sessions", Digest: dg("sessions"), DerivedFrom: []lineage.ID{dv.ID}})
	// The newest run is the farthest: traversal order is not newest first.
	runOld := e.mustRun(lineage.StartRunInput{Experiment: "x", Name: "old", Inputs: []lineage.RunInput{{Node: dv.ID, Role: "train"}}})
	runMid := e.mustRun(lineage.StartRunInput{Experiment: "x", Name: "mid", Inputs: []lineage.RunInput{{Node: split.ID, Role: "train"}}})
	runNew := e.mustRun(lineage.StartRunInput{Experiment: "x", Name: "new", Parent: runMid.ID})
	mvA := e.mustRegister("m", runOld.ID)
	mvB := e.mustRegister("m", runMid.ID)
	mvC := e.mustRegister("m", runNew.ID)
	mvD := e.mustRegister("m", runOld.ID)
	e.mustTransition("m", mvD.Version, lineage.StageProduction)
	e.mustTransition("m", mvA.Version, lineage.StageProduction) // archives D
	e.mustTransition("m", mvB.Version, lineage.StageStaging)
	for _, d := range []struct {
		v   int64
		env string
	}{{mvA.Version, "prod"}, {mvB.Version, "staging"}} {
		_, err := e.svc.RecordDeployment(e.ctx, lineage.RecordDeploymentInput{Model: "m", Version: d.v, Environment: d.env, Status: lineage.DeploymentSucceeded})
		mustNoErr(t, "RecordDeployment", err)
	}
	im, err := e.svc.Impact(e.ctx, dv.ID)
	mustNoErr(t, "Impact", err)
	if got, want := entityIDs(im.Runs), []lineage.ID{runNew.ID, runMid.ID, runOld.ID}; !cmp.Equal(got, want) {
		t.Errorf("Impact.Runs = %v, want newest first %v", got, want)
	}
	dataIDs := make([]lineage.ID, len(im.Data))
	for i, d := range im.Data {
		dataIDs[i] = lineage.EntityID(d)
	}
	if got, want := sortedIDs(dataIDs), sortedIDs([]lineage.ID{split.ID, derived.ID}); !cmp.Equal(got, want) {
		t.Errorf("Impact.Data = %v, want %v", got, want)
	}
	var groups [][]lineage.ID
	var order []lineage.Stage
	for _, g := range im.ModelVersions {
		order = append(order, g.Stage)
		groups = append(groups, sortedIDs(entityIDs(g.Versions)))
	}
	if want := []lineage.Stage{"PRODUCTION", "STAGING", "NONE", "ARCHIVED"}; !cmp.Equal(order, want) {
		t.Errorf("Impact stage groups = %v, want %v", order, want)
	}
	if want := [][]lineage.ID{{mvA.ID}, {mvB.ID}, {mvC.ID}, {mvD.ID}}; !cmp.Equal(groups, want) {
		t.Errorf("Impact versions by stage = %v, want %v", groups, want)
	}
	if got := sortedIDs(entityIDs(im.Deployments)); !cmp.Equal(got, []lineage.ID{"deployment:m/1/prod", "deployment:m/2/staging"}) {
		t.Errorf("Impact.Deployments = %v", got)
	}
	if im.RunCount != 3 || im.DataCount != 2 || im.Total != 11 || im.Truncated || lineage.EntityID(im.Of) != dv.ID {
		t.Errorf("Impact counts: runs %d, data %d, total %d, truncated %v; want 3, 2, 11, false", im.RunCount, im.DataCount, im.Total, im.Truncated)
	}
	_, err = e.svc.Impact(e.ctx, "datasetversion:nope/1")
	wantErr(t, "Impact(unknown)", err, lineage.ENOTFOUND, "of")
}

// compareRuns: params with differs flags, metrics with the best run (lower
// is better for loss-like names), inputs by role, code.
func (h *harness) testCompareRuns(t *testing.T) {
	e := h.newEnv(t)
	w := e.buildWorld()
	mk := func(code lineage.ID, params map[string]string, inputs []lineage.RunInput, metrics ...lineage.MetricPoint) *lineage.Run {
		r := e.mustRun(lineage.StartRunInput{Experiment: "cmp", Params: params, Code: code, Inputs: inputs})
		e.mustMetrics(r.ID, metrics...)
		return r
	}
	m := func(k string, v float64) lineage.MetricPoint { return lineage.MetricPoint{Key: k, Value: v, Step: 1} }
	a := mk(w.codeA.ID, map[string]string{"lr": "0.1", "depth": "6"}, []lineage.RunInput{{Node: w.train1.ID, Role: "train"}, {Node: w.test1.ID, Role: "test"}},
		m("auc", 0.80), m("val_loss", 0.40), m("accuracy", 0.9))
	b := mk(w.codeB.ID, map[string]string{"lr": "0.2", "depth": "6"}, []lineage.RunInput{{Node: w.train2.ID, Role: "train"}, {Node: w.test1.ID, Role: "test"}},
		m("auc", 0.85), m("val_loss", 0.35), m("accuracy", 0.9))
	c := mk(w.codeA.ID, map[string]string{"lr": "0.1", "depth": "6", "seed": "1"}, []lineage.RunInput{{Node: w.train1.ID, Role: "train"}},
		m("auc", 0.83), m("val_loss", 0.30))
	cmpRes, err := e.svc.CompareRuns(e.ctx, []lineage.ID{a.ID, b.ID, c.ID})
	mustNoErr(t, "CompareRuns", err)
	type prow struct {
		Key     string
		Values  []string
		Differs bool
	}
	var params []prow
	for _, r := range cmpRes.Params {
		p := prow{Key: r.Key, Differs: r.Differs}
		for _, v := range r.Values {
			if v == nil {
				p.Values = append(p.Values, "<nil>")
			} else {
				p.Values = append(p.Values, *v)
			}
		}
		params = append(params, p)
	}
	wantParams := []prow{
		{"depth", []string{"6", "6", "6"}, false},
		{"lr", []string{"0.1", "0.2", "0.1"}, true},
		{"seed", []string{"<nil>", "<nil>", "1"}, true},
	}
	if diff := cmp.Diff(wantParams, params); diff != "" {
		t.Errorf("param rows (-want +got):\n%s", diff)
	}
	type mrow struct {
		Key            string
		Best           int
		HigherIsBetter bool
		Differs        bool
	}
	var metrics []mrow
	for _, r := range cmpRes.Metrics {
		metrics = append(metrics, mrow{r.Key, r.Best, r.HigherIsBetter, r.Differs})
	}
	wantMetrics := []mrow{{"accuracy", 0, true, true}, {"auc", 1, true, true}, {"val_loss", 2, false, true}}
	if diff := cmp.Diff(wantMetrics, metrics); diff != "" {
		t.Errorf("metric rows (-want +got):\n%s", diff)
	}
	type irow struct {
		Role    string
		Values  [][]lineage.ID
		Differs bool
	}
	var inputs []irow
	for _, r := range cmpRes.Inputs {
		inputs = append(inputs, irow{r.Role, r.Values, r.Differs})
	}
	wantInputs := []irow{
		{"test", [][]lineage.ID{{w.test1.ID}, {w.test1.ID}, nil}, true},
		{"train", [][]lineage.ID{{w.train1.ID}, {w.train2.ID}, {w.train1.ID}}, true},
	}
	if diff := cmp.Diff(wantInputs, inputs, cmpOpts); diff != "" {
		t.Errorf("input rows (-want +got):\n%s", diff)
	}
	if len(cmpRes.Code) != 1 || !cmpRes.Code[0].Differs || len(cmpRes.Code[0].Values) != 3 || cmpRes.Code[0].Values[1] == nil || cmpRes.Code[0].Values[1].ID != w.codeB.ID {
		t.Errorf("code row = %+v, want [A B A] differing", cmpRes.Code)
	}
	same, err := e.svc.CompareRuns(e.ctx, []lineage.ID{a.ID, c.ID})
	mustNoErr(t, "CompareRuns", err)
	for _, r := range same.Params {
		if r.Key != "seed" && r.Differs {
			t.Errorf("param %s differs between runs that share it", r.Key)
		}
	}
	if same.Code[0].Differs {
		t.Errorf("code differs between runs of one commit")
	}
	for _, bad := range []struct {
		ids         []lineage.ID
		code, field string
	}{
		{nil, lineage.EINVALID, "ids"},
		{[]lineage.ID{a.ID, a.ID}, lineage.EINVALID, "ids[1]"},
		{[]lineage.ID{a.ID, "run:nope"}, lineage.ENOTFOUND, "ids[1]"},
		{[]lineage.ID{w.ds1.ID}, lineage.EINVALID, "ids[0]"},
	} {
		_, err := e.svc.CompareRuns(e.ctx, bad.ids)
		wantErr(t, "CompareRuns(bad ids)", err, bad.code, bad.field)
	}
}

// diffModelVersions: data and splits, features, code, packages, params,
// metric deltas between two versions' upstream lineage.
func (h *harness) testDiffModelVersions(t *testing.T) {
	e := h.newEnv(t)
	w := e.buildWorld()
	d, err := e.svc.DiffModelVersions(e.ctx, "churn", 1, 2)
	mustNoErr(t, "DiffModelVersions", err)
	type change struct {
		Kind          lineage.ChangeKind
		Before, After lineage.ID
	}
	changes := func(cs []lineage.Change) []change {
		var out []change
		for _, c := range cs {
			var x change
			x.Kind = c.Kind
			if c.Before != nil {
				x.Before = lineage.EntityID(c.Before)
			}
			if c.After != nil {
				x.After = lineage.EntityID(c.After)
			}
			out = append(out, x)
		}
		slices.SortFunc(out, func(a, b change) int { return strings.Compare(string(a.Before+a.After), string(b.Before+b.After)) })
		return out
	}
	wantData := changes([]lineage.Change{
		{Kind: lineage.Changed, Before: w.ds1, After: w.ds2},
		{Kind: lineage.Changed, Before: w.train1, After: w.train2},
		{Kind: lineage.Changed, Before: w.test1, After: w.test2},
	})
	if diff := cmp.Diff(wantData, changes(d.Data)); diff != "" {
		t.Errorf("data changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]change{{lineage.Changed, w.fs1.ID, w.fs2.ID}}, changes(d.Features)); diff != "" {
		t.Errorf("feature changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]change{{lineage.Changed, w.codeA.ID, w.codeB.ID}}, changes(d.Code)); diff != "" {
		t.Errorf("code changes (-want +got):\n%s", diff)
	}
	wantPkgs := []lineage.PackageChange{
		{Name: "numpy", Kind: lineage.Added, After: "1.26.0"},
		{Name: "pandas", Kind: lineage.Removed, Before: "2.1.0"},
		{Name: "python", Kind: lineage.Changed, Before: "3.11", After: "3.12"},
		{Name: "scikit-learn", Kind: lineage.Changed, Before: "1.3.0", After: "1.4.0"},
	}
	if diff := cmp.Diff(wantPkgs, d.Environment); diff != "" {
		t.Errorf("environment changes (-want +got):\n%s", diff)
	}
	wantParams := []lineage.ValueChange{
		{Key: "depth", Kind: lineage.Added, After: ptr("6")},
		{Key: "lr", Kind: lineage.Changed, Before: ptr("0.1"), After: ptr("0.2")},
	}
	if diff := cmp.Diff(wantParams, d.Params); diff != "" {
		t.Errorf("param changes (-want +got):\n%s", diff)
	}
	approx := cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })
	wantMetrics := []lineage.MetricDelta{
		{Key: "auc", Before: ptr(0.80), After: ptr(0.85), Delta: ptr(0.05)},
		{Key: "f1", After: ptr(0.7)},
		{Key: "loss", Before: ptr(0.5), After: ptr(0.4), Delta: ptr(-0.1)},
	}
	if diff := cmp.Diff(wantMetrics, d.Metrics, approx); diff != "" {
		t.Errorf("metric deltas (-want +got):\n%s", diff)
	}
	if d.Runs[0] == nil || d.Runs[1] == nil || d.Runs[0].ID != w.run1.ID || d.Runs[1].ID != w.run2.ID {
		t.Errorf("diff runs = %v", d.Runs)
	}
	_, err = e.svc.DiffModelVersions(e.ctx, "churn", 1, 9)
	wantErr(t, "DiffModelVersions(unknown to)", err, lineage.ENOTFOUND, "to")
	_, err = e.svc.DiffModelVersions(e.ctx, "churn", 9, 1)
	wantErr(t, "DiffModelVersions(unknown from)", err, lineage.ENOTFOUND, "from")
}

// reproduction: code, environment, inputs with digests, params, seeds.
func (h *harness) testReproduction(t *testing.T) {
	e := h.newEnv(t)
	w := e.buildWorld()
	r, err := e.svc.Reproduction(e.ctx, w.mv2.ID)
	mustNoErr(t, "Reproduction", err)
	if r.Code == nil || r.Code.ID != w.codeB.ID || r.Environment == nil || r.Environment.ID != w.env2.ID || r.Run == nil || r.Run.ID != w.run2.ID {
		t.Errorf("Reproduction code/environment/run = %v / %v / %v", r.Code, r.Environment, r.Run)
	}
	type in struct {
		ID     lineage.ID
		Role   string
		Digest string
	}
	var got []in
	for _, x := range r.Inputs {
		got = append(got, in{lineage.EntityID(x.Node), x.Role, x.Digest})
	}
	slices.SortFunc(got, func(a, b in) int { return strings.Compare(string(a.ID), string(b.ID)) })
	want := []in{
		{w.ds2.ID, "", w.ds2.Digest},
		{w.raw.ID, "", w.raw.Digest},
		{w.fs2.ID, "features", w.fs2.Digest},
		{w.test2.ID, "test", w.test2.Digest},
		{w.train2.ID, "train", w.train2.Digest},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reproduction inputs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"lr": "0.2", "depth": "6", "seed": "42"}, r.Params); diff != "" {
		t.Errorf("reproduction params (-want +got):\n%s", diff)
	}
	wantSeeds := map[string]int64{"params.seed": 42, "split:" + w.train2.ID.Key(): 7, "split:" + w.test2.ID.Key(): 7}
	if diff := cmp.Diff(wantSeeds, r.Seeds); diff != "" {
		t.Errorf("reproduction seeds (-want +got):\n%s", diff)
	}
	_, err = e.svc.Reproduction(e.ctx, w.run1.ID)
	wantErr(t, "Reproduction(a run)", err, lineage.EINVALID, "id")
	_, err = e.svc.Reproduction(e.ctx, "modelversion:churn/9")
	wantErr(t, "Reproduction(unknown)", err, lineage.ENOTFOUND, "id")
}

// runs(filter, experiment, orderBy) through the Service.
func (h *harness) testRuns(t *testing.T) {
	e := h.newEnv(t)
	w := e.buildWorld()
	other := e.mustRun(lineage.StartRunInput{Experiment: "fraud", Params: map[string]string{"lr": "0.1"}})
	page, err := e.svc.Runs(e.ctx, lineage.RunsInput{Filter: "params.lr = '0.1'", OrderBy: []string{"start_time DESC"}})
	mustNoErr(t, "Runs", err)
	if got, want := entityIDs(page.Runs), []lineage.ID{other.ID, w.run1.ID}; !cmp.Equal(got, want) {
		t.Errorf("Runs(lr = '0.1') = %v, want %v", got, want)
	}
	page, err = e.svc.Runs(e.ctx, lineage.RunsInput{Filter: "metrics.auc > 0.5", Experiment: "Churn", OrderBy: []string{"metrics.auc DESC"}})
	mustNoErr(t, "Runs", err)
	if got, want := entityIDs(page.Runs), []lineage.ID{w.run2.ID, w.run1.ID}; !cmp.Equal(got, want) {
		t.Errorf("Runs(auc > 0.5 in churn, by auc) = %v, want %v", got, want)
	}
	page, err = e.svc.Runs(e.ctx, lineage.RunsInput{Page: lineage.Page{First: 1}})
	if err != nil || len(page.Runs) != 1 || !page.HasNext {
		t.Errorf("Runs(First 1) = %v, %v", page, err)
	}
}
