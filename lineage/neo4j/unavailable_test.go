package neo4j

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// A store that is down answers every call with a retriable EUNAVAILABLE
// within its timeout, never a hang: a refused connection, and a server that
// accepts connections and never answers.
func TestUnavailableStore(t *testing.T) {
	refused := closedPort(t)
	silent := silentServer(t)
	for name, addr := range map[string]string{"refused": refused, "silent": silent} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			start := time.Now()
			s, err := Open(ctx, "neo4j://"+addr, Options{Timeout: time.Second})
			if err != nil {
				t.Fatalf("Open needs no server up, got %v", err)
			}
			defer s.Close()
			calls := map[string]func() error{
				"Ping": func() error { return s.Ping(ctx) },
				"Update": func() error {
					return s.Update(ctx, func(tx lineage.Tx) error {
						return tx.CreateNode(&lineage.Node{ID: "dataset:x", Kind: lineage.KindDataset})
					})
				},
				"View": func() error {
					return s.View(ctx, func(tx lineage.ReadTx) error { _, err := tx.Node("dataset:x"); return err })
				},
				"Traverse": func() error {
					_, err := s.Traverse(ctx, lineage.TraversalQuery{Of: "dataset:x", Direction: lineage.Upstream, Depth: 1})
					return err
				},
			}
			for call, fn := range calls {
				begin := time.Now()
				err := fn()
				if code := lineage.ErrorCode(err); code != lineage.EUNAVAILABLE {
					t.Errorf("%s: error %v (code %s), want %s", call, err, code, lineage.EUNAVAILABLE)
				}
				if d := time.Since(begin); d > 5*time.Second {
					t.Errorf("%s took %v with a 1 s timeout", call, d)
				}
			}
			t.Logf("%s: Open and %d calls in %v", name, len(calls), time.Since(start).Round(time.Millisecond))
		})
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentServer accepts connections and never writes a byte.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// Credentials belong in Options: a URL carrying them is refused, without
// echoing the password.
func TestOpenRefusesCredentialsInURL(t *testing.T) {
	_, err := Open(context.Background(), "neo4j://neo4j:s3cret@127.0.0.1:7687", Options{})
	if err == nil {
		t.Fatal("Open accepted a URL with a password in it")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows the password: %v", err)
	}
}
