package lineagetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
)

// registerN registers n versions of model from one run.
func (e *env) registerN(model string, n int) *lineage.Run {
	e.t.Helper()
	run := e.mustSimpleRun("exp")
	for range n {
		e.mustRegister(model, run.ID)
	}
	return run
}

// productionCount counts a model's PRODUCTION versions in one snapshot.
func productionCount(s lineage.Store, model string) (int, error) {
	n := 0
	err := s.View(bg, func(tx lineage.ReadTx) error {
		page := lineage.Page{First: 500}
		for {
			np, err := tx.List(lineage.KindModelVersion, lineage.NewID(lineage.KindModel, model), page)
			if err != nil {
				return err
			}
			for _, node := range np.Nodes {
				ent, err := lineage.Decode(node)
				if err != nil {
					return err
				}
				if ent.(*lineage.ModelVersion).Stage == lineage.StageProduction {
					n++
				}
			}
			if !np.HasNext {
				return nil
			}
			page.After = np.EndCursor
		}
	})
	return n, err
}

// replayProduction replays STAGE_CHANGED events in Seq order and reports the
// most PRODUCTION versions held at once.
func replayProduction(tb testing.TB, evs []lineage.Event) int {
	tb.Helper()
	prod := map[string]bool{}
	most := 0
	for _, ev := range evs {
		if ev.Type != lineage.EventStageChanged {
			continue
		}
		p := payload(tb, ev)
		id, _ := p["id"].(string)
		if p["to"] == string(lineage.StageProduction) {
			prod[id] = true
		} else {
			delete(prod, id)
		}
		most = max(most, len(prod))
	}
	return most
}

// At most one version of a model is in PRODUCTION at any instant, also
// under 16 racing promotions.
func (h *harness) testOneProduction(t *testing.T) {
	e := h.newEnv(t)
	e.registerN("seq", 3)
	for v := int64(1); v <= 3; v++ {
		e.mustTransition("seq", v, lineage.StageProduction)
		if n, _ := productionCount(e.store, "seq"); n != 1 {
			t.Errorf("after promoting v%d: %d PRODUCTION versions", v, n)
		}
	}
	e.wantStages("sequential promotions", "seq", map[int64]lineage.Stage{1: "ARCHIVED", 2: "ARCHIVED", 3: "PRODUCTION"})

	h.skipConcurrency(t)
	const n = 16
	e.registerN("race", n)
	var stop atomic.Bool
	var readerErr error
	var worst atomic.Int64
	var rw sync.WaitGroup
	rw.Go(func() {
		for !stop.Load() {
			c, err := productionCount(e.store, "race")
			if err != nil {
				readerErr = err
				return
			}
			if int64(c) > worst.Load() {
				worst.Store(int64(c))
			}
		}
	})
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = e.svc.TransitionModelVersionStage(e.ctx, lineage.TransitionInput{Model: "race", Version: int64(i + 1), Stage: lineage.StageProduction, ArchiveExisting: true})
		})
	}
	close(start)
	wg.Wait()
	stop.Store(true)
	rw.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("promotion of v%d: %v", i+1, err)
		}
	}
	if readerErr != nil {
		t.Errorf("concurrent reader: %v", readerErr)
	}
	if w := worst.Load(); w > 1 {
		t.Errorf("a reader saw %d PRODUCTION versions at once", w)
	}
	stages := e.stages("race")
	prod := 0
	for _, st := range stages {
		if st == lineage.StageProduction {
			prod++
		} else if st != lineage.StageArchived {
			t.Errorf("after the race a version is in %s, want PRODUCTION or ARCHIVED", st)
		}
	}
	if prod != 1 {
		t.Errorf("after 16 racing promotions: %d PRODUCTION versions, want 1 (%v)", prod, stages)
	}
	evs := e.allEvents("race")
	if most := replayProduction(t, evs); most > 1 {
		t.Errorf("replaying the outbox, %d versions were in PRODUCTION at once", most)
	}
	wantModelSeqs(t, evs, len(evs))
}

// expectedStage makes a transition a compare-and-swap: two racing
// pipelines get one winner and one CONFLICT.
func (h *harness) testExpectedStage(t *testing.T) {
	e := h.newEnv(t)
	e.registerN("churn", 1)
	e.mustTransition("churn", 1, lineage.StageStaging)
	before := snapshot(t, e.store)
	_, err := e.svc.TransitionModelVersionStage(e.ctx, lineage.TransitionInput{Model: "churn", Version: 1, Stage: lineage.StageProduction, ArchiveExisting: true, ExpectedStage: ptr(lineage.StageNone)})
	wantErr(t, "transition with a stale expectedStage", err, lineage.ECONFLICT, "expectedStage")
	wantUnchanged(t, "a failed compare-and-swap", e.store, before)
	mv, err := e.svc.TransitionModelVersionStage(e.ctx, lineage.TransitionInput{Model: "churn", Version: 1, Stage: lineage.StageProduction, ArchiveExisting: true, ExpectedStage: ptr(lineage.StageStaging)})
	if err != nil || mv.Stage != lineage.StageProduction {
		t.Errorf("transition with the right expectedStage = %v, %v", mv, err)
	}

	for round := range 8 {
		v := int64(round + 2)
		e.mustRegister("churn", e.mustSimpleRun("exp").ID)
		e.mustTransition("churn", v, lineage.StageStaging)
		targets := []lineage.Stage{lineage.StageProduction, lineage.StageArchived}
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				<-start
				_, errs[i] = e.svc.TransitionModelVersionStage(e.ctx, lineage.TransitionInput{Model: "churn", Version: v, Stage: targets[i],
					ArchiveExisting: true, ExpectedStage: ptr(lineage.StageStaging)})
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		var want lineage.Stage
		for i, err := range errs {
			switch lineage.ErrorCode(err) {
			case "":
				winners++
				want = targets[i]
			case lineage.ECONFLICT:
				wantErr(t, "losing transition", err, lineage.ECONFLICT, "expectedStage")
			default:
				t.Errorf("round %d: transition to %s: %v, want success or CONFLICT", round, targets[i], err)
			}
		}
		if winners != 1 {
			t.Errorf("round %d: %d winners (errors %v), want exactly 1", round, winners, errs)
			continue
		}
		if got := e.version("churn", v).Stage; got != want {
			t.Errorf("round %d: v%d is in %s, want the winner's %s", round, v, got, want)
		}
	}
}

// Promoting to PRODUCTION archives the current Production version (always);
// with ArchiveExisting, STAGING archives the current Staging versions.
func (h *harness) testArchiveExisting(t *testing.T) {
	e := h.newEnv(t)
	e.registerN("churn", 4)
	tr := func(v int64, stage lineage.Stage, archive bool) {
		t.Helper()
		_, err := e.svc.TransitionModelVersionStage(e.ctx, lineage.TransitionInput{Model: "churn", Version: v, Stage: stage, ArchiveExisting: archive})
		if err != nil {
			t.Errorf("transition v%d → %s (archiveExisting %v): %v", v, stage, archive, err)
		}
	}
	tr(1, lineage.StageStaging, false)
	tr(2, lineage.StageStaging, false)
	e.wantStages("two versions staged without archiveExisting", "churn", map[int64]lineage.Stage{1: "STAGING", 2: "STAGING", 3: "NONE", 4: "NONE"})
	tr(3, lineage.StageStaging, true)
	e.wantStages("staging with archiveExisting", "churn", map[int64]lineage.Stage{1: "ARCHIVED", 2: "ARCHIVED", 3: "STAGING", 4: "NONE"})
	// Moving a version to the stage it is in changes nothing.
	before := snapshot(t, e.store)
	tr(3, lineage.StageStaging, true)
	wantUnchanged(t, "a transition to the current stage", e.store, before)
	tr(3, lineage.StageProduction, true)
	e.wantStages("promotion from staging", "churn", map[int64]lineage.Stage{1: "ARCHIVED", 2: "ARCHIVED", 3: "PRODUCTION", 4: "NONE"})
	// "ArchiveExisting: archive the current holder of the stage (always for
	// PRODUCTION)"; DESIGN §3: "Promoting to PRODUCTION archives the
	// previous Production version in the same transaction."
	tr(4, lineage.StageProduction, false)
	e.wantStages("promotion to PRODUCTION with archiveExisting false", "churn", map[int64]lineage.Stage{1: "ARCHIVED", 2: "ARCHIVED", 3: "ARCHIVED", 4: "PRODUCTION"})
}

// Every transition is appended to the audit trail: from, to, actor, time, reason.
func (h *harness) testAuditTrail(t *testing.T) {
	e := h.newEnv(t)
	w := e.buildWorld()
	as := func(actor string) context.Context { return lineage.WithActor(e.ctx, actor) }
	move := func(ctx context.Context, v int64, stage lineage.Stage, reason string) time.Time {
		t.Helper()
		_, err := e.svc.TransitionModelVersionStage(ctx, lineage.TransitionInput{Model: "churn", Version: v, Stage: stage, ArchiveExisting: true, Reason: reason})
		mustNoErr(t, "transition", err)
		return e.clock.Last()
	}
	t1 := move(as("ann"), 1, lineage.StageStaging, "passed offline eval")
	t2 := move(as("bob"), 1, lineage.StageProduction, "ship it ✓")
	t3 := move(as("carol"), 2, lineage.StageProduction, "better auc")
	t4 := move(e.ctx, 2, lineage.StageArchived, "")
	got, err := e.svc.Transitions(e.ctx, []lineage.ID{w.mv1.ID, w.mv2.ID})
	mustNoErr(t, "Transitions", err)
	want := []lineage.Transition{
		{ModelVersion: w.mv1.ID, From: "NONE", To: "STAGING", Actor: "ann", Reason: "passed offline eval", At: t1},
		{ModelVersion: w.mv1.ID, From: "STAGING", To: "PRODUCTION", Actor: "bob", Reason: "ship it ✓", At: t2},
		{ModelVersion: w.mv1.ID, From: "PRODUCTION", To: "ARCHIVED", Actor: "carol", At: t3},
		{ModelVersion: w.mv2.ID, From: "NONE", To: "PRODUCTION", Actor: "carol", Reason: "better auc", At: t3},
		{ModelVersion: w.mv2.ID, From: "PRODUCTION", To: "ARCHIVED", Actor: "anonymous", At: t4},
	}
	if len(got) == len(want) {
		if got[2].Reason == "" {
			t.Errorf("the archiving of v1 by v2's promotion has no reason")
		}
		want[2].Reason = got[2].Reason // the Service's own words
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("audit trail (-want +got):\n%s", diff)
	}
}

// rollbackModel restores the version that was in Production before the
// current one; repeated rollbacks walk further back; none left → CONFLICT.
func (h *harness) testRollback(t *testing.T) {
	e := h.newEnv(t)
	e.registerN("churn", 4)
	_, err := e.svc.RollbackModel(e.ctx, "churn", "nothing to roll back to")
	wantErr(t, "rollback of a model never in Production", err, lineage.ECONFLICT, "model")
	for v := int64(1); v <= 3; v++ {
		e.mustTransition("churn", v, lineage.StageProduction)
	}
	rollback := func(want int64) {
		t.Helper()
		mv, err := e.svc.RollbackModel(lineage.WithActor(e.ctx, "oncall"), "churn", "bad predictions")
		if err != nil {
			t.Fatalf("RollbackModel: %v", err)
		}
		if mv.Version != want || mv.Stage != lineage.StageProduction {
			t.Errorf("RollbackModel restored v%d (%s), want v%d in PRODUCTION", mv.Version, mv.Stage, want)
		}
	}
	rollback(2)
	e.wantStages("first rollback", "churn", map[int64]lineage.Stage{1: "ARCHIVED", 2: "PRODUCTION", 3: "ARCHIVED", 4: "NONE"})
	tr, err := e.svc.Transitions(e.ctx, []lineage.ID{"modelversion:churn/2", "modelversion:churn/3"})
	mustNoErr(t, "Transitions", err)
	last := map[lineage.ID]lineage.Transition{}
	for _, x := range tr {
		last[x.ModelVersion] = x
	}
	if x := last["modelversion:churn/2"]; x.From != lineage.StageArchived || x.To != lineage.StageProduction || !x.Rollback || x.Actor != "oncall" {
		t.Errorf("restored version's last transition = %+v, want ARCHIVED → PRODUCTION, Rollback, by oncall", x)
	}
	if x := last["modelversion:churn/3"]; x.From != lineage.StageProduction || x.To != lineage.StageArchived || !x.Rollback {
		t.Errorf("rolled-back version's last transition = %+v, want PRODUCTION → ARCHIVED, Rollback", x)
	}
	rollback(1)
	e.wantStages("second rollback", "churn", map[int64]lineage.Stage{1: "PRODUCTION", 2: "ARCHIVED", 3: "ARCHIVED", 4: "NONE"})
	before := snapshot(t, e.store)
	_, err = e.svc.RollbackModel(e.ctx, "churn", "")
	wantErr(t, "third rollback with no earlier version", err, lineage.ECONFLICT, "model")
	wantUnchanged(t, "a refused rollback", e.store, before)
	e.mustTransition("churn", 4, lineage.StageProduction)
	rollback(1)
	e.wantStages("rollback after a new promotion", "churn", map[int64]lineage.Stage{1: "PRODUCTION", 2: "ARCHIVED", 3: "ARCHIVED", 4: "ARCHIVED"})
	_, err = e.svc.RollbackModel(e.ctx, "nope", "")
	wantErr(t, "rollback of an unknown model", err, lineage.ENOTFOUND, "model")
	rolled := 0
	for _, ev := range e.allEvents("churn") {
		if ev.Type == lineage.EventRolledBack {
			rolled++
		}
	}
	if rolled != 3 {
		t.Errorf("%d ROLLED_BACK events, want 3", rolled)
	}
}

// The Production history is the order transitions committed in, not the
// order of their timestamps. The Service reads its clock before the store's
// write lock, so under concurrency (or with replicas whose clocks differ) a
// later commit can carry an earlier time: here v2's promotion commits after
// v1's with an earlier timestamp. Rolling back from v3 must restore v2.
func (h *harness) testRollbackCommitOrder(t *testing.T) {
	e := h.newEnv(t)
	e.registerN("churn", 3)
	e.clock.Set(at(2000))
	e.mustTransition("churn", 1, lineage.StageProduction)
	e.clock.Set(at(1990)) // a replica 10 s behind
	e.mustTransition("churn", 2, lineage.StageProduction)
	e.clock.Set(at(2010))
	e.mustTransition("churn", 3, lineage.StageProduction)
	mv, err := e.svc.RollbackModel(e.ctx, "churn", "")
	mustNoErr(t, "RollbackModel", err)
	if mv.Version != 2 {
		t.Errorf("rollback from v3 restored v%d, want v2 (Production went v1, v2, v3 in commit order)", mv.Version)
	}
}

// Aliases point at one version each; setting moves them, deleting removes them.
func (h *harness) testAliases(t *testing.T) {
	e := h.newEnv(t)
	e.registerN("churn", 2)
	set := func(alias string, v int64) {
		t.Helper()
		_, err := e.svc.SetModelAlias(e.ctx, "churn", alias, v)
		mustNoErr(t, fmt.Sprintf("SetModelAlias(%s, %d)", alias, v), err)
	}
	byAlias := func(alias string) (*lineage.ModelVersion, error) {
		return e.svc.ModelVersion(e.ctx, "churn", lineage.VersionSelector{Alias: alias})
	}
	set("Champion", 1)
	set("challenger", 2)
	if mv, err := byAlias("CHAMPION"); err != nil || mv.Version != 1 || !cmp.Equal(mv.Aliases, []string{"champion"}) {
		t.Errorf("by alias champion = %+v, %v; want v1 with aliases [champion]", mv, err)
	}
	head := e.head()
	set("champion", 1)
	if e.head() != head {
		t.Errorf("setting an alias to the version it is on wrote an event")
	}
	set("champion", 2)
	if mv, err := byAlias("champion"); err != nil || mv.Version != 2 {
		t.Errorf("moved alias = %v, %v; want v2", mv, err)
	}
	if got := e.version("churn", 1).Aliases; len(got) != 0 {
		t.Errorf("v1 aliases after the move = %v, want none", got)
	}
	if got := e.version("churn", 2).Aliases; !cmp.Equal(got, []string{"challenger", "champion"}) {
		t.Errorf("v2 aliases = %v, want [challenger champion]", got)
	}
	m, err := e.svc.DeleteModelAlias(e.ctx, "churn", "champion")
	mustNoErr(t, "DeleteModelAlias", err)
	if !cmp.Equal(m.Aliases, map[string]int64{"challenger": 2}) {
		t.Errorf("model aliases after delete = %v", m.Aliases)
	}
	if got := e.version("churn", 2).Aliases; !cmp.Equal(got, []string{"challenger"}) {
		t.Errorf("v2 aliases after delete = %v", got)
	}
	_, err = byAlias("champion")
	wantErr(t, "ModelVersion(deleted alias)", err, lineage.ENOTFOUND, "alias")
	_, err = e.svc.DeleteModelAlias(e.ctx, "churn", "champion")
	wantErr(t, "DeleteModelAlias(absent)", err, lineage.ENOTFOUND, "alias")
	for _, bad := range []string{"production", "Latest", "v3", "12", "a/b", ""} {
		_, err := e.svc.SetModelAlias(e.ctx, "churn", bad, 1)
		wantErr(t, fmt.Sprintf("SetModelAlias(%q)", bad), err, lineage.EINVALID, "alias")
	}
	_, err = e.svc.SetModelAlias(e.ctx, "churn", "x", 9)
	wantErr(t, "SetModelAlias(unknown version)", err, lineage.ENOTFOUND, "version")
	_, err = e.svc.SetModelAlias(e.ctx, "nope", "x", 1)
	wantErr(t, "SetModelAlias(unknown model)", err, lineage.ENOTFOUND, "model")
}

// modelVersion by number, stage (the newest version in it) or alias.
func (h *harness) testModelVersionSelectors(t *testing.T) {
	e := h.newEnv(t)
	e.registerN("churn", 3)
	e.mustTransition("churn", 1, lineage.StageProduction)
	e.mustTransition("churn", 2, lineage.StageProduction)
	e.mustTransition("churn", 3, lineage.StageStaging)
	for _, c := range []struct {
		sel         lineage.VersionSelector
		want        int64
		code, field string
	}{
		{lineage.VersionSelector{Version: ptr(int64(2))}, 2, "", ""},
		{lineage.VersionSelector{Stage: ptr(lineage.StageProduction)}, 2, "", ""},
		{lineage.VersionSelector{Stage: ptr(lineage.StageArchived)}, 1, "", ""},
		{lineage.VersionSelector{Stage: ptr(lineage.StageStaging)}, 3, "", ""},
		{lineage.VersionSelector{Stage: ptr(lineage.StageNone)}, 0, lineage.ENOTFOUND, "stage"},
		{lineage.VersionSelector{Version: ptr(int64(4))}, 0, lineage.ENOTFOUND, "version"},
		{lineage.VersionSelector{Alias: "nope"}, 0, lineage.ENOTFOUND, "alias"},
		{lineage.VersionSelector{}, 0, lineage.EINVALID, "version"},
		{lineage.VersionSelector{Version: ptr(int64(1)), Alias: "x"}, 0, lineage.EINVALID, "version"},
		{lineage.VersionSelector{Stage: ptr(lineage.Stage("LIVE"))}, 0, lineage.EINVALID, "stage"},
	} {
		mv, err := e.svc.ModelVersion(e.ctx, "Churn", c.sel)
		wantErr(t, fmt.Sprintf("ModelVersion(%+v)", c.sel), err, c.code, c.field)
		if c.code == "" && (mv == nil || mv.Version != c.want) {
			t.Errorf("ModelVersion(%+v) = %v, want v%d", c.sel, mv, c.want)
		}
	}
	_, err := e.svc.ModelVersion(e.ctx, "nope", lineage.VersionSelector{Version: ptr(int64(1))})
	wantErr(t, "ModelVersion(unknown model)", err, lineage.ENOTFOUND, "model")
}

// recordDeployment: one deployment per model version and environment,
// SERVES its version until DECOMMISSIONED; archiving a version marks its
// deployments, and a success in the same environment retires them.
func (h *harness) testDeployments(t *testing.T) {
	e := h.newEnv(t)
	e.registerN("churn", 3)
	d := e.deploy("churn", 1, "Prod", lineage.DeploymentSucceeded)
	if d.ID != "deployment:churn/1/prod" || d.Version != 1 || d.Environment != "Prod" || d.Endpoint != "https://churn.example.com/predict" {
		t.Errorf("deployment = %s v%d in %s at %q", d.ID, d.Version, d.Environment, d.Endpoint)
	}
	e.deploy("churn", 1, "staging", lineage.DeploymentSucceeded)
	e.mustTransition("churn", 1, lineage.StageProduction)
	e.mustTransition("churn", 2, lineage.StageProduction) // archives v1: its deployments are marked

	evs := e.allEvents("churn")
	archived := payload(t, evs[len(evs)-2])
	if marked, _ := archived["decommission"].([]any); archived["to"] != "ARCHIVED" || len(marked) != 2 {
		t.Errorf("archiving event = %v, want to ARCHIVED listing 2 deployments to decommission", archived)
	}
	for _, id := range []lineage.ID{"deployment:churn/1/prod", "deployment:churn/1/staging"} {
		if d := e.deployment(id); !d.DecommissionRequested || d.Status != lineage.DeploymentSucceeded {
			t.Errorf("%s after v1 was archived: %s, decommissionRequested %v; want SUCCEEDED and marked", id, d.Status, d.DecommissionRequested)
		}
	}

	e.deploy("churn", 2, "prod", lineage.DeploymentPending) // not yet: v1 keeps serving
	if d := e.deployment("deployment:churn/1/prod"); d.Status != lineage.DeploymentSucceeded {
		t.Errorf("v1 prod after v2 PENDING = %s, want SUCCEEDED", d.Status)
	}
	head := e.head()
	e.deploy("churn", 2, "prod", lineage.DeploymentSucceeded)
	if d := e.deployment("deployment:churn/1/prod"); d.Status != lineage.DeploymentDecommissioned || d.DecommissionRequested {
		t.Errorf("v1 prod after v2 SUCCEEDED = %s (marked %v), want DECOMMISSIONED", d.Status, d.DecommissionRequested)
	}
	if d := e.deployment("deployment:churn/1/staging"); d.Status != lineage.DeploymentSucceeded {
		t.Errorf("v1 staging = %s: another environment must be left alone", d.Status)
	}
	if es := e.upstreamEdges("deployment:churn/1/prod", lineage.EdgeServes); len(es) != 0 {
		t.Errorf("decommissioned deployment still SERVES %v", edgeKeys(es))
	}
	if es := e.upstreamEdges("deployment:churn/2/prod", lineage.EdgeServes); len(es) != 1 || es[0].To != "modelversion:churn/2" {
		t.Errorf("v2 prod SERVES %v, want v2", edgeKeys(es))
	}
	var got []string
	for _, ev := range e.allEvents("churn") {
		if ev.Seq > head {
			p := payload(t, ev)
			got = append(got, fmt.Sprint(ev.Type, " ", p["deployment"], " ", p["status"]))
		}
	}
	want := []string{"DEPLOYMENT_RECORDED deployment:churn/2/prod SUCCEEDED", "DEPLOYMENT_RECORDED deployment:churn/1/prod DECOMMISSIONED"}
	if !cmp.Equal(got, want) {
		t.Errorf("events of the successful deployment = %q, want %q", got, want)
	}

	// A deployment of a version in service is never marked, and a
	// DECOMMISSIONED one can be deployed again.
	e.deploy("churn", 3, "prod", lineage.DeploymentSucceeded)
	if d := e.deployment("deployment:churn/2/prod"); d.Status != lineage.DeploymentSucceeded {
		t.Errorf("v2 prod after v3 succeeded = %s: an unmarked deployment (canary beside it) must stay", d.Status)
	}
	if d := e.deploy("churn", 1, "prod", lineage.DeploymentPending); !d.DecommissionRequested {
		t.Errorf("redeploying archived v1: decommissionRequested = %v, want true (its version is archived)", d.DecommissionRequested)
	}
	if es := e.upstreamEdges("deployment:churn/1/prod", lineage.EdgeServes); len(es) != 1 {
		t.Errorf("redeployed v1 SERVES %v, want one edge", edgeKeys(es))
	}
	if n := e.count(lineage.KindDeployment, "model:churn"); n != 4 {
		t.Errorf("%d deployments, want 4", n)
	}
	_, err := e.svc.RecordDeployment(e.ctx, lineage.RecordDeploymentInput{Model: "churn", Version: 7, Environment: "prod", Status: lineage.DeploymentSucceeded})
	wantErr(t, "RecordDeployment(unknown version)", err, lineage.ENOTFOUND, "version")
}

// A FAILED deployment of the Production version rolls back a model with
// AutoRollback, in the same transaction, with its reason and event.
func (h *harness) testAutoRollback(t *testing.T) {
	e := h.newEnv(t)
	e.registerN("churn", 3)
	e.mustTransition("churn", 1, lineage.StageProduction)
	e.deploy("churn", 1, "prod", lineage.DeploymentSucceeded)
	e.mustTransition("churn", 2, lineage.StageProduction)

	// Without the setting, a failure is only recorded.
	e.deploy("churn", 2, "prod", lineage.DeploymentFailed)
	if st := e.stages("churn"); st[2] != lineage.StageProduction {
		t.Fatalf("stages after a failure without autoRollback = %v, want v2 still PRODUCTION", st)
	}
	m, err := e.svc.UpdateModel(e.ctx, lineage.UpdateModelInput{Model: "Churn", AutoRollback: ptr(true)})
	mustNoErr(t, "UpdateModel", err)
	if !m.AutoRollback {
		t.Fatal("UpdateModel did not set AutoRollback")
	}
	_, err = e.svc.UpdateModel(e.ctx, lineage.UpdateModelInput{Model: "nope", AutoRollback: ptr(true)})
	wantErr(t, "UpdateModel(unknown)", err, lineage.ENOTFOUND, "model")

	head := e.head()
	_, err = e.svc.RecordDeployment(e.ctx, lineage.RecordDeploymentInput{Model: "churn", Version: 2, Environment: "prod", Status: lineage.DeploymentFailed, Message: "health check timed out"})
	mustNoErr(t, "RecordDeployment(FAILED)", err)
	if st := e.stages("churn"); st[1] != lineage.StageProduction || st[2] != lineage.StageArchived {
		t.Fatalf("stages after the automatic rollback = %v, want v1 PRODUCTION, v2 ARCHIVED", st)
	}
	var types []lineage.EventType
	var rolled map[string]any
	for _, ev := range e.allEvents("churn") {
		if ev.Seq > head {
			types = append(types, ev.Type)
			if ev.Type == lineage.EventRolledBack {
				rolled = payload(t, ev)
			}
		}
	}
	P, S, B := lineage.EventDeploymentRecorded, lineage.EventStageChanged, lineage.EventRolledBack
	if want := []lineage.EventType{P, S, S, B}; !cmp.Equal(types, want) {
		t.Errorf("events = %v, want %v", types, want)
	}
	cause, _ := rolled["cause"].(map[string]any)
	if rolled["automatic"] != true || rolled["version"] != float64(1) || rolled["rolledBackVersion"] != float64(2) || cause["deployment"] != "deployment:churn/2/prod" {
		t.Errorf("ROLLED_BACK payload = %v", rolled)
	}
	var trail []lineage.Transition
	mustView(t, e.store, func(tx lineage.ReadTx) error {
		var err error
		trail, err = tx.Transitions([]lineage.ID{"modelversion:churn/1"})
		return err
	})
	last := trail[len(trail)-1]
	if want := "automatic rollback: deployment of v2 to prod failed: health check timed out"; last.Reason != want || !last.Rollback || last.To != lineage.StageProduction {
		t.Errorf("audit entry = %+v, want a rollback to PRODUCTION with reason %q", last, want)
	}
	if d := e.deployment("deployment:churn/1/prod"); d.DecommissionRequested {
		t.Error("v1's deployment is still marked for decommission after v1 was restored")
	}
	if d := e.deployment("deployment:churn/2/prod"); !d.DecommissionRequested || d.Status != lineage.DeploymentFailed {
		t.Errorf("failed v2 deployment: %s, marked %v; want FAILED and marked", d.Status, d.DecommissionRequested)
	}

	// A failure of a version that is not in Production, or with nothing to
	// roll back to, changes no stage.
	e.deploy("churn", 3, "prod", lineage.DeploymentFailed)
	e.registerN("solo", 1)
	_, err = e.svc.UpdateModel(e.ctx, lineage.UpdateModelInput{Model: "solo", AutoRollback: ptr(true)})
	mustNoErr(t, "UpdateModel(solo)", err)
	e.mustTransition("solo", 1, lineage.StageProduction)
	e.deploy("solo", 1, "prod", lineage.DeploymentFailed)
	if st := e.stages("solo"); st[1] != lineage.StageProduction {
		t.Errorf("solo stages = %v, want v1 still PRODUCTION", st)
	}
	if st := e.stages("churn"); st[1] != lineage.StageProduction || st[3] != lineage.StageNone {
		t.Errorf("churn stages = %v after a failure of v3 (not in Production)", st)
	}
}

func (e *env) deploy(model string, v int64, environment string, st lineage.DeploymentStatus) *lineage.Deployment {
	e.t.Helper()
	d, err := e.svc.RecordDeployment(e.ctx, lineage.RecordDeploymentInput{Model: model, Version: v, Environment: environment, Status: st, Endpoint: "https://churn.example.com/predict"})
	mustNoErr(e.t, fmt.Sprintf("RecordDeployment(%s v%d %s %s)", model, v, environment, st), err)
	return d
}

func (e *env) deployment(id lineage.ID) *lineage.Deployment {
	e.t.Helper()
	var d *lineage.Deployment
	mustView(e.t, e.store, func(tx lineage.ReadTx) error {
		n, err := tx.Node(id)
		if err != nil {
			return err
		}
		ent, err := lineage.Decode(n)
		d, _ = ent.(*lineage.Deployment)
		return err
	})
	return d
}

// Run and dataset events belong to no model: Model "" with their own
// contiguous ModelSeq, and are left out of a model's stream.
func (h *harness) testNonModelEvents(t *testing.T) {
	e := h.newEnv(t)
	head := e.head()
	dv := e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "customers", URI: "s3://d/customers.csv", Digest: dg("customers")})
	e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "customers", URI: "s3://d/customers.csv", Digest: dg("customers")}) // existing: no event
	run := e.mustSimpleRun("exp")
	e.mustFinish(run.ID)
	e.mustFinish(run.ID) // no-op: no event
	e.mustRegister("churn", run.ID)
	var got []lineage.Event
	for _, ev := range e.allEvents("") {
		if ev.Seq > head && ev.Model == "" {
			got = append(got, ev)
		}
	}
	if len(got) != 2 || got[0].Type != lineage.EventDatasetVersionRegistered || got[1].Type != lineage.EventRunFinished {
		t.Fatalf("events without a model = %v, want DATASET_VERSION_REGISTERED then RUN_FINISHED", got)
	}
	if got[1].ModelSeq != got[0].ModelSeq+1 {
		t.Errorf("ModelSeq %d then %d, want contiguous", got[0].ModelSeq, got[1].ModelSeq)
	}
	if p := payload(t, got[0]); p["id"] != string(dv.ID) || p["digest"] != dv.Digest || p["version"] != float64(1) {
		t.Errorf("dataset payload = %v", p)
	}
	if p := payload(t, got[1]); p["id"] != string(run.ID) || p["status"] != "FINISHED" || p["endedAt"] == nil {
		t.Errorf("run payload = %v", p)
	}
	for _, ev := range e.allEvents("churn") {
		if ev.Model != "churn" {
			t.Errorf("churn's events include %s of model %q", ev.Type, ev.Model)
		}
	}
}

// Every committed registry change writes its event in the same transaction;
// failed mutations write none; ModelSeq is contiguous per model.
func (h *harness) testEventsOutbox(t *testing.T) {
	e := h.newEnv(t)
	run := e.mustSimpleRun("exp")
	e.mustRegister("churn", run.ID)
	e.mustRegister("fraud", run.ID)
	e.mustRegister("churn", run.ID)
	e.mustTransition("churn", 1, lineage.StageProduction)
	e.mustTransition("churn", 2, lineage.StageProduction)
	e.mustTransition("churn", 2, lineage.StageProduction) // no-op
	_, err := e.svc.RollbackModel(e.ctx, "churn", "")
	mustNoErr(t, "RollbackModel", err)
	for range 2 {
		_, err = e.svc.SetModelAlias(e.ctx, "churn", "champion", 1)
		mustNoErr(t, "SetModelAlias", err)
	}
	_, err = e.svc.DeleteModelAlias(e.ctx, "churn", "champion")
	mustNoErr(t, "DeleteModelAlias", err)
	_, err = e.svc.RecordDeployment(e.ctx, lineage.RecordDeploymentInput{Model: "churn", Version: 1, Environment: "prod", Status: lineage.DeploymentSucceeded})
	mustNoErr(t, "RecordDeployment", err)

	head := e.head()
	for _, f := range []struct {
		name string
		call func() error
	}{
		{"CAS conflict", func() error {
			_, err := e.svc.TransitionModelVersionStage(e.ctx, lineage.TransitionInput{Model: "churn", Version: 2, Stage: lineage.StageStaging, ExpectedStage: ptr(lineage.StageProduction)})
			return err
		}},
		{"rollback with no target", func() error { _, err := e.svc.RollbackModel(e.ctx, "churn", ""); return err }},
		{"alias on an unknown version", func() error { _, err := e.svc.SetModelAlias(e.ctx, "churn", "x", 99); return err }},
		{"register with an unknown run", func() error {
			_, err := e.svc.RegisterModelVersion(e.ctx, registerInput("churn", "run:nope", "x"))
			return err
		}},
		{"deployment with a bad status", func() error {
			_, err := e.svc.RecordDeployment(e.ctx, lineage.RecordDeploymentInput{Model: "churn", Version: 1, Environment: "prod", Status: "BROKEN"})
			return err
		}},
	} {
		if err := f.call(); err == nil {
			t.Errorf("%s: succeeded, want an error", f.name)
		}
	}
	if e.head() != head {
		t.Errorf("failed mutations moved LastEventSeq from %d to %d", head, e.head())
	}

	var got []lineage.EventType
	churn := e.allEvents("churn")
	for _, ev := range churn {
		got = append(got, ev.Type)
	}
	R, S, B, A, D, P := lineage.EventModelVersionRegistered, lineage.EventStageChanged, lineage.EventRolledBack, lineage.EventAliasSet, lineage.EventAliasDeleted, lineage.EventDeploymentRecorded
	want := []lineage.EventType{R, R, S, S, S, S, S, B, A, D, P}
	if !cmp.Equal(got, want) {
		t.Errorf("churn events = %v\nwant %v", got, want)
	}
	wantModelSeqs(t, churn, len(want))
	wantModelSeqs(t, e.allEvents("fraud"), 1)
	all := e.allEvents("")
	ids := map[string]bool{}
	for i, ev := range all {
		if ids[ev.ID] || ev.ID == "" {
			t.Errorf("event %d has a missing or repeated ID %q", ev.Seq, ev.ID)
		}
		ids[ev.ID] = true
		if i > 0 && ev.CreatedAt.Before(all[i-1].CreatedAt) {
			t.Errorf("event %d created before event %d", ev.Seq, all[i-1].Seq)
		}
	}
	if p := payload(t, churn[0]); p["version"] != float64(1) || p["id"] != "modelversion:churn/1" {
		t.Errorf("registration payload = %v", p)
	}
}

// subscribe registers cleanup that cancels the subscription and waits for
// its channel to close before the store is closed.
func (e *env) subscribe(model string, types []lineage.EventType, after int64) <-chan lineage.Event {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	ch, err := e.svc.Subscribe(ctx, model, types, after)
	if err != nil {
		cancel()
		e.t.Fatalf("Subscribe: %v", err)
	}
	e.t.Cleanup(func() {
		cancel()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-timeout:
				e.t.Errorf("Subscribe channel not closed 10 s after cancel")
				return
			}
		}
	})
	return ch
}

func receive(tb testing.TB, ch <-chan lineage.Event, wait time.Duration) (lineage.Event, bool) {
	tb.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(wait):
		return lineage.Event{}, false
	}
}

// Subscribe delivers committed events, filtered by model and type, and
// resumes after a sequence number.
func (h *harness) testSubscribe(t *testing.T) {
	e := h.newEnv(t)
	live := e.subscribe("churn", nil, -1)
	run := e.mustSimpleRun("exp")
	e.mustRegister("churn", run.ID)
	e.mustRegister("fraud", run.ID)
	e.mustTransition("churn", 1, lineage.StageStaging)
	var got []lineage.Event
	for range 2 {
		ev, ok := receive(t, live, 10*time.Second)
		if !ok {
			t.Fatalf("Subscribe(churn): received %d events, want 2", len(got))
		}
		got = append(got, ev)
	}
	if got[0].Type != lineage.EventModelVersionRegistered || got[1].Type != lineage.EventStageChanged || got[0].ModelSeq != 1 || got[1].ModelSeq != 2 {
		t.Errorf("Subscribe(churn) delivered %v", got)
	}
	resumed := e.subscribe("churn", nil, got[0].Seq)
	if ev, ok := receive(t, resumed, 10*time.Second); !ok || ev.Seq != got[1].Seq {
		t.Errorf("Subscribe(churn, after %d) first delivered %+v, want Seq %d", got[0].Seq, ev, got[1].Seq)
	}
	stages := e.subscribe("", []lineage.EventType{lineage.EventStageChanged}, 0)
	if ev, ok := receive(t, stages, 10*time.Second); !ok || ev.Seq != got[1].Seq {
		t.Errorf("Subscribe(all, STAGE_CHANGED) first delivered %+v, want the stage change %d", ev, got[1].Seq)
	}
	everything := e.subscribe("", nil, 0)
	var seqs []int64
	for range 3 {
		ev, ok := receive(t, everything, 10*time.Second)
		if !ok {
			break
		}
		seqs = append(seqs, ev.Seq)
	}
	if len(seqs) != 3 || seqs[0] >= seqs[1] || seqs[1] >= seqs[2] {
		t.Errorf("Subscribe(all, from 0) delivered Seqs %v, want 3 in order", seqs)
	}
	e.mustTransition("churn", 1, lineage.StageProduction)
	if ev, ok := receive(t, stages, 10*time.Second); !ok || ev.Type != lineage.EventStageChanged {
		t.Errorf("after a new transition, Subscribe(all, STAGE_CHANGED) delivered %+v, %v", ev, ok)
	}
}

// Model names are unique on their lower-case form ("Churn" and "churn" are
// one model: Model, ModelVersion and registration all treat them so). The
// events of a model must be found under any spelling of its name.
func (h *harness) testEventsModelNameCase(t *testing.T) {
	e := h.newEnv(t)
	run := e.mustSimpleRun("exp")
	e.mustRegister("Churn", run.ID)
	e.mustRegister("churn", run.ID)
	if m, err := e.svc.Model(e.ctx, "CHURN"); err != nil || m.ID != "model:churn" {
		t.Fatalf("Model(CHURN) = %v, %v", m, err)
	}
	for _, name := range []string{"Churn", "churn", "CHURN"} {
		evs, err := e.svc.Events(e.ctx, name, 0, nil, 100)
		mustNoErr(t, "Events", err)
		if len(evs) != 2 {
			t.Errorf("Events(%q) = %d events, want the model's 2", name, len(evs))
		}
	}
	ch := e.subscribe("churn", nil, 0)
	if _, ok := receive(t, ch, 2*time.Second); !ok {
		t.Errorf("Subscribe(churn) delivered nothing for model Churn")
	}
}

// 32 concurrent writers of mixed mutations: no errors ("database is
// locked" never surfaces), and the invariants hold afterwards.
func (h *harness) testConcurrentMixedWriters(t *testing.T) {
	h.skipConcurrency(t)
	e := h.newEnv(t)
	run0 := e.mustSimpleRun("mix")
	e.mustRegister("mix", run0.ID)
	dv := e.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "mixdata", Digest: dg("mix-0")})
	const n = 32
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = mixedWrite(e, i, run0.ID, dv.ID)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d (kind %d): %v", i, i%8, err)
		}
	}
	stages := e.stages("mix")
	prod := 0
	for _, st := range stages {
		if st == lineage.StageProduction {
			prod++
		}
	}
	if prod != 1 || len(stages) != 1+2*(n/8) {
		t.Errorf("after the mix: %d versions, %d in PRODUCTION; want %d and 1", len(stages), prod, 1+2*(n/8))
	}
	for v := int64(1); v <= int64(len(stages)); v++ {
		if _, ok := stages[v]; !ok {
			t.Errorf("version %d missing: versions not contiguous (%v)", v, stages)
		}
	}
	evs := e.allEvents("mix")
	wantModelSeqs(t, evs, len(evs))
	if most := replayProduction(t, evs); most > 1 {
		t.Errorf("replaying the outbox, %d versions were in PRODUCTION at once", most)
	}
}

func mixedWrite(e *env, i int, run0, dv lineage.ID) error {
	ctx := e.ctx
	switch i % 8 {
	case 0:
		r, err := e.svc.StartRun(ctx, lineage.StartRunInput{Experiment: "mix", Name: fmt.Sprint("w", i), Params: map[string]string{"i": fmt.Sprint(i)}, Inputs: []lineage.RunInput{{Node: dv, Role: "train"}}})
		if err != nil {
			return err
		}
		if _, err := e.svc.LogMetrics(ctx, r.ID, []lineage.MetricPoint{{Key: "auc", Value: float64(i) / 100, Step: 1}}); err != nil {
			return err
		}
		_, err = e.svc.FinishRun(ctx, lineage.FinishRunInput{Run: r.ID, Status: lineage.RunFinished})
		return err
	case 1:
		d, err := e.svc.RegisterDatasetVersion(ctx, lineage.RegisterDatasetVersionInput{Dataset: "mixdata", Digest: dg(fmt.Sprint("mix-", i))})
		if err != nil {
			return err
		}
		_, err = e.svc.RegisterSplits(ctx, lineage.RegisterSplitsInput{DatasetVersion: d.ID, Splits: []lineage.SplitInput{{Name: "train"}}})
		return err
	case 2:
		_, err := e.svc.RegisterModelVersion(ctx, registerInput("mix", run0, fmt.Sprint(i)))
		return err
	case 3:
		mv, err := e.svc.RegisterModelVersion(ctx, registerInput("mix", run0, fmt.Sprint(i)))
		if err != nil {
			return err
		}
		_, err = e.svc.TransitionModelVersionStage(ctx, lineage.TransitionInput{Model: "mix", Version: mv.Version, Stage: lineage.StageProduction, ArchiveExisting: true})
		return err
	case 4:
		_, err := e.svc.SetModelAlias(ctx, "mix", fmt.Sprint("alias-", i), 1)
		return err
	case 5:
		_, err := e.svc.RecordDeployment(ctx, lineage.RecordDeploymentInput{Model: "mix", Version: 1, Environment: fmt.Sprint("env-", i), Status: lineage.DeploymentSucceeded})
		return err
	case 6:
		if _, err := e.svc.LogParams(ctx, run0, map[string]string{fmt.Sprint("p", i): "v"}); err != nil {
			return err
		}
		_, err := e.svc.SetRunTags(ctx, run0, map[string]string{fmt.Sprint("t", i): "v"})
		return err
	default:
		if _, err := e.svc.Lineage(ctx, lineage.LineageInput{Of: run0, Direction: lineage.Both}); err != nil {
			return err
		}
		if _, err := e.svc.Runs(ctx, lineage.RunsInput{Filter: "metrics.auc > 0.1", Experiment: "mix"}); err != nil {
			return err
		}
		if _, err := e.svc.Impact(ctx, dv); err != nil {
			return err
		}
		_, err := e.svc.Events(ctx, "mix", 0, nil, 100)
		return err
	}
}
