package webhook

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/outbox"
)

// waitStatus waits until the delivery of an event reaches a status.
func (e *env) waitStatus(d *Dispatcher, webhook, eventID string, want Status) *Delivery {
	e.t.Helper()
	var got *Delivery
	waitFor(e.t, 15*time.Second, "delivery of "+eventID+" "+string(want), func() bool {
		got = e.delivery(d, webhook, eventID)
		return got != nil && got.Status == want
	})
	return got
}

func TestDeliversEachEventOnce(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	d := New(e.svc, fast())
	e.register("before") // committed before the webhook: never sent
	w, _ := e.create(d, CreateInput{URL: rc.srv.URL + "/hook", Secret: rc.secret})
	e.start(d)

	var evs []lineage.Event
	for _, m := range []string{"churn", "fraud", "churn"} {
		evs = append(evs, e.register(m))
	}
	if _, err := e.svc.TransitionModelVersionStage(e.ctx, lineage.TransitionInput{Model: "churn", Version: 1, Stage: lineage.StageStaging}); err != nil {
		t.Fatalf("Transition: %v", err)
	}
	evs = append(evs, e.last())

	for _, ev := range evs {
		dl := e.waitStatus(d, w.ID, ev.ID, Delivered)
		if dl.AttemptCount != 1 || len(dl.Attempts) != 1 || dl.Attempts[0].StatusCode != http.StatusNoContent || dl.DeliveredAt == nil {
			t.Errorf("delivery %s = %+v, want one 204 attempt", ev.ID, dl)
		}
		if dl.EventSeq != ev.Seq || dl.EventType != ev.Type || dl.Model != ev.Model || dl.Webhook != w.ID {
			t.Errorf("delivery %s = %+v, want event %+v", ev.ID, dl, ev)
		}
	}
	if e.queueLen(w.ID) != 0 {
		t.Errorf("queue holds %d entries after delivery, want 0", e.queueLen(w.ID))
	}
	reqs := rc.requests()
	if len(reqs) != len(evs) {
		t.Fatalf("receiver saw %d requests, want %d", len(reqs), len(evs))
	}
	for i, r := range reqs {
		ev := evs[i] // one endpoint is served in Seq order
		if r.ID != ev.ID || rc.count(ev.ID) != 1 {
			t.Errorf("request %d: webhook-id %s (seen %d times), want %s once", i, r.ID, rc.count(ev.ID), ev.ID)
		}
		if !r.Valid {
			t.Errorf("request %d: signature does not verify", i)
		}
		if want := outbox.Encode(ev); !bytes.Equal(r.Body, want) {
			t.Errorf("request %d: body\n%s\nwant\n%s", i, r.Body, want)
		}
		if ct, ua := r.Header.Get("Content-Type"), r.Header.Get("User-Agent"); ct != "application/json" || ua != UserAgent {
			t.Errorf("request %d: Content-Type %q, User-Agent %q", i, ct, ua)
		}
	}
}

func TestFilters(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	d := New(e.svc, fast())
	w, _ := e.create(d, CreateInput{URL: rc.srv.URL, Secret: rc.secret, Events: []lineage.EventType{lineage.EventModelVersionRegistered}, Models: []string{"Churn"}})
	e.start(d)
	want := e.register("churn")
	e.register("fraud")
	if _, err := e.svc.TransitionModelVersionStage(e.ctx, lineage.TransitionInput{Model: "churn", Version: 1, Stage: lineage.StageStaging}); err != nil {
		t.Fatalf("Transition: %v", err)
	}
	e.cursorAt(e.last().Seq)
	e.waitStatus(d, w.ID, want.ID, Delivered)
	if all := e.deliveries(d, w.ID); len(all) != 1 {
		t.Errorf("deliveries = %+v, want only the churn registration", all)
	}
	if rc.total() != 1 {
		t.Errorf("receiver saw %d requests, want 1", rc.total())
	}
}

// A receiver that is down (nothing listening), then answers 503, then
// recovers gets every event, with the same webhook-id on every attempt.
func TestReceiverDownThenBack(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: connections are refused

	secret := newSecret()
	opts := fast()
	opts.RetryWindow = 30 * time.Second
	d := New(e.svc, opts)
	w, _ := e.create(d, CreateInput{URL: "http://" + addr + "/hook", Secret: secret})
	e.start(d)
	evs := []lineage.Event{e.register("churn"), e.register("churn")}

	waitFor(t, 10*time.Second, "two failed attempts per event", func() bool {
		for _, ev := range evs {
			if dl := e.delivery(d, w.ID, ev.ID); dl == nil || dl.AttemptCount < 2 {
				return false
			}
		}
		return true
	})
	for _, ev := range evs {
		dl := e.delivery(d, w.ID, ev.ID)
		if dl.Status != Pending || dl.NextAttemptAt == nil || dl.Attempts[0].Error != "connection failed" || dl.Attempts[0].StatusCode != 0 {
			t.Errorf("while down: %+v, want PENDING after connection failures", dl)
		}
	}

	// Back, answering 503 to the first request of each event.
	rc := &receiver{secret: secret, perID: map[string]int{}, respond: func(_ *request, n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}}
	var l net.Listener
	waitFor(t, 5*time.Second, "listening again on "+addr, func() bool {
		l, err = net.Listen("tcp", addr)
		return err == nil
	})
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(rc.serve)}}
	srv.Start()
	t.Cleanup(srv.Close)

	for _, ev := range evs {
		dl := e.waitStatus(d, w.ID, ev.ID, Delivered)
		n := len(dl.Attempts)
		if n < 4 || dl.Attempts[n-1].StatusCode != 200 || dl.Attempts[n-2].StatusCode != 503 || dl.Attempts[n-2].Error != "HTTP 503" {
			t.Errorf("attempts of %s = %+v, want connection failures, a 503, then 200", ev.ID, dl.Attempts)
		}
		if dl.AttemptCount != n || dl.LastError != "" {
			t.Errorf("AttemptCount %d, LastError %q; want %d, none", dl.AttemptCount, dl.LastError, n)
		}
		if rc.count(ev.ID) != 2 {
			t.Errorf("receiver saw %s %d times, want 2 (503, 200)", ev.ID, rc.count(ev.ID))
		}
	}
	for _, r := range rc.requests() {
		if !r.Valid || (r.ID != evs[0].ID && r.ID != evs[1].ID) {
			t.Errorf("request with webhook-id %s valid=%v, want an event ID and a valid signature", r.ID, r.Valid)
		}
	}
}

func TestFailsAfterRetryWindow(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(*request, int) int { return http.StatusInternalServerError })
	opts := fast()
	opts.RetryWindow = time.Second
	d := New(e.svc, opts)
	w, _ := e.create(d, CreateInput{URL: rc.srv.URL, Secret: rc.secret})
	e.start(d)
	ev := e.register("churn")

	dl := e.waitStatus(d, w.ID, ev.ID, Failed)
	if dl.AttemptCount < 3 || dl.NextAttemptAt != nil || dl.LastError != "HTTP 500" {
		t.Errorf("failed delivery = %+v, want several attempts, no next attempt, last error HTTP 500", dl)
	}
	for _, a := range dl.Attempts {
		if a.StatusCode != 500 || a.Error != "HTTP 500" {
			t.Errorf("attempt %+v, want 500", a)
		}
	}
	first, last := dl.Attempts[0].At, dl.Attempts[len(dl.Attempts)-1].At
	// Attempts are scheduled within the window; one may start a little
	// after its scheduled time.
	if span := last.Sub(first); span > opts.RetryWindow+time.Second {
		t.Errorf("attempts span %v, want within the %v window", span, opts.RetryWindow)
	}
	if e.queueLen(w.ID) != 0 {
		t.Errorf("queue not empty after FAILED")
	}
	if got := rc.count(ev.ID); got != dl.AttemptCount {
		t.Errorf("receiver saw %d requests, log has %d attempts", got, dl.AttemptCount)
	}
	items, _, _, err := d.Deliveries(e.ctx, DeliveryQuery{Webhook: w.ID, Status: Failed})
	if err != nil || len(items) != 1 {
		t.Errorf("Deliveries(FAILED) = %d, %v; want 1", len(items), err)
	}
	if items, _, _, _ := d.Deliveries(e.ctx, DeliveryQuery{Webhook: w.ID, Status: Delivered}); len(items) != 0 {
		t.Errorf("Deliveries(DELIVERED) = %d, want 0", len(items))
	}
}

// A receiver that stalls costs its own webhook a timeout per attempt and
// nothing else: another webhook's deliveries go out meanwhile.
func TestSlowReceiverDoesNotDelayOthers(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	slow := newReceiver(t, func(r *request, _ int) int {
		<-release
		return http.StatusOK
	})
	defer close(release) // before slow's Close (cleanups run after defers)
	healthy := newReceiver(t, nil)
	opts := fast()
	opts.Timeout = 1500 * time.Millisecond
	d := New(e.svc, opts)
	ws, _ := e.create(d, CreateInput{URL: slow.srv.URL, Secret: slow.secret})
	wh, _ := e.create(d, CreateInput{URL: healthy.srv.URL, Secret: healthy.secret})
	e.start(d)

	evs := []lineage.Event{e.register("churn"), e.register("churn"), e.register("churn")}
	waitFor(t, 10*time.Second, "the healthy webhook to get every event", func() bool {
		for _, ev := range evs {
			if healthy.count(ev.ID) == 0 {
				return false
			}
		}
		return true
	})
	// The slow endpoint's first attempt has not even timed out yet.
	for _, dl := range e.deliveries(d, ws.ID) {
		if dl.AttemptCount != 0 {
			t.Errorf("slow webhook has a recorded attempt before the healthy one got everything: %+v", dl)
		}
	}
	for _, ev := range evs {
		e.waitStatus(d, wh.ID, ev.ID, Delivered)
	}
	waitFor(t, 10*time.Second, "a timeout recorded on the slow webhook", func() bool {
		dl := e.delivery(d, ws.ID, evs[0].ID)
		return dl != nil && dl.AttemptCount > 0
	})
	a := e.delivery(d, ws.ID, evs[0].ID).Attempts[0]
	if a.Error != "timeout" || a.StatusCode != 0 || a.Latency < opts.Timeout/2 {
		t.Errorf("slow attempt = %+v, want a timeout after about %v", a, opts.Timeout)
	}
}

func TestGoneDisablesWebhook(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(*request, int) int { return http.StatusGone })
	d := New(e.svc, fast())
	w, _ := e.create(d, CreateInput{URL: rc.srv.URL, Secret: rc.secret})
	// Two events queued before Run starts: the first attempt gets 410.
	evs := []lineage.Event{e.register("churn"), e.register("churn")}
	e.start(d)

	waitFor(t, 10*time.Second, "webhook disabled", func() bool {
		g, err := d.Get(e.ctx, w.ID)
		return err == nil && !g.Enabled
	})
	g, _ := d.Get(e.ctx, w.ID)
	if g.DisabledReason != DisabledGone {
		t.Errorf("DisabledReason = %q, want %q", g.DisabledReason, DisabledGone)
	}
	for _, ev := range evs {
		dl := e.delivery(d, w.ID, ev.ID)
		if dl == nil || dl.Status != Failed || dl.NextAttemptAt != nil {
			t.Errorf("delivery of %s = %+v, want FAILED", ev.ID, dl)
		}
	}
	if e.queueLen(w.ID) != 0 {
		t.Errorf("queue not empty after 410")
	}
	later := e.register("churn")
	e.cursorAt(later.Seq)
	if dl := e.delivery(d, w.ID, later.ID); dl != nil {
		t.Errorf("event after 410 queued: %+v", dl)
	}
	if rc.total() != 1 {
		t.Errorf("receiver saw %d requests, want exactly the one answered 410", rc.total())
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	e := newEnv(t)
	target := newReceiver(t, nil)
	rc := newReceiver(t, func(r *request, _ int) int { return http.StatusFound })
	rc.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.serve(discard{}, r)
		http.Redirect(w, r, target.srv.URL+"/elsewhere", http.StatusFound)
	})
	opts := fast()
	opts.RetryWindow = 200 * time.Millisecond
	d := New(e.svc, opts)
	w, _ := e.create(d, CreateInput{URL: rc.srv.URL, Secret: rc.secret})
	e.start(d)
	ev := e.register("churn")

	dl := e.waitStatus(d, w.ID, ev.ID, Failed)
	if a := dl.Attempts[0]; a.StatusCode != http.StatusFound || a.Error != "redirect not followed" {
		t.Errorf("attempt = %+v, want 302 redirect not followed", a)
	}
	if target.total() != 0 {
		t.Errorf("redirect target saw %d requests, want 0", target.total())
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// Even a webhook whose URL names a loopback address (stored directly,
// as a DNS name resolving there would be) is refused when connecting.
func TestConnectTimeCheck(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	opts := fast()
	opts.AllowPrivate = false
	opts.RetryWindow = 200 * time.Millisecond
	d := New(e.svc, opts)
	if _, _, err := d.Create(e.ctx, CreateInput{URL: rc.srv.URL}); lineage.ErrorCode(err) != lineage.EINVALID {
		t.Fatalf("Create(%s) with AllowPrivate=false = %v, want EINVALID", rc.srv.URL, err)
	}
	now := time.Now().UTC()
	w := stored{Webhook: Webhook{ID: newID(), URL: rc.srv.URL, Enabled: true, CreatedAt: now, UpdatedAt: now}, Secret: rc.secret}
	e.insertWebhook(w)
	e.start(d)
	ev := e.register("churn")

	dl := e.waitStatus(d, w.ID, ev.ID, Failed)
	for _, a := range dl.Attempts {
		if a.Error != "address not allowed" || a.StatusCode != 0 {
			t.Errorf("attempt = %+v, want address not allowed", a)
		}
	}
	res, err := d.Test(e.ctx, w.ID)
	if err != nil || res.Error != "address not allowed" || res.StatusCode != 0 {
		t.Errorf("Test = %+v, %v; want address not allowed", res, err)
	}
	if rc.total() != 0 {
		t.Errorf("receiver saw %d requests, want 0", rc.total())
	}
}

func TestRestartAndReplay(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	d1 := New(e.svc, fast())
	w, _ := e.create(d1, CreateInput{URL: rc.srv.URL, Secret: rc.secret})
	stop := e.start(d1)
	first := e.register("churn")
	e.waitStatus(d1, w.ID, first.ID, Delivered)
	stop()

	// Committed while no dispatcher runs.
	evs := []lineage.Event{first, e.register("churn"), e.register("fraud")}
	d2 := New(e.svc, fast())
	stop = e.start(d2)
	for _, ev := range evs {
		e.waitStatus(d2, w.ID, ev.ID, Delivered)
	}

	// Batches handled again (as after a crash before the cursor moved)
	// change nothing and send nothing: directly, and by a restart from a
	// rewound cursor.
	before := e.deliveries(d2, w.ID)
	all, err := e.store.Events(e.ctx, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.fanout(e.ctx, all); err != nil {
		t.Fatalf("fanout replay: %v", err)
	}
	stop()
	if err := e.store.Update(e.ctx, func(tx lineage.Tx) error { return outbox.SetCursor(tx, consumer, 0) }); err != nil {
		t.Fatal(err)
	}
	d3 := New(e.svc, fast())
	e.start(d3)
	marker := e.register("other") // the replay has passed every earlier event once this is delivered
	e.waitStatus(d3, w.ID, marker.ID, Delivered)
	after := e.deliveries(d3, w.ID)
	if mustJSON(t, before) != mustJSON(t, after[1:]) {
		t.Errorf("replay changed the log:\nbefore %s\nafter  %s", mustJSON(t, before), mustJSON(t, after[1:]))
	}
	for _, ev := range append(evs, marker) {
		if got := rc.count(ev.ID); got != 1 {
			t.Errorf("receiver saw %s %d times, want once", ev.ID, got)
		}
	}
}

func TestRedeliver(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	rc2 := newReceiver(t, nil)
	d := New(e.svc, fast())
	w, _ := e.create(d, CreateInput{URL: rc.srv.URL, Secret: rc.secret})
	w2, _ := e.create(d, CreateInput{URL: rc2.srv.URL, Secret: rc2.secret})
	e.start(d)
	ev := e.register("churn")
	e.waitStatus(d, w.ID, ev.ID, Delivered)
	e.waitStatus(d, w2.ID, ev.ID, Delivered)

	got, err := d.Redeliver(e.ctx, ev.ID, w.ID)
	if err != nil || len(got) != 1 || got[0].Status != Pending || got[0].Webhook != w.ID {
		t.Fatalf("Redeliver(one) = %+v, %v; want one PENDING delivery", got, err)
	}
	waitFor(t, 10*time.Second, "second request", func() bool { return rc.count(ev.ID) == 2 })
	dl := e.waitStatus(d, w.ID, ev.ID, Delivered)
	if dl.AttemptCount != 2 || len(dl.Attempts) != 2 {
		t.Errorf("after redelivery: %+v, want both attempts kept", dl)
	}
	if rc2.count(ev.ID) != 1 {
		t.Errorf("other webhook got the event %d times, want 1", rc2.count(ev.ID))
	}

	got, err = d.Redeliver(e.ctx, ev.ID, "")
	if err != nil || len(got) != 2 {
		t.Fatalf("Redeliver(all) = %+v, %v; want two deliveries", got, err)
	}
	waitFor(t, 10*time.Second, "third and second requests", func() bool { return rc.count(ev.ID) == 3 && rc2.count(ev.ID) == 2 })
	for _, r := range append(rc.requests(), rc2.requests()...) {
		if r.ID != ev.ID || !r.Valid {
			t.Errorf("request webhook-id %s valid=%v, want %s, valid", r.ID, r.Valid, ev.ID)
		}
	}
	_, err = d.Redeliver(e.ctx, ev.ID, "wh_aaaaaaaaaaaaaaaaaaaaaaaaaa")
	wantErr(t, "Redeliver(unknown webhook)", err, lineage.ENOTFOUND, "webhook")
}

func TestTestSendsSignedPing(t *testing.T) {
	e := newEnv(t)
	const marker = "RESPONSE-BODY-MARKER"
	rc := newReceiver(t, nil)
	rc.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.serve(discard{}, r)
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(marker))
	})
	d := New(e.svc, fast())
	w, _ := e.create(d, CreateInput{URL: rc.srv.URL, Secret: rc.secret})

	res, err := d.Test(e.ctx, w.ID)
	if err != nil || res.StatusCode != http.StatusAccepted || res.Error != "" || res.Latency <= 0 {
		t.Fatalf("Test = %+v, %v; want 202 with a latency", res, err)
	}
	if j := mustJSON(t, res); strings.Contains(j, marker) {
		t.Errorf("Test result %s holds the response body", j)
	}
	reqs := rc.requests()
	if len(reqs) != 1 || !reqs[0].Valid || !strings.Contains(string(reqs[0].Body), string(TestEventType)) {
		t.Fatalf("receiver saw %+v, want one signed WEBHOOK_TEST", reqs)
	}
	if items, _, _, _ := d.Deliveries(e.ctx, DeliveryQuery{Webhook: w.ID}); len(items) != 0 {
		t.Errorf("Test wrote %d deliveries, want none", len(items))
	}
}

func TestDeliveriesPaging(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	d := New(e.svc, fast())
	w, _ := e.create(d, CreateInput{URL: rc.srv.URL, Secret: rc.secret})
	e.start(d)
	var evs []lineage.Event
	for range 5 {
		evs = append(evs, e.register("churn"))
	}
	for _, ev := range evs {
		e.waitStatus(d, w.ID, ev.ID, Delivered)
	}
	var seen []int64
	q := DeliveryQuery{Webhook: w.ID, First: 2}
	for pages := 0; ; pages++ {
		items, end, more, err := d.Deliveries(e.ctx, q)
		if err != nil {
			t.Fatalf("Deliveries: %v", err)
		}
		for _, it := range items {
			seen = append(seen, it.EventSeq)
		}
		if !more {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
		q.After = end
	}
	for i, ev := range evs {
		if seen[len(evs)-1-i] != ev.Seq {
			t.Fatalf("paged seqs %v, want newest first %v…", seen, ev.Seq)
		}
	}
}

func TestDeleteStopsDeliveries(t *testing.T) {
	e := newEnv(t)
	var hits atomic.Int64
	rc := newReceiver(t, func(*request, int) int { hits.Add(1); return http.StatusInternalServerError })
	opts := fast()
	opts.RetryWindow = time.Minute
	opts.BaseDelay, opts.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
	d := New(e.svc, opts)
	w, _ := e.create(d, CreateInput{URL: rc.srv.URL, Secret: rc.secret})
	e.start(d)
	ev := e.register("churn")
	waitFor(t, 10*time.Second, "a few failed attempts", func() bool { return rc.count(ev.ID) >= 3 })
	if err := d.Delete(e.ctx, w.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if e.queueLen(w.ID) != 0 {
		t.Errorf("queue not empty after Delete")
	}
	err := e.store.View(e.ctx, func(tx lineage.ReadTx) error {
		for _, c := range []string{collDeliveries, collIndex} {
			docs, err := tx.Docs(lineage.DocQuery{Collection: c, Limit: 10})
			if err != nil {
				return err
			}
			if len(docs) != 0 {
				t.Errorf("%s holds %d docs after Delete", c, len(docs))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// At most the attempt in flight at Delete lands; then nothing.
	n := hits.Load()
	marker := e.register("churn")
	e.cursorAt(marker.Seq)
	d.Wake()
	waitFor(t, 5*time.Second, "workers settled", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.workers[w.ID] == nil
	})
	if got := hits.Load(); got > n+1 {
		t.Errorf("receiver saw %d requests after Delete, want at most 1", got-n)
	}
}

// A shutdown in the middle of an attempt records nothing; the next Run
// makes the attempt again.
func TestShutdownMidAttempt(t *testing.T) {
	e := newEnv(t)
	entered := make(chan struct{}, 10)
	var block atomic.Bool
	block.Store(true)
	rc := newReceiver(t, nil)
	rc.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if block.Load() {
			io.Copy(io.Discard, r.Body) // then the server notices the client leaving
			entered <- struct{}{}
			<-r.Context().Done()
			return
		}
		rc.serve(w, r)
	})
	opts := fast()
	opts.Timeout = 10 * time.Second
	d := New(e.svc, opts)
	w, _ := e.create(d, CreateInput{URL: rc.srv.URL, Secret: rc.secret})
	stop := e.start(d)
	ev := e.register("churn")
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no attempt reached the receiver")
	}
	stop()
	if dl := e.delivery(d, w.ID, ev.ID); dl == nil || dl.Status != Pending || dl.AttemptCount != 0 {
		t.Fatalf("after shutdown mid-attempt: %+v, want PENDING with no attempt", dl)
	}
	block.Store(false)
	e.start(New(e.svc, fast()))
	e.waitStatus(d, w.ID, ev.ID, Delivered)
	if rc.count(ev.ID) != 1 {
		t.Errorf("receiver completed %d requests, want 1", rc.count(ev.ID))
	}
}

// Run cancelled at once returns, and a second concurrent Run is refused.
func TestRunLifecycle(t *testing.T) {
	e := newEnv(t)
	d := New(e.svc, fast())
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	waitFor(t, 5*time.Second, "Run started", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.running
	})
	second := make(chan struct{})
	go func() { defer close(second); d.Run(e.ctx) }()
	select {
	case <-second:
	case <-time.After(5 * time.Second):
		t.Fatal("a second Run did not return")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// A delivery keeps its newest MaxAttemptsKept attempts and counts them all.
func TestAttemptsCapped(t *testing.T) {
	e := newEnv(t)
	opts := fast()
	opts.RetryWindow = time.Hour
	d := New(e.svc, opts)
	w, _ := e.create(d, CreateInput{URL: "https://hooks.example.com/"})
	ev := e.register("churn")
	if err := d.fanout(e.ctx, []lineage.Event{ev}); err != nil {
		t.Fatalf("fanout: %v", err)
	}
	q := queued{EventID: ev.ID, EventSeq: ev.Seq}
	start := time.Now().UTC()
	for i := range MaxAttemptsKept + 5 {
		att := Attempt{At: start.Add(time.Duration(i) * time.Second), StatusCode: 500, Error: "HTTP 500"}
		if err := d.record(e.ctx, w.ID, q, att, false); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	dl := e.delivery(d, w.ID, ev.ID)
	if dl.AttemptCount != MaxAttemptsKept+5 || len(dl.Attempts) != MaxAttemptsKept || !dl.Attempts[0].At.Equal(start.Add(5*time.Second)) {
		t.Errorf("AttemptCount %d, %d attempts from %v; want %d, the newest %d", dl.AttemptCount, len(dl.Attempts), dl.Attempts[0].At, MaxAttemptsKept+5, MaxAttemptsKept)
	}
	if dl.Status != Pending || dl.NextAttemptAt == nil || e.queueLen(w.ID) != 1 {
		t.Errorf("status %s, next %v, queue %d; want PENDING, scheduled, queued", dl.Status, dl.NextAttemptAt, e.queueLen(w.ID))
	}
}
