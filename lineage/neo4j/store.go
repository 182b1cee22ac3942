// Package neo4j is Pedigree's backend for teams past one machine:
// lineage.Store on a Neo4j 5 server or cluster, through the official Bolt
// driver. It is the only importer of that driver.
//
// The graph in Neo4j:
//
//   - Every lineage node is (:Node:<Kind> {id, kind, parent, name, nameFold,
//     props, createdAt, updatedAt, deletedAt, seq}); props is the entity's
//     JSON, seq the insertion order (List pages by it). Runs also carry their
//     attributes for runs(filter:): runStatus, runName, runExperiment,
//     runPipeline, runStartedAt, runEndedAt. The one Production version of a
//     model carries productionOf (the model's ID), unique by constraint.
//   - Every lineage edge is a relationship of its EdgeType, {role, createdAt,
//     removedAt}, from the dependent to what it depends on.
//   - Run data are nodes keyed by run ID: (:Param {run, key, value}),
//     (:Tag {run, key, value}), (:Metric {run, key, last, lastStep, lastTs,
//     min, max, count}) (null last/min/max stand for NaN) and the histories
//     in (:MetricChunk {run, key, minStep, digest, steps, values, timestamps}),
//     at most chunkSize points each, appended, never rewritten.
//   - (:Transition), (:Idempotency), (:Event) (the outbox) and (:Counter
//     {name, value}) hold the audit trail, idempotency records, events and
//     version counters; (:Sequence {name, value}) the store's own numbering
//     of nodes, edges, transitions and events.
//   - Documents are (:Doc {collection, key, value}), unique by collection
//     and key, value the JSON as a string (kept byte for byte).
//
// Times are DateTime values; IDs, keys and values always travel as query
// parameters. Labels and relationship types are spliced into Cypher only
// from lineage.Kinds and lineage.EdgeTypes (see labelOf and relType).
//
// Isolation: Neo4j runs transactions read-committed. The Service's rules
// (contiguous versions, one Production version, idempotency) assume
// serializable writes and snapshot reads, as the embedded store gives, so
// every Update and every View first takes the write lock of one
// (:Lock {name: "writer"}) node: they run one at a time, like SQLite's
// single writer. Store reads that are one statement (Search, Events,
// SearchRuns) take no lock and go to any cluster member. Uniqueness
// constraints back every natural key as a second line of defence. Update
// is a managed transaction function, which the driver replays on transient
// errors (leader switch, deadlock), as the Store contract allows; a View
// runs once.
package neo4j

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/config"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Options configure a Store; the zero value uses the server's default
// database with no authentication.
type Options struct {
	User     string
	Password string
	Database string // "" for the server's default database
	// Timeout bounds each Update and View (and the driver's retries within
	// it) when the caller's context has no earlier deadline, so that a store
	// that is down answers with EUNAVAILABLE instead of hanging. Default 10 s.
	Timeout time.Duration
	// Now is the clock for times a caller left zero. Default time.Now.
	Now func() time.Time
}

// Store is a lineage.Store on Neo4j.
type Store struct {
	driver    neo4j.DriverWithContext
	database  string
	bookmarks neo4j.BookmarkManager // read-your-writes across this process's sessions
	timeout   time.Duration
	now       func() time.Time

	schemaMu  sync.Mutex
	schemaOK  bool      // constraints and indexes exist
	schemaErr error     // of the last failed attempt …
	schemaAt  time.Time // … made then: requests during an outage fail fast instead of queueing here
}

var _ lineage.Store = (*Store)(nil)

// Open returns a Store for the server at uri (neo4j://, neo4j+s://,
// bolt://, …). It does not need the server to be up: the constraints and
// indexes are created at the first request that reaches it (and Open tries
// once), so a replica can start before its database and report not ready
// until then.
func Open(ctx context.Context, uri string, opts Options) (*Store, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("neo4j: open: %w", err)
	}
	if u.User != nil {
		return nil, errors.New("neo4j: open: put the user and password in Options, not in the URL")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	auth := neo4j.NoAuth()
	if opts.User != "" {
		auth = neo4j.BasicAuth(opts.User, opts.Password, "")
	}
	driver, err := neo4j.NewDriverWithContext(uri, auth, func(c *config.Config) {
		c.SocketConnectTimeout = 5 * time.Second
		c.ConnectionAcquisitionTimeout = 5 * time.Second
		c.MaxTransactionRetryTime = opts.Timeout
	})
	if err != nil {
		return nil, fmt.Errorf("neo4j: open %s: %w", u.Redacted(), err)
	}
	s := &Store{
		driver:    driver,
		database:  opts.Database,
		bookmarks: neo4j.NewBookmarkManager(neo4j.BookmarkManagerConfig{}),
		timeout:   opts.Timeout,
		now:       opts.Now,
	}
	_ = s.ensureSchema(ctx) // retried by later requests if the server is not up yet
	return s, nil
}

// Close closes the driver's connections.
func (s *Store) Close() error {
	return s.driver.Close(context.Background())
}

// Ping checks that the server answers and the schema is in place.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.driver.VerifyConnectivity(ctx); err != nil {
		return formatError("ping", err)
	}
	return s.ensureSchema(ctx)
}

// bound gives ctx the Store's timeout unless it has an earlier deadline.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= s.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

func (s *Store) session(ctx context.Context, mode neo4j.AccessMode) neo4j.SessionWithContext {
	return s.driver.NewSession(ctx, neo4j.SessionConfig{
		AccessMode:      mode,
		DatabaseName:    s.database,
		BookmarkManager: s.bookmarks,
	})
}

// Update runs fn in a managed write transaction holding the writer lock
// (see the package comment). The driver may call fn again after a
// transient error; fn's lineage errors are returned, never retried.
func (s *Store) Update(ctx context.Context, fn func(lineage.Tx) error) error {
	if err := s.ensureSchema(ctx); err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sess := s.session(ctx, neo4j.AccessModeWrite)
	defer sess.Close(context.WithoutCancel(ctx))
	_, err := sess.ExecuteWrite(ctx, func(mtx neo4j.ManagedTransaction) (any, error) {
		t := &txn{reader: reader{ctx: ctx, tx: mtx, s: s}}
		if err := t.exec(qLockWriter, nil); err != nil {
			return nil, err
		}
		if err := fn(t); err != nil {
			return nil, err
		}
		return nil, t.flush()
	})
	return formatError("update", err)
}

// View runs fn holding the writer lock (see the package comment), in one
// explicit transaction on the leader: Neo4j reads are read-committed, so
// this is how fn gets the consistent snapshot the contract asks for, with
// writers waiting for it. fn runs once: a transient error ends the View
// with EUNAVAILABLE rather than replaying fn. Traverse, Path and Dump, which
// read with several statements, go through it too.
func (s *Store) View(ctx context.Context, fn func(lineage.ReadTx) error) error {
	return s.snapshot(ctx, s.timeout, func(r *reader) error { return fn(r) })
}

// snapshot runs fn in a write-mode explicit transaction that first takes
// the writer lock. timeout 0 leaves ctx unbounded (Dump).
func (s *Store) snapshot(ctx context.Context, timeout time.Duration, fn func(*reader) error) error {
	if err := s.ensureSchema(ctx); err != nil {
		return err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = s.bound(ctx)
		defer cancel()
	}
	sess := s.session(ctx, neo4j.AccessModeWrite)
	defer sess.Close(context.WithoutCancel(ctx))
	tx, err := sess.BeginTransaction(ctx)
	if err != nil {
		return formatError("view", err)
	}
	defer tx.Close(context.WithoutCancel(ctx)) // rolls back: a View writes only the lock's heldAt
	r := &reader{ctx: ctx, tx: tx, s: s}
	if err := r.exec(qLockWriter, nil); err != nil {
		return formatError("view", err)
	}
	return formatError("view", fn(r))
}

// read runs fn, one statement, in a managed read transaction routed to any
// cluster member that has seen this process's latest write (bookmarks).
// One statement needs no lock; fn may run again after a transient error,
// so it must start from scratch each time.
func (s *Store) read(ctx context.Context, fn func(*reader) error) error {
	if err := s.ensureSchema(ctx); err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sess := s.session(ctx, neo4j.AccessModeRead)
	defer sess.Close(context.WithoutCancel(ctx))
	_, err := sess.ExecuteRead(ctx, func(mtx neo4j.ManagedTransaction) (any, error) {
		return nil, fn(&reader{ctx: ctx, tx: mtx, s: s})
	})
	return formatError("read", err)
}

// ensureSchema creates the constraints and indexes once per process; every
// statement is IF NOT EXISTS, so replicas starting together agree.
func (s *Store) ensureSchema(ctx context.Context) error {
	s.schemaMu.Lock()
	defer s.schemaMu.Unlock()
	if s.schemaOK {
		return nil
	}
	if s.schemaErr != nil && time.Since(s.schemaAt) < time.Second {
		return s.schemaErr
	}
	err := s.createSchema(ctx)
	s.schemaOK, s.schemaErr, s.schemaAt = err == nil, err, time.Now()
	return err
}

func (s *Store) createSchema(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sess := s.session(ctx, neo4j.AccessModeWrite)
	defer sess.Close(context.WithoutCancel(ctx))
	// Schema statements cannot share a transaction with writes, and each
	// runs in its own auto-commit transaction.
	for _, q := range schemaStatements {
		res, err := sess.Run(ctx, q, nil)
		if err == nil {
			_, err = res.Consume(ctx)
		}
		if err != nil {
			return formatError("create schema", err)
		}
	}
	return nil
}

// txError is for errors inside a transaction function: a constraint
// violation becomes ECONFLICT; a driver error stays as it is, unwrapped, so
// that the driver recognises a transient one and replays an Update.
func txError(op string, err error) error {
	var n4j *neo4j.Neo4jError
	if errors.As(err, &n4j) && n4j.Code == "Neo.ClientError.Schema.ConstraintValidationFailed" {
		return lineage.Errorf(lineage.ECONFLICT, "%s: already exists", op)
	}
	return err
}

// formatError maps errors where a call returns: lineage errors pass
// through; a constraint violation is ECONFLICT; an unreachable server, an
// exhausted retry budget, a timeout or a transient error is EUNAVAILABLE
// (retriable); other driver errors are wrapped (EINTERNAL); fn's own
// errors are returned as they are.
func formatError(op string, err error) error {
	var (
		le  *lineage.Error
		n4j *neo4j.Neo4jError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		return err
	case errors.As(err, &n4j) && n4j.Code == "Neo.ClientError.Schema.ConstraintValidationFailed":
		return lineage.Errorf(lineage.ECONFLICT, "%s: already exists", op)
	case neo4j.IsConnectivityError(err), neo4j.IsTransactionExecutionLimit(err), neo4j.IsRetryable(err),
		errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &n4j) && n4j.Code == "Neo.ClientError.Cluster.NotALeader":
		return &lineage.Error{Code: lineage.EUNAVAILABLE, Message: "the Neo4j store is unavailable; retry later"}
	case neo4j.IsNeo4jError(err), neo4j.IsUsageError(err):
		return fmt.Errorf("neo4j: %s: %w", op, err)
	}
	return err // a caller's own error, from fn, as it was
}

var qWipe = cypher("wipe", `MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS`)

// Wipe deletes everything in the database at uri: for tests and for
// retrying a failed migration into it. The schema stays.
func Wipe(ctx context.Context, uri string, opts Options) error {
	s, err := Open(ctx, uri, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sess := s.session(ctx, neo4j.AccessModeWrite)
	defer sess.Close(context.WithoutCancel(ctx))
	// CALL … IN TRANSACTIONS needs an implicit (auto-commit) transaction.
	res, err := sess.Run(ctx, qWipe, nil)
	if err == nil {
		_, err = res.Consume(ctx)
	}
	return formatError("wipe", err)
}
