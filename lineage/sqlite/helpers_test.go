package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func ptr[T any](v T) *T { return &v }

// MustOpen opens a store in a fresh temp dir, closed at cleanup.
func MustOpen(tb testing.TB) *Store {
	tb.Helper()
	return MustOpenPath(tb, filepath.Join(tb.TempDir(), "pedigree.db"))
}

func MustOpenPath(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), path, Options{Now: func() time.Time { return at(1000) }})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// MustUpdate runs fn in a write transaction and fails the test on error.
func MustUpdate(tb testing.TB, s *Store, fn func(tx lineage.Tx) error) {
	tb.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		tb.Fatalf("Update: %v", err)
	}
}

func MustView(tb testing.TB, s *Store, fn func(tx lineage.ReadTx) error) {
	tb.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		tb.Fatalf("View: %v", err)
	}
}

// node makes a node of the kind its ID names, created at sec.
func node(id lineage.ID, sec int) *lineage.Node {
	return &lineage.Node{ID: id, Kind: id.Kind(), Name: id.Key(), Props: json.RawMessage(`{}`), CreatedAt: at(sec), UpdatedAt: at(sec)}
}

func edge(from, to lineage.ID, t lineage.EdgeType, sec int) lineage.Edge {
	return lineage.Edge{From: from, To: to, Type: t, CreatedAt: at(sec)}
}

// MustCreate creates nodes and edges in one transaction.
func MustCreate(tb testing.TB, s *Store, nodes []*lineage.Node, edges []lineage.Edge) {
	tb.Helper()
	MustUpdate(tb, s, func(tx lineage.Tx) error {
		for _, n := range nodes {
			if err := tx.CreateNode(n); err != nil {
				return err
			}
		}
		for _, e := range edges {
			if err := tx.AddEdge(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// wantCode checks an error's lineage code ("" for no error).
func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := lineage.ErrorCode(err); got != code {
		tb.Fatalf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

var errTest = errors.New("test: abort")
