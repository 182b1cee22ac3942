package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

var memTopics atomic.Int64

// MustServe runs `pedigree serve` in-process on a free port and a temp dir.
func MustServe(tb testing.TB, dir string, args ...string) *Main {
	tb.Helper()
	m := NewMain()
	m.DataDir = dir
	m.Addr = "127.0.0.1:0"
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	// mem:// topics are per process, by name: each server gets its own.
	m.Events.EventsURL = fmt.Sprintf("mem://events-%d", memTopics.Add(1))
	if err := m.ParseFlags(args); err != nil {
		tb.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Error(err)
		}
	})
	return m
}

// gqlError is one entry of a GraphQL response's errors.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code  string `json:"code"`
		Field string `json:"field"`
	} `json:"extensions"`
}

type client struct {
	url  string
	http *http.Client
}

func newClient(base string) *client {
	// Enough idle connections that parallel benchmark clients reuse them.
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	return &client{url: base + "/graphql", http: &http.Client{Timeout: 30 * time.Second, Transport: transport}}
}

// do posts one operation and returns its data and errors.
func (c *client) do(tb testing.TB, query string, vars map[string]any) (json.RawMessage, []gqlError) {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := c.http.Post(c.url, "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("status %d, body %q: %v", resp.StatusCode, raw, err)
	}
	return out.Data, out.Errors
}

// must posts an operation that has to succeed and decodes its data into out.
func (c *client) must(tb testing.TB, query string, vars map[string]any, out any) {
	tb.Helper()
	data, errs := c.do(tb, query, vars)
	if len(errs) > 0 {
		tb.Fatalf("%s: %+v", firstLine(query), errs)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			tb.Fatal(err)
		}
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i > 0 {
		return s[:i]
	}
	return s
}

var (
	uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timePattern = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"`)
)

// normalize makes a response comparable across runs: run UUIDs become
// <uuid-N> in order of appearance and timestamps <time>.
func normalize(raw []byte) []byte {
	var v any
	if err := json.Unmarshal(raw, &v); err == nil {
		raw, _ = json.MarshalIndent(v, "", "  ")
	}
	seen := map[string]string{}
	raw = uuidPattern.ReplaceAllFunc(raw, func(b []byte) []byte {
		if _, ok := seen[string(b)]; !ok {
			seen[string(b)] = "<uuid-" + string(rune('A'+len(seen))) + ">"
		}
		return []byte(seen[string(b)])
	})
	return append(timePattern.ReplaceAll(raw, []byte(`"<time>"`)), '\n')
}

// golden compares a response with testdata/name.golden.json.
func golden(tb testing.TB, name string, raw []byte) {
	tb.Helper()
	got := normalize(raw)
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./cmd/pedigree -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from %s (go test ./cmd/pedigree -run %s -update to accept):\n%s", name, path, tb.Name(), got)
	}
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// jsonErr turns a decode failure into a response-style error list.
func jsonErr(err error) []gqlError {
	if err == nil {
		return nil
	}
	return []gqlError{{Message: err.Error()}}
}

// tryDo is do for a server that may vanish: transport errors come back as
// errors instead of failing the test.
func (c *client) tryDo(query string, vars map[string]any) (json.RawMessage, []gqlError) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := c.http.Post(c.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, jsonErr(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, jsonErr(err)
	}
	return out.Data, out.Errors
}
