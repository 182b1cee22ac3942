package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/lineagetest"
	"github.com/pedigree-ml/pedigree/lineage/sqlite"
)

// TestConformance runs the shared backend suite on a fresh database file
// per subtest.
func TestConformance(t *testing.T) {
	lineagetest.RunStoreTests(t, func(t *testing.T) lineage.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pedigree.db"), sqlite.Options{})
		if err != nil {
			t.Fatalf("sqlite.Open: %v", err)
		}
		return s
	}, lineagetest.Options{})
}
