package lineagetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pedigree-ml/pedigree/lineage"
)

// SetCounter sets a version counter: the next NextVersion continues from
// it, in the same transaction or a later one; a rolled-back SetCounter
// leaves nothing.
func (h *harness) testSetCounter(t *testing.T) {
	s := h.open(t)
	var got []int64
	next := func(tx lineage.Tx, c lineage.ID) {
		v, err := tx.NextVersion(c)
		mustNoErr(t, "NextVersion", err)
		got = append(got, v)
	}
	mustUpdate(t, s, func(tx lineage.Tx) error {
		if err := tx.SetCounter("model:churn", 7); err != nil {
			return err
		}
		next(tx, "model:churn")
		return tx.SetCounter("artifact:report", 41) // a counter need not be a node
	})
	mustUpdate(t, s, func(tx lineage.Tx) error {
		next(tx, "model:churn")
		next(tx, "artifact:report")
		return tx.SetCounter("model:churn", 2) // sets, even lower
	})
	errBoom := errors.New("boom")
	err := s.Update(bg, func(tx lineage.Tx) error {
		if err := tx.SetCounter("model:churn", 100); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("Update returned %v, want the fn's error", err)
	}
	mustUpdate(t, s, func(tx lineage.Tx) error { next(tx, "model:churn"); return nil })
	if want := []int64{8, 9, 42, 3}; !cmp.Equal(got, want) {
		t.Errorf("NextVersion after SetCounter = %v, want %v", got, want)
	}
}

// AddEdge of an edge with RemovedAt stores it as removed: Edges leaves it
// out, AsOf traversals see it in its lifetime, and it neither hides nor
// removes a live edge with the same ends, type and role.
func (h *harness) testAddRemovedEdge(t *testing.T) {
	s := h.open(t)
	run, dv := lineage.ID("run:r1"), lineage.ID("datasetversion:d/1")
	createNodes(t, s, mkNode(run, "", "r", at(0)), mkNode(dv, "", "d", at(0)))
	old := edge(run, dv, lineage.EdgeUsed, "train", at(1))
	old.RemovedAt = ptr(at(3))
	live := edge(run, dv, lineage.EdgeUsed, "train", at(5))
	older := edge(run, dv, lineage.EdgeUsed, "train", at(0))
	older.RemovedAt = ptr(at(1))
	addEdges(t, s, old, live, older) // a removed edge after a live one is not a no-op
	mustView(t, s, func(tx lineage.ReadTx) error {
		got, err := tx.Edges(run, lineage.Upstream)
		mustNoErr(t, "Edges", err)
		if diff := cmp.Diff([]lineage.Edge{live}, got, cmpOpts); diff != "" {
			t.Errorf("Edges with removed edges added (-want +got):\n%s", diff)
		}
		return nil
	})
	if h.opts.SkipAsOf {
		return
	}
	for _, c := range []struct {
		asOf  int
		reach bool
	}{{2, true}, {4, false}, {6, true}} {
		g, err := s.Traverse(bg, lineage.TraversalQuery{Of: run, Direction: lineage.Upstream, Depth: 1, Limit: 10, AsOf: ptr(at(c.asOf))})
		mustNoErr(t, "Traverse", err)
		if got := len(g.Nodes) == 2; got != c.reach {
			t.Errorf("Traverse AsOf t0+%ds reaches the dataset version: %v, want %v (hops %v)", c.asOf, got, c.reach, g.Nodes)
		}
	}
}

// Dump and Restore, for a backend that implements lineage.Dumper.
func (h *harness) dumpTests(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"RoundTrip", h.testDumpRoundTrip},
		{"DumpStopsAtFnError", h.testDumpFnError},
		{"RestoreNeedsEmptyTarget", h.testRestoreNonEmpty},
		{"RestoreChecksEventSeq", h.testRestoreEventSeq},
		{"RestoreRejectsBadRecords", h.testRestoreBadRecords},
	} {
		t.Run(tc.name, tc.fn)
	}
}

// dumperEnv is newEnv for a store that implements lineage.Dumper; it skips otherwise.
func (h *harness) dumperEnv(t *testing.T) *env {
	t.Helper()
	e := h.newEnv(t)
	if _, ok := e.store.(lineage.Dumper); !ok {
		t.Skipf("SKIPPED: %T does not implement lineage.Dumper (pedigree export/import)", e.store)
	}
	return e
}

// mustDump encodes a store's dump.
func mustDump(tb testing.TB, s lineage.Store) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := lineage.NewDumpWriter(&buf)
	mustNoErr(tb, "Dump", s.(lineage.Dumper).Dump(bg, w.Write))
	mustNoErr(tb, "DumpWriter.Close", w.Close())
	return buf.Bytes()
}

// mustRecords returns a store's dump as records.
func mustRecords(tb testing.TB, s lineage.Store) []*lineage.Record {
	tb.Helper()
	var out []*lineage.Record
	mustNoErr(tb, "Dump", s.(lineage.Dumper).Dump(bg, func(r *lineage.Record) error { out = append(out, r); return nil }))
	return out
}

// from returns a next func over records.
func from(records []*lineage.Record) func() (*lineage.Record, error) {
	return func() (*lineage.Record, error) {
		if len(records) == 0 {
			return nil, io.EOF
		}
		r := records[0]
		records = records[1:]
		return r, nil
	}
}

// reading returns a next func that decodes a dump.
func reading(dump []byte) func() (*lineage.Record, error) {
	return lineage.NewDumpReader(bytes.NewReader(dump)).Next
}

// buildRich fills a store with every kind of history a dump carries: the
// world, tags, a long metric history logged in overlapping batches (some
// points twice), values JSON numbers cannot hold, a registry with stage
// changes, a rollback, aliases and moved deployments (removed SERVES
// edges), idempotency keys, a soft-deleted and a hard-deleted node, and
// documents (richDocs, one of them replaced and one deleted).
func (e *env) buildRich() (long *lineage.Run) {
	t := e.t
	t.Helper()
	w := e.buildWorld()
	ctx := lineage.WithActor(e.ctx, "ann")
	_, err := e.svc.SetRunTags(ctx, w.run1.ID, map[string]string{"team": "risk", "note": `<b>"quoted" & ✓</b>`})
	mustNoErr(t, "SetRunTags", err)

	long = e.mustRun(lineage.StartRunInput{Experiment: "churn", Name: "long", Params: map[string]string{"epochs": "2600"},
		Tags: map[string]string{"kind": "sweep"}, Inputs: []lineage.RunInput{{Node: w.train2.ID, Role: "train"}}, IdempotencyKey: "start-long"})
	pts := make([]lineage.MetricPoint, 2500)
	for i := range pts {
		pts[i] = lineage.MetricPoint{Key: "loss", Step: int64(i), Value: 1 / float64(i+1), Timestamp: at(5000 + i)}
	}
	e.mustMetrics(long.ID, pts...)
	// A client resending a window: steps 2400–2499 again, identical, then new ones.
	again := slices.Clone(pts[2400:])
	for i := 2500; i < 2600; i++ {
		again = append(again, lineage.MetricPoint{Key: "loss", Step: int64(i), Value: 1 / float64(i+1), Timestamp: at(5000 + i)})
	}
	e.mustMetrics(long.ID, again...)
	e.mustMetrics(long.ID, lineage.MetricPoint{Key: "loss", Step: 10, Value: 0.123, Timestamp: at(9000)}, // re-evaluated later
		lineage.MetricPoint{Key: "acc", Step: 3, Value: 0.5}, lineage.MetricPoint{Key: "acc", Step: 1, Value: 0.25})
	// Only the store, not the Service, takes values JSON numbers cannot hold.
	mustUpdate(t, e.store, func(tx lineage.Tx) error {
		return tx.LogMetrics(long.ID, []lineage.MetricPoint{
			{Key: "grad", Step: 1, Value: math.NaN(), Timestamp: at(9001)},
			{Key: "grad", Step: 2, Value: math.Inf(1), Timestamp: at(9002)},
			{Key: "grad", Step: 3, Value: math.Inf(-1), Timestamp: at(9003)},
			{Key: "grad", Step: 4, Value: 5e-324, Timestamp: at(9004)},
			{Key: "grad", Step: 5, Value: -math.MaxFloat64, Timestamp: at(9005)},
			{Key: "grad", Step: 6, Value: math.Copysign(0, -1), Timestamp: at(9006)},
			{Key: "grad", Step: 7, Value: 1e21, Timestamp: at(9007)},
		})
	})
	e.mustFinish(long.ID)

	in := registerInput("churn", long.ID, "long.pkl")
	in.IdempotencyKey = "register-long"
	_, err = e.svc.RegisterModelVersion(e.ctx, in)
	mustNoErr(t, "RegisterModelVersion", err)
	e.mustTransition("churn", 1, lineage.StageStaging)
	e.mustTransition("churn", 1, lineage.StageProduction)
	e.mustTransition("churn", 2, lineage.StageProduction)
	e.mustTransition("churn", 3, lineage.StageStaging)
	_, err = e.svc.RollbackModel(lineage.WithActor(e.ctx, "oncall"), "churn", "bad predictions")
	mustNoErr(t, "RollbackModel", err)
	for alias, v := range map[string]int64{"champion": 1, "challenger": 3, "old": 2} {
		_, err := e.svc.SetModelAlias(e.ctx, "churn", alias, v)
		mustNoErr(t, "SetModelAlias", err)
	}
	_, err = e.svc.DeleteModelAlias(e.ctx, "churn", "old")
	mustNoErr(t, "DeleteModelAlias", err)
	for _, v := range []int64{1, 2, 1} {
		_, err := e.svc.RecordDeployment(e.ctx, lineage.RecordDeploymentInput{Model: "churn", Version: v, Environment: "prod",
			Status: lineage.DeploymentSucceeded, Endpoint: "https://churn.example.com/predict"})
		mustNoErr(t, "RecordDeployment", err)
	}

	art, err := e.svc.RegisterArtifact(e.ctx, lineage.RegisterArtifactInput{Name: "report", Type: "report", Digest: dg("report"), Run: long.ID})
	mustNoErr(t, "RegisterArtifact", err)
	mustNoErr(t, "soft delete", e.svc.DeleteNode(e.ctx, art.ID, false))
	scratch := e.mustSimpleRun("scratch")
	e.mustMetrics(scratch.ID, lineage.MetricPoint{Key: "loss", Value: 1})
	mustNoErr(t, "hard delete", e.svc.DeleteNode(e.ctx, scratch.ID, true))

	putDocs(t, e.store, doc("webhooks", "wh_0192/a", `{"url":"https://example.com/old"}`), doc("deliveries", "wh_0192/00000000000000000001", `{}`))
	putDocs(t, e.store, richDocs...)
	mustUpdate(t, e.store, func(tx lineage.Tx) error { return tx.DeleteDoc("deliveries", "wh_0192/00000000000000000001") })
	return long
}

// Dump stops at the first error fn returns and returns it as is.
func (h *harness) testDumpFnError(t *testing.T) {
	e := h.dumperEnv(t)
	e.registerN("churn", 2)
	errStop := errors.New("stop")
	calls := 0
	err := e.store.(lineage.Dumper).Dump(bg, func(*lineage.Record) error {
		calls++
		if calls == 3 {
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Errorf("Dump returned %v, want fn's error as is", err)
	}
	if calls != 3 {
		t.Errorf("fn called %d times after it failed on the 3rd record", calls)
	}
}

// A store dumped and restored into an empty store of the same backend
// dumps the same records, line for line, and reads the same.
func (h *harness) testDumpRoundTrip(t *testing.T) {
	e := h.dumperEnv(t)
	long := e.buildRich()
	first := mustDump(t, e.store)
	wantDumpHas(t, first)
	// Everything read from the source is read before the target is opened:
	// a backend's newStore may wipe and reuse one database (Neo4j Community).
	src := &env{t: t, store: e.store, ctx: bg}
	srcSnapshot, srcAll, srcEvents := snapshot(t, e.store), src.allEvents(""), src.allEvents("churn")
	srcDocs := richDocsOf(t, e.store)

	dst := h.open(t)
	mustNoErr(t, "Restore", lineage.Restore(bg, dst, reading(first)))
	second := mustDump(t, dst)
	if diff := firstDifference(first, second); diff != "" {
		t.Errorf("the restored store dumps differently from the dump restored: %s", diff)
	}
	if diff := cmp.Diff(srcSnapshot, snapshot(t, dst), cmpOpts, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("restored store reads differently (-source +restored):\n%s", diff)
	}
	// A dump file holds document values compacted (see lineage.Dumper).
	for i := range srcDocs {
		var b bytes.Buffer
		mustNoErr(t, "json.Compact", json.Compact(&b, srcDocs[i].Value))
		srcDocs[i].Value = b.Bytes()
	}
	wantDocs(t, "restored documents", richDocsOf(t, dst), srcDocs)
	got := &env{t: t, store: dst, ctx: bg}
	if diff := cmp.Diff(srcAll, got.allEvents(""), cmpOpts); diff != "" {
		t.Errorf("restored events (-source +restored):\n%s", diff)
	}
	// The restored store carries on where the source stopped: versions and
	// the model's event numbers continue.
	svc := lineage.NewService(dst, lineage.WithClock(e.clock.Now))
	mv, err := svc.RegisterModelVersion(bg, registerInput("churn", long.ID, "next.pkl"))
	mustNoErr(t, "RegisterModelVersion on the restored store", err)
	if mv.Version != 4 {
		t.Errorf("next version on the restored store = %d, want 4 (the counter restored)", mv.Version)
	}
	evs := got.allEvents("churn")
	if want := srcEvents[len(srcEvents)-1].ModelSeq + 1; evs[len(evs)-1].ModelSeq != want {
		t.Errorf("the restored store's next event has ModelSeq %d, want %d", evs[len(evs)-1].ModelSeq, want)
	}
}

// richDocsOf lists the documents of richDocs' collections, by collection
// then key.
func richDocsOf(tb testing.TB, s lineage.Store) []lineage.Doc {
	tb.Helper()
	var out []lineage.Doc
	for _, c := range []string{"deliveries", "webhook", "webhooks"} {
		out = append(out, docsOf(tb, s, lineage.DocQuery{Collection: c, Limit: 100})...)
	}
	return out
}

// firstDifference describes where two dumps first differ, "" if they do
// not: the line and the text around the first differing byte.
func firstDifference(a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	line := bytes.Count(a[:i], []byte("\n")) + 1
	around := func(d []byte) string {
		lo, hi := max(0, i-120), min(len(d), i+120)
		return fmt.Sprintf("%q", d[lo:hi])
	}
	return fmt.Sprintf("line %d, byte %d:\n  first:  …%s…\n  second: …%s…", line, i, around(a), around(b))
}

// wantDumpHas checks that a dump of buildRich carries what makes it rich,
// so that the round trip proves something.
func wantDumpHas(t *testing.T, dump []byte) {
	t.Helper()
	types := map[string]int{}
	var (
		longest, last int // last: index in RecordTypes of the last record's type
		docs          []lineage.Doc
	)
	next := reading(dump)
	for {
		r, err := next()
		if err == io.EOF {
			break
		}
		mustNoErr(t, "DumpReader.Next", err)
		types[r.Type()]++
		if i := slices.Index(lineage.RecordTypes, r.Type()); i < last {
			t.Errorf("a %s record after a %s record: not in the order lineage.Dumper defines", r.Type(), lineage.RecordTypes[last])
		} else {
			last = i
		}
		if r.Metrics != nil {
			longest = max(longest, len(r.Metrics.Points))
		}
		if r.Doc != nil {
			docs = append(docs, *r.Doc)
		}
	}
	wantDocOrder := slices.Clone(richDocs)
	slices.SortFunc(wantDocOrder, func(a, b lineage.Doc) int {
		if c := strings.Compare(a.Collection, b.Collection); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	if got, want := docIdentities(docs), docIdentities(wantDocOrder); !slices.Equal(got, want) {
		t.Errorf("doc records = %v, want %v (by collection, then key)", got, want)
	}
	for _, typ := range lineage.RecordTypes {
		if types[typ] == 0 {
			t.Errorf("the dump has no %s record", typ)
		}
	}
	if longest != lineage.MaxDumpPoints {
		t.Errorf("longest metrics record has %d points, want %d", longest, lineage.MaxDumpPoints)
	}
	for _, s := range []string{`"deletedAt":`, `"removedAt":`, `"NaN"`, `"Infinity"`, `"-Infinity"`, `"rollback":true`, `"value":-0`, `<b>\"quoted\" & ✓</b>`,
		`"value":{"url":"https://example.com/a","events":[]}`, `"value":[1,2.50,"x"]`} {
		if !bytes.Contains(dump, []byte(s)) {
			t.Errorf("the dump has no %s", s)
		}
	}
}

func docIdentities(ds []lineage.Doc) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Collection + " " + d.Key
	}
	return out
}

// Restore refuses a target that holds anything, with ECONFLICT, and
// writes nothing.
func (h *harness) testRestoreNonEmpty(t *testing.T) {
	e := h.dumperEnv(t)
	e.buildRich()
	dump := mustDump(t, e.store)
	deleted := mkNode("dataset:old", "", "old", at(1))
	deleted.DeletedAt = ptr(at(2))
	for _, c := range []struct {
		name string
		fill func(x *env)
	}{
		{"a node", func(x *env) {
			x.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "other", Digest: dg("other")})
		}},
		{"only a soft-deleted node", func(x *env) { createNodes(t, x.store, deleted) }},
		{"only a counter", func(x *env) {
			mustUpdate(t, x.store, func(tx lineage.Tx) error { _, err := tx.NextVersion("model:churn"); return err })
		}},
		{"only a doc", func(x *env) { putDocs(t, x.store, doc("cursors", "consumer-1", `{"seq":1}`)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := h.newEnv(t)
			c.fill(x)
			before := mustDump(t, x.store)
			err := lineage.Restore(bg, x.store, reading(dump))
			wantCode(t, "Restore into a store holding "+c.name, err, lineage.ECONFLICT)
			if after := mustDump(t, x.store); !bytes.Equal(before, after) {
				t.Errorf("a refused Restore changed the target:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	// A store that is no Dumper is checked through List and LastEventSeq.
	t.Run("not a Dumper", func(t *testing.T) {
		x := h.newEnv(t)
		x.mustDatasetVersion(lineage.RegisterDatasetVersionInput{Dataset: "other", Digest: dg("other")})
		before := snapshot(t, x.store)
		err := lineage.Restore(bg, struct{ lineage.Store }{x.store}, reading(dump))
		wantCode(t, "Restore into a non-empty store that is no Dumper", err, lineage.ECONFLICT)
		wantUnchanged(t, "a refused Restore", x.store, before)
	})
}

// Restore fails with ECONFLICT when the target numbers an event otherwise
// than the dump: here the dump lacks its first event.
func (h *harness) testRestoreEventSeq(t *testing.T) {
	e := h.dumperEnv(t)
	e.registerN("churn", 2)
	records := mustRecords(t, e.store)
	i := slices.IndexFunc(records, func(r *lineage.Record) bool { return r.Event != nil })
	if i < 0 {
		t.Fatal("the dump has no event")
	}
	gap := slices.Delete(slices.Clone(records), i, i+1)
	err := lineage.Restore(bg, h.open(t), from(gap))
	wantCode(t, "Restore of a dump whose events start at seq 2", err, lineage.ECONFLICT)

	renumbered := slices.Clone(records)
	ev := *records[i].Event
	ev.Seq = 7
	renumbered[i] = &lineage.Record{Event: &ev}
	err = lineage.Restore(bg, h.open(t), from(renumbered))
	wantCode(t, "Restore of a dump whose first event has seq 7", err, lineage.ECONFLICT)
}

// Restore rejects a record with no or several fields set, or without what
// it needs, with EINVALID before writing it.
func (h *harness) testRestoreBadRecords(t *testing.T) {
	h.dumperEnv(t)
	n := mkNode("dataset:a", "", "a", at(1))
	for _, c := range []struct {
		name string
		r    *lineage.Record
	}{
		{"no field", &lineage.Record{}},
		{"two fields", &lineage.Record{Node: n, Counter: &lineage.Counter{Name: "model:a", Value: 1}}},
		{"node without kind", &lineage.Record{Node: &lineage.Node{ID: "dataset:b"}}},
		{"event without seq", &lineage.Record{Event: &lineage.Event{ID: "e1"}}},
		{"metrics without points", &lineage.Record{Metrics: &lineage.MetricSeries{Run: "run:r", Key: "loss"}}},
		{"doc without key", &lineage.Record{Doc: &lineage.Doc{Collection: "c", Value: json.RawMessage(`{}`)}}},
		{"doc with a value that is not JSON", &lineage.Record{Doc: &lineage.Doc{Collection: "c", Key: "k", Value: json.RawMessage(`{"a":`)}}},
		{"doc without value", &lineage.Record{Doc: &lineage.Doc{Collection: "c", Key: "k"}}},
	} {
		s := h.open(t)
		err := lineage.Restore(bg, s, from([]*lineage.Record{c.r}))
		wantCode(t, "Restore of a record with "+c.name, err, lineage.EINVALID)
		if got := mustRecords(t, s); len(got) != 0 {
			t.Errorf("Restore of a record with %s wrote %d records", c.name, len(got))
		}
	}
	// Also when a valid record comes first: the bad one stops the batch before it is written.
	s := h.open(t)
	err := lineage.Restore(bg, s, from([]*lineage.Record{{Node: n}, {}}))
	wantCode(t, "Restore of a node then an empty record", err, lineage.EINVALID)
	if got := mustRecords(t, s); len(got) != 0 {
		t.Errorf("Restore stopped by a bad record wrote %d records", len(got))
	}
}
