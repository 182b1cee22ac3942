-- +goose Up

-- Documents (lineage.Doc): small JSON values by collection and key, beside
-- the graph. The primary key is the only index: Doc is a point lookup,
-- Docs a range of it (keys compare bytewise, BINARY collation, which is
-- the order the Store contract gives). value is a BLOB so that it comes
-- back byte for byte: nothing here reads it as JSON.
CREATE TABLE docs (
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB,
    PRIMARY KEY (collection, key)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE docs;
