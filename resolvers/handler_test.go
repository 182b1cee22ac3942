package resolvers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	coderws "github.com/coder/websocket"

	"github.com/pedigree-ml/pedigree/lineage"
)

const deleteMutation = `mutation { deleteNode(input: {id: "model:x", hard: true}) }`

func TestPOSTContentTypes(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	body := `{"query":"` + strings.ReplaceAll(deleteMutation, `"`, `\"`) + `"}`
	for _, tc := range []struct {
		contentType string
		status      int
	}{
		{"application/json", http.StatusOK},
		{"application/json; charset=utf-8", http.StatusOK},
		// What a web page can send without a CORS preflight (CSRF):
		{"text/plain", http.StatusUnsupportedMediaType},
		{"text/plain; charset=utf-8", http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		// Multipart (uploads) only with a preflight header (see upload_test.go).
		{"multipart/form-data; boundary=x", http.StatusBadRequest},
		{"application/graphql", http.StatusUnsupportedMediaType},
		{"", http.StatusUnsupportedMediaType},
	} {
		before := s.svc.mutations.Load()
		r := s.postRaw(t, tc.contentType, body)
		if r.Status != tc.status {
			t.Errorf("Content-Type %q: status = %d, want %d (%s)", tc.contentType, r.Status, tc.status, r.Raw)
		}
		ran := s.svc.mutations.Load() - before
		if want := int64(0); tc.status == http.StatusOK {
			want = 1
			if ran != want {
				t.Errorf("Content-Type %q: mutation ran %d times, want %d", tc.contentType, ran, want)
			}
		} else if ran != 0 {
			t.Errorf("Content-Type %q: refused, but the mutation ran", tc.contentType)
		}
	}
}

func TestGET(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	if r := s.get(t, `{ dataset(name: "x") { name } }`); r.Status != http.StatusOK || len(r.Errors) != 0 {
		t.Errorf("GET query: %d %s", r.Status, r.Raw)
	}
	for _, q := range []string{deleteMutation, `subscription { modelEvents { id } }`} {
		r := s.get(t, q)
		if r.Status < 400 || r.code() != CodeOperationNotAllowed {
			t.Errorf("GET %s: %d %s, want a 4xx OPERATION_NOT_ALLOWED", q, r.Status, r.Raw)
		}
	}
	// With an operation name picking the mutation out of a document.
	q := `query A { __typename } ` + strings.Replace(deleteMutation, "mutation", "mutation B", 1)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"?operationName=B&query="+url.QueryEscape(q), nil)
	if r := s.do(t, req); r.Status < 400 {
		t.Errorf("GET named mutation: %d %s", r.Status, r.Raw)
	}
	if n := s.svc.mutations.Load(); n != 0 {
		t.Errorf("a mutation ran %d times over GET", n)
	}
	// A malformed query string is refused without echoing it.
	req, _ = http.NewRequest(http.MethodGet, s.URL+"?query=%zzsecret-token", nil)
	if r := s.do(t, req); r.Status != http.StatusBadRequest || strings.Contains(r.Raw, "secret") {
		t.Errorf("malformed query string: %d %s", r.Status, r.Raw)
	}
}

func TestSubscriptionNeedsWebsocket(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	r := s.post(t, `subscription { modelEvents { id } }`, nil)
	if r.code() != CodeOperationNotAllowed {
		t.Errorf("subscription over POST: %s", r.Raw)
	}
}

func TestRequestBodies(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	const secret = "tok_live_0123456789"
	for _, tc := range []struct {
		name, body string
	}{
		{"batch", `[{"query":"{ __typename }"},{"query":"` + secret + `"}]`},
		{"batch after space", "  \n[{\"query\":\"{ __typename }\"}]"},
		{"malformed", `{"query": "{ __typename }", "extensions": {"token": "` + secret + `"`},
		{"wrong type", `{"query": ["` + secret + `"]}`},
		{"not an object", `"` + secret + `"`},
		{"trailing data", `{"query": "{ __typename }"} {"query": "` + secret + `"}`},
		{"empty", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.postRaw(t, "application/json", tc.body)
			if r.Status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", r.Status)
			}
			if r.code() != CodeBadRequest {
				t.Errorf("code = %q, want %q", r.code(), CodeBadRequest)
			}
			if strings.Contains(r.Raw, secret) || strings.Contains(r.Raw, "__typename") {
				t.Errorf("response echoes the body: %s", r.Raw)
			}
		})
	}
	// The batch error says why.
	r := s.postRaw(t, "application/json", `[{"query":"{ __typename }"}]`)
	if !strings.Contains(r.Errors[0].Message, "batch") {
		t.Errorf("batch refusal does not say why: %s", r.Raw)
	}
}

func TestMethods(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, s.URL, strings.NewReader(`{"query":"{ __typename }"}`))
		req.Header.Set("Content-Type", "application/json")
		if r := s.do(t, req); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s: status = %d, want 405", m, r.Status)
		}
	}
}

func TestRequestLog(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	s.post(t, `query FindDataset($name: String!) { dataset(name: $name) { id } }`, map[string]any{"name": "tok_live_secret"})
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err == nil && rec["msg"] == "graphql" {
			if line != nil {
				t.Fatalf("more than one request line:\n%s", s.logs.String())
			}
			line = rec
		}
	}
	if line == nil {
		t.Fatalf("no request line:\n%s", s.logs.String())
	}
	for k, want := range map[string]any{"level": "INFO", "operation": "FindDataset", "type": "query", "status": float64(200), "transport": "POST"} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v", k, line[k], want)
		}
	}
	if _, ok := line["duration_ms"]; !ok {
		t.Error("log has no duration")
	}
	if strings.Contains(s.logs.String(), "tok_live_secret") {
		t.Errorf("log holds a variable: %s", s.logs.String())
	}
}

func TestCORS(t *testing.T) {
	s := newTestServer(t, nil, Options{AllowedOrigins: []string{"https://ui.example.com"}})
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, s.URL, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		res, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if got := preflight("https://ui.example.com").Header.Get("Access-Control-Allow-Origin"); got != "https://ui.example.com" {
		t.Errorf("allowed origin: Access-Control-Allow-Origin = %q", got)
	}
	res := preflight("https://evil.example")
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("other origin: Access-Control-Allow-Origin = %q, want none", got)
	}
	if got := res.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("Access-Control-Allow-Credentials = %q, want none", got)
	}
}

// wsDial opens a graphql-transport-ws connection and completes the handshake.
func wsDial(t *testing.T, s *testServer, origin string) (*coderws.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	c, res, err := coderws.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http"), &coderws.DialOptions{
		HTTPHeader: h, Subprotocols: []string{"graphql-transport-ws"},
	})
	if err != nil {
		return nil, res, err
	}
	t.Cleanup(func() { c.CloseNow() })
	wsSend(t, c, map[string]any{"type": "connection_init"})
	if m := wsRead(t, c); m["type"] != "connection_ack" {
		t.Fatalf("handshake: %v", m)
	}
	return c, res, nil
}

func wsSend(t *testing.T, c *coderws.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := c.Write(context.Background(), coderws.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

func wsRead(t *testing.T, c *coderws.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m["type"] != "ping" && m["type"] != "pong" {
			return m
		}
	}
}

func TestWebsocketOrigin(t *testing.T) {
	s := newTestServer(t, nil, Options{AllowedOrigins: []string{"https://ui.example.com"}})
	if _, res, err := wsDial(t, s, "https://evil.example"); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: err = %v, want 403", err)
	}
	if _, _, err := wsDial(t, s, "https://ui.example.com"); err != nil {
		t.Errorf("allowed origin: %v", err)
	}
	if _, _, err := wsDial(t, s, s.URL); err != nil {
		t.Errorf("same origin: %v", err)
	}
	if _, _, err := wsDial(t, s, ""); err != nil {
		t.Errorf("no origin (not a browser): %v", err)
	}
}

func TestWebsocketSubscription(t *testing.T) {
	var gotAfter int64 = -99
	svc := &stubService{subscribe: func(ctx context.Context, model string, types []lineage.EventType, afterSeq int64) (<-chan lineage.Event, error) {
		gotAfter = afterSeq
		ch := make(chan lineage.Event, 1)
		ch <- lineage.Event{Seq: 42, ID: "ev-42", Model: model, ModelSeq: 3, Type: lineage.EventStageChanged,
			Payload: json.RawMessage(`{"version":7,"to":"PRODUCTION"}`), CreatedAt: time.Unix(1700000000, 0)}
		go func() { <-ctx.Done(); close(ch) }()
		return ch, nil
	}}
	s := newTestServer(t, svc, Options{})
	c, _, err := wsDial(t, s, "")
	if err != nil {
		t.Fatal(err)
	}
	wsSend(t, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { modelEvents(model: "churn", types: [STAGE_CHANGED]) { id seq modelSeq type model version payload createdAt } }`}})
	m := wsRead(t, c)
	if m["type"] != "next" {
		t.Fatalf("got %v, want next", m)
	}
	ev := m["payload"].(map[string]any)["data"].(map[string]any)["modelEvents"].(map[string]any)
	if ev["id"] != "ev-42" || ev["seq"] != float64(42) || ev["version"] != float64(7) || ev["type"] != "STAGE_CHANGED" ||
		ev["createdAt"] != "2023-11-14T22:13:20Z" || ev["payload"].(map[string]any)["to"] != "PRODUCTION" {
		t.Errorf("event = %v", ev)
	}
	if gotAfter != -1 {
		t.Errorf("afterSeq passed to Subscribe = %d, want -1 (only new events)", gotAfter)
	}

	// Queries and mutations are refused over the websocket.
	wsSend(t, c, map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{"query": deleteMutation}})
	if m := wsRead(t, c); m["type"] != "error" || m["id"] != "2" {
		t.Errorf("mutation over websocket: %v, want an error", m)
	}
	if n := s.svc.mutations.Load(); n != 0 {
		t.Errorf("mutation ran over a websocket")
	}
}

func TestWebsocketSubscriptionLimit(t *testing.T) {
	svc := &stubService{subscribe: func(ctx context.Context, _ string, _ []lineage.EventType, _ int64) (<-chan lineage.Event, error) {
		ch := make(chan lineage.Event)
		go func() { <-ctx.Done(); close(ch) }()
		return ch, nil
	}}
	s := newTestServer(t, svc, Options{MaxSubscriptions: 2})
	c, _, err := wsDial(t, s, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		wsSend(t, c, map[string]any{"id": string(rune('a' + i)), "type": "subscribe",
			"payload": map[string]any{"query": `subscription { modelEvents { id } }`}})
	}
	// Subscriptions start concurrently: whichever came third is refused.
	if m := wsRead(t, c); !strings.Contains(string(mustJSON(t, m)), CodeSubscriptionLimit) {
		t.Errorf("third subscription: %v, want %s", m, CodeSubscriptionLimit)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
