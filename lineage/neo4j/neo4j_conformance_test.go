package neo4j_test

import (
	"context"
	"os"
	"testing"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/lineagetest"
	"github.com/pedigree-ml/pedigree/lineage/neo4j"
)

// TestConformance runs the shared backend suite against a live Neo4j, when
// PEDIGREE_TEST_NEO4J_URI names one (`make test-neo4j` starts the compose
// service). Every subtest starts from an empty database: the suite WIPES
// the database it is given.
func TestConformance(t *testing.T) {
	uri := os.Getenv("PEDIGREE_TEST_NEO4J_URI")
	if uri == "" {
		t.Skip("no Neo4j: set PEDIGREE_TEST_NEO4J_URI (and PEDIGREE_TEST_NEO4J_PASSWORD) to run the conformance suite against one; `make test-neo4j` does")
	}
	opts := neo4j.Options{
		User:     os.Getenv("PEDIGREE_TEST_NEO4J_USER"),
		Password: os.Getenv("PEDIGREE_TEST_NEO4J_PASSWORD"),
		Database: os.Getenv("PEDIGREE_TEST_NEO4J_DATABASE"),
	}
	if opts.User == "" && opts.Password != "" {
		opts.User = "neo4j"
	}
	lineagetest.RunStoreTests(t, func(t *testing.T) lineage.Store {
		ctx := context.Background()
		if err := neo4j.Wipe(ctx, uri, opts); err != nil {
			t.Fatalf("wipe: %v", err)
		}
		s, err := neo4j.Open(ctx, uri, opts)
		if err != nil {
			t.Fatalf("neo4j.Open: %v", err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		return s
	}, lineagetest.Options{})
}
