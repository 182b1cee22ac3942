package lineage

import (
	"encoding/json"
	"fmt"
	"time"
)

// encode turns an entity into its storage form; its Label is the name
// the store searches.
func encode(e Entity, parent ID) (*Node, error) {
	props, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", EntityID(e), err)
	}
	m := e.meta()
	return &Node{
		ID: m.ID, Kind: e.Kind(), Parent: parent, Name: Label(e), Props: props,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, DeletedAt: m.DeletedAt,
	}, nil
}

// Decode turns a stored node into its typed entity.
func Decode(n *Node) (Entity, error) {
	e := newEntity(n.Kind)
	if e == nil {
		return nil, fmt.Errorf("decode %s: unknown kind %q", n.ID, n.Kind)
	}
	if len(n.Props) > 0 {
		if err := json.Unmarshal(n.Props, e); err != nil {
			return nil, fmt.Errorf("decode %s: %w", n.ID, err)
		}
	}
	m := e.meta()
	m.ID, m.CreatedAt, m.UpdatedAt, m.DeletedAt = n.ID, n.CreatedAt, n.UpdatedAt, n.DeletedAt
	return e, nil
}

// get reads one entity of a known type. ENOTFOUND if absent, deleted, or of
// another kind.
func get[T Entity](tx ReadTx, id ID) (T, error) {
	var zero T
	n, err := tx.Node(id)
	if err != nil {
		return zero, err
	}
	if n.DeletedAt != nil {
		return zero, Errorf(ENOTFOUND, "%s not found", id)
	}
	e, err := Decode(n)
	if err != nil {
		return zero, err
	}
	t, ok := e.(T)
	if !ok {
		return zero, Errorf(ENOTFOUND, "%s not found", id)
	}
	return t, nil
}

// create stores a new entity, stamping its times.
func create(tx Tx, e Entity, parent ID, now time.Time) error {
	m := e.meta()
	m.CreatedAt, m.UpdatedAt = now, now
	n, err := encode(e, parent)
	if err != nil {
		return err
	}
	return tx.CreateNode(n)
}

// update stores a changed entity. The parent is never changed by an update.
func update(tx Tx, e Entity, now time.Time) error {
	e.meta().UpdatedAt = now
	n, err := encode(e, "")
	if err != nil {
		return err
	}
	return tx.UpdateNode(n)
}

// RunAttributes are the attributes of a run that backends copy out of its
// props to filter and sort runs on (see RunQuery); nil where absent.
type RunAttributes struct {
	Status, Name, Experiment, Pipeline *string
	StartedAt, EndedAt                 *time.Time // UTC
}

// DecodeRunAttributes reads a run's attributes from its props; all nil
// for props that do not decode, and a time that does not parse is nil.
func DecodeRunAttributes(props json.RawMessage) RunAttributes {
	var a RunAttributes
	var raw struct {
		Status     *string `json:"status"`
		Name       *string `json:"name"`
		Experiment *string `json:"experiment"`
		Pipeline   *string `json:"pipeline"`
		StartedAt  *string `json:"startedAt"`
		EndedAt    *string `json:"endedAt"`
	}
	if len(props) == 0 || json.Unmarshal(props, &raw) != nil {
		return a
	}
	a.Status, a.Name, a.Experiment, a.Pipeline = raw.Status, raw.Name, raw.Experiment, raw.Pipeline
	for _, f := range []struct {
		src *string
		dst **time.Time
	}{{raw.StartedAt, &a.StartedAt}, {raw.EndedAt, &a.EndedAt}} {
		if f.src == nil {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, *f.src); err == nil {
			t = t.UTC()
			*f.dst = &t
		}
	}
	return a
}
