package main

import (
	"context"
	"strings"
	"testing"
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
