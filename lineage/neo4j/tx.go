package neo4j

import (
	"context"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/pedigree-ml/pedigree/lineage"
)

// reader implements lineage.ReadTx on a managed transaction.
type reader struct {
	ctx context.Context
	tx  neo4j.ManagedTransaction // or an explicit one: both Run statements
	s   *Store
}

// collect runs a statement and returns all its records.
func (r *reader) collect(q string, params map[string]any) ([]*neo4j.Record, error) {
	res, err := r.tx.Run(r.ctx, q, params)
	if err != nil {
		return nil, err
	}
	return res.Collect(r.ctx)
}

// single runs a statement that returns at most one record; nil if none.
func (r *reader) single(q string, params map[string]any) (*neo4j.Record, error) {
	recs, err := r.collect(q, params)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	return recs[0], nil
}

// exec runs a statement for its effect.
func (r *reader) exec(q string, params map[string]any) error {
	res, err := r.tx.Run(r.ctx, q, params)
	if err != nil {
		return err
	}
	_, err = res.Consume(r.ctx)
	return err
}

func notFound(id lineage.ID) error {
	return lineage.Errorf(lineage.ENOTFOUND, "%s not found", id)
}

// txn implements lineage.Tx. Sequence counters (node, edge, transition and
// event order) are read once per transaction and written back by flush:
// the writer lock makes that safe and saves a round trip per write.
type txn struct {
	reader
	seqs map[string]*seqCounter
}

type seqCounter struct {
	value int64
	dirty bool
}
