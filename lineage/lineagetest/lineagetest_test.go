package lineagetest

import (
	"testing"

	"github.com/pedigree-ml/pedigree/lineage"
)

// TestConformance runs the suite on the in-memory reference store, which
// checks the suite itself.
func TestConformance(t *testing.T) {
	RunStoreTests(t, func(t *testing.T) lineage.Store { return newMemStore() }, Options{})
}
