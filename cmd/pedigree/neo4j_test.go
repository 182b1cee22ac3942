package main

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// TestNeo4jDown serves on a Neo4j store that is not there: the server
// starts, says it is alive but not ready, and a mutation fails fast with a
// retriable UNAVAILABLE error instead of hanging.
func TestNeo4jDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	t.Setenv("PEDIGREE_NEO4J_PASSWORD", "unused")
	m := MustServe(t, t.TempDir(), "--store", "neo4j://"+addr)
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusServiceUnavailable} {
		resp, err := http.Get(m.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	start := time.Now()
	_, errs := newClient(m.URL()).do(t, registerDataset, map[string]any{"in": map[string]any{"dataset": "d", "digest": sha("x")}})
	if len(errs) != 1 || errs[0].Extensions.Code != "UNAVAILABLE" {
		t.Fatalf("errors %+v, want one UNAVAILABLE", errs)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the mutation took %v", d)
	}
	t.Logf("mutation answered %q in %v", errs[0].Message, time.Since(start).Round(time.Millisecond))
}
