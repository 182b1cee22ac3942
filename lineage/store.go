package lineage

import (
	"context"
	"encoding/json"
	"time"
)

// Node is the storage form of an entity: the columns every backend keeps
// plus Props, the entity's own fields as JSON. Backends never interpret Props
// except the run attributes named in RunQuery.
type Node struct {
	ID        ID
	Kind      Kind
	Parent    ID     // the logical node a version belongs to, the experiment of a run; "" if none
	Name      string // display name, searched by Store.Search
	Props     json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt *time.Time
}

// Edge is a relationship from the dependent (From) to what it depends on (To).
// Removed edges (RemovedAt set) are kept so that AsOf queries see them.
type Edge struct {
	From      ID
	To        ID
	Type      EdgeType
	Role      string // USED only: train, validation, test, eval, features, base_model, config, …
	CreatedAt time.Time
	RemovedAt *time.Time
}

// Direction of a traversal. Upstream follows outgoing edges, downstream incoming.
type Direction string

const (
	Upstream   Direction = "UPSTREAM"
	Downstream Direction = "DOWNSTREAM"
	Both       Direction = "BOTH" // upstream and downstream of the start, not a walk in any direction
)

// TraversalQuery asks a backend for the provenance subgraph around a node.
type TraversalQuery struct {
	Of        ID
	Direction Direction
	Depth     int        // ≥ 1; hops from Of
	Limit     int        // maximum nodes returned, Of included
	AsOf      *time.Time // nil: now. Otherwise only nodes and edges that existed at AsOf
}

// Subgraph is a traversal result. Nodes are in breadth-first order, Of first
// at depth 0; Edges connect returned nodes only. Truncated is set when Limit
// cut the result.
type Subgraph struct {
	Nodes     []Hop
	Edges     []Edge
	Truncated bool
}

// Hop is a node reached by a traversal and its distance from the start.
type Hop struct {
	ID    ID
	Depth int
}

// Page selects a window of a list: First items after the opaque cursor After.
type Page struct {
	First int
	After string
}

// NodePage is a window of a list of nodes.
type NodePage struct {
	Nodes     []*Node
	EndCursor string // cursor of the last node, for Page.After
	HasNext   bool
}

// RunQuery selects runs. Attribute fields map to Run props: status,
// name (run_name), startedAt (start_time), endedAt (end_time), experiment, pipeline.
type RunQuery struct {
	Experiment ID     // optional: only runs of this experiment
	Filter     Filter // optional: parsed by ParseFilter
	OrderBy    []OrderBy
	Page       Page
}

// RunPage is a window of runs.
type RunPage struct {
	IDs       []ID
	EndCursor string
	HasNext   bool
}

// MetricHistoryQuery selects points of one metric of one run, by step.
type MetricHistoryQuery struct {
	Run       ID
	Key       string
	AfterStep *int64
	Limit     int
}

// Store is what a backend implements. Every method is safe for concurrent
// use. Errors are *Error with the code named in each doc comment, EINTERNAL
// for the rest. Rules (versions, stages, idempotency) live in Service, not
// here: a backend stores and retrieves faithfully.
type Store interface {
	// Update runs fn in one serializable write transaction: every write fn
	// makes is committed together, or none is when fn or the commit fails.
	// fn may be called again if the backend retries a transient failure, so
	// it must not have effects outside the Tx.
	Update(ctx context.Context, fn func(Tx) error) error

	// View runs fn on a consistent read snapshot.
	View(ctx context.Context, fn func(ReadTx) error) error

	// Traverse walks provenance edges (EdgeType.Provenance) from q.Of,
	// cycle-safe, each node at its smallest depth. ENOTFOUND if q.Of does
	// not exist (or did not at q.AsOf). Soft-deleted nodes are walked through.
	// BOTH is the union of the upstream and downstream walks (a node reached
	// upstream is walked on upstream only), not an undirected walk.
	Traverse(ctx context.Context, q TraversalQuery) (*Subgraph, error)

	// Path returns the edges of a shortest provenance path from one node to
	// another, following edges in their direction (from is downstream of to)
	// or against it; nil if none within maxDepth hops, or if either node
	// does not exist.
	Path(ctx context.Context, from, to ID, maxDepth int) ([]Edge, error)

	// SearchRuns returns runs matching q, ordered by q.OrderBy then newest
	// first. EINVALID (field "orderBy" or "filter") for a field the backend
	// cannot sort or filter on.
	SearchRuns(ctx context.Context, q RunQuery) (*RunPage, error)

	// Search returns nodes whose name contains text (case-insensitive),
	// optionally only of the given kinds, best matches (prefix) first.
	Search(ctx context.Context, text string, kinds []Kind, limit int) ([]*Node, error)

	// Events returns committed events with Seq > afterSeq in Seq order,
	// optionally only for one model (model == "" for all).
	Events(ctx context.Context, model string, afterSeq int64, limit int) ([]Event, error)

	// LastEventSeq returns the Seq of the newest committed event, 0 if none.
	LastEventSeq(ctx context.Context) (int64, error)

	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error

	Close() error
}

// ReadTx reads within a transaction.
type ReadTx interface {
	// Node returns a node by ID, soft-deleted ones included. ENOTFOUND if absent.
	Node(id ID) (*Node, error)

	// Nodes returns the nodes that exist among ids, in the order of ids;
	// missing ones are left out.
	Nodes(ids []ID) ([]*Node, error)

	// List returns nodes of one kind, optionally with one parent, in
	// insertion order, soft-deleted ones left out.
	List(kind Kind, parent ID, page Page) (*NodePage, error)

	// Edges returns the unremoved edges that leave (Upstream) or enter
	// (Downstream) a node, optionally only of some types, oldest first.
	Edges(id ID, dir Direction, types ...EdgeType) ([]Edge, error)

	// RunData returns params, tags and metric summaries of runs; runs with
	// none have an empty RunData in the map.
	RunData(runs []ID) (map[ID]*RunData, error)

	// MetricHistory returns points of one metric ordered by step, then timestamp.
	MetricHistory(q MetricHistoryQuery) ([]MetricPoint, error)

	// Transitions returns the audit trail of model versions in the order
	// the transitions were added (commit order, not by their At times).
	Transitions(versions []ID) ([]Transition, error)

	// Idempotency returns the record for a key. ENOTFOUND if absent.
	Idempotency(key string) (*IdempotencyRecord, error)

	// LastModelSeq returns the highest ModelSeq of a model's events, 0 if none.
	LastModelSeq(model string) (int64, error)

	// Doc returns a document by collection and key. ENOTFOUND if absent.
	Doc(collection, key string) (*Doc, error)

	// Docs lists a collection's documents in key order (byte order of the
	// UTF-8 keys), reversed with q.Desc.
	Docs(q DocQuery) ([]Doc, error)
}

// Tx reads and writes within a write transaction.
type Tx interface {
	ReadTx

	// CreateNode inserts a node. ECONFLICT if the ID exists.
	CreateNode(n *Node) error

	// UpdateNode replaces Name, Props, UpdatedAt and DeletedAt of an existing
	// node. ENOTFOUND if absent.
	UpdateNode(n *Node) error

	// DeleteNode removes a node and every edge touching it (hard delete).
	// ENOTFOUND if absent.
	DeleteNode(id ID) error

	// AddEdge inserts an edge; adding an identical unremoved edge again
	// (same from, to, type, role) is a no-op. Both ends must exist: ENOTFOUND.
	// An edge given with RemovedAt is stored as removed (for Restore),
	// leaving unremoved edges with the same ends and type alone.
	AddEdge(e Edge) error

	// RemoveEdge marks unremoved edges matching from, to and type as
	// removed at the given time.
	RemoveEdge(from, to ID, t EdgeType, at time.Time) error

	// NextVersion returns the next number of a counter (1, 2, …), atomically
	// with the transaction: a rolled-back transaction leaves no gap.
	NextVersion(counter ID) (int64, error)

	// SetCounter sets a version counter, for Restore: the next
	// NextVersion(counter) returns value+1.
	SetCounter(counter ID, value int64) error

	// SetRunParams and SetRunTags upsert key/value pairs of a run.
	SetRunParams(run ID, params map[string]string) error
	SetRunTags(run ID, tags map[string]string) error

	// LogMetrics appends points to a run's histories and updates their
	// summaries. A batch equal to one already stored (a retry) may be stored once.
	LogMetrics(run ID, points []MetricPoint) error

	// AddTransition appends to a model version's audit trail.
	AddTransition(t Transition) error

	// PutIdempotency stores a record. ECONFLICT if the key exists.
	PutIdempotency(r IdempotencyRecord) error

	// AddEvent appends an event to the outbox and sets its Seq.
	AddEvent(e *Event) error

	// PutDoc inserts a document or replaces the one with its collection and key.
	PutDoc(d Doc) error

	// DeleteDoc removes a document; removing an absent one is a no-op.
	DeleteDoc(collection, key string) error
}

// Doc is a small JSON document kept by key in a named collection: state
// beside the lineage graph that the Service does not interpret, such as
// webhooks, their delivery log and the cursors of event consumers.
// Collection and key are non-empty, at most 200 bytes, valid UTF-8.
type Doc struct {
	Collection string          `json:"collection"`
	Key        string          `json:"key"`
	Value      json.RawMessage `json:"value"`
}

// DocQuery selects documents of one collection.
type DocQuery struct {
	Collection string
	Prefix     string // only keys that start with Prefix
	After      string // only keys after this one in the listing order ("" for the start)
	Desc       bool   // descending key order
	Limit      int    // maximum documents, ≥ 1
}

// Filter is a parsed runs filter: an expression tree of And, Or and Compare.
type Filter interface{ filter() }

// And is true when both sides are.
type And struct{ Left, Right Filter }

// Or is true when either side is.
type Or struct{ Left, Right Filter }

// FieldRef names what a comparison or ordering reads.
type FieldRef struct {
	Namespace string // "metrics", "params", "tags" or "attributes"
	Key       string // metric/param/tag key, or attribute: status, name, startedAt, endedAt, pipeline
}

// Compare compares a field with a literal. Op is one of =, !=, <, <=, >, >=,
// LIKE, ILIKE, IN, NOT IN. Values holds one value, several for IN and NOT IN.
// A value is a string or a float64 (metrics are numbers; params and tags
// compare as strings; startedAt/endedAt are RFC 3339 strings or unix
// milliseconds).
type Compare struct {
	Field  FieldRef
	Op     string
	Values []any
}

func (And) filter()     {}
func (Or) filter()      {}
func (Compare) filter() {}

// FilterParts is how a backend compiles a filter node: a comparison (leaf set),
// or an And (and set) or Or of two sides. Pointers to the node types count
// as the values. EINVALID (field "filter") for a nil or unknown node, or a
// missing side.
func FilterParts(f Filter) (leaf *Compare, and bool, left, right Filter, err error) {
	switch f := f.(type) {
	case Compare:
		return &f, false, nil, nil, nil
	case *Compare:
		if f != nil {
			return f, false, nil, nil, nil
		}
	case And:
		and, left, right = true, f.Left, f.Right
	case *And:
		if f != nil {
			and, left, right = true, f.Left, f.Right
		}
	case Or:
		left, right = f.Left, f.Right
	case *Or:
		if f != nil {
			left, right = f.Left, f.Right
		}
	}
	if left == nil || right == nil {
		return nil, false, nil, nil, Invalid("filter", "has an empty or unsupported expression")
	}
	return nil, and, left, right, nil
}

// OrderBy sorts runs by a field.
type OrderBy struct {
	Field FieldRef
	Desc  bool
}
