package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/sqlite"
	"github.com/pedigree-ml/pedigree/server"
)

func newServer(t *testing.T, opts server.Options) (*httptest.Server, lineage.Store) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(server.New(lineage.NewService(store), opts))
	t.Cleanup(func() { srv.Close(); store.Close() })
	return srv, store
}

func get(t *testing.T, srv *httptest.Server, path, host string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if host != "" {
		req.Host = host
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestRoutes(t *testing.T) {
	srv, _ := newServer(t, server.Options{})
	for _, tt := range []struct {
		path string
		want int
	}{
		{"/healthz", http.StatusOK},
		{"/readyz", http.StatusOK},
		{"/graphql?query=%7B__typename%7D", http.StatusOK},
		{"/nope", http.StatusNotFound},
	} {
		resp := get(t, srv, tt.path, "")
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: status %d, want %d", tt.path, resp.StatusCode, tt.want)
		}
		for _, h := range []string{"X-Request-Id", "X-Content-Type-Options", "X-Frame-Options"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("GET %s: no %s header", tt.path, h)
			}
		}
	}
	if resp := get(t, srv, "/", ""); resp.Request.URL.Path != "/" || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable) {
		t.Errorf("GET / = %d at %s, want the app (200, or 503 when the UI is not built)", resp.StatusCode, resp.Request.URL.Path)
	}
}

func TestReadyzFailsWhenTheStoreIsDown(t *testing.T) {
	srv, store := newServer(t, server.Options{})
	store.Close()
	if resp := get(t, srv, "/readyz", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with a closed store: %d, want 503", resp.StatusCode)
	}
	if resp := get(t, srv, "/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz with a closed store: %d, want 200 (the process is up)", resp.StatusCode)
	}
}

// Bound to loopback, the server answers only to loopback names and the
// allowlist, so a page on a DNS-rebound name cannot reach it.
func TestHostAllowlist(t *testing.T) {
	srv, _ := newServer(t, server.Options{AllowedHosts: []string{"pedigree.internal"}})
	for host, want := range map[string]int{
		"":                       http.StatusOK, // 127.0.0.1:port
		"localhost:8080":         http.StatusOK,
		"[::1]:8080":             http.StatusOK,
		"PEDIGREE.internal":      http.StatusOK,
		"evil.example.com":       http.StatusMisdirectedRequest,
		"127.0.0.1.evil.example": http.StatusMisdirectedRequest,
	} {
		if resp := get(t, srv, "/healthz", host); resp.StatusCode != want {
			t.Errorf("Host %q: status %d, want %d", host, resp.StatusCode, want)
		}
	}
}

func TestRequestLogHasNoQueryString(t *testing.T) {
	var log strings.Builder
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := httptest.NewServer(server.New(lineage.NewService(store), server.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}))
	defer srv.Close()
	get(t, srv, "/healthz?token=secret", "")
	if !strings.Contains(log.String(), "path=/healthz") || strings.Contains(log.String(), "secret") {
		t.Errorf("request log %q: want the path and no query string", log.String())
	}
}
