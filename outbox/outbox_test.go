package outbox_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/sqlite"
	"github.com/pedigree-ml/pedigree/outbox"
)

func openStore(tb testing.TB, path string) lineage.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// commit writes n dataset-version events.
func commit(tb testing.TB, svc *lineage.Service, from, n int) {
	tb.Helper()
	for i := from; i < from+n; i++ {
		_, err := svc.RegisterDatasetVersion(context.Background(), lineage.RegisterDatasetVersionInput{
			Dataset: "d", URI: "s3://b/d.csv", Digest: "sha256:" + fmtDigest(i)})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func fmtDigest(i int) string {
	b := make([]byte, 64)
	for j := range b {
		b[j] = '0'
	}
	for j := 63; i > 0; j-- {
		b[j] = "0123456789abcdef"[i%16]
		i /= 16
	}
	return string(b)
}

// consumer follows the outbox, records what it saw and persists its cursor
// after each batch, as a real consumer does.
type consumer struct {
	mu   sync.Mutex
	seen []int64
}

func (c *consumer) run(ctx context.Context, svc *lineage.Service, name string, start int64) {
	outbox.Follow(ctx, svc, name, start, func(ctx context.Context, evs []lineage.Event) error {
		c.mu.Lock()
		for _, e := range evs {
			c.seen = append(c.seen, e.Seq)
		}
		c.mu.Unlock()
		return svc.Store().Update(ctx, func(tx lineage.Tx) error {
			return outbox.SetCursor(tx, name, evs[len(evs)-1].Seq)
		})
	})
}

func (c *consumer) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowResumesFromCursor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	store := openStore(t, path)
	defer store.Close()
	svc := lineage.NewService(store)
	commit(t, svc, 0, 3) // history before any consumer existed

	for i, tc := range []struct {
		name  string
		start int64
		want  int // events of the history seen
	}{{"from-start", 0, 3}, {"from-head", -1, 0}} {
		base := 1000 * (i + 1) // fresh digests: a known one makes no event
		t.Run(tc.name, func(t *testing.T) {
			name := "test-" + tc.name
			ctx, cancel := context.WithCancel(context.Background())
			c := &consumer{}
			done := make(chan struct{})
			go func() { c.run(ctx, svc, name, tc.start); close(done) }()
			waitFor(t, "the cursor", func() bool { _, ok, _ := outbox.Cursor(ctx, store, name); return ok })
			commit(t, svc, base, 2)
			waitFor(t, "the events", func() bool { return c.count() >= tc.want+2 })
			if c.count() != tc.want+2 {
				t.Fatalf("saw %d events, want %d", c.count(), tc.want+2)
			}
			cancel()
			<-done

			// Committed while the consumer is down: seen after a restart, once.
			commit(t, svc, base+100, 150) // more than one batch
			c2 := &consumer{}
			ctx, cancel = context.WithCancel(context.Background())
			defer cancel()
			go c2.run(ctx, svc, name, tc.start)
			waitFor(t, "the events after a restart", func() bool { return c2.count() == 150 })
			seq, _, _ := outbox.Cursor(ctx, store, name)
			head, _ := store.LastEventSeq(ctx)
			waitFor(t, "the cursor at the head", func() bool { seq, _, _ = outbox.Cursor(ctx, store, name); return seq == head })
			c2.mu.Lock()
			defer c2.mu.Unlock()
			for i := 1; i < len(c2.seen); i++ {
				if c2.seen[i] != c2.seen[i-1]+1 {
					t.Fatalf("seqs after restart not contiguous at %d: %v", i, c2.seen[i-1:i+1])
				}
			}
		})
	}
}

func TestEncode(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 5, time.FixedZone("x", 3600))
	e := lineage.Event{Seq: 7, ID: "0192-x", Model: "churn", ModelSeq: 3, Type: lineage.EventStageChanged,
		Payload: json.RawMessage(`{"to":"PRODUCTION"}`), CreatedAt: at}
	got := string(outbox.Encode(e))
	want := `{"id":"0192-x","seq":7,"type":"STAGE_CHANGED","model":"churn","modelSeq":3,"timestamp":"2026-11-22T09:00:00.000000005Z","data":{"to":"PRODUCTION"}}`
	if got != want {
		t.Errorf("Encode = %s\nwant     %s", got, want)
	}
	e.Model, e.Payload = "", nil
	var m map[string]any
	if err := json.Unmarshal(outbox.Encode(e), &m); err != nil || m["model"] != nil || m["data"] == nil {
		t.Errorf("Encode without model or payload = %v (%v)", m, err)
	}
}

// Of two replicas, one runs the consumer; the other takes over when it stops.
func TestLeadOneAtATime(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "p.db"))
	defer store.Close()
	var running, maxRunning, runs atomic.Int32
	fn := func(ctx context.Context) {
		n := running.Add(1)
		runs.Add(1)
		for {
			if m := maxRunning.Load(); n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		<-ctx.Done()
		running.Add(-1)
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneA := make(chan struct{})
	go func() { outbox.Lead(ctxA, store, "c", 1500*time.Millisecond, fn); close(doneA) }()
	waitFor(t, "a leader", func() bool { return running.Load() == 1 })
	go outbox.Lead(ctxB, store, "c", 1500*time.Millisecond, fn)
	time.Sleep(2 * time.Second) // several renewals: B must stay out all along
	if maxRunning.Load() != 1 || runs.Load() != 1 {
		t.Fatalf("%d consumers ran at once, %d started; want 1 and 1", maxRunning.Load(), runs.Load())
	}
	stopA()
	<-doneA
	waitFor(t, "the second replica to take over", func() bool { return runs.Load() == 2 && running.Load() == 1 })
	if maxRunning.Load() != 1 {
		t.Errorf("%d consumers ran at once", maxRunning.Load())
	}
}
