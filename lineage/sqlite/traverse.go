package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Traverse walks the in-memory index breadth-first; see lineage.Store.
// Depth < 1 returns Of alone; Limit < 1 means no limit.
func (s *Store) Traverse(ctx context.Context, q lineage.TraversalQuery) (*lineage.Subgraph, error) {
	switch q.Direction {
	case lineage.Upstream, lineage.Downstream, lineage.Both:
	default:
		return nil, lineage.Invalid("direction", "must be UPSTREAM, DOWNSTREAM or BOTH")
	}
	var seq int64
	err := s.rstmts[sSeq].QueryRowContext(ctx, q.Of).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(q.Of)
	} else if err != nil {
		return nil, formatError("traverse", err)
	}
	g := s.idx.traverse(seq, q)
	if g == nil {
		return nil, notFound(q.Of)
	}
	return g, nil
}

// Path returns the edges of a shortest provenance path, in order from
// from, following edges in their direction first and against it if that
// finds none. It is empty (not nil) when from == to, and nil when either
// node does not exist or no path is within maxDepth hops.
func (s *Store) Path(ctx context.Context, from, to lineage.ID, maxDepth int) ([]lineage.Edge, error) {
	var a, b sql.NullInt64
	if err := s.rstmts[sEnds].QueryRowContext(ctx, from, to).Scan(&a, &b); err != nil {
		return nil, formatError("path", err)
	}
	if !a.Valid || !b.Valid {
		return nil, nil
	}
	return s.idx.path(a.Int64, b.Int64, maxDepth), nil
}

// seen is what a traversal knows of a node: its position in the result
// and the directions it is being walked in. Maps are pooled to spare
// allocating one per query.
type seen struct {
	pos  int32
	dirs uint8
}

const (
	walkUp   uint8 = 1 // following out-edges
	walkDown uint8 = 2 // following in-edges
)

var (
	seenPool = sync.Pool{New: func() any { return make(map[uint32]seen, 64) }}
	viaPool  = sync.Pool{New: func() any { return make(map[uint32]int32, 64) }}
)

// visible reports whether edge i is part of the graph at at (math.MaxInt64:
// now, when removed edges are not).
func (ix *index) visible(i uint32, at int64) bool {
	r := &ix.edges[i]
	if r.flags&edgeDead != 0 || r.created > at {
		return false
	}
	if r.flags&edgeRemoved != 0 {
		return at != math.MaxInt64 && ix.removedAt[i] > at
	}
	return true
}

func (ix *index) nodeVisible(s uint32, at int64) bool {
	n := &ix.nodes[s]
	return n.live && n.created <= at
}

// traverse returns nil if the start is not in the graph (at AsOf).
func (ix *index) traverse(seq int64, q lineage.TraversalQuery) *lineage.Subgraph {
	at := int64(math.MaxInt64)
	if q.AsOf != nil {
		at = q.AsOf.UnixNano()
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if !ix.live(seq) || !ix.nodeVisible(uint32(seq), at) {
		return nil // or committed a moment ago and not applied yet
	}
	start := uint32(seq)
	known := seenPool.Get().(map[uint32]seen)
	defer func() { clear(known); seenPool.Put(known) }()

	// BOTH is the upstream and the downstream walk together, not an
	// undirected one: a node reached upstream is walked on upstream only
	// (a sibling consumer of an input is neither up- nor downstream), one
	// reached both ways is walked both ways. Each visit is a node and one
	// direction; the queue is in order of depth.
	type visit struct {
		u   uint32
		d   int32
		dir uint8
	}
	var queue []visit
	order := []uint32{start}
	depth := []int32{0}
	known[start] = seen{}
	for _, dir := range []uint8{walkUp, walkDown} {
		if q.Direction == lineage.Both || (dir == walkUp) == (q.Direction == lineage.Upstream) {
			queue = append(queue, visit{start, 0, dir})
			k := known[start]
			k.dirs |= dir
			known[start] = k
		}
	}
	truncated := false
	reach := func(v uint32, d int32, dir uint8) bool {
		if !ix.nodeVisible(v, at) {
			return true
		}
		k, ok := known[v]
		if k.dirs&dir != 0 {
			return true
		}
		if !ok {
			if q.Limit > 0 && len(order) >= q.Limit {
				truncated = true
				return false
			}
			k.pos = int32(len(order))
			order = append(order, v)
			depth = append(depth, d)
		}
		k.dirs |= dir
		known[v] = k
		queue = append(queue, visit{v, d, dir})
		return true
	}
walk:
	for head := 0; head < len(queue); head++ {
		x := queue[head]
		if int(x.d) >= q.Depth {
			break // every later visit is at least as deep
		}
		if x.dir == walkUp {
			for e := ix.nodes[x.u].outHead; e != 0; e = ix.edges[e-1].nextOut {
				if ix.visible(e-1, at) && !reach(ix.edges[e-1].dst, x.d+1, walkUp) {
					break walk
				}
			}
		} else {
			for e := ix.nodes[x.u].inHead; e != 0; e = ix.edges[e-1].nextIn {
				if ix.visible(e-1, at) && !reach(ix.edges[e-1].src, x.d+1, walkDown) {
					break walk
				}
			}
		}
	}

	g := &lineage.Subgraph{Nodes: make([]lineage.Hop, len(order)), Truncated: truncated}
	ids := ix.ids(order)
	for i := range order {
		g.Nodes[i] = lineage.Hop{ID: ids[i], Depth: int(depth[i])}
	}
	// Every visible edge between returned nodes, each once: via its
	// source. Counted first, as Edges are large.
	n := 0
	for _, u := range order {
		for e := ix.nodes[u].outHead; e != 0; e = ix.edges[e-1].nextOut {
			if _, ok := known[ix.edges[e-1].dst]; ok && ix.visible(e-1, at) {
				n++
			}
		}
	}
	g.Edges = make([]lineage.Edge, 0, n)
	for i, u := range order {
		for e := ix.nodes[u].outHead; e != 0; e = ix.edges[e-1].nextOut {
			if k, ok := known[ix.edges[e-1].dst]; ok && ix.visible(e-1, at) {
				g.Edges = append(g.Edges, ix.edge(e-1, ids[i], ids[k.pos]))
			}
		}
	}
	return g
}

// ids returns the IDs of nodes, cut from one string: one allocation.
func (ix *index) ids(nodes []uint32) []lineage.ID {
	ends := make([]int, len(nodes))
	var b strings.Builder
	for i, u := range nodes {
		b.Write(ix.idBytes(u))
		ends[i] = b.Len()
	}
	all, start := b.String(), 0
	out := make([]lineage.ID, len(nodes))
	for i, end := range ends {
		out[i], start = lineage.ID(all[start:end]), end
	}
	return out
}

func (ix *index) edge(i uint32, from, to lineage.ID) lineage.Edge {
	r := &ix.edges[i]
	e := lineage.Edge{
		From:      from,
		To:        to,
		Type:      ix.types[r.typ],
		Role:      ix.roles[r.role],
		CreatedAt: fromNanos(r.created),
	}
	if r.flags&edgeRemoved != 0 {
		t := fromNanos(ix.removedAt[i])
		e.RemovedAt = &t
	}
	return e
}

// currentEdges is ReadTx.Edges for provenance types: the unremoved edges
// of node seq in direction dir of one of types, oldest first (creation
// time, then the order they were added, as edges.seq orders them). ok is
// false, and the caller asks SQL, unless the index is at graph version v.
// A node the index does not have has no edges: had a commit at version v
// given it any, the index would have it.
func (ix *index) currentEdges(seq int64, dir lineage.Direction, types []lineage.EdgeType, v int64) (edges []lineage.Edge, ok bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.version != v {
		return nil, false
	}
	if !ix.live(seq) {
		return nil, true
	}
	var want [4]uint64 // a bit per type number
	for _, t := range types {
		if n, ok := ix.typeNum[t]; ok {
			want[n>>6] |= 1 << (n & 63)
		}
	}
	s := uint32(seq)
	match := func(e uint32) bool {
		r := &ix.edges[e]
		return r.flags == 0 && want[r.typ>>6]&(1<<(r.typ&63)) != 0 // flags: removed or dead
	}
	var hits []uint32 // edge numbers, ascending within each list
	if dir != lineage.Downstream {
		for e := ix.nodes[s].outHead; e != 0; e = ix.edges[e-1].nextOut {
			if match(e - 1) {
				hits = append(hits, e-1)
			}
		}
	}
	if dir != lineage.Upstream {
		for e := ix.nodes[s].inHead; e != 0; e = ix.edges[e-1].nextIn {
			// A loop is in both lists; BOTH has it from the out list.
			if match(e-1) && !(dir == lineage.Both && ix.edges[e-1].src == s) {
				hits = append(hits, e-1)
			}
		}
	}
	if len(hits) == 0 {
		return nil, true
	}
	slices.SortFunc(hits, func(a, b uint32) int {
		return cmp.Or(cmp.Compare(ix.edges[a].created, ix.edges[b].created), cmp.Compare(a, b))
	})
	self := ix.id(s)
	edges = make([]lineage.Edge, len(hits))
	for i, e := range hits {
		from, to := self, self
		if r := &ix.edges[e]; r.src != s {
			from = ix.id(r.src)
		} else if r.dst != s {
			to = ix.id(r.dst)
		}
		edges[i] = ix.edge(e, from, to)
	}
	return edges, true
}

func (ix *index) path(from, to int64, maxDepth int) []lineage.Edge {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if !ix.live(from) || !ix.live(to) {
		return nil
	}
	a, b := uint32(from), uint32(to)
	if a == b {
		return []lineage.Edge{}
	}
	if p := ix.bfsPath(a, b, maxDepth, true); p != nil {
		return p
	}
	return ix.bfsPath(a, b, maxDepth, false)
}

// bfsPath finds a shortest path from a to b over current edges, following
// them forward (out-edges) or backward, and returns it in order from a.
func (ix *index) bfsPath(a, b uint32, maxDepth int, forward bool) []lineage.Edge {
	via := viaPool.Get().(map[uint32]int32) // node → edge number+1 that reached it; 0 for a
	defer func() { clear(via); viaPool.Put(via) }()
	via[a] = 0
	frontier := []uint32{a}
	for d := 0; d < maxDepth && len(frontier) > 0; d++ {
		var next []uint32
		for _, u := range frontier {
			e := ix.nodes[u].outHead
			if !forward {
				e = ix.nodes[u].inHead
			}
			for ; e != 0; e = ix.next(e, forward) {
				if !ix.visible(e-1, math.MaxInt64) {
					continue
				}
				v := ix.edges[e-1].dst
				if !forward {
					v = ix.edges[e-1].src
				}
				if _, ok := via[v]; ok || !ix.nodes[v].live {
					continue
				}
				via[v] = int32(e)
				if v == b {
					return ix.unwind(via, a, b, forward)
				}
				next = append(next, v)
			}
		}
		frontier = next
	}
	return nil
}

func (ix *index) next(e uint32, forward bool) uint32 {
	if forward {
		return ix.edges[e-1].nextOut
	}
	return ix.edges[e-1].nextIn
}

func (ix *index) unwind(via map[uint32]int32, a, b uint32, forward bool) []lineage.Edge {
	var rev []lineage.Edge
	for v := b; v != a; {
		i := uint32(via[v] - 1)
		src, dst := ix.edges[i].src, ix.edges[i].dst
		rev = append(rev, ix.edge(i, ix.id(src), ix.id(dst)))
		if forward {
			v = src
		} else {
			v = dst
		}
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
