package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/pedigree-ml/pedigree/lineage"
)

var _ lineage.Dumper = (*Store)(nil)

// Dump reads the whole store from one read transaction on the read pool
// (a snapshot: writes committed meanwhile are not seen) straight from the
// tables, in the order lineage.Dumper defines, streaming: it holds one
// run's params and tags, and of a metric history only the points that
// later chunks could still precede.
func (s *Store) Dump(ctx context.Context, fn func(*lineage.Record) error) error {
	if s.closed.Load() {
		return errClosed
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return formatError("begin", err)
	}
	defer tx.Rollback()
	d := &dumper{ctx: ctx, tx: tx, fn: fn}
	for _, step := range []func() error{d.nodes, d.edges, d.runData, d.metrics, d.transitions, d.idempotency, d.counters, d.events, d.docs} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

type dumper struct {
	ctx context.Context
	tx  *sql.Tx
	fn  func(*lineage.Record) error
}

// each runs a query and calls scan for every row. An error of fn is
// returned as is (Dumper's contract), a database error through formatError.
func (d *dumper) each(op, q string, scan func(*sql.Rows) error) error {
	rows, err := d.tx.QueryContext(d.ctx, q)
	if err != nil {
		return formatError(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return formatError(op, rows.Err())
}

// fnError marks an error returned by fn, so that each does not wrap it.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

func (d *dumper) emit(r *lineage.Record) error {
	if err := d.fn(r); err != nil {
		return fnError{err}
	}
	return nil
}

func (d *dumper) nodes() error {
	return d.unwrap(d.each("dump nodes", `SELECT `+nodeCols+` FROM nodes ORDER BY seq`, func(rows *sql.Rows) error {
		n, err := scanNode(rows)
		if err != nil {
			return formatError("dump nodes", err)
		}
		return d.emit(&lineage.Record{Node: n})
	}))
}

func (d *dumper) edges() error {
	q := `SELECT nf.id, nt.id, e.type, e.role, e.created_at, e.removed_at FROM edges e
		JOIN nodes nf ON nf.seq = e.src JOIN nodes nt ON nt.seq = e.dst ORDER BY e.seq`
	return d.unwrap(d.each("dump edges", q, func(rows *sql.Rows) error {
		var (
			e       lineage.Edge
			created int64
			removed sql.NullInt64
		)
		if err := rows.Scan(&e.From, &e.To, &e.Type, &e.Role, &created, &removed); err != nil {
			return formatError("dump edges", err)
		}
		e.CreatedAt = fromNanos(created)
		if removed.Valid {
			t := fromNanos(removed.Int64)
			e.RemovedAt = &t
		}
		return d.emit(&lineage.Record{Edge: &e})
	}))
}

// runData merges params and tags into one record per run, in node order.
// Each side comes in primary key order, so SQLite merges them without
// sorting (ordering by key as well would sort each run's rows).
func (d *dumper) runData() error {
	q := `SELECT n.id, p.run, 0, p.key, p.value FROM run_params p JOIN nodes n ON n.seq = p.run
		UNION ALL
		SELECT n.id, t.run, 1, t.key, t.value FROM run_tags t JOIN nodes n ON n.seq = t.run
		ORDER BY 2`
	var cur *lineage.RunKV
	curSeq := int64(-1)
	err := d.each("dump run data", q, func(rows *sql.Rows) error {
		var (
			id        lineage.ID
			seq, part int64
			k, v      string
		)
		if err := rows.Scan(&id, &seq, &part, &k, &v); err != nil {
			return formatError("dump run data", err)
		}
		if seq != curSeq {
			if cur != nil {
				if err := d.emit(&lineage.Record{RunData: cur}); err != nil {
					return err
				}
			}
			cur, curSeq = &lineage.RunKV{Run: id}, seq
		}
		m := &cur.Params
		if part == 1 {
			m = &cur.Tags
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[k] = v
		return nil
	})
	if err == nil && cur != nil {
		err = d.emit(&lineage.Record{RunData: cur})
	}
	return d.unwrap(err)
}

// metrics merges each history's chunks, read in order of their first
// step, into one ordered stream of points: a point is final once the next
// chunk starts at a later step.
func (d *dumper) metrics() error {
	q := `SELECT n.id, c.run, c.key, c.min_step, c.points FROM metric_chunks c
		JOIN nodes n ON n.seq = c.run ORDER BY c.run, c.key, c.min_step`
	var (
		chunker = lineage.NewMetricChunker(d.emit)
		curRun  = int64(-1)
		curID   lineage.ID
		curKey  string
		pending []point // sorted
	)
	// emitBefore passes on the pending points with step < limit.
	emitBefore := func(limit int64, all bool) error {
		i := 0
		for ; i < len(pending) && (all || pending[i].Step < limit); i++ {
			p := pending[i]
			if err := chunker.Add(curID, curKey, lineage.DumpPoint{Step: p.Step, Timestamp: fromNanos(p.TS), Value: lineage.MetricValue(p.Value)}); err != nil {
				return err
			}
		}
		pending = pending[:copy(pending, pending[i:])]
		return nil
	}
	err := d.each("dump metrics", q, func(rows *sql.Rows) error {
		var (
			id      lineage.ID
			run     int64
			key     string
			minStep int64
			blob    sql.RawBytes
		)
		if err := rows.Scan(&id, &run, &key, &minStep, &blob); err != nil {
			return formatError("dump metrics", err)
		}
		same := run == curRun && key == curKey
		if err := emitBefore(minStep, !same); err != nil {
			return err
		}
		curRun, curID, curKey = run, id, key
		n := len(pending)
		if err := decodePoints(blob, func(p point) { pending = append(pending, p) }); err != nil {
			return fmt.Errorf("dump: metric history of %s/%s: %w", id, key, err)
		}
		if n > 0 {
			slices.SortFunc(pending, comparePoints)
		}
		return nil
	})
	if err == nil {
		err = emitBefore(0, true)
	}
	if err == nil {
		err = chunker.Flush()
	}
	return d.unwrap(err)
}

func (d *dumper) transitions() error {
	q := `SELECT model_version, from_stage, to_stage, actor, reason, at, is_rollback FROM transitions ORDER BY seq`
	return d.unwrap(d.each("dump transitions", q, func(rows *sql.Rows) error {
		var (
			t  lineage.Transition
			at int64
		)
		if err := rows.Scan(&t.ModelVersion, &t.From, &t.To, &t.Actor, &t.Reason, &at, &t.Rollback); err != nil {
			return formatError("dump transitions", err)
		}
		t.At = fromNanos(at)
		return d.emit(&lineage.Record{Transition: &t})
	}))
}

func (d *dumper) idempotency() error {
	q := `SELECT key, operation, digest, result, created_at FROM idempotency ORDER BY key`
	return d.unwrap(d.each("dump idempotency", q, func(rows *sql.Rows) error {
		var (
			r       lineage.IdempotencyRecord
			created int64
		)
		if err := rows.Scan(&r.Key, &r.Operation, &r.Digest, &r.Result, &created); err != nil {
			return formatError("dump idempotency", err)
		}
		r.CreatedAt = fromNanos(created)
		return d.emit(&lineage.Record{Idempotency: &r})
	}))
}

func (d *dumper) counters() error {
	return d.unwrap(d.each("dump counters", `SELECT name, value FROM counters ORDER BY name`, func(rows *sql.Rows) error {
		var c lineage.Counter
		if err := rows.Scan(&c.Name, &c.Value); err != nil {
			return formatError("dump counters", err)
		}
		return d.emit(&lineage.Record{Counter: &c})
	}))
}

func (d *dumper) events() error {
	return d.unwrap(d.each("dump events", `SELECT `+eventCols+` FROM events ORDER BY seq`, func(rows *sql.Rows) error {
		var (
			e       lineage.Event
			payload []byte
			created int64
		)
		if err := rows.Scan(&e.Seq, &e.ID, &e.Model, &e.ModelSeq, &e.Type, &payload, &created); err != nil {
			return formatError("dump events", err)
		}
		if payload != nil {
			e.Payload = payload
		}
		e.CreatedAt = fromNanos(created)
		return d.emit(&lineage.Record{Event: &e})
	}))
}

// docs come by primary key: collection, then key, both in byte order.
func (d *dumper) docs() error {
	q := `SELECT collection, key, value FROM docs ORDER BY collection, key`
	return d.unwrap(d.each("dump docs", q, func(rows *sql.Rows) error {
		var (
			doc   lineage.Doc
			value []byte
		)
		if err := rows.Scan(&doc.Collection, &doc.Key, &value); err != nil {
			return formatError("dump docs", err)
		}
		doc.Value = value
		return d.emit(&lineage.Record{Doc: &doc})
	}))
}

// unwrap returns fn's own error as fn returned it.
func (d *dumper) unwrap(err error) error {
	if fe, ok := err.(fnError); ok {
		return fe.err
	}
	return err
}
