-- +goose Up

-- A run's params, tags and metric summaries as one row of JSON, for
-- RunData: comparing 100 runs of 50 params and 50 metrics read 10,000 rows
-- of run_params and run_metrics through the driver (~20 ms); 100 rows of
-- run_data take ~2 ms. The tables above stay the truth, and what runs
-- filter and sort on; the Store recomputes a run's columns from them, with
-- the expressions below, in the transaction that changed them.
--
-- params and tags are arrays of [key, value] (not objects: json_group_object
-- cuts a key at a NUL byte), metrics an array of [key, last, last_step,
-- min, max, count], null for NaN; each in key order. SQLite renders REAL in
-- JSON with enough digits to round-trip, and strings byte for byte.
--
-- A part of a run with more than 128 entries is NULL: read from its table.
-- Recomputing a part costs ~2.5 µs an entry at every commit that changes
-- it (a 1,000-point logMetrics batch takes ~1 ms), so a bound keeps wide
-- runs (per-layer, per-class metrics) cheap to log to. The bound may
-- change; a reader relies only on NULL meaning "in the table".
CREATE TABLE run_data (
    run     INTEGER PRIMARY KEY REFERENCES nodes (seq) ON DELETE CASCADE,
    params  TEXT    DEFAULT '[]',
    tags    TEXT    DEFAULT '[]',
    metrics TEXT    DEFAULT '[]'
);
INSERT INTO run_data (run, params, tags, metrics)
SELECT r.run,
    CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM run_params WHERE run = r.run LIMIT 129)) <= 128 THEN
        (SELECT json_group_array(json_array(key, value) ORDER BY key) FROM run_params WHERE run = r.run) END,
    CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM run_tags WHERE run = r.run LIMIT 129)) <= 128 THEN
        (SELECT json_group_array(json_array(key, value) ORDER BY key) FROM run_tags WHERE run = r.run) END,
    CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM run_metrics WHERE run = r.run LIMIT 129)) <= 128 THEN
        (SELECT json_group_array(json_array(key, last, last_step, min, max, count) ORDER BY key)
            FROM run_metrics WHERE run = r.run) END
FROM (SELECT run FROM run_params UNION SELECT run FROM run_tags UNION SELECT run FROM run_metrics) r;

-- Counts the commits that changed provenance edges (added, removed, or
-- gone with a hard-deleted node). The in-memory index holds the version it
-- mirrors, so a read transaction whose snapshot has the same version can
-- take a node's edges from the index instead of SQL.
CREATE TABLE graph_version (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL
);
INSERT INTO graph_version (one, version) VALUES (1, 0);

-- +goose Down
DROP TABLE graph_version;
DROP TABLE run_data;
