package lineagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Clock is the Service's injectable clock: every reading returns a new time
// one second after the previous one, so each transaction has its own time
// and a test can name a moment between two transactions.
type Clock struct {
	mu   sync.Mutex
	next time.Time
	last time.Time
}

func newClock() *Clock { return &Clock{next: at(1000)} }

// Now returns the next time and advances.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = c.next
	c.next = c.next.Add(time.Second)
	return c.last
}

// Last returns the time of the most recent reading.
func (c *Clock) Last() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Between returns a time after every reading so far and before every later one.
func (c *Clock) Between() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next.Add(-500 * time.Millisecond)
}

// Set makes the next reading return t (to simulate a skewed replica).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next = t
}

// mustUpdate runs fn in a write transaction and fails the test on error.
func mustUpdate(tb testing.TB, s lineage.Store, fn func(tx lineage.Tx) error) {
	tb.Helper()
	if err := s.Update(bg, fn); err != nil {
		tb.Fatalf("Update: %v", err)
	}
}

// mustView runs fn in a read transaction and fails the test on error.
func mustView(tb testing.TB, s lineage.Store, fn func(tx lineage.ReadTx) error) {
	tb.Helper()
	if err := s.View(bg, fn); err != nil {
		tb.Fatalf("View: %v", err)
	}
}

// wantCode checks an error's code (never its message); code "" wants nil.
func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := lineage.ErrorCode(err); got != code {
		tb.Errorf("%s: error code = %q, want %q (err: %v)", what, got, code, err)
	}
}

// wantErr checks an error's code and the input field it names.
func wantErr(tb testing.TB, what string, err error, code, field string) {
	tb.Helper()
	gotCode, gotField := lineage.ErrorCode(err), lineage.ErrorField(err)
	if gotCode != code || gotField != field {
		tb.Errorf("%s: got code %q field %q, want code %q field %q (err: %v)", what, gotCode, gotField, code, field, err)
	}
}

func mustNoErr(tb testing.TB, what string, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// props encodes v as a node's Props.
func props(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// mkNode is a node of the kind its ID names, created (and updated) at created.
func mkNode(id lineage.ID, parent lineage.ID, name string, created time.Time) *lineage.Node {
	return &lineage.Node{
		ID: id, Kind: id.Kind(), Parent: parent, Name: name,
		Props:     props(map[string]any{"name": name, "note": "it's \"quoted\" ✓"}),
		CreatedAt: created, UpdatedAt: created,
	}
}

func cloneNode(n *lineage.Node) *lineage.Node {
	c := *n
	c.Props = slices.Clone(n.Props)
	if n.DeletedAt != nil {
		c.DeletedAt = ptr(*n.DeletedAt)
	}
	return &c
}

// createNodes commits nodes in the order given.
func createNodes(tb testing.TB, s lineage.Store, nodes ...*lineage.Node) {
	tb.Helper()
	mustUpdate(tb, s, func(tx lineage.Tx) error {
		for _, n := range nodes {
			if err := tx.CreateNode(cloneNode(n)); err != nil {
				return fmt.Errorf("CreateNode(%s): %w", n.ID, err)
			}
		}
		return nil
	})
}

// addEdges commits edges in the order given.
func addEdges(tb testing.TB, s lineage.Store, edges ...lineage.Edge) {
	tb.Helper()
	mustUpdate(tb, s, func(tx lineage.Tx) error {
		for _, e := range edges {
			if err := tx.AddEdge(e); err != nil {
				return fmt.Errorf("AddEdge(%s -%s-> %s): %w", e.From, e.Type, e.To, err)
			}
		}
		return nil
	})
}

func edge(from, to lineage.ID, t lineage.EdgeType, role string, created time.Time) lineage.Edge {
	return lineage.Edge{From: from, To: to, Type: t, Role: role, CreatedAt: created}
}

// jsonEqual compares two JSON documents by value, so a backend may store
// Props in any equivalent encoding.
func jsonEqual(a, b json.RawMessage) bool {
	if isNullJSON(a) || isNullJSON(b) {
		return isNullJSON(a) && isNullJSON(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return cmp.Equal(x, y)
}

func isNullJSON(b json.RawMessage) bool {
	t := string(bytes.TrimSpace(b))
	return t == "" || t == "null"
}

// cmpOpts compares stored values: times by instant, JSON by value, nil and
// empty collections alike.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.Comparer(jsonEqual),
	cmpopts.EquateEmpty(),
}

// edgeKey is an edge's identity, without its times.
type edgeKey struct {
	From, To lineage.ID
	Type     lineage.EdgeType
	Role     string
}

func (k edgeKey) String() string {
	r := ""
	if k.Role != "" {
		r = "{" + k.Role + "}"
	}
	return fmt.Sprintf("%s -%s%s-> %s", k.From, k.Type, r, k.To)
}

func keyOf(e lineage.Edge) edgeKey { return edgeKey{e.From, e.To, e.Type, e.Role} }

func edgeKeys(edges []lineage.Edge) []edgeKey {
	out := make([]edgeKey, len(edges))
	for i, e := range edges {
		out[i] = keyOf(e)
	}
	return out
}

func sortedEdgeKeys(edges []lineage.Edge) []edgeKey {
	out := edgeKeys(edges)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func sortedIDs[T ~string](ids []T) []T {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func nodeIDs(nodes []*lineage.Node) []lineage.ID {
	out := make([]lineage.ID, len(nodes))
	for i, n := range nodes {
		out[i] = n.ID
	}
	return out
}

func entityIDs[E lineage.Entity](es []E) []lineage.ID {
	out := make([]lineage.ID, len(es))
	for i, e := range es {
		out[i] = lineage.EntityID(e)
	}
	return out
}

// listAll pages through List with the given page size.
func listAll(tb testing.TB, tx lineage.ReadTx, kind lineage.Kind, parent lineage.ID, first int) []*lineage.Node {
	tb.Helper()
	var out []*lineage.Node
	page := lineage.Page{First: first}
	for i := 0; ; i++ {
		np, err := tx.List(kind, parent, page)
		if err != nil {
			tb.Fatalf("List(%s, %q, %+v): %v", kind, parent, page, err)
		}
		if len(np.Nodes) > first {
			tb.Errorf("List(%s, %q, First=%d) returned %d nodes", kind, parent, first, len(np.Nodes))
		}
		out = append(out, np.Nodes...)
		if !np.HasNext {
			return out
		}
		if np.EndCursor == "" {
			tb.Fatalf("List(%s, %q): HasNext with an empty EndCursor", kind, parent)
		}
		if i > 10000 {
			tb.Fatalf("List(%s, %q): more than 10000 pages", kind, parent)
		}
		page.After = np.EndCursor
	}
}

// storeSnapshot is everything a test can observe of a store: live nodes of
// every kind with their props and upstream edges, run data, audit trails
// and the event head. Comparing two tells whether anything changed.
type storeSnapshot struct {
	Nodes        map[lineage.ID]nodeSnapshot
	LastEventSeq int64
}

type nodeSnapshot struct {
	Parent      lineage.ID
	Name        string
	Props       json.RawMessage
	UpdatedAt   time.Time
	Upstream    []edgeKey
	Downstream  []edgeKey
	RunData     *lineage.RunData
	Transitions []lineage.Transition
}

func snapshot(tb testing.TB, s lineage.Store) storeSnapshot {
	tb.Helper()
	snap := storeSnapshot{Nodes: map[lineage.ID]nodeSnapshot{}}
	mustView(tb, s, func(tx lineage.ReadTx) error {
		for _, k := range lineage.Kinds {
			for _, n := range listAll(tb, tx, k, "", 500) {
				ns := nodeSnapshot{Parent: n.Parent, Name: n.Name, Props: n.Props, UpdatedAt: n.UpdatedAt}
				up, err := tx.Edges(n.ID, lineage.Upstream)
				if err != nil {
					return err
				}
				down, err := tx.Edges(n.ID, lineage.Downstream)
				if err != nil {
					return err
				}
				ns.Upstream, ns.Downstream = sortedEdgeKeys(up), sortedEdgeKeys(down)
				switch n.Kind {
				case lineage.KindRun:
					rd, err := tx.RunData([]lineage.ID{n.ID})
					if err != nil {
						return err
					}
					ns.RunData = rd[n.ID]
				case lineage.KindModelVersion:
					if ns.Transitions, err = tx.Transitions([]lineage.ID{n.ID}); err != nil {
						return err
					}
				}
				snap.Nodes[n.ID] = ns
			}
		}
		return nil
	})
	seq, err := s.LastEventSeq(bg)
	mustNoErr(tb, "LastEventSeq", err)
	snap.LastEventSeq = seq
	return snap
}

// wantUnchanged fails when the store differs from before.
func wantUnchanged(tb testing.TB, what string, s lineage.Store, before storeSnapshot) {
	tb.Helper()
	if diff := cmp.Diff(before, snapshot(tb, s), cmpOpts); diff != "" {
		tb.Errorf("%s changed the store (-before +after):\n%s", what, diff)
	}
}

// retryingStore runs every Update twice: the first attempt runs fn to the
// end and is then rolled back as if the commit had hit a transient failure,
// the second commits. The Store contract allows exactly this ("fn may be
// called again if the backend retries"), so the Service must give the same
// results through it.
type retryingStore struct {
	lineage.Store
	mu       sync.Mutex
	attempts int
}

var errInjectedRetry = errors.New("lineagetest: injected transient failure")

func (r *retryingStore) Update(ctx context.Context, fn func(lineage.Tx) error) error {
	r.mu.Lock()
	r.attempts++
	r.mu.Unlock()
	err := r.Store.Update(ctx, func(tx lineage.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errInjectedRetry
	})
	if !errors.Is(err, errInjectedRetry) {
		return err
	}
	return r.Store.Update(ctx, fn)
}

// payload decodes an event's payload.
func payload(tb testing.TB, e lineage.Event) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Payload, &m); err != nil {
		tb.Fatalf("event %d payload %s: %v", e.Seq, e.Payload, err)
	}
	return m
}
