// Package lineagetest is the conformance suite every lineage.Store backend
// runs (the Go CDK drivertest pattern): RunStoreTests checks each Store
// method against its doc comment, by error code and never by message, and
// then checks the Service's invariants (versions, stages, idempotency,
// events, deletes, lineage queries, validation) on top of that store.
//
// A backend's test calls
//
//	func TestConformance(t *testing.T) {
//		lineagetest.RunStoreTests(t, func(t *testing.T) lineage.Store { … }, lineagetest.Options{})
//	}
//
// and declares in Options what it cannot do; those subtests are skipped with
// a message naming the option, never silently passed.
package lineagetest

import (
	"context"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Options declares what a backend cannot do. Every field defaults to "can".
type Options struct {
	// SkipAsOf: Traverse ignores or rejects TraversalQuery.AsOf.
	SkipAsOf bool
	// SkipConcurrency: the backend's test instance cannot take the
	// concurrent-writer subtests (64 and 32 goroutines).
	SkipConcurrency bool
}

// RunStoreTests runs the conformance suite. newStore returns a fresh, empty
// store for each subtest; the suite closes it when the subtest ends. The
// suite never uses a store after opening the next one, so newStore may wipe
// and reuse one database.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) lineage.Store, opts Options) {
	h := &harness{newStore: newStore, opts: opts}
	t.Run("Store", func(t *testing.T) { h.storeTests(t) })
	t.Run("Service", func(t *testing.T) { h.serviceTests(t) })
}

type harness struct {
	newStore func(t *testing.T) lineage.Store
	opts     Options
}

// open returns a fresh store closed at the end of t.
func (h *harness) open(t *testing.T) lineage.Store {
	t.Helper()
	s := h.newStore(t)
	if s == nil {
		t.Fatal("newStore returned nil")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func (h *harness) skipAsOf(t *testing.T) {
	t.Helper()
	if h.opts.SkipAsOf {
		t.Skip("SKIPPED: backend declares Options.SkipAsOf (TraversalQuery.AsOf unsupported)")
	}
}

func (h *harness) skipConcurrency(t *testing.T) {
	t.Helper()
	if h.opts.SkipConcurrency {
		t.Skip("SKIPPED: backend declares Options.SkipConcurrency (concurrent writers unsupported)")
	}
}

// t0 is the suite's epoch: whole seconds, UTC, so every backend can store
// the times it is given exactly.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// at returns t0 plus n seconds.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

func ptr[T any](v T) *T { return &v }

var bg = context.Background()
