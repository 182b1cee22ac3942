package lineagetest

// memStore is a deliberately simple, obviously correct lineage.Store kept
// only to test the suite itself: one lock, copy-on-write state, linear
// scans. It is not a backend.

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

type memNode struct {
	seq  int64
	node lineage.Node
}

type memEdge struct {
	seq  int64
	edge lineage.Edge
}

type memState struct {
	seq         int64
	nodes       map[lineage.ID]*memNode
	edges       []memEdge
	counters    map[lineage.ID]int64
	params      map[lineage.ID]map[string]string
	tags        map[lineage.ID]map[string]string
	points      map[lineage.ID]map[string][]lineage.MetricPoint
	transitions []lineage.Transition
	idem        map[string]lineage.IdempotencyRecord
	events      []lineage.Event
	eventSeq    int64
	docs        map[string]map[string]json.RawMessage // collection → key → value
}

func (s *memState) clone() *memState {
	c := *s
	c.nodes = maps.Clone(s.nodes) // *memNode values are replaced, never mutated
	c.edges = slices.Clone(s.edges)
	c.counters = maps.Clone(s.counters)
	c.params, c.tags = map[lineage.ID]map[string]string{}, map[lineage.ID]map[string]string{}
	for k, v := range s.params {
		c.params[k] = maps.Clone(v)
	}
	for k, v := range s.tags {
		c.tags[k] = maps.Clone(v)
	}
	c.points = map[lineage.ID]map[string][]lineage.MetricPoint{}
	for k, v := range s.points {
		m := map[string][]lineage.MetricPoint{}
		for kk, vv := range v {
			m[kk] = slices.Clone(vv)
		}
		c.points[k] = m
	}
	c.transitions = slices.Clone(s.transitions)
	c.idem = maps.Clone(s.idem)
	c.events = slices.Clone(s.events)
	c.docs = map[string]map[string]json.RawMessage{}
	for k, v := range s.docs {
		c.docs[k] = maps.Clone(v) // values are replaced, never mutated
	}
	return &c
}

type memStore struct {
	mu  sync.Mutex // serializes writers
	cur *memState
	rmu sync.RWMutex // guards cur
}

func newMemStore() *memStore {
	return &memStore{cur: &memState{
		nodes: map[lineage.ID]*memNode{}, counters: map[lineage.ID]int64{},
		params: map[lineage.ID]map[string]string{}, tags: map[lineage.ID]map[string]string{},
		points: map[lineage.ID]map[string][]lineage.MetricPoint{}, idem: map[string]lineage.IdempotencyRecord{},
		docs: map[string]map[string]json.RawMessage{},
	}}
}

func (m *memStore) snapshot() *memState {
	m.rmu.RLock()
	defer m.rmu.RUnlock()
	return m.cur
}

func (m *memStore) Update(ctx context.Context, fn func(lineage.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.snapshot().clone()
	if err := fn(&memTx{st}); err != nil {
		return err
	}
	m.rmu.Lock()
	m.cur = st
	m.rmu.Unlock()
	return nil
}

func (m *memStore) View(ctx context.Context, fn func(lineage.ReadTx) error) error {
	return fn(&memTx{m.snapshot()})
}

func (m *memStore) Ping(context.Context) error { return nil }
func (m *memStore) Close() error               { return nil }

func notFound(what string) error { return lineage.Errorf(lineage.ENOTFOUND, "%s not found", what) }

type memTx struct{ s *memState }

func (tx *memTx) Node(id lineage.ID) (*lineage.Node, error) {
	n, ok := tx.s.nodes[id]
	if !ok {
		return nil, notFound(string(id))
	}
	c := n.node
	return &c, nil
}

func (tx *memTx) Nodes(ids []lineage.ID) ([]*lineage.Node, error) {
	var out []*lineage.Node
	for _, id := range ids {
		if n, ok := tx.s.nodes[id]; ok {
			c := n.node
			out = append(out, &c)
		}
	}
	return out, nil
}

func (tx *memTx) sortedNodes() []*memNode {
	all := slices.Collect(maps.Values(tx.s.nodes))
	slices.SortFunc(all, func(a, b *memNode) int { return cmp.Compare(a.seq, b.seq) })
	return all
}

func (tx *memTx) List(kind lineage.Kind, parent lineage.ID, page lineage.Page) (*lineage.NodePage, error) {
	after := int64(0)
	if page.After != "" {
		var err error
		if after, err = strconv.ParseInt(page.After, 10, 64); err != nil {
			return nil, lineage.Invalid("after", "bad cursor")
		}
	}
	out := &lineage.NodePage{}
	for _, n := range tx.sortedNodes() {
		if n.seq <= after || n.node.Kind != kind || (parent != "" && n.node.Parent != parent) || n.node.DeletedAt != nil {
			continue
		}
		if len(out.Nodes) == page.First {
			out.HasNext = true
			break
		}
		c := n.node
		out.Nodes = append(out.Nodes, &c)
		out.EndCursor = strconv.FormatInt(n.seq, 10)
	}
	return out, nil
}

func (tx *memTx) Edges(id lineage.ID, dir lineage.Direction, types ...lineage.EdgeType) ([]lineage.Edge, error) {
	var out []lineage.Edge
	for _, e := range tx.s.edges {
		if e.edge.RemovedAt != nil || (len(types) > 0 && !slices.Contains(types, e.edge.Type)) {
			continue
		}
		if (dir == lineage.Upstream && e.edge.From == id) || (dir == lineage.Downstream && e.edge.To == id) {
			out = append(out, e.edge)
		}
	}
	return out, nil
}

func (tx *memTx) summaries(run lineage.ID) []lineage.MetricSummary {
	var out []lineage.MetricSummary
	for key, pts := range tx.s.points[run] {
		sm := lineage.MetricSummary{Key: key, Min: math.Inf(1), Max: math.Inf(-1), Count: int64(len(pts))}
		var last *lineage.MetricPoint
		for i, p := range pts {
			sm.Min, sm.Max = min(sm.Min, p.Value), max(sm.Max, p.Value)
			if last == nil || p.Step > last.Step || (p.Step == last.Step && !p.Timestamp.Before(last.Timestamp)) {
				last = &pts[i]
			}
		}
		sm.Last, sm.LastStep = last.Value, last.Step
		out = append(out, sm)
	}
	slices.SortFunc(out, func(a, b lineage.MetricSummary) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (tx *memTx) RunData(runs []lineage.ID) (map[lineage.ID]*lineage.RunData, error) {
	out := map[lineage.ID]*lineage.RunData{}
	for _, r := range runs {
		out[r] = &lineage.RunData{Params: maps.Clone(tx.s.params[r]), Tags: maps.Clone(tx.s.tags[r]), Metrics: tx.summaries(r)}
	}
	return out, nil
}

func (tx *memTx) MetricHistory(q lineage.MetricHistoryQuery) ([]lineage.MetricPoint, error) {
	pts := slices.Clone(tx.s.points[q.Run][q.Key])
	slices.SortStableFunc(pts, func(a, b lineage.MetricPoint) int {
		return cmp.Or(cmp.Compare(a.Step, b.Step), a.Timestamp.Compare(b.Timestamp))
	})
	var out []lineage.MetricPoint
	for _, p := range pts {
		if q.AfterStep != nil && p.Step <= *q.AfterStep {
			continue
		}
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
		out = append(out, p)
	}
	return out, nil
}

func (tx *memTx) Transitions(versions []lineage.ID) ([]lineage.Transition, error) {
	var out []lineage.Transition
	for _, t := range tx.s.transitions {
		if slices.Contains(versions, t.ModelVersion) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (tx *memTx) Idempotency(key string) (*lineage.IdempotencyRecord, error) {
	r, ok := tx.s.idem[key]
	if !ok {
		return nil, notFound("idempotency key")
	}
	return &r, nil
}

func (tx *memTx) LastModelSeq(model string) (int64, error) {
	var n int64
	for _, e := range tx.s.events {
		if e.Model == model {
			n = max(n, e.ModelSeq)
		}
	}
	return n, nil
}

func (tx *memTx) Doc(collection, key string) (*lineage.Doc, error) {
	v, ok := tx.s.docs[collection][key]
	if !ok {
		return nil, notFound("doc " + key)
	}
	return &lineage.Doc{Collection: collection, Key: key, Value: slices.Clone(v)}, nil
}

func (tx *memTx) Docs(q lineage.DocQuery) ([]lineage.Doc, error) {
	if q.Limit < 1 {
		return nil, lineage.Invalid("limit", "must be at least 1")
	}
	keys := slices.Sorted(maps.Keys(tx.s.docs[q.Collection]))
	if q.Desc {
		slices.Reverse(keys)
	}
	var out []lineage.Doc
	for _, k := range keys {
		if !strings.HasPrefix(k, q.Prefix) || q.After != "" && (q.Desc && k >= q.After || !q.Desc && k <= q.After) {
			continue
		}
		if len(out) == q.Limit {
			break
		}
		out = append(out, lineage.Doc{Collection: q.Collection, Key: k, Value: slices.Clone(tx.s.docs[q.Collection][k])})
	}
	return out, nil
}

func (tx *memTx) CreateNode(n *lineage.Node) error {
	if _, ok := tx.s.nodes[n.ID]; ok {
		return lineage.Errorf(lineage.ECONFLICT, "%s exists", n.ID)
	}
	tx.s.seq++
	tx.s.nodes[n.ID] = &memNode{seq: tx.s.seq, node: *n}
	return nil
}

func (tx *memTx) UpdateNode(n *lineage.Node) error {
	old, ok := tx.s.nodes[n.ID]
	if !ok {
		return notFound(string(n.ID))
	}
	c := old.node
	c.Name, c.Props, c.UpdatedAt, c.DeletedAt = n.Name, n.Props, n.UpdatedAt, n.DeletedAt
	tx.s.nodes[n.ID] = &memNode{seq: old.seq, node: c}
	return nil
}

func (tx *memTx) DeleteNode(id lineage.ID) error {
	if _, ok := tx.s.nodes[id]; !ok {
		return notFound(string(id))
	}
	delete(tx.s.nodes, id)
	tx.s.edges = slices.DeleteFunc(tx.s.edges, func(e memEdge) bool { return e.edge.From == id || e.edge.To == id })
	return nil
}

func (tx *memTx) AddEdge(e lineage.Edge) error {
	if _, ok := tx.s.nodes[e.From]; !ok {
		return notFound(string(e.From))
	}
	if _, ok := tx.s.nodes[e.To]; !ok {
		return notFound(string(e.To))
	}
	for _, x := range tx.s.edges {
		if e.RemovedAt == nil && x.edge.RemovedAt == nil && x.edge.From == e.From && x.edge.To == e.To && x.edge.Type == e.Type && x.edge.Role == e.Role {
			return nil
		}
	}
	tx.s.seq++
	tx.s.edges = append(tx.s.edges, memEdge{tx.s.seq, e})
	return nil
}

func (tx *memTx) RemoveEdge(from, to lineage.ID, t lineage.EdgeType, at time.Time) error {
	for i, x := range tx.s.edges {
		if x.edge.RemovedAt == nil && x.edge.From == from && x.edge.To == to && x.edge.Type == t {
			tx.s.edges[i].edge.RemovedAt = &at
		}
	}
	return nil
}

func (tx *memTx) NextVersion(counter lineage.ID) (int64, error) {
	tx.s.counters[counter]++
	return tx.s.counters[counter], nil
}

func (tx *memTx) SetCounter(counter lineage.ID, value int64) error {
	tx.s.counters[counter] = value
	return nil
}

func (tx *memTx) SetRunParams(run lineage.ID, params map[string]string) error {
	if tx.s.params[run] == nil {
		tx.s.params[run] = map[string]string{}
	}
	maps.Copy(tx.s.params[run], params)
	return nil
}

func (tx *memTx) SetRunTags(run lineage.ID, tags map[string]string) error {
	if tx.s.tags[run] == nil {
		tx.s.tags[run] = map[string]string{}
	}
	maps.Copy(tx.s.tags[run], tags)
	return nil
}

func (tx *memTx) LogMetrics(run lineage.ID, points []lineage.MetricPoint) error {
	if tx.s.points[run] == nil {
		tx.s.points[run] = map[string][]lineage.MetricPoint{}
	}
	for _, p := range points {
		tx.s.points[run][p.Key] = append(tx.s.points[run][p.Key], p)
	}
	return nil
}

func (tx *memTx) AddTransition(t lineage.Transition) error {
	tx.s.transitions = append(tx.s.transitions, t)
	return nil
}

func (tx *memTx) PutIdempotency(r lineage.IdempotencyRecord) error {
	if _, ok := tx.s.idem[r.Key]; ok {
		return lineage.Errorf(lineage.ECONFLICT, "key exists")
	}
	tx.s.idem[r.Key] = r
	return nil
}

func (tx *memTx) AddEvent(e *lineage.Event) error {
	tx.s.eventSeq++
	e.Seq = tx.s.eventSeq
	tx.s.events = append(tx.s.events, *e)
	return nil
}

func (tx *memTx) PutDoc(d lineage.Doc) error {
	if tx.s.docs[d.Collection] == nil {
		tx.s.docs[d.Collection] = map[string]json.RawMessage{}
	}
	tx.s.docs[d.Collection][d.Key] = slices.Clone(d.Value)
	return nil
}

func (tx *memTx) DeleteDoc(collection, key string) error {
	delete(tx.s.docs[collection], key)
	return nil
}

// Store-level reads.

func (m *memStore) Events(ctx context.Context, model string, afterSeq int64, limit int) ([]lineage.Event, error) {
	var out []lineage.Event
	for _, e := range m.snapshot().events {
		if e.Seq > afterSeq && (model == "" || e.Model == model) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) LastEventSeq(context.Context) (int64, error) {
	evs := m.snapshot().events
	if len(evs) == 0 {
		return 0, nil
	}
	return evs[len(evs)-1].Seq, nil
}

func (m *memStore) Search(ctx context.Context, text string, kinds []lineage.Kind, limit int) ([]*lineage.Node, error) {
	tx := &memTx{m.snapshot()}
	t := strings.ToLower(text)
	var prefix, other []*lineage.Node
	for _, n := range tx.sortedNodes() {
		name := strings.ToLower(n.node.Name)
		if (len(kinds) > 0 && !slices.Contains(kinds, n.node.Kind)) || !strings.Contains(name, t) {
			continue
		}
		c := n.node
		if strings.HasPrefix(name, t) {
			prefix = append(prefix, &c)
		} else {
			other = append(other, &c)
		}
	}
	out := append(prefix, other...)
	return out[:min(len(out), limit)], nil
}

func (m *memStore) Traverse(ctx context.Context, q lineage.TraversalQuery) (*lineage.Subgraph, error) {
	s := m.snapshot()
	nodeOK := func(id lineage.ID) bool {
		n, ok := s.nodes[id]
		return ok && (q.AsOf == nil || !n.node.CreatedAt.After(*q.AsOf))
	}
	edgeOK := func(e lineage.Edge) bool {
		if !e.Type.Provenance() || !nodeOK(e.From) || !nodeOK(e.To) {
			return false
		}
		if q.AsOf == nil {
			return e.RemovedAt == nil
		}
		return !e.CreatedAt.After(*q.AsOf) && (e.RemovedAt == nil || e.RemovedAt.After(*q.AsOf))
	}
	if !nodeOK(q.Of) {
		return nil, notFound(string(q.Of))
	}
	// BOTH is the union of an upstream and a downstream walk, each node
	// at its smaller depth.
	walk := func(up bool) map[lineage.ID]int {
		depth := map[lineage.ID]int{q.Of: 0}
		frontier := []lineage.ID{q.Of}
		for d := 1; d <= q.Depth && len(frontier) > 0; d++ {
			var next []lineage.ID
			for _, id := range frontier {
				for _, e := range s.edges {
					if !edgeOK(e.edge) {
						continue
					}
					var other lineage.ID
					if up && e.edge.From == id {
						other = e.edge.To
					} else if !up && e.edge.To == id {
						other = e.edge.From
					} else {
						continue
					}
					if _, seen := depth[other]; !seen {
						depth[other] = d
						next = append(next, other)
					}
				}
			}
			frontier = next
		}
		return depth
	}
	depth := map[lineage.ID]int{}
	for _, up := range []bool{true, false} {
		if (up && q.Direction == lineage.Downstream) || (!up && q.Direction == lineage.Upstream) {
			continue
		}
		for id, d := range walk(up) {
			if old, ok := depth[id]; !ok || d < old {
				depth[id] = d
			}
		}
	}
	ids := slices.Collect(maps.Keys(depth))
	slices.SortFunc(ids, func(a, b lineage.ID) int {
		return cmp.Or(cmp.Compare(depth[a], depth[b]), cmp.Compare(s.nodes[a].seq, s.nodes[b].seq))
	})
	g := &lineage.Subgraph{}
	if len(ids) > q.Limit {
		ids, g.Truncated = ids[:q.Limit], true
	}
	in := map[lineage.ID]bool{}
	for _, id := range ids {
		g.Nodes = append(g.Nodes, lineage.Hop{ID: id, Depth: depth[id]})
		in[id] = true
	}
	for _, e := range s.edges {
		if edgeOK(e.edge) && in[e.edge.From] && in[e.edge.To] {
			// Only edges along the walk's directions.
			df, dt := depth[e.edge.From], depth[e.edge.To]
			if q.Direction == lineage.Upstream && dt < df || q.Direction == lineage.Downstream && df < dt {
				continue
			}
			g.Edges = append(g.Edges, e.edge)
		}
	}
	return g, nil
}

func (m *memStore) Path(ctx context.Context, from, to lineage.ID, maxDepth int) ([]lineage.Edge, error) {
	s := m.snapshot()
	best := []lineage.Edge(nil)
	for _, forward := range []bool{true, false} {
		prev := map[lineage.ID]lineage.Edge{}
		seen := map[lineage.ID]bool{from: true}
		frontier := []lineage.ID{from}
		for d := 1; d <= maxDepth && len(frontier) > 0 && !seen[to]; d++ {
			var next []lineage.ID
			for _, id := range frontier {
				for _, e := range s.edges {
					if e.edge.RemovedAt != nil || !e.edge.Type.Provenance() {
						continue
					}
					a, b := e.edge.From, e.edge.To
					if !forward {
						a, b = b, a
					}
					if a == id && !seen[b] {
						seen[b] = true
						prev[b] = e.edge
						next = append(next, b)
					}
				}
			}
			frontier = next
		}
		if !seen[to] || from == to {
			continue
		}
		var path []lineage.Edge
		for cur := to; cur != from; {
			e := prev[cur]
			path = append(path, e)
			if forward {
				cur = e.From
			} else {
				cur = e.To
			}
		}
		slices.Reverse(path)
		if best == nil || len(path) < len(best) {
			best = path
		}
	}
	return best, nil
}

func (m *memStore) SearchRuns(ctx context.Context, q lineage.RunQuery) (*lineage.RunPage, error) {
	tx := &memTx{m.snapshot()}
	type row struct {
		n     *lineage.Node
		props map[string]any
		data  *lineage.RunData
	}
	var rows []row
	for _, mn := range tx.sortedNodes() {
		n := mn.node
		if n.Kind != lineage.KindRun || n.DeletedAt != nil || (q.Experiment != "" && n.Parent != q.Experiment) {
			continue
		}
		var p map[string]any
		_ = json.Unmarshal(n.Props, &p)
		rd, _ := tx.RunData([]lineage.ID{n.ID})
		r := row{&n, p, rd[n.ID]}
		if q.Filter == nil || memEval(q.Filter, r.n, r.props, r.data) {
			rows = append(rows, r)
		}
	}
	started := func(r row) time.Time { t, _ := time.Parse(time.RFC3339Nano, str(r.props["startedAt"])); return t }
	slices.SortStableFunc(rows, func(a, b row) int {
		for _, o := range q.OrderBy {
			va, oka := memValue(o.Field, a.n, a.props, a.data)
			vb, okb := memValue(o.Field, b.n, b.props, b.data)
			switch {
			case !oka && !okb:
				continue
			case !oka:
				return 1
			case !okb:
				return -1
			}
			c := compareAny(va, vb)
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Or(started(b).Compare(started(a)), strings.Compare(string(b.n.ID), string(a.n.ID)))
	})
	off := 0
	if q.Page.After != "" {
		off, _ = strconv.Atoi(q.Page.After)
	}
	out := &lineage.RunPage{}
	for i := off; i < len(rows); i++ {
		if len(out.IDs) == q.Page.First {
			out.HasNext = true
			break
		}
		out.IDs = append(out.IDs, rows[i].n.ID)
		out.EndCursor = strconv.Itoa(i + 1)
	}
	return out, nil
}

func str(v any) string { s, _ := v.(string); return s }

// memValue is a field's value: float64 for metrics, time.Time for times,
// string otherwise; false when the run lacks it.
func memValue(f lineage.FieldRef, n *lineage.Node, p map[string]any, d *lineage.RunData) (any, bool) {
	switch f.Namespace {
	case "metrics":
		for _, m := range d.Metrics {
			if m.Key == f.Key {
				return m.Last, true
			}
		}
		return nil, false
	case "params":
		v, ok := d.Params[f.Key]
		return v, ok
	case "tags":
		v, ok := d.Tags[f.Key]
		return v, ok
	}
	switch f.Key {
	case "id":
		return string(n.ID), true
	case "startedAt", "endedAt":
		s := str(p[f.Key])
		if s == "" {
			return nil, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		return t, err == nil
	}
	v := str(p[f.Key])
	return v, v != ""
}

func compareAny(a, b any) int {
	switch a := a.(type) {
	case float64:
		return cmp.Compare(a, b.(float64))
	case time.Time:
		return a.Compare(b.(time.Time))
	case string:
		return strings.Compare(a, b.(string))
	}
	return 0
}

func likeRegexp(pattern string, fold bool) *regexp.Regexp {
	var b strings.Builder
	if fold {
		b.WriteString("(?is)")
	} else {
		b.WriteString("(?s)")
	}
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func memEval(f lineage.Filter, n *lineage.Node, p map[string]any, d *lineage.RunData) bool {
	switch f := f.(type) {
	case lineage.And:
		return memEval(f.Left, n, p, d) && memEval(f.Right, n, p, d)
	case lineage.Or:
		return memEval(f.Left, n, p, d) || memEval(f.Right, n, p, d)
	case lineage.Compare:
		v, ok := memValue(f.Field, n, p, d)
		if !ok {
			return false
		}
		lit := func(x any) any {
			if t, isTime := v.(time.Time); isTime {
				_ = t
				switch x := x.(type) {
				case float64:
					return time.UnixMilli(int64(x))
				case string:
					tt, _ := time.Parse(time.RFC3339Nano, x)
					return tt
				}
			}
			return x
		}
		switch f.Op {
		case "LIKE", "ILIKE":
			return likeRegexp(str(f.Values[0]), f.Op == "ILIKE").MatchString(v.(string))
		case "IN", "NOT IN":
			found := false
			for _, x := range f.Values {
				if compareAny(v, lit(x)) == 0 {
					found = true
				}
			}
			return found == (f.Op == "IN")
		}
		c := compareAny(v, lit(f.Values[0]))
		switch f.Op {
		case "=":
			return c == 0
		case "!=":
			return c != 0
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		case ">=":
			return c >= 0
		}
	}
	return false
}

// Dump reads one snapshot in the order lineage.Dumper defines.
func (m *memStore) Dump(ctx context.Context, fn func(*lineage.Record) error) error {
	s := m.snapshot()
	nodes := (&memTx{s}).sortedNodes()
	for _, n := range nodes {
		c := n.node
		if err := fn(&lineage.Record{Node: &c}); err != nil {
			return err
		}
	}
	for _, e := range s.edges {
		c := e.edge
		if err := fn(&lineage.Record{Edge: &c}); err != nil {
			return err
		}
	}
	for _, n := range nodes {
		if p, tg := s.params[n.node.ID], s.tags[n.node.ID]; len(p) > 0 || len(tg) > 0 {
			rd := &lineage.RunKV{Run: n.node.ID, Params: maps.Clone(p), Tags: maps.Clone(tg)}
			if err := fn(&lineage.Record{RunData: rd}); err != nil {
				return err
			}
		}
	}
	chunker := lineage.NewMetricChunker(fn)
	for _, n := range nodes {
		byKey := s.points[n.node.ID]
		for _, key := range slices.Sorted(maps.Keys(byKey)) {
			pts := make([]lineage.DumpPoint, len(byKey[key]))
			for i, p := range byKey[key] {
				pts[i] = lineage.DumpPoint{Step: p.Step, Timestamp: p.Timestamp, Value: lineage.MetricValue(p.Value)}
			}
			slices.SortFunc(pts, lineage.ComparePoints)
			for _, p := range pts {
				if err := chunker.Add(n.node.ID, key, p); err != nil {
					return err
				}
			}
		}
	}
	if err := chunker.Flush(); err != nil {
		return err
	}
	for _, t := range s.transitions {
		if err := fn(&lineage.Record{Transition: &t}); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.idem)) {
		r := s.idem[k]
		if err := fn(&lineage.Record{Idempotency: &r}); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.counters)) {
		if err := fn(&lineage.Record{Counter: &lineage.Counter{Name: k, Value: s.counters[k]}}); err != nil {
			return err
		}
	}
	for _, e := range s.events {
		if err := fn(&lineage.Record{Event: &e}); err != nil {
			return err
		}
	}
	for _, c := range slices.Sorted(maps.Keys(s.docs)) {
		for _, k := range slices.Sorted(maps.Keys(s.docs[c])) {
			if err := fn(&lineage.Record{Doc: &lineage.Doc{Collection: c, Key: k, Value: slices.Clone(s.docs[c][k])}}); err != nil {
				return err
			}
		}
	}
	return nil
}
