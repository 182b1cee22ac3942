// Package sqlite is Pedigree's embedded backend: lineage.Store on one SQLite
// file (WAL) plus an in-memory adjacency index for traversals. It is the
// only importer of the SQLite driver.
//
// Writes go through one connection, one BEGIN IMMEDIATE transaction at a
// time, queued in Go so that callers never see "database is locked"; reads
// use a pool of query-only connections. synchronous=FULL: an acknowledged
// Update survives kill -9 and power loss. One process owns a database file
// at a time (enforced with a lock file where flock exists): the index
// mirrors only the writes made through this Store.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/pedigree-ml/pedigree/lineage"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune a Store; the zero value is ready to use.
type Options struct {
	// Now is the clock for times a caller left zero (CreatedAt, RemovedAt,
	// metric timestamps, …). Default time.Now.
	Now func() time.Time
	// ReadConns is the size of the read pool. Default max(4, 2×GOMAXPROCS).
	ReadConns int
	// BusyTimeout bounds how long a connection waits for a lock held by
	// another process (or a checkpoint). Default 10 s.
	BusyTimeout time.Duration
}

// Store is a lineage.Store on a SQLite file.
type Store struct {
	now    func() time.Time
	wdb    *sql.DB       // the one writer connection
	rdb    *sql.DB       // query-only read pool
	wsem   chan struct{} // held by the running Update; a channel so waiting honours ctx
	wstmts [nStmts]*sql.Stmt
	rstmts [nStmts]*sql.Stmt
	idx    *index
	lock   io.Closer // of path.lock: one Store per database
	closed atomic.Bool
}

var _ lineage.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path, migrates its
// schema and builds the traversal index. path is a file name; URIs,
// ":memory:" and names containing '?' or '#' are refused because the
// writer and the read pool must share one file.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: open %q: need a plain file path", path)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if err := createFile(path); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	lock, err := lockFile(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{now: opts.Now, wsem: make(chan struct{}, 1), lock: lock}
	if err := s.open(ctx, path, opts); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// createFile creates the database owner-only before SQLite does (it would
// use 0644); the -wal and -shm files copy the database's mode.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

func (s *Store) open(ctx context.Context, path string, opts Options) error {
	busy := fmt.Sprintf("_pragma=busy_timeout(%d)", opts.BusyTimeout.Milliseconds())
	var err error
	s.wdb, err = sql.Open("sqlite", path+"?"+busy+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"+
		"&_pragma=cache_size(-65536)&_pragma=temp_store(memory)&_txlock=immediate")
	if err != nil {
		return err
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)

	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.wdb, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Cheap at open; keeps planner statistics (STAT4) current.
	if _, err := s.wdb.ExecContext(ctx, "PRAGMA optimize=0x10002"); err != nil {
		return err
	}

	s.rdb, err = sql.Open("sqlite", path+"?"+busy+
		"&_pragma=query_only(1)&_pragma=cache_size(-16384)&_pragma=temp_store(memory)&_pragma=mmap_size(268435456)")
	if err != nil {
		return err
	}
	s.rdb.SetMaxOpenConns(opts.ReadConns)
	s.rdb.SetMaxIdleConns(opts.ReadConns)
	s.rdb.SetConnMaxIdleTime(5 * time.Minute)

	for k, q := range stmtSQL {
		if s.wstmts[k], err = s.wdb.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("prepare %d: %w", k, err)
		}
		if stmtKey(k) < nReadStmts {
			if s.rstmts[k], err = s.rdb.PrepareContext(ctx, q); err != nil {
				return fmt.Errorf("prepare %d: %w", k, err)
			}
		}
	}
	s.idx, err = loadIndex(ctx, s.rdb)
	return err
}

// Close waits for a running Update and closes the database; every method
// fails afterwards.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.wsem <- struct{}{}
	defer func() { <-s.wsem }() // later Updates then see closed
	var errs []error
	for _, st := range append(s.wstmts[:], s.rstmts[:]...) {
		if st != nil {
			st.Close()
		}
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		s.wdb.Exec("PRAGMA optimize")
		errs = append(errs, s.wdb.Close())
	}
	errs = append(errs, s.lock.Close())
	return errors.Join(errs...)
}

var errClosed = errors.New("sqlite: store closed")

// Update runs fn in one BEGIN IMMEDIATE transaction on the writer
// connection. Writers queue here, in Go, so SQLite never reports a lock to
// one of them; a caller whose ctx ends while queued gets ctx.Err(). The
// index sees fn's graph changes only once COMMIT succeeded.
func (s *Store) Update(ctx context.Context, fn func(lineage.Tx) error) (err error) {
	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wsem }()
	if s.closed.Load() {
		return errClosed
	}
	sqlTx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return formatError("begin", err)
	}
	t := &txn{reader: reader{ctx: ctx, tx: sqlTx, stmts: &s.wstmts, s: s}}
	committed := false
	defer func() {
		if !committed {
			sqlTx.Rollback()
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	if err := t.flushRunData(); err != nil {
		return err
	}
	var version int64
	if changesEdges(t.ops) {
		if err := t.stmt(sBumpGraph).QueryRowContext(ctx).Scan(&version); err != nil {
			return formatError("graph version", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return formatError("commit", err)
	}
	committed = true
	s.idx.apply(t.ops, version)
	return nil
}

// View runs fn in a read transaction on the read pool: a snapshot taken at
// its first read.
func (s *Store) View(ctx context.Context, fn func(lineage.ReadTx) error) error {
	if s.closed.Load() {
		return errClosed
	}
	sqlTx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return formatError("begin", err)
	}
	defer sqlTx.Rollback()
	return fn(&reader{ctx: ctx, tx: sqlTx, stmts: &s.rstmts, s: s, view: true})
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return formatError("ping", err)
	}
	return nil
}

// Search returns live (not soft-deleted) nodes whose name contains text,
// ignoring case: those starting with it first, each group in name order.
// limit < 1 means 50.
func (s *Store) Search(ctx context.Context, text string, kinds []lineage.Kind, limit int) ([]*lineage.Node, error) {
	if limit < 1 {
		limit = 50
	}
	fold := strings.ToLower(text)
	kindSQL, kindArgs := "", []any(nil)
	if len(kinds) > 0 {
		kindSQL = " AND kind IN (" + placeholders(len(kinds)) + ")"
		for _, k := range kinds {
			kindArgs = append(kindArgs, string(k))
		}
	}
	// Prefixes are a range on the name index; other matches a scan in
	// name order that stops at limit.
	lo, hi := fold, prefixEnd(fold)
	prefix := "name_fold >= ?"
	args := []any{lo}
	if hi != "" {
		prefix += " AND name_fold < ?"
		args = append(args, hi)
	}
	nodes, err := s.searchQuery(ctx, "("+prefix+")"+kindSQL, append(args, kindArgs...), limit)
	if err != nil || len(nodes) == limit || fold == "" {
		return nodes, err
	}
	rest, err := s.searchQuery(ctx, "name_fold LIKE ? ESCAPE '\\' AND NOT ("+prefix+")"+kindSQL,
		append(append([]any{"%" + escapeLike(fold) + "%"}, args...), kindArgs...), limit-len(nodes))
	return append(nodes, rest...), err
}

func (s *Store) searchQuery(ctx context.Context, where string, args []any, limit int) ([]*lineage.Node, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+nodeCols+" FROM nodes INDEXED BY nodes_name WHERE deleted_at IS NULL AND "+
		where+" ORDER BY name_fold, kind LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, formatError("search", err)
	}
	return scanNodes(rows)
}

// prefixEnd returns the least string greater than every string with prefix
// p (bytewise, as SQLite compares TEXT), or "" if there is none.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return likeEscaper.Replace(s)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Events returns committed events after afterSeq in seq order, of one
// model or all (model == ""). limit < 1 means 100.
func (s *Store) Events(ctx context.Context, model string, afterSeq int64, limit int) ([]lineage.Event, error) {
	if limit < 1 {
		limit = 100
	}
	q, args := `SELECT `+eventCols+` FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, []any{afterSeq, limit}
	if model != "" {
		q, args = `SELECT `+eventCols+` FROM events WHERE model = ? AND seq > ? ORDER BY seq LIMIT ?`, []any{model, afterSeq, limit}
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, formatError("events", err)
	}
	defer rows.Close()
	var evs []lineage.Event
	for rows.Next() {
		var (
			e       lineage.Event
			payload []byte
			created int64
		)
		if err := rows.Scan(&e.Seq, &e.ID, &e.Model, &e.ModelSeq, &e.Type, &payload, &created); err != nil {
			return nil, formatError("events", err)
		}
		if payload != nil {
			e.Payload = payload
		}
		e.CreatedAt = fromNanos(created)
		evs = append(evs, e)
	}
	return evs, formatError("events", rows.Err())
}

// LastEventSeq returns the newest event's seq, 0 if there is none.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.rdb.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&seq)
	return seq, formatError("last event seq", err)
}

const eventCols = `seq, id, model, model_seq, type, payload, created_at`

// formatError translates a database error at the boundary: no rows →
// ENOTFOUND, unique/primary key violation → ECONFLICT, foreign key → ENOTFOUND
// (a reference to a missing node); anything else is wrapped as "op: err"
// and so EINTERNAL. Messages of the *lineage.Error results name only op,
// never SQL.
func formatError(op string, err error) error {
	if err == nil {
		return nil
	}
	var le *lineage.Error
	if errors.As(err, &le) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return lineage.Errorf(lineage.ENOTFOUND, "%s: not found", op)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return lineage.Errorf(lineage.ECONFLICT, "%s: already exists", op)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return lineage.Errorf(lineage.ENOTFOUND, "%s: referenced node not found", op)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
