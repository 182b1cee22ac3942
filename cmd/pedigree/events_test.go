package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/webhook"
)

const (
	createWebhook = `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { secret webhook { id url events models enabled } } }`
	eventsQuery   = `query($model: String, $after: Int64) { events(model: $model, afterSeq: $after, first: 1000) { id seq modelSeq type model payload createdAt } }`
	deliveriesQ   = `query($id: ID!) { webhook(id: $id) { enabled disabledReason deliveries(first: 100) { nodes { id eventSeq eventType status attemptCount
		attempts { statusCode latencyMs error } } } } }`
)

// receiver is a webhook endpoint: it verifies every signature and keeps
// what it was sent, answering with the status it is told.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	secret atomic.Value // string
	status atomic.Int32
	mu     sync.Mutex
	got    []received
}

type received struct {
	ID   string
	Body []byte
	At   time.Time
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t}
	r.status.Store(http.StatusNoContent)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		secret, _ := r.secret.Load().(string)
		if err := webhook.Verify(secret, req.Header, body, time.Minute); err != nil {
			t.Errorf("receiver: bad signature: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, received{ID: req.Header.Get("webhook-id"), Body: body, At: time.Now()})
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// subscribe creates a webhook for the receiver on the server behind c.
func (r *receiver) subscribe(t testing.TB, c *client, in map[string]any) string {
	t.Helper()
	if in == nil {
		in = map[string]any{}
	}
	in["url"] = r.srv.URL + "/hook"
	var out struct {
		CreateWebhook struct {
			Secret  string
			Webhook struct{ ID string }
		}
	}
	c.must(t, createWebhook, map[string]any{"in": in}, &out)
	r.secret.Store(out.CreateWebhook.Secret)
	return out.CreateWebhook.Webhook.ID
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// registerVersions registers n versions of model from one run.
func registerVersions(t testing.TB, c *client, model string, n int) {
	t.Helper()
	var r struct{ StartRun idResult }
	c.must(t, startRun, map[string]any{"in": map[string]any{"experiment": "events"}}, &r)
	for i := range n {
		c.must(t, registerVersion, map[string]any{"in": map[string]any{
			"model": model, "run": r.StartRun.ID, "artifactUri": fmt.Sprintf("s3://models/%s/%d", model, i),
			"artifactDigest": sha(fmt.Sprintf("%s-%d", model, i)),
		}}, nil)
	}
}

func promote(c *client, t testing.TB, model string, version int, expected any) []gqlError {
	_, errs := c.do(t, transition, map[string]any{"in": map[string]any{"model": model, "version": version, "stage": "PRODUCTION", "expectedStage": expected}})
	return errs
}

// storedEvent is an event as the events query returns it.
type storedEvent struct {
	ID        string
	Seq       int64
	ModelSeq  int64
	Type      string
	Model     *string
	Payload   json.RawMessage
	CreatedAt time.Time
}

func storedEvents(t testing.TB, c *client, model string) []storedEvent {
	t.Helper()
	var out struct{ Events []storedEvent }
	c.must(t, eventsQuery, map[string]any{"model": model, "after": 0}, &out)
	return out.Events
}

// sameAsStored checks that a delivered body is the committed event.
func sameAsStored(t testing.TB, body []byte, e storedEvent) {
	t.Helper()
	var got struct {
		ID        string
		Seq       int64
		ModelSeq  int64
		Type      string
		Model     string
		Timestamp time.Time
		Data      json.RawMessage
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("delivered body %s: %v", body, err)
	}
	if got.ID != e.ID || got.Seq != e.Seq || got.ModelSeq != e.ModelSeq || got.Type != e.Type || !got.Timestamp.Equal(e.CreatedAt) || !jsonSame(got.Data, e.Payload) {
		t.Errorf("delivered %s\nwant the committed event %+v (payload %s)", body, e, e.Payload)
	}
}

func jsonSame(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// The webhook API end to end: the secret once, signed deliveries, the log,
// test, redelivery, rotation and deletion; private receivers need the flag.
func TestWebhooksOverGraphQL(t *testing.T) {
	m := MustServe(t, t.TempDir(), "--webhook-allow-private", "--webhook-timeout", "2s")
	c := newClient(m.URL())
	rcv := newReceiver(t)
	id := rcv.subscribe(t, c, map[string]any{"events": []string{"STAGE_CHANGED", "MODEL_VERSION_REGISTERED"}, "models": []string{"Churn"}})
	secret := rcv.secret.Load().(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret = %q, want whsec_…", secret)
	}
	raw, _ := c.do(t, `{ webhooks { id url events models enabled description createdAt } }`, nil)
	if strings.Contains(string(raw), strings.TrimPrefix(secret, "whsec_")) || !strings.Contains(string(raw), id) {
		t.Fatalf("webhooks = %s: want the webhook and never its secret", raw)
	}

	registerVersions(t, c, "churn", 2)
	registerVersions(t, c, "fraud", 1) // another model: not sent
	if errs := promote(c, t, "churn", 1, nil); errs != nil {
		t.Fatal(errs)
	}
	want := 3 // two registrations and one stage change of churn
	waitUntil(t, "three deliveries", func() bool { return len(rcv.all()) >= want })
	churn := storedEvents(t, c, "churn")
	byID := map[string]storedEvent{}
	for _, e := range churn {
		byID[e.ID] = e
	}
	for _, r := range rcv.all() {
		e, ok := byID[r.ID]
		if !ok {
			t.Fatalf("delivered %s, which is not a churn event", r.Body)
		}
		sameAsStored(t, r.Body, e)
	}

	var log struct {
		Webhook struct {
			Enabled    bool
			Deliveries struct {
				Nodes []struct {
					ID           string
					EventType    string
					Status       string
					AttemptCount int
					Attempts     []struct {
						StatusCode *int
						LatencyMs  float64
						Error      *string
					}
				}
			}
		}
	}
	waitUntil(t, "the log to show every delivery", func() bool {
		c.must(t, deliveriesQ, map[string]any{"id": id}, &log)
		n := 0
		for _, d := range log.Webhook.Deliveries.Nodes {
			if d.Status == "DELIVERED" {
				n++
			}
		}
		return n == want
	})
	first := log.Webhook.Deliveries.Nodes[0]
	if first.EventType != "STAGE_CHANGED" || first.AttemptCount != 1 || *first.Attempts[0].StatusCode != 204 || first.Attempts[0].LatencyMs <= 0 {
		t.Errorf("newest delivery = %+v, want the stage change delivered at the first attempt with a 204 and a latency", first)
	}

	var test struct{ TestWebhook map[string]any }
	c.must(t, `mutation($id: ID!) { testWebhook(id: $id) { statusCode latencyMs error } }`, map[string]any{"id": id}, &test)
	if test.TestWebhook["statusCode"] != float64(204) || test.TestWebhook["error"] != nil {
		t.Errorf("testWebhook = %v", test.TestWebhook)
	}

	before := len(rcv.all())
	var redo struct{ RedeliverEvent []struct{ ID, Status string } }
	c.must(t, `mutation($e: ID!) { redeliverEvent(event: $e) { id status } }`, map[string]any{"e": first.ID}, &redo)
	if len(redo.RedeliverEvent) != 1 || redo.RedeliverEvent[0].ID != first.ID {
		t.Fatalf("redeliverEvent = %+v", redo.RedeliverEvent)
	}
	waitUntil(t, "the redelivery", func() bool { return len(rcv.all()) > before })
	if got := rcv.all()[before].ID; got != first.ID {
		t.Errorf("redelivered webhook-id %s, want the same %s", got, first.ID)
	}

	var rot struct{ UpdateWebhook struct{ Secret *string } }
	c.must(t, `mutation($id: ID!) { updateWebhook(input: {id: $id, rotateSecret: true}) { secret } }`, map[string]any{"id": id}, &rot)
	if rot.UpdateWebhook.Secret == nil || *rot.UpdateWebhook.Secret == secret {
		t.Fatalf("rotated secret = %v", rot.UpdateWebhook.Secret)
	}
	c.must(t, `mutation($id: ID!) { updateWebhook(input: {id: $id, description: "x"}) { secret } }`, map[string]any{"id": id}, &rot)
	if rot.UpdateWebhook.Secret != nil {
		t.Error("updateWebhook without rotateSecret returned a secret")
	}
	c.must(t, `mutation($id: ID!) { deleteWebhook(id: $id) }`, map[string]any{"id": id}, nil)
	raw, _ = c.do(t, `{ webhooks { id } }`, nil)
	if strings.Contains(string(raw), id) {
		t.Errorf("deleted webhook still listed: %s", raw)
	}

	for _, bad := range []struct{ in map[string]any }{
		{map[string]any{"url": "http://169.254.169.254/latest/meta-data"}},
		{map[string]any{"url": "ftp://example.com/x"}},
		{map[string]any{"url": "https://example.com/x", "secret": "hunter2"}},
	} {
		_, errs := c.do(t, createWebhook, map[string]any{"in": bad.in})
		if len(errs) != 1 || errs[0].Extensions.Code != "BAD_USER_INPUT" {
			t.Errorf("createWebhook(%v) errors = %+v, want one BAD_USER_INPUT", bad.in, errs)
		}
	}
	// Without the flag, a loopback receiver is refused when it is created.
	strict := newClient(MustServe(t, t.TempDir()).URL())
	_, errs := strict.do(t, createWebhook, map[string]any{"in": map[string]any{"url": rcv.srv.URL}})
	if len(errs) != 1 || errs[0].Extensions.Code != "BAD_USER_INPUT" || errs[0].Extensions.Field != "url" {
		t.Errorf("loopback webhook without --webhook-allow-private: %+v, want BAD_USER_INPUT on url", errs)
	}
}

// kill -9 after a transition committed and before its delivery: after a
// restart the event is delivered exactly as committed.
func TestWebhookDeliverySurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a child server; skipped with -short")
	}
	dir := t.TempDir()
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusServiceUnavailable) // down: nothing gets delivered
	cmd, url := startChild(t, dir, "--webhook-allow-private")
	c := newClient(url)
	rcv.subscribe(t, c, map[string]any{"events": []string{"STAGE_CHANGED"}})
	registerVersions(t, c, "churn", 1)
	if errs := promote(c, t, "churn", 1, nil); errs != nil {
		t.Fatal(errs)
	}
	waitUntil(t, "a failed attempt", func() bool { return len(rcv.all()) > 0 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	rcv.status.Store(http.StatusOK)
	n := len(rcv.all())
	_, url = startChild(t, dir, "--webhook-allow-private")
	c = newClient(url)
	var stage storedEvent
	for _, e := range storedEvents(t, c, "churn") {
		if e.Type == "STAGE_CHANGED" {
			stage = e
		}
	}
	waitUntil(t, "the delivery after the restart", func() bool { return len(rcv.all()) > n })
	got := rcv.all()
	for _, r := range got {
		if r.ID != stage.ID {
			t.Errorf("delivered %s, want only the committed stage change %s", r.ID, stage.ID)
		}
	}
	sameAsStored(t, got[len(got)-1].Body, stage)
}

// Racing promotions with expectedStage: every committed change has exactly
// one event, and each is delivered once.
func TestRacingPromotionsOneEventEach(t *testing.T) {
	m := MustServe(t, t.TempDir(), "--webhook-allow-private")
	c := newClient(m.URL())
	rcv := newReceiver(t)
	rcv.subscribe(t, c, map[string]any{"events": []string{"STAGE_CHANGED"}})
	registerVersions(t, c, "churn", 4)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			v := i%4 + 1
			expected := "NONE"
			if i >= 4 {
				expected = "ARCHIVED"
			}
			if errs := promote(c, t, "churn", v, expected); errs == nil {
				wins.Add(1)
			} else if errs[0].Extensions.Code != "CONFLICT" {
				t.Errorf("promote v%d: %+v, want success or CONFLICT", v, errs)
			}
		})
	}
	wg.Wait()
	var trail struct {
		Model struct {
			Versions struct {
				Nodes []struct{ Transitions []struct{ From, To string } }
			}
		}
	}
	c.must(t, `{ model(name: "churn") { versions(first: 10) { nodes { transitions { from to } } } } }`, nil, &trail)
	changes := 0
	for _, v := range trail.Model.Versions.Nodes {
		changes += len(v.Transitions)
	}
	var stageEvents []string
	for _, e := range storedEvents(t, c, "churn") {
		if e.Type == "STAGE_CHANGED" {
			stageEvents = append(stageEvents, e.ID)
		}
	}
	if len(stageEvents) != changes || wins.Load() == 0 {
		t.Fatalf("%d STAGE_CHANGED events for %d audited changes (%d promotions won)", len(stageEvents), changes, wins.Load())
	}
	waitUntil(t, "every event delivered", func() bool { return len(rcv.all()) >= changes })
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
	var ids []string
	for _, r := range rcv.all() {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	sort.Strings(stageEvents)
	if !slices.Equal(ids, stageEvents) {
		t.Errorf("delivered ids %v\nwant each committed event once %v", ids, stageEvents)
	}
}

// BenchmarkWebhookLatency measures the time from a mutation's response (its
// commit) to the signed delivery arriving at a loopback receiver, one event
// at a time. Reports p50 and p95 in milliseconds.
func BenchmarkWebhookLatency(b *testing.B) {
	m := MustServe(b, b.TempDir(), "--webhook-allow-private")
	c := newClient(m.URL())
	rcv := newReceiver(b)
	rcv.subscribe(b, c, map[string]any{"events": []string{"ALIAS_SET"}})
	registerVersions(b, c, "churn", 2)
	const setAlias = `mutation($v: Int!) { setModelAlias(input: {model: "churn", alias: "champion", version: $v}) { id } }`
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		c.must(b, setAlias, map[string]any{"v": i%2 + 1}, nil)
		committed := time.Now()
		waitUntil(b, "the delivery", func() bool { return len(rcv.all()) > i })
		lat = append(lat, rcv.all()[i].At.Sub(committed))
	}
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.95), "p95-ms")
}
