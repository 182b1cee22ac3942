-- +goose Up

-- seq is the insertion order and the internal key other tables reference;
-- id is the public, stable ID. name_fold is name lower-cased (Unicode) for
-- case-insensitive search. Times are unix nanoseconds. The run_* columns
-- copy a run's attributes out of props when it is written, so that runs
-- filter and sort on indexed columns instead of parsing JSON per row.
CREATE TABLE nodes (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT    NOT NULL UNIQUE,
    kind           TEXT    NOT NULL,
    parent         TEXT    NOT NULL DEFAULT '',
    name           TEXT    NOT NULL DEFAULT '',
    name_fold      TEXT    NOT NULL DEFAULT '',
    props          TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER,
    run_status     TEXT,
    run_name       TEXT,
    run_experiment TEXT,
    run_pipeline   TEXT,
    run_started_at INTEGER,
    run_ended_at   INTEGER
);
-- List: kind [+ parent] in insertion order (seq is implicit in every index).
CREATE INDEX nodes_kind ON nodes (kind);
CREATE INDEX nodes_kind_parent ON nodes (kind, parent);
-- Search: prefix range and ordered substring scan over live nodes.
CREATE INDEX nodes_name ON nodes (name_fold, kind) WHERE deleted_at IS NULL;
-- SearchRuns: newest first, all runs or one experiment's, or of a status;
-- by start or end time. Each ends in created_at (and seq, implicitly), the
-- tie-breakers, so that the index yields the whole order and a page stops
-- early instead of sorting every run.
CREATE INDEX nodes_runs ON nodes (created_at) WHERE kind = 'Run';
CREATE INDEX nodes_runs_parent ON nodes (parent, created_at) WHERE kind = 'Run';
CREATE INDEX nodes_runs_status ON nodes (run_status, created_at) WHERE kind = 'Run';
CREATE INDEX nodes_runs_started ON nodes (run_started_at, created_at) WHERE kind = 'Run';
CREATE INDEX nodes_runs_ended ON nodes (run_ended_at, created_at) WHERE kind = 'Run';

-- Endpoints reference nodes.seq: smaller rows, integer joins, and the
-- in-memory index can use seq directly as its node number.
CREATE TABLE edges (
    seq        INTEGER PRIMARY KEY,
    src        INTEGER NOT NULL REFERENCES nodes (seq) ON DELETE CASCADE,
    dst        INTEGER NOT NULL REFERENCES nodes (seq) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    role       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    removed_at INTEGER
);
-- An identical unremoved edge exists at most once (AddEdge is a no-op then).
CREATE UNIQUE INDEX edges_live ON edges (src, dst, type, role) WHERE removed_at IS NULL;
CREATE INDEX edges_src ON edges (src);
CREATE INDEX edges_dst ON edges (dst);

CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE run_params (
    run   INTEGER NOT NULL REFERENCES nodes (seq) ON DELETE CASCADE,
    key   TEXT    NOT NULL,
    value TEXT    NOT NULL,
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE INDEX run_params_kv ON run_params (key, value);

CREATE TABLE run_tags (
    run   INTEGER NOT NULL REFERENCES nodes (seq) ON DELETE CASCADE,
    key   TEXT    NOT NULL,
    value TEXT    NOT NULL,
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE INDEX run_tags_kv ON run_tags (key, value);

-- Summary of each metric of a run. NULL last/min/max stand for NaN.
CREATE TABLE run_metrics (
    run       INTEGER NOT NULL REFERENCES nodes (seq) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    last      REAL,
    last_step INTEGER NOT NULL,
    last_ts   INTEGER NOT NULL,
    min       REAL,
    max       REAL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE INDEX run_metrics_key_last ON run_metrics (key, last);

-- Metric histories, in chunks: the points one LogMetrics call logged for
-- one key, sorted and packed (see encodePoints). A row per point costs
-- ~3 µs to insert with this driver, a chunk of a thousand ~50 µs.
-- digest (CRC-64 of points) makes a retried batch a no-op.
CREATE TABLE metric_chunks (
    id       INTEGER PRIMARY KEY,
    run      INTEGER NOT NULL REFERENCES nodes (seq) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    min_step INTEGER NOT NULL,
    max_step INTEGER NOT NULL,
    digest   INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    points   BLOB    NOT NULL
);
CREATE UNIQUE INDEX metric_chunks_series ON metric_chunks (run, key, min_step, digest);

CREATE TABLE transitions (
    seq           INTEGER PRIMARY KEY,
    model_version TEXT    NOT NULL,
    from_stage    TEXT    NOT NULL,
    to_stage      TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    is_rollback   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX transitions_version ON transitions (model_version);

CREATE TABLE idempotency (
    key        TEXT    PRIMARY KEY,
    operation  TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    result     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- The outbox. AUTOINCREMENT: a seq is never reused, and with one writer
-- seq order is commit order, so a reader polling "seq > last" misses nothing.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    model      TEXT    NOT NULL,
    model_seq  INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    payload    TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_model ON events (model);
CREATE INDEX events_model_seq ON events (model, model_seq);

-- +goose Down
DROP TABLE events;
DROP TABLE idempotency;
DROP TABLE transitions;
DROP TABLE metric_chunks;
DROP TABLE run_metrics;
DROP TABLE run_tags;
DROP TABLE run_params;
DROP TABLE counters;
DROP TABLE edges;
DROP TABLE nodes;
