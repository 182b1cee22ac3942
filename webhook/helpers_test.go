package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/sqlite"
	"github.com/pedigree-ml/pedigree/outbox"
)

// fast are Options for tests: short timeouts and retries, loopback allowed.
func fast() Options {
	return Options{Logger: slog.New(slog.DiscardHandler), AllowPrivate: true, Timeout: 300 * time.Millisecond, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond, RetryWindow: 2 * time.Second}
}

// env is a Service on a real SQLite store in a temp directory.
type env struct {
	t     *testing.T
	ctx   context.Context
	path  string
	store *sqlite.Store
	svc   *lineage.Service
	run   lineage.ID
	n     atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), path: filepath.Join(t.TempDir(), "pedigree.db")}
	s, err := sqlite.Open(e.ctx, e.path, sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	e.store = s
	e.svc = lineage.NewService(s)
	r, err := e.svc.StartRun(e.ctx, lineage.StartRunInput{Experiment: "exp", Name: "train"})
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}
	e.run = r.ID
	return e
}

// register registers the next version of model and returns its event.
func (e *env) register(model string) lineage.Event {
	e.t.Helper()
	i := e.n.Add(1)
	sum := sha256.Sum256(fmt.Appendf(nil, "%s-%d", model, i))
	_, err := e.svc.RegisterModelVersion(e.ctx, lineage.RegisterModelVersionInput{
		Model: model, Run: e.run, ArtifactURI: fmt.Sprintf("s3://models/%s/%d/model.pkl", model, i),
		ArtifactDigest: "sha256:" + hex.EncodeToString(sum[:]), Framework: "sklearn",
	})
	if err != nil {
		e.t.Fatalf("RegisterModelVersion(%s): %v", model, err)
	}
	return e.last()
}

// last returns the newest committed event.
func (e *env) last() lineage.Event {
	e.t.Helper()
	head, err := e.store.LastEventSeq(e.ctx)
	if err != nil {
		e.t.Fatalf("LastEventSeq: %v", err)
	}
	evs, err := e.store.Events(e.ctx, "", head-1, 1)
	if err != nil || len(evs) != 1 {
		e.t.Fatalf("Events(after %d) = %v, %v; want one event", head-1, evs, err)
	}
	return evs[0]
}

// start runs d until the test ends or the returned stop is called; stop
// waits for Run to return.
func (e *env) start(d *Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				e.t.Errorf("Run did not return within 10s of cancel")
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) create(d *Dispatcher, in CreateInput) (*Webhook, string) {
	e.t.Helper()
	w, secret, err := d.Create(e.ctx, in)
	if err != nil {
		e.t.Fatalf("Create(%s): %v", in.URL, err)
	}
	return w, secret
}

func (e *env) deliveries(d *Dispatcher, webhook string) []Delivery {
	e.t.Helper()
	var all []Delivery
	q := DeliveryQuery{Webhook: webhook, First: 100}
	for {
		items, end, more, err := d.Deliveries(e.ctx, q)
		if err != nil {
			e.t.Fatalf("Deliveries(%s): %v", webhook, err)
		}
		all = append(all, items...)
		if !more {
			return all
		}
		q.After = end
	}
}

func (e *env) delivery(d *Dispatcher, webhook, eventID string) *Delivery {
	e.t.Helper()
	for _, dl := range e.deliveries(d, webhook) {
		if dl.EventID == eventID {
			return &dl
		}
	}
	return nil
}

// queueLen counts a webhook's queue entries.
func (e *env) queueLen(webhook string) int {
	e.t.Helper()
	n := 0
	err := e.store.View(e.ctx, func(tx lineage.ReadTx) error {
		docs, err := tx.Docs(lineage.DocQuery{Collection: collQueue, Prefix: webhook + "/", Limit: 10000})
		n = len(docs)
		return err
	})
	if err != nil {
		e.t.Fatalf("queue: %v", err)
	}
	return n
}

// cursorAt waits until the fan-out has handled events up to seq.
func (e *env) cursorAt(seq int64) {
	e.t.Helper()
	waitFor(e.t, 10*time.Second, fmt.Sprintf("fan-out cursor at %d", seq), func() bool {
		c, ok, err := outbox.Cursor(e.ctx, e.store, consumer)
		return err == nil && ok && c >= seq
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// request is what a receiver saw.
type request struct {
	ID, Timestamp string
	Body          []byte
	Header        http.Header
	Valid         bool // signature verified
}

// receiver is a real HTTP endpoint that verifies signatures and records
// requests. respond decides the answer (nil: 204).
type receiver struct {
	srv     *httptest.Server
	secret  string
	respond func(r *request, n int) int // n: requests so far with this webhook-id, this one included
	mu      sync.Mutex
	reqs    []request
	perID   map[string]int
}

func newReceiver(t *testing.T, respond func(r *request, n int) int) *receiver {
	rc := &receiver{secret: newSecret(), respond: respond, perID: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := request{ID: r.Header.Get(HeaderID), Timestamp: r.Header.Get(HeaderTimestamp), Body: body, Header: r.Header.Clone()}
	req.Valid = Verify(rc.secret, r.Header, body, time.Minute) == nil
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, req)
	rc.perID[req.ID]++
	n := rc.perID[req.ID]
	rc.mu.Unlock()
	code := http.StatusNoContent
	if rc.respond != nil {
		code = rc.respond(&req, n)
	}
	w.WriteHeader(code)
}

func (rc *receiver) count(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.perID[id]
}

func (rc *receiver) total() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// insertWebhook stores a webhook document directly, bypassing Create's checks.
func (e *env) insertWebhook(w stored) {
	e.t.Helper()
	if err := e.store.Update(e.ctx, func(tx lineage.Tx) error { return putJSON(tx, collWebhooks, w.ID, &w) }); err != nil {
		e.t.Fatalf("insert webhook: %v", err)
	}
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return string(b)
}

func wantErr(tb testing.TB, what string, err error, code, field string) {
	tb.Helper()
	if got := lineage.ErrorCode(err); got != code {
		tb.Errorf("%s: code = %q (%v), want %q", what, got, err, code)
	} else if field != "" && lineage.ErrorField(err) != field {
		tb.Errorf("%s: field = %q (%v), want %q", what, lineage.ErrorField(err), err, field)
	}
}
