package neo4j

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/sqlite"
)

// TestWalkMatchesEmbeddedStore runs walk, the level-at-a-time traversal
// the Neo4j store drives with Cypher, over the edges of random graphs in
// the embedded store, and requires the embedded store's own Traverse
// answer: same nodes, depths, order, cut and edges. Graphs have cycles,
// parallel edges, grouping edges (not followed) and removed edges.
func TestWalkMatchesEmbeddedStore(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(12) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			n := 20 + rng.IntN(60)
			ids := randomGraph(t, st, rng, n)
			for range 40 {
				q := lineage.TraversalQuery{
					Of:        ids[rng.IntN(len(ids))],
					Direction: []lineage.Direction{lineage.Upstream, lineage.Downstream, lineage.Both}[rng.IntN(3)],
					Depth:     1 + rng.IntN(6),
					Limit:     rng.IntN(3) * (1 + rng.IntN(n)), // 0 (no limit) a third of the time
				}
				want, err := st.Traverse(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				var got *lineage.Subgraph
				err = st.View(ctx, func(tx lineage.ReadTx) error {
					got, err = walk(q, embeddedReader(tx))
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("%+v: walk differs from the embedded store (-want +got):\n%s", q, diff)
				}
			}
		})
	}
}

// embeddedReader answers walk's questions from a ReadTx, as the Cypher
// level queries do: edges grouped by their end, each group oldest first.
func embeddedReader(tx lineage.ReadTx) graphReader {
	var prov []lineage.EdgeType
	for _, et := range lineage.EdgeTypes {
		if et.Provenance() {
			prov = append(prov, et)
		}
	}
	edges := func(dir lineage.Direction, keep func(lineage.Edge) bool) func([]lineage.ID) ([]lineage.Edge, error) {
		return func(ids []lineage.ID) ([]lineage.Edge, error) {
			var out []lineage.Edge
			for _, id := range ids {
				es, err := tx.Edges(id, dir, prov...)
				if err != nil {
					return nil, err
				}
				for _, e := range es {
					if keep(e) {
						out = append(out, e)
					}
				}
			}
			return out, nil
		}
	}
	all := func(lineage.Edge) bool { return true }
	return graphReader{
		up:   edges(lineage.Upstream, all),
		down: edges(lineage.Downstream, all),
		between: func(ids []lineage.ID) ([]lineage.Edge, error) {
			return edges(lineage.Upstream, func(e lineage.Edge) bool { return slices.Contains(ids, e.To) })(ids)
		},
	}
}

func randomGraph(t *testing.T, st lineage.Store, rng *rand.Rand, n int) []lineage.ID {
	t.Helper()
	ids := make([]lineage.ID, n)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := func() time.Time { at = at.Add(time.Second); return at }
	err := st.Update(context.Background(), func(tx lineage.Tx) error {
		for i := range ids {
			ids[i] = lineage.ID(fmt.Sprintf("dataset:d%d", i))
			if err := tx.CreateNode(&lineage.Node{ID: ids[i], Kind: lineage.KindDataset, Name: string(ids[i]), CreatedAt: tick()}); err != nil {
				return err
			}
		}
		for range n * 2 {
			e := lineage.Edge{From: ids[rng.IntN(n)], To: ids[rng.IntN(n)],
				Type: lineage.EdgeTypes[rng.IntN(len(lineage.EdgeTypes))], CreatedAt: tick()}
			if e.From == e.To {
				continue
			}
			if err := tx.AddEdge(e); err != nil {
				return err
			}
			if rng.IntN(8) == 0 {
				if err := tx.RemoveEdge(e.From, e.To, e.Type, tick()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
