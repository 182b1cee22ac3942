package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// chainNode is the i-th node a crashChild writes.
func chainNode(i int) lineage.ID { return lineage.NewID(lineage.KindDataset, fmt.Sprint("n", i)) }

// TestCrashChild is the process TestKillDuringWrites kills: it commits one
// transaction after another (a node, an edge to the previous node, a counter
// step and an event) and prints "acked i" after each.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("PEDIGREE_CRASH_CHILD")
	if path == "" {
		t.Skip("helper process of TestKillDuringWrites")
	}
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		err := s.Update(context.Background(), func(tx lineage.Tx) error {
			if err := tx.CreateNode(node(chainNode(i), i)); err != nil {
				return err
			}
			if i > 0 {
				if err := tx.AddEdge(edge(chainNode(i), chainNode(i-1), lineage.EdgeDerivedFrom, i)); err != nil {
					return err
				}
			}
			if _, err := tx.NextVersion("dataset:chain"); err != nil {
				return err
			}
			return tx.AddEvent(&lineage.Event{ID: fmt.Sprint("ev", i), Model: "chain", ModelSeq: int64(i + 1), Type: lineage.EventModelVersionRegistered})
		})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("acked %d\n", i)
	}
}

// kill -9 in the middle of writes loses no acknowledged transaction and
// leaves none half applied; the index rebuilt at Open matches.
func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "PEDIGREE_CRASH_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	deadline := time.Now().Add(20 * time.Second)
	sc := bufio.NewScanner(out)
	for sc.Scan() && acked < 150 && time.Now().Before(deadline) {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
		fmt.Sscanf(line, "acked %d", &acked)
	}
	cmd.Process.Kill() // SIGKILL: no deferred cleanup, no Close
	cmd.Wait()
	if acked < 0 {
		t.Fatal("the child acknowledged nothing")
	}

	s := MustOpenPath(t, path)
	var n, edges, counter, events int
	var check string
	s.rdb.QueryRow(`SELECT (SELECT count(*) FROM nodes), (SELECT count(*) FROM edges),
		(SELECT coalesce(max(value), 0) FROM counters), (SELECT count(*) FROM events)`).Scan(&n, &edges, &counter, &events)
	s.rdb.QueryRow(`PRAGMA integrity_check`).Scan(&check)
	if check != "ok" {
		t.Errorf("integrity_check: %s", check)
	}
	if n < acked+1 {
		t.Errorf("nodes after kill -9: got %d, want at least the %d acknowledged", n, acked+1)
	}
	if edges != n-1 || counter != n || events != n {
		t.Errorf("a transaction half applied: %d nodes, %d edges, counter %d, %d events", n, edges, counter, events)
	}
	g, err := s.Traverse(context.Background(), lineage.TraversalQuery{Of: chainNode(n - 1), Direction: lineage.Upstream, Depth: n})
	if err != nil || len(g.Nodes) != n || len(g.Edges) != n-1 {
		t.Errorf("index after kill -9: got %v nodes, %v edges, %v; want %d and %d", len(g.Nodes), len(g.Edges), err, n, n-1)
	}
	t.Logf("killed after %d acknowledged transactions; %d committed", acked+1, n)
}
