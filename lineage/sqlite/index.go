package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/pedigree-ml/pedigree/lineage"
)

// index is the in-memory adjacency index of provenance edges that Traverse
// and Path walk (recursive SQL measured 80–200× slower). It mirrors the
// nodes and edges tables: built at Open, changed only by committed
// transactions, in commit order.
//
// It is laid out for a million-node graph in well under 200 MB with few GC
// pointers: nodes are numbered by nodes.seq (dense, never reused; callers
// resolve an ID to its seq with the nodes table's unique index), IDs live
// back to back in one byte arena, and each node's out- and in-edges are
// linked lists threaded through the edge records, so appending an edge is
// O(1) and lists stay in creation order. Node and edge records are 32
// bytes, so a hop costs about one cache miss. Removed and deleted entries
// are flagged, not freed.
type index struct {
	mu sync.RWMutex

	arena []byte    // IDs in seq order
	nodes []nodeRec // by seq; 0 is unused (seq starts at 1)
	edges []edgeRec // provenance edges in the order they were added

	removedAt map[uint32]int64 // of edges flagged removed

	// version is the graph_version whose provenance edges the index
	// holds: a read transaction that sees the same version may take edges
	// from here (see reader.indexEdges).
	version int64

	types   []lineage.EdgeType
	typeNum map[lineage.EdgeType]uint8
	roles   []string
	roleNum map[string]uint32
}

type nodeRec struct {
	created                          int64  // unix ns
	idEnd                            uint32 // end of the ID in arena; it starts at the previous node's idEnd
	outHead, outTail, inHead, inTail uint32 // edge number+1 of the first/last edge in a list; 0: empty
	live                             bool   // false: no such node, or hard-deleted
}

type edgeRec struct {
	created         int64
	src, dst        uint32
	nextOut, nextIn uint32 // edge number+1 of the next edge in src's out list, dst's in list
	role            uint32
	typ, flags      uint8
}

const (
	edgeRemoved = 1 << iota // RemoveEdge: kept for AsOf
	edgeDead                // an end was hard-deleted: gone
)

func newIndex(maxSeq, nEdges int) *index {
	ix := &index{
		nodes:     make([]nodeRec, maxSeq+1),
		edges:     make([]edgeRec, 0, nEdges),
		removedAt: make(map[uint32]int64),
		typeNum:   make(map[lineage.EdgeType]uint8),
		roleNum:   make(map[string]uint32),
	}
	for _, t := range lineage.EdgeTypes {
		ix.typeIndex(t)
	}
	ix.roleIndex("")
	return ix
}

// loadIndex builds the index from the database: the nodes on one
// connection and the edges in seq ranges on others, concurrently (rows
// cost ~1 µs each through the driver, so a 1M-node graph is CPU-bound),
// then the edges are linked in seq order.
func loadIndex(ctx context.Context, db *sql.DB) (*index, error) {
	var maxSeq, maxEdge, version int64
	err := db.QueryRowContext(ctx, `SELECT
		coalesce((SELECT max(seq) FROM nodes), 0),
		coalesce((SELECT max(seq) FROM edges), 0),
		(SELECT version FROM graph_version)`).Scan(&maxSeq, &maxEdge, &version)
	if err != nil {
		return nil, err
	}
	if maxSeq >= 1<<32-1 || maxEdge >= 1<<32-1 {
		return nil, fmt.Errorf("graph too large for the index")
	}
	ix := newIndex(int(maxSeq), 0)
	ix.version = version
	const parts = 2
	batches := make([]edgeBatch, parts)
	errs := make(chan error, parts)
	for i := range batches {
		lo, hi := maxEdge*int64(i)/parts, maxEdge*int64(i+1)/parts
		go func() { errs <- batches[i].load(ctx, db, lo, hi, len(ix.nodes)) }()
	}
	err = ix.loadNodes(ctx, db)
	for range parts {
		if e := <-errs; err == nil {
			err = e
		}
	}
	if err != nil {
		return nil, err
	}
	n := 0
	for _, b := range batches {
		n += len(b.recs)
	}
	ix.edges = make([]edgeRec, 0, n)
	for _, b := range batches {
		typ := make([]uint8, len(b.types))
		for i, t := range b.types {
			typ[i] = ix.typeIndex(t)
		}
		role := make([]uint32, len(b.roles))
		for i, r := range b.roles {
			role[i] = ix.roleIndex(r)
		}
		for i, r := range b.recs {
			r.typ, r.role = typ[r.typ], role[r.role]
			ix.link(r, b.removedAt[i])
		}
	}
	return ix, nil
}

func (ix *index) loadNodes(ctx context.Context, db *sql.DB) error {
	return scanRaw(ctx, db, `SELECT seq, id, created_at FROM nodes ORDER BY seq`, nil, func(row []driver.Value) error {
		seq, id, created := asInt(row[0]), asString(row[1]), asInt(row[2])
		s := uint32(seq)
		if int(s) >= len(ix.nodes) {
			return nil // committed after max(seq) was read; Open has no writers, so never
		}
		ix.fillIDEnd(s)
		ix.arena = append(ix.arena, id...)
		n := &ix.nodes[s]
		n.idEnd, n.created, n.live = uint32(len(ix.arena)), created, true
		return nil
	}, func() { ix.fillIDEnd(uint32(len(ix.nodes))) })
}

// scanRaw reads rows at the driver level on one connection: for the bulk
// reads at Open, where database/sql's per-row work costs as much as SQLite
// itself (measured: half the CPU of a 1M-node index build). modernc gives
// int64, float64, string, []byte or nil per column. done runs after the
// last row.
func scanRaw(ctx context.Context, db *sql.DB, query string, args []any, fn func([]driver.Value) error, done func()) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot query", dc)
		}
		rows, err := q.QueryContext(ctx, query, named)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(dest); err == io.EOF {
				if done != nil {
					done()
				}
				return nil
			} else if err != nil {
				return err
			}
			if err := fn(dest); err != nil {
				return err
			}
		}
	})
}

func asInt(v driver.Value) int64 {
	n, _ := v.(int64)
	return n
}

func asString(v driver.Value) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// edgeBatch is the provenance edges of one seq range, read on their own
// connection; typ and role index the batch's own tables until linked.
type edgeBatch struct {
	recs      []edgeRec
	removedAt map[int]int64 // by position in recs
	types     []lineage.EdgeType
	roles     []string
}

func (b *edgeBatch) load(ctx context.Context, db *sql.DB, lo, hi int64, nodes int) error {
	args := []any{lo, hi}
	for _, t := range lineage.EdgeTypes {
		if !t.Provenance() {
			args = append(args, string(t))
		}
	}
	b.recs = make([]edgeRec, 0, hi-lo)
	b.removedAt = make(map[int]int64)
	typeNum, roleNum := map[string]uint8{}, map[string]uint32{}
	return scanRaw(ctx, db, `SELECT src, dst, type, role, created_at, removed_at FROM edges
		WHERE seq > ? AND seq <= ? AND type NOT IN (`+placeholders(len(args)-2)+`) ORDER BY seq`, args,
		func(row []driver.Value) error {
			src, dst, typ, role := asInt(row[0]), asInt(row[1]), asString(row[2]), asString(row[3])
			if int(src) >= nodes || int(dst) >= nodes {
				return nil // committed after max(seq) was read; Open has no writers, so never
			}
			t, ok := typeNum[typ]
			if !ok {
				t = uint8(len(b.types))
				b.types = append(b.types, lineage.EdgeType(typ))
				typeNum[typ] = t
			}
			r, ok := roleNum[role]
			if !ok {
				r = uint32(len(b.roles))
				b.roles = append(b.roles, role)
				roleNum[role] = r
			}
			rec := edgeRec{created: asInt(row[4]), src: uint32(src), dst: uint32(dst), typ: t, role: r}
			if row[5] != nil {
				rec.flags = edgeRemoved
				b.removedAt[len(b.recs)] = asInt(row[5])
			}
			b.recs = append(b.recs, rec)
			return nil
		}, nil)
}

func (ix *index) typeIndex(t lineage.EdgeType) uint8 {
	if n, ok := ix.typeNum[t]; ok {
		return n
	}
	if len(ix.types) > 255 {
		return 0 // unreachable with validated types; keeps the edge, mislabelled
	}
	n := uint8(len(ix.types))
	ix.types = append(ix.types, t)
	ix.typeNum[t] = n
	return n
}

func (ix *index) roleIndex(r string) uint32 {
	if n, ok := ix.roleNum[r]; ok {
		return n
	}
	n := uint32(len(ix.roles))
	ix.roles = append(ix.roles, r)
	ix.roleNum[r] = n
	return n
}

// grow makes room for node seq s.
func (ix *index) grow(s int) {
	if n := s + 1; n > len(ix.nodes) {
		ix.nodes = append(ix.nodes, make([]nodeRec, n-len(ix.nodes))...)
	}
}

// fillIDEnd gives the seqs below s that have no ID yet an empty one.
func (ix *index) fillIDEnd(s uint32) {
	end := uint32(len(ix.arena))
	for i := int(s) - 1; i > 0 && ix.nodes[i].idEnd == 0 && end > 0; i-- {
		ix.nodes[i].idEnd = end
	}
}

func (ix *index) idBytes(s uint32) []byte {
	return ix.arena[ix.nodes[s-1].idEnd:ix.nodes[s].idEnd]
}

func (ix *index) id(s uint32) lineage.ID { return lineage.ID(ix.idBytes(s)) }

// live reports whether seq s is a node the index has.
func (ix *index) live(s int64) bool {
	return s > 0 && s < int64(len(ix.nodes)) && ix.nodes[s].live
}

// link appends an edge to its ends' lists; removedAt counts if r is
// flagged removed.
func (ix *index) link(r edgeRec, removedAt int64) {
	e := uint32(len(ix.edges))
	if r.flags&edgeRemoved != 0 {
		ix.removedAt[e] = removedAt
	}
	r.nextOut, r.nextIn = 0, 0
	ix.edges = append(ix.edges, r)
	sn, dn := &ix.nodes[r.src], &ix.nodes[r.dst]
	if t := sn.outTail; t != 0 {
		ix.edges[t-1].nextOut = e + 1
	} else {
		sn.outHead = e + 1
	}
	sn.outTail = e + 1
	if t := dn.inTail; t != 0 {
		ix.edges[t-1].nextIn = e + 1
	} else {
		dn.inHead = e + 1
	}
	dn.inTail = e + 1
}

// op is a change a transaction made, applied to the index once it commits.
type op struct {
	kind     opKind
	seq, dst uint32
	id       lineage.ID
	typ      lineage.EdgeType
	role     string
	at       int64 // node or edge creation, or edge removal, time
	// opAddEdge of an edge stored as removed (history import), and when.
	removed   bool
	removedAt int64
}

type opKind uint8

const (
	opAddNode opKind = iota
	opDeleteNode
	opAddEdge
	opRemoveEdge
)

// changesEdges reports whether ops change provenance edges, so that their
// commit must bump the graph version.
func changesEdges(ops []op) bool {
	for _, o := range ops {
		if o.kind != opAddNode {
			return true
		}
	}
	return false
}

// apply makes committed changes visible to traversals; version is the
// graph version the commit wrote, 0 if it did not bump it.
func (ix *index) apply(ops []op, version int64) {
	if len(ops) == 0 {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if version != 0 {
		ix.version = version
	}
	for _, o := range ops {
		switch o.kind {
		case opAddNode:
			ix.addNode(o.seq, o.id, o.at)
		case opDeleteNode:
			ix.deleteNode(o.seq)
		case opAddEdge:
			if int(o.seq) < len(ix.nodes) && int(o.dst) < len(ix.nodes) {
				r := edgeRec{created: o.at, src: o.seq, dst: o.dst, typ: ix.typeIndex(o.typ), role: ix.roleIndex(o.role)}
				if o.removed {
					r.flags = edgeRemoved
				}
				ix.link(r, o.removedAt)
			}
		case opRemoveEdge:
			ix.removeEdge(o.seq, o.dst, o.typ, o.at)
		}
	}
}

// addNode adds a node; seqs only grow (AUTOINCREMENT, one writer).
func (ix *index) addNode(s uint32, id lineage.ID, created int64) {
	if int(s) < len(ix.nodes) {
		return // not newer than what the index has: cannot happen
	}
	ix.grow(int(s))
	ix.fillIDEnd(s)
	ix.arena = append(ix.arena, id...)
	n := &ix.nodes[s]
	n.idEnd, n.created, n.live = uint32(len(ix.arena)), created, true
}

func (ix *index) deleteNode(s uint32) {
	if int(s) >= len(ix.nodes) || !ix.nodes[s].live {
		return
	}
	n := &ix.nodes[s]
	n.live = false
	for e := n.outHead; e != 0; e = ix.edges[e-1].nextOut {
		ix.edges[e-1].flags |= edgeDead
	}
	for e := n.inHead; e != 0; e = ix.edges[e-1].nextIn {
		ix.edges[e-1].flags |= edgeDead
	}
}

func (ix *index) removeEdge(src, dst uint32, t lineage.EdgeType, at int64) {
	tn, ok := ix.typeNum[t]
	if int(src) >= len(ix.nodes) || !ok {
		return
	}
	for e := ix.nodes[src].outHead; e != 0; e = ix.edges[e-1].nextOut {
		r := &ix.edges[e-1]
		if r.dst == dst && r.typ == tn && r.flags == 0 {
			r.flags |= edgeRemoved
			ix.removedAt[e-1] = at
		}
	}
}

// memSize estimates the bytes the index holds (slice capacities; the maps
// of removed edges, types and roles roughly).
func (ix *index) memSize() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := cap(ix.arena) + int(unsafe.Sizeof(nodeRec{}))*cap(ix.nodes) + int(unsafe.Sizeof(edgeRec{}))*cap(ix.edges) +
		16*len(ix.removedAt)
	for _, r := range ix.roles {
		n += len(r) + 48
	}
	return n
}
