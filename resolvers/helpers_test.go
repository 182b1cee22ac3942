package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pedigree-ml/pedigree/lineage"
)

// stubService answers the few Service calls a test sets up; any other call
// panics (nil embedded interface), which the handler recovers as INTERNAL.
// It stands in for the Service only where a test is about the GraphQL layer
// itself (limits, errors, transports, serialization), never for data rules.
type stubService struct {
	service

	calls atomic.Int64 // every stubbed call

	dataset   func(ctx context.Context, name string) (*lineage.Dataset, error)
	runs      func(ctx context.Context, in lineage.RunsInput) (*lineage.RunsPage, error)
	runData   func(ctx context.Context, ids []lineage.ID) (map[lineage.ID]*lineage.RunData, error)
	nodes     func(ctx context.Context, ids []lineage.ID) ([]lineage.Entity, error)
	subscribe func(ctx context.Context, model string, types []lineage.EventType, afterSeq int64) (<-chan lineage.Event, error)
	mutations atomic.Int64 // calls of any mutation
}

func (s *stubService) Dataset(ctx context.Context, name string) (*lineage.Dataset, error) {
	s.calls.Add(1)
	if s.dataset == nil {
		return &lineage.Dataset{Meta: lineage.Meta{ID: lineage.NewID(lineage.KindDataset, name)}, Name: name}, nil
	}
	return s.dataset(ctx, name)
}

func (s *stubService) Runs(ctx context.Context, in lineage.RunsInput) (*lineage.RunsPage, error) {
	s.calls.Add(1)
	if s.runs == nil {
		return &lineage.RunsPage{}, nil
	}
	return s.runs(ctx, in)
}

func (s *stubService) RunData(ctx context.Context, ids []lineage.ID) (map[lineage.ID]*lineage.RunData, error) {
	s.calls.Add(1)
	if s.runData == nil {
		return map[lineage.ID]*lineage.RunData{}, nil
	}
	return s.runData(ctx, ids)
}

func (s *stubService) Nodes(ctx context.Context, ids []lineage.ID) ([]lineage.Entity, error) {
	s.calls.Add(1)
	if s.nodes == nil {
		return make([]lineage.Entity, len(ids)), nil
	}
	return s.nodes(ctx, ids)
}

func (s *stubService) Subscribe(ctx context.Context, model string, types []lineage.EventType, afterSeq int64) (<-chan lineage.Event, error) {
	s.calls.Add(1)
	return s.subscribe(ctx, model, types, afterSeq)
}

func (s *stubService) LogMetrics(ctx context.Context, run lineage.ID, points []lineage.MetricPoint) (int, error) {
	s.mutations.Add(1)
	return len(points), nil
}

func (s *stubService) DeleteNode(ctx context.Context, id lineage.ID, hard bool) error {
	s.mutations.Add(1)
	return nil
}

// logBuffer collects log records for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// testServer is the handler over real HTTP with a stub service.
type testServer struct {
	*httptest.Server
	svc  *stubService
	logs *logBuffer
}

func newTestServer(t testing.TB, svc *stubService, opts Options) *testServer {
	t.Helper()
	if svc == nil {
		svc = &stubService{}
	}
	logs := &logBuffer{}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(newHandler(svc, opts))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, svc: svc, logs: logs}
}

// gqlResponse is a decoded GraphQL response.
type gqlResponse struct {
	Status int
	Raw    string
	Data   map[string]any
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	}
}

// code returns the first error's code, "" if none.
func (r *gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func (s *testServer) do(t testing.TB, req *http.Request) *gqlResponse {
	t.Helper()
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := &gqlResponse{Status: res.StatusCode, Raw: string(body)}
	if len(body) > 0 && body[0] == '{' {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("response is not JSON: %v\n%s", err, body)
		}
	}
	return out
}

// post sends one operation as POST application/json.
func (s *testServer) post(t testing.TB, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return s.postRaw(t, "application/json", string(b))
}

func (s *testServer) postRaw(t testing.TB, contentType, body string) *gqlResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return s.do(t, req)
}

func (s *testServer) get(t testing.TB, query string) *gqlResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+"?query="+url.QueryEscape(query), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.do(t, req)
}
