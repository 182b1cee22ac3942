package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Serving on a non-loopback address without authentication is refused.
func TestServeRefusesPublicAddressWithoutAuth(t *testing.T) {
	m := NewMain()
	if err := m.ParseFlags([]string{"--data-dir", t.TempDir(), "--addr", "0.0.0.0:0"}); err != nil {
		t.Fatal(err)
	}
	err := m.Run(context.Background())
	if err == nil {
		m.Close()
		t.Fatal("serve on 0.0.0.0 without --allow-unauthenticated started; want a refusal")
	}
	if !strings.Contains(err.Error(), "--allow-unauthenticated") {
		t.Errorf("error %q does not say how to proceed", err)
	}
}

func TestServeRejectsUnknownStore(t *testing.T) {
	m := NewMain()
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--store", "mysql://x"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "--store") {
		m.Close()
		t.Fatalf("unknown store scheme: got %v, want an error naming --store", err)
	}
}

// Flags default to PEDIGREE_* variables.
func TestFlagsFromEnvironment(t *testing.T) {
	t.Setenv("PEDIGREE_ADDR", "127.0.0.1:9999")
	t.Setenv("PEDIGREE_DEMO", "true")
	m := NewMain()
	if err := m.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if m.Addr != "127.0.0.1:9999" || !m.Demo {
		t.Errorf("from env: addr %q demo %v, want 127.0.0.1:9999 true", m.Addr, m.Demo)
	}
}

// A taken address fails Run with the listen error, and Run cleans up
// rather than waiting for a server that never started.
func TestServeAddressInUse(t *testing.T) {
	first := MustServe(t, t.TempDir())
	m := NewMain()
	m.DataDir, m.Addr = t.TempDir(), strings.TrimPrefix(first.URL(), "http://")
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Events.EventsURL = ""
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("Run on a taken address = %v, want the listen error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run on a taken address hangs")
	}
}
