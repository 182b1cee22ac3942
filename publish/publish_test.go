package publish_test

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	_ "gocloud.dev/pubsub/kafkapubsub"
	_ "gocloud.dev/pubsub/mempubsub"
	_ "gocloud.dev/pubsub/natspubsub"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/sqlite"
	"github.com/pedigree-ml/pedigree/outbox"
	"github.com/pedigree-ml/pedigree/publish"
)

// wait bounds every poll in these tests; a healthy run takes milliseconds
// (or about a second where a send is retried).
const wait = 15 * time.Second

func TestMain(m *testing.M) {
	code := m.Run()
	if natsSrv != nil {
		natsSrv.Shutdown()
	}
	os.Exit(code)
}

// MustService returns a Service on a fresh SQLite file.
func MustService(tb testing.TB) *lineage.Service {
	tb.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "p.db"), sqlite.Options{})
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	return lineage.NewService(store)
}

// MustRun starts a run that model versions can be registered from.
func MustRun(tb testing.TB, svc *lineage.Service) lineage.ID {
	tb.Helper()
	run, err := svc.StartRun(context.Background(), lineage.StartRunInput{Experiment: "exp", Name: "run"})
	if err != nil {
		tb.Fatalf("StartRun: %v", err)
	}
	return run.ID
}

// MustRegister registers the next version of model and returns its
// MODEL_VERSION_REGISTERED event.
func MustRegister(tb testing.TB, svc *lineage.Service, model string, run lineage.ID) lineage.Event {
	tb.Helper()
	ctx := context.Background()
	before := head(tb, svc)
	sum := sha256.Sum256([]byte(fmt.Sprint(model, before)))
	_, err := svc.RegisterModelVersion(ctx, lineage.RegisterModelVersionInput{Model: model, Run: run,
		ArtifactURI: "s3://models/" + model + "/model.pkl", ArtifactDigest: "sha256:" + hex.EncodeToString(sum[:]), Framework: "sklearn"})
	if err != nil {
		tb.Fatalf("RegisterModelVersion(%s): %v", model, err)
	}
	evs := events(tb, svc, before)
	if len(evs) != 1 || evs[0].Type != lineage.EventModelVersionRegistered {
		tb.Fatalf("events after RegisterModelVersion = %+v, want one %s", evs, lineage.EventModelVersionRegistered)
	}
	return evs[0]
}

// events returns the stored events after seq, oldest first.
func events(tb testing.TB, svc *lineage.Service, after int64) []lineage.Event {
	tb.Helper()
	evs, err := svc.Store().Events(context.Background(), "", after, 1000)
	if err != nil {
		tb.Fatalf("Events: %v", err)
	}
	return evs
}

func head(tb testing.TB, svc *lineage.Service) int64 {
	tb.Helper()
	seq, err := svc.Store().LastEventSeq(context.Background())
	if err != nil {
		tb.Fatalf("LastEventSeq: %v", err)
	}
	return seq
}

// start runs a Publisher until the test ends or stop is called, and waits
// until its cursor exists: events committed before that count as history.
func start(tb testing.TB, svc *lineage.Service, topic *pubsub.Topic) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		publish.New(svc, topic, publish.Options{}).Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(wait):
				tb.Errorf("Publisher.Run did not return %v after its context ended", wait)
			}
		})
	}
	tb.Cleanup(stop)
	waitCursor(tb, svc, func(seq int64, ok bool) bool { return ok })
	return stop
}

// waitCursor polls the publisher's cursor until cond holds.
func waitCursor(tb testing.TB, svc *lineage.Service, cond func(seq int64, ok bool) bool) int64 {
	tb.Helper()
	deadline := time.Now().Add(wait)
	for {
		seq, ok, err := outbox.Cursor(context.Background(), svc.Store(), publish.Consumer)
		if err != nil {
			tb.Fatalf("outbox.Cursor: %v", err)
		}
		if cond(seq, ok) {
			return seq
		}
		if time.Now().After(deadline) {
			tb.Fatalf("cursor still at %d (exists: %v) after %v", seq, ok, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var memTopics atomic.Int64

// memTopic opens a topic and a subscription to it under a new name:
// mempubsub's URL opener keeps topics, shut down or not, for the whole
// process (go test -count=2 runs a test twice in one).
func memTopic(tb testing.TB) (*pubsub.Topic, *pubsub.Subscription) {
	tb.Helper()
	ctx := context.Background()
	url := fmt.Sprintf("mem://events-%d", memTopics.Add(1))
	topic, err := publish.Open(ctx, url)
	if err != nil {
		tb.Fatalf("Open(%s): %v", url, err)
	}
	sub, err := pubsub.OpenSubscription(ctx, url) // before anything is sent: mem drops what no one subscribed to
	if err != nil {
		tb.Fatalf("OpenSubscription(%s): %v", url, err)
	}
	tb.Cleanup(func() {
		sub.Shutdown(ctx)
		topic.Shutdown(ctx)
	})
	return topic, sub
}

// receive returns the next n messages, acked.
func receive(tb testing.TB, sub *pubsub.Subscription, n int) []*pubsub.Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var out []*pubsub.Message
	for len(out) < n {
		m, err := sub.Receive(ctx)
		if err != nil {
			tb.Fatalf("Receive: got %d of %d messages: %v", len(out), n, err)
		}
		m.Ack()
		out = append(out, m)
	}
	return out
}

// checkMessages checks that got are exactly the messages of want. It
// orders them by seq first: a Go CDK subscription may receive several
// batches at once, so arrival order need not be send order.
func checkMessages(tb testing.TB, got []*pubsub.Message, want []lineage.Event) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	got = slices.Clone(got)
	slices.SortFunc(got, func(a, b *pubsub.Message) int {
		x, _ := strconv.ParseInt(a.Metadata["seq"], 10, 64)
		y, _ := strconv.ParseInt(b.Metadata["seq"], 10, 64)
		return cmp.Compare(x, y)
	})
	for i, e := range want {
		checkMessage(tb, got[i].Body, got[i].Metadata, e)
	}
}

func checkMessage(tb testing.TB, body []byte, md map[string]string, e lineage.Event) {
	tb.Helper()
	if want := outbox.Encode(e); string(body) != string(want) {
		tb.Errorf("event %d: body = %s, want %s", e.Seq, body, want)
	}
	want := map[string]string{"id": e.ID, "type": string(e.Type), "model": e.Model, "seq": strconv.FormatInt(e.Seq, 10)}
	for k, v := range want {
		if md[k] != v {
			tb.Errorf("event %d: metadata[%q] = %q, want %q (metadata %v)", e.Seq, k, md[k], v, md)
		}
	}
}

// Registry events reach the topic in commit order with the outbox body and
// their metadata, and the cursor follows.
func TestPublishMem(t *testing.T) {
	ctx := context.Background()
	svc := MustService(t)
	run := MustRun(t, svc)
	topic, sub := memTopic(t)
	start(t, svc, topic)

	MustRegister(t, svc, "churn", run)
	MustRegister(t, svc, "churn", run)
	MustRegister(t, svc, "fraud", run)
	if _, err := svc.TransitionModelVersionStage(ctx, lineage.TransitionInput{Model: "churn", Version: 2, Stage: lineage.StageProduction, ArchiveExisting: true}); err != nil {
		t.Fatalf("TransitionModelVersionStage: %v", err)
	}
	if _, err := svc.SetModelAlias(ctx, "churn", "champion", 2); err != nil {
		t.Fatalf("SetModelAlias: %v", err)
	}
	want := events(t, svc, 0)
	if len(want) < 5 {
		t.Fatalf("stored %d events, want at least 5", len(want))
	}
	checkMessages(t, receive(t, sub, len(want)), want)

	last := want[len(want)-1].Seq
	waitCursor(t, svc, func(seq int64, ok bool) bool { return seq == last })
}

// A restarted Publisher resumes after its cursor: events committed while it
// was down are sent, events it had sent are not sent again.
func TestPublishRestart(t *testing.T) {
	svc := MustService(t)
	run := MustRun(t, svc)
	dt := &recordingTopic{}
	topic := newTopic(t, dt)

	stop := start(t, svc, topic)
	sent := []lineage.Event{MustRegister(t, svc, "churn", run), MustRegister(t, svc, "churn", run)}
	waitCursor(t, svc, func(seq int64, ok bool) bool { return seq == sent[1].Seq })
	dt.check(t, sent)
	stop()

	missed := []lineage.Event{MustRegister(t, svc, "churn", run), MustRegister(t, svc, "fraud", run)}
	start(t, svc, topic)
	live := MustRegister(t, svc, "fraud", run)
	// The cursor moves once a batch is sent, so everything sent is recorded by now.
	waitCursor(t, svc, func(seq int64, ok bool) bool { return seq == live.Seq })
	dt.check(t, append(append(sent, missed...), live))
}

// The first Publisher on a store with history starts at the newest event.
func TestPublishStartsAtHead(t *testing.T) {
	svc := MustService(t)
	run := MustRun(t, svc)
	for range 3 {
		MustRegister(t, svc, "churn", run)
	}
	h := head(t, svc)
	dt := &recordingTopic{}
	start(t, svc, newTopic(t, dt))
	if got := waitCursor(t, svc, func(seq int64, ok bool) bool { return ok }); got != h {
		t.Errorf("new cursor = %d, want the head %d", got, h)
	}
	e := MustRegister(t, svc, "churn", run)
	waitCursor(t, svc, func(seq int64, ok bool) bool { return seq == e.Seq })
	dt.check(t, []lineage.Event{e})
}

// A failed send holds the cursor back and is retried until it succeeds.
func TestPublishRetriesFailedSend(t *testing.T) {
	svc := MustService(t)
	run := MustRun(t, svc)
	dt := &recordingTopic{}
	dt.failures.Store(2)
	start(t, svc, newTopic(t, dt))

	e := MustRegister(t, svc, "churn", run)
	waitCursor(t, svc, func(seq int64, ok bool) bool { return seq == e.Seq })
	if got := dt.failures.Load(); got >= 0 {
		t.Errorf("%d sends still to fail, want the 2 failures used up", got+1)
	}
	dt.check(t, []lineage.Event{e})
}

// recordingTopic is a driver that records what it is sent, in order,
// after failing its first sends. Unlike a subscription it shows exactly
// what was sent, duplicates included.
type recordingTopic struct {
	failures atomic.Int32 // sends still to fail
	mu       sync.Mutex
	sent     []*driver.Message
}

// newTopic wraps a driver in the portable type, as drivers do: no URL
// scheme gives a topic that fails on demand.
func newTopic(tb testing.TB, dt driver.Topic) *pubsub.Topic {
	topic := pubsub.NewTopic(dt, nil)
	tb.Cleanup(func() { topic.Shutdown(context.Background()) })
	return topic
}

var errUnavailable = errors.New("broker unavailable")

func (f *recordingTopic) SendBatch(ctx context.Context, ms []*driver.Message) error {
	if f.failures.Add(-1) >= 0 {
		return errUnavailable
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, ms...)
	return nil
}
func (f *recordingTopic) IsRetryable(error) bool             { return false }
func (f *recordingTopic) As(any) bool                        { return false }
func (f *recordingTopic) ErrorAs(error, any) bool            { return false }
func (f *recordingTopic) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.Internal }
func (f *recordingTopic) Close() error                       { return nil }

// check checks that the messages sent so far are want's, in order.
func (f *recordingTopic) check(tb testing.TB, want []lineage.Event) {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var got, wantSeqs []string
	for _, m := range f.sent {
		got = append(got, m.Metadata["seq"])
	}
	for _, e := range want {
		wantSeqs = append(wantSeqs, strconv.FormatInt(e.Seq, 10))
	}
	if !slices.Equal(got, wantSeqs) {
		tb.Fatalf("sent seqs %v, want %v", got, wantSeqs)
	}
	for i, e := range want {
		checkMessage(tb, f.sent[i].Body, f.sent[i].Metadata, e)
	}
}

// natsSrv is one embedded server for the whole test binary: natspubsub's
// default URL opener reads NATS_SERVER_URL and dials once per process.
var (
	natsOnce sync.Once
	natsSrv  *server.Server
	natsErr  error
)

func natsServer(tb testing.TB) string {
	tb.Helper()
	natsOnce.Do(func() {
		natsSrv, natsErr = server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
		if natsErr != nil {
			return
		}
		natsSrv.Start()
		if !natsSrv.ReadyForConnections(wait) {
			natsErr = errors.New("embedded NATS server not ready")
			return
		}
		natsErr = os.Setenv("NATS_SERVER_URL", natsSrv.ClientURL())
	})
	if natsErr != nil {
		tb.Fatalf("nats server: %v", natsErr)
	}
	return natsSrv.ClientURL()
}

// Over NATS: with natsv2 any NATS client reads the JSON body and the
// metadata as headers; without it a Go CDK subscriber decodes both.
func TestPublishNATS(t *testing.T) {
	ctx := context.Background()
	addr := natsServer(t)

	t.Run("natsv2 to a plain NATS client", func(t *testing.T) {
		svc := MustService(t)
		run := MustRun(t, svc)
		nc, err := nats.Connect(addr)
		if err != nil {
			t.Fatalf("nats.Connect: %v", err)
		}
		defer nc.Close()
		ns, err := nc.SubscribeSync("pedigree.events.v2")
		if err != nil {
			t.Fatalf("SubscribeSync: %v", err)
		}
		if err := nc.Flush(); err != nil { // the server has the subscription before anything is sent
			t.Fatalf("Flush: %v", err)
		}
		topic, err := publish.Open(ctx, "nats://pedigree.events.v2?natsv2")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer topic.Shutdown(ctx)
		stop := start(t, svc, topic)
		defer stop()

		want := []lineage.Event{MustRegister(t, svc, "churn", run), MustRegister(t, svc, "fraud", run)}
		for _, e := range want {
			m, err := ns.NextMsg(wait)
			if err != nil {
				t.Fatalf("NextMsg: %v", err)
			}
			md := map[string]string{}
			for k := range m.Header {
				md[k] = m.Header.Get(k)
			}
			checkMessage(t, m.Data, md, e)
		}
	})

	t.Run("gob to a Go CDK subscription", func(t *testing.T) {
		svc := MustService(t)
		run := MustRun(t, svc)
		topic, err := publish.Open(ctx, "nats://pedigree.events.v1")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer topic.Shutdown(ctx)
		sub, err := pubsub.OpenSubscription(ctx, "nats://pedigree.events.v1")
		if err != nil {
			t.Fatalf("OpenSubscription: %v", err)
		}
		defer sub.Shutdown(ctx)
		stop := start(t, svc, topic)
		defer stop()

		want := []lineage.Event{MustRegister(t, svc, "churn", run), MustRegister(t, svc, "churn", run)}
		checkMessages(t, receive(t, sub, len(want)), want)
	})
}

func TestOpenUnknownScheme(t *testing.T) {
	for _, url := range []string{"", "nosuch://topic"} {
		if _, err := publish.Open(context.Background(), url); err == nil {
			t.Errorf("Open(%q) = nil error, want one", url)
		}
	}
}

// No Kafka broker runs here, but the driver builds and registers the kafka
// scheme: the URL reaches its opener, which asks for KAFKA_BROKERS.
func TestOpenKafkaNeedsBrokers(t *testing.T) {
	t.Setenv("KAFKA_BROKERS", "")
	_, err := publish.Open(context.Background(), "kafka://pedigree-events?key_name=model")
	if err == nil || !strings.Contains(err.Error(), "KAFKA_BROKERS") {
		t.Errorf("Open(kafka://…) error = %v, want one naming KAFKA_BROKERS", err)
	}
}
