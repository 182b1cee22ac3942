package neo4j

import (
	"context"
	"strconv"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Traversals follow only provenance relationship types (the allowlisted
// union in provenanceTypes). An edge is visible now if unremoved, and at
// asOf if it existed then; a node at asOf if it was created by then.
const (
	edgeVisible = `($asOf IS NULL AND e.removedAt IS NULL
			OR $asOf IS NOT NULL AND e.createdAt <= $asOf AND (e.removedAt IS NULL OR e.removedAt > $asOf))`
	edgeCols = `a.id AS from, b.id AS to, type(e) AS type, e.role AS role, e.createdAt AS createdAt, e.removedAt AS removedAt`
)

var (
	qStart = cypher("traverse start", `MATCH (n:Node {id: $id}) WHERE $asOf IS NULL OR n.createdAt <= $asOf RETURN n.id AS id`)
	// One breadth-first level: the visible edges leaving (upstream) or
	// entering (downstream) the frontier, in the order they were added.
	qLevelUp = cypher("traverse level upstream", `UNWIND $ids AS id
		MATCH (a:Node {id: id})-[e:`+provenanceTypes+`]->(b:Node)
		WHERE `+edgeVisible+` AND ($asOf IS NULL OR b.createdAt <= $asOf)
		RETURN `+edgeCols+` ORDER BY e.seq`)
	qLevelDown = cypher("traverse level downstream", `UNWIND $ids AS id
		MATCH (a:Node)-[e:`+provenanceTypes+`]->(b:Node {id: id})
		WHERE `+edgeVisible+` AND ($asOf IS NULL OR a.createdAt <= $asOf)
		RETURN `+edgeCols+` ORDER BY e.seq`)
	// The visible edges among the nodes a traversal returns.
	qBetween = cypher("traverse edges", `UNWIND $ids AS id
		MATCH (a:Node {id: id})-[e:`+provenanceTypes+`]->(b:Node)
		WHERE b.id IN $ids AND `+edgeVisible+`
		RETURN `+edgeCols+` ORDER BY e.seq`)
)

// Traverse walks breadth-first in one View (a snapshot), one round trip
// per level and direction (see walk), plus one for the start and one for
// the edges among the nodes found. Depth < 1 returns Of alone; Limit < 1
// means no limit.
func (s *Store) Traverse(ctx context.Context, q lineage.TraversalQuery) (*lineage.Subgraph, error) {
	switch q.Direction {
	case lineage.Upstream, lineage.Downstream, lineage.Both:
	default:
		return nil, lineage.Invalid("direction", "must be UPSTREAM, DOWNSTREAM or BOTH")
	}
	var asOf any
	if q.AsOf != nil {
		asOf = q.AsOf.UTC()
	}
	var g *lineage.Subgraph
	err := s.snapshot(ctx, s.timeout, func(r *reader) error {
		rec, err := r.single(qStart, map[string]any{"id": string(q.Of), "asOf": asOf})
		if err != nil {
			return txError("traverse", err)
		} else if rec == nil {
			return notFound(q.Of)
		}
		edges := func(stmt string) func([]lineage.ID) ([]lineage.Edge, error) {
			return func(ids []lineage.ID) ([]lineage.Edge, error) {
				return r.edgeRows(stmt, map[string]any{"ids": stringsOf(ids), "asOf": asOf})
			}
		}
		g, err = walk(q, graphReader{up: edges(qLevelUp), down: edges(qLevelDown), between: edges(qBetween)})
		return err
	})
	return g, err
}

// edgeRows runs a statement that returns edgeCols.
func (r *reader) edgeRows(q string, params map[string]any) ([]lineage.Edge, error) {
	recs, err := r.collect(q, params)
	if err != nil {
		return nil, txError("traverse", err)
	}
	out := make([]lineage.Edge, len(recs))
	for i, rec := range recs {
		if out[i], err = decodeEdge(rec.Values); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// graphReader is what walk needs of a store, each in insertion order of
// the edges: up gives the edges leaving the nodes, down those entering
// them, between those among them.
type graphReader struct {
	up, down, between func(ids []lineage.ID) ([]lineage.Edge, error)
}

const (
	walkUp   uint8 = 1
	walkDown uint8 = 2
)

// walk is the embedded store's traversal (lineage/sqlite/traverse.go) a
// level at a time: the same visits in the same order, so the same nodes at
// the same depths and the same cut when Limit truncates. BOTH is the
// upstream and the downstream walk together: a node reached upstream is
// walked upstream only.
func walk(q lineage.TraversalQuery, g graphReader) (*lineage.Subgraph, error) {
	type seen struct {
		pos  int
		dirs uint8
	}
	type visit struct {
		id  lineage.ID
		dir uint8
	}
	known := map[lineage.ID]seen{q.Of: {}}
	order := []lineage.ID{q.Of}
	depth := []int{0}
	var level []visit
	for _, dir := range []uint8{walkUp, walkDown} {
		if q.Direction == lineage.Both || (dir == walkUp) == (q.Direction == lineage.Upstream) {
			level = append(level, visit{q.Of, dir})
			k := known[q.Of]
			k.dirs |= dir
			known[q.Of] = k
		}
	}
	truncated := false
walk:
	for d := 0; d < q.Depth && len(level) > 0; d++ {
		// The level's edges, by the node they leave from, per direction.
		var byDir [3]map[lineage.ID][]lineage.Edge
		for _, dir := range []uint8{walkUp, walkDown} {
			var ids []lineage.ID
			for _, v := range level {
				if v.dir == dir {
					ids = append(ids, v.id)
				}
			}
			if len(ids) == 0 {
				continue
			}
			fetch, end := g.up, func(e lineage.Edge) lineage.ID { return e.From }
			if dir == walkDown {
				fetch, end = g.down, func(e lineage.Edge) lineage.ID { return e.To }
			}
			edges, err := fetch(ids)
			if err != nil {
				return nil, err
			}
			byDir[dir] = map[lineage.ID][]lineage.Edge{}
			for _, e := range edges {
				byDir[dir][end(e)] = append(byDir[dir][end(e)], e)
			}
		}
		var next []visit
		for _, v := range level {
			for _, e := range byDir[v.dir][v.id] {
				u := e.To
				if v.dir == walkDown {
					u = e.From
				}
				k, ok := known[u]
				if k.dirs&v.dir != 0 {
					continue
				}
				if !ok {
					if q.Limit > 0 && len(order) >= q.Limit {
						truncated = true
						break walk
					}
					k.pos = len(order)
					order = append(order, u)
					depth = append(depth, d+1)
				}
				k.dirs |= v.dir
				known[u] = k
				next = append(next, visit{u, v.dir})
			}
		}
		level = next
	}

	sg := &lineage.Subgraph{Nodes: make([]lineage.Hop, len(order)), Truncated: truncated}
	for i, id := range order {
		sg.Nodes[i] = lineage.Hop{ID: id, Depth: depth[i]}
	}
	edges, err := g.between(order)
	if err != nil {
		return nil, err
	}
	// Each edge once, via its source, sources in the order found.
	bySource := map[lineage.ID][]lineage.Edge{}
	for _, e := range edges {
		bySource[e.From] = append(bySource[e.From], e)
	}
	sg.Edges = make([]lineage.Edge, 0, len(edges))
	for _, id := range order {
		sg.Edges = append(sg.Edges, bySource[id]...)
	}
	return sg, nil
}

// qPath finds a shortest path with a fixed hop bound; the bound is
// spliced as a number (Cypher takes no parameter there), never text.
func qPath(forward bool, maxDepth int) string {
	arrow := "]->"
	left := "-["
	if !forward {
		left, arrow = "<-[", "]-"
	}
	return `MATCH (a:Node {id: $from})
		MATCH (b:Node {id: $to})
		MATCH p = shortestPath((a)` + left + `:` + provenanceTypes + `*1..` + strconv.Itoa(maxDepth) + arrow + `(b))
		WHERE all(e IN relationships(p) WHERE e.removedAt IS NULL)
		UNWIND relationships(p) AS e
		RETURN startNode(e).id AS from, endNode(e).id AS to, type(e) AS type, e.role AS role, e.createdAt AS createdAt, e.removedAt AS removedAt`
}

func init() {
	cypher("path forward", qPath(true, 10))
	cypher("path backward", qPath(false, 10))
}

// Path returns the edges of a shortest provenance path, in order from
// from, following edges in their direction first and against it if that
// finds none: one round trip each. It is empty (not nil) when from == to,
// and nil when either node does not exist or no path is within maxDepth
// hops.
func (s *Store) Path(ctx context.Context, from, to lineage.ID, maxDepth int) ([]lineage.Edge, error) {
	var path []lineage.Edge
	err := s.snapshot(ctx, s.timeout, func(r *reader) error {
		rec, err := r.single(qEnds, map[string]any{"from": string(from), "to": string(to)})
		if err != nil {
			return txError("path", err)
		}
		if a, _ := rec.Values[0].(bool); !a {
			return nil
		}
		if b, _ := rec.Values[1].(bool); !b {
			return nil
		}
		if from == to {
			path = []lineage.Edge{}
			return nil
		}
		if maxDepth < 1 {
			return nil
		}
		for _, forward := range []bool{true, false} {
			edges, err := r.edgeRows(qPath(forward, maxDepth), map[string]any{"from": string(from), "to": string(to)})
			if err != nil {
				return err
			}
			if len(edges) > 0 {
				path = edges
				return nil
			}
		}
		return nil
	})
	return path, err
}
