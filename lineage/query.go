package lineage

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Node returns a live node by ID. ENOTFOUND if absent or soft-deleted.
func (s *Service) Node(ctx context.Context, id ID) (Entity, error) { return s.live(ctx, "id", id) }

// live reads a live node a client named in the input field.
func (s *Service) live(ctx context.Context, field string, id ID) (Entity, error) {
	if _, err := ParseID(field, string(id)); err != nil {
		return nil, err
	}
	var e Entity
	err := s.view(ctx, func(tx ReadTx) error {
		n, err := exists(tx, field, id)
		if err == nil {
			e, err = Decode(n)
		}
		return err
	})
	return e, err
}

// Nodes returns entities by ID in the order of ids, nil where one is missing.
// Soft-deleted nodes are returned (with DeletedAt set) so lineage stays whole.
func (s *Service) Nodes(ctx context.Context, ids []ID) ([]Entity, error) {
	out := make([]Entity, len(ids))
	err := s.view(ctx, func(tx ReadTx) error {
		nodes, err := tx.Nodes(ids)
		if err != nil {
			return err
		}
		byID := make(map[ID]Entity, len(nodes))
		for _, n := range nodes {
			if byID[n.ID], err = Decode(n); err != nil {
				return err
			}
		}
		for i, id := range ids {
			out[i] = byID[id]
		}
		return nil
	})
	return out, err
}

// clampPage applies the page-size defaults and limits.
func clampPage(p Page) Page {
	if p.First <= 0 {
		p.First = DefaultPageSize
	}
	p.First = min(p.First, MaxPageSize)
	return p
}

// List returns live entities of a kind, optionally children of one node
// (versions of a dataset or model, runs of an experiment), oldest first.
func (s *Service) List(ctx context.Context, kind Kind, parent ID, page Page) (*EntityPage, error) {
	if !kind.Valid() {
		return nil, Invalid("kind", "unknown kind %q", kind)
	}
	var out EntityPage
	err := s.view(ctx, func(tx ReadTx) error {
		np, err := tx.List(kind, parent, clampPage(page))
		if err != nil {
			return err
		}
		out.EndCursor, out.HasNext = np.EndCursor, np.HasNext
		for _, n := range np.Nodes {
			e, err := Decode(n)
			if err != nil {
				return err
			}
			out.Entities = append(out.Entities, e)
		}
		return nil
	})
	return &out, err
}

// byName reads a logical node by its name.
func byName[T Entity](s *Service, ctx context.Context, kind Kind, field, name string) (T, error) {
	var out T
	canon, err := checkName(field, name)
	if err != nil {
		return out, err
	}
	err = s.view(ctx, func(tx ReadTx) error {
		out, err = get[T](tx, NewID(kind, canon))
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		err = &Error{Code: ENOTFOUND, Field: field, Message: fmt.Sprintf("%s: %q not found", field, name)}
	}
	return out, err
}

func (s *Service) Dataset(ctx context.Context, name string) (*Dataset, error) {
	return byName[*Dataset](s, ctx, KindDataset, "name", name)
}

func (s *Service) Experiment(ctx context.Context, name string) (*Experiment, error) {
	return byName[*Experiment](s, ctx, KindExperiment, "name", name)
}

func (s *Service) Model(ctx context.Context, name string) (*Model, error) {
	return byName[*Model](s, ctx, KindModel, "name", name)
}

func (s *Service) FeatureSet(ctx context.Context, name string) (*FeatureSet, error) {
	return byName[*FeatureSet](s, ctx, KindFeatureSet, "name", name)
}

func (s *Service) Pipeline(ctx context.Context, name string) (*Pipeline, error) {
	return byName[*Pipeline](s, ctx, KindPipeline, "name", name)
}

func (s *Service) DatasetVersion(ctx context.Context, dataset string, version int64) (*DatasetVersion, error) {
	canon, err := checkName("dataset", dataset)
	if err != nil {
		return nil, err
	}
	var dv *DatasetVersion
	err = s.view(ctx, func(tx ReadTx) error {
		dv, err = get[*DatasetVersion](tx, NewID(KindDatasetVersion, canon, itoa(version)))
		return err
	})
	return dv, err
}

func (s *Service) Run(ctx context.Context, id ID) (*Run, error) {
	var run *Run
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		run, err = getRun(tx, id)
		return err
	})
	return run, err
}

// RunData returns params, tags and metric summaries of runs (for loaders).
func (s *Service) RunData(ctx context.Context, ids []ID) (map[ID]*RunData, error) {
	var out map[ID]*RunData
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.RunData(ids)
		return err
	})
	return out, err
}

// Runs searches runs with the filter language and orderBy terms.
func (s *Service) Runs(ctx context.Context, in RunsInput) (*RunsPage, error) {
	filter, err := ParseFilter(in.Filter)
	if err != nil {
		return nil, err
	}
	order, err := ParseOrderBy("orderBy", in.OrderBy)
	if err != nil {
		return nil, err
	}
	q := RunQuery{Filter: filter, OrderBy: order, Page: clampPage(in.Page)}
	if in.Experiment != "" {
		exp, err := byName[*Experiment](s, ctx, KindExperiment, "experiment", in.Experiment)
		if err != nil {
			return nil, err
		}
		q.Experiment = exp.ID
	}
	rp, err := s.store.SearchRuns(ctx, q)
	if err != nil {
		return nil, err
	}
	entities, err := s.Nodes(ctx, rp.IDs)
	if err != nil {
		return nil, err
	}
	out := &RunsPage{EndCursor: rp.EndCursor, HasNext: rp.HasNext}
	for _, e := range entities {
		if r, ok := e.(*Run); ok {
			out.Runs = append(out.Runs, r)
		}
	}
	return out, nil
}

// MetricHistory returns a metric's points by step (at most MaxMetricBatch).
func (s *Service) MetricHistory(ctx context.Context, q MetricHistoryQuery) ([]MetricPoint, error) {
	if err := checkKey("key", q.Key); err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > MaxMetricBatch {
		q.Limit = MaxMetricBatch
	}
	var pts []MetricPoint
	err := s.view(ctx, func(tx ReadTx) error {
		if _, err := getRun(tx, q.Run); err != nil {
			return err
		}
		var err error
		pts, err = tx.MetricHistory(q)
		return err
	})
	return pts, err
}

// ModelVersion selects one version of a model by number, stage (the newest
// version in it) or alias.
func (s *Service) ModelVersion(ctx context.Context, model string, sel VersionSelector) (*ModelVersion, error) {
	n := 0
	for _, set := range []bool{sel.Version != nil, sel.Stage != nil, sel.Alias != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, Invalid("version", "give exactly one of version, stage and alias")
	}
	if sel.Stage != nil && !sel.Stage.Valid() {
		return nil, Invalid("stage", "must be NONE, STAGING, PRODUCTION or ARCHIVED")
	}
	var mv *ModelVersion
	err := s.view(ctx, func(tx ReadTx) error {
		m, err := getModel(tx, "model", model)
		if err != nil {
			return err
		}
		switch {
		case sel.Version != nil:
			mv, err = getVersion(tx, model, *sel.Version)
			return err
		case sel.Alias != "":
			canon, err := checkName("alias", sel.Alias)
			if err != nil {
				return err
			}
			v, ok := m.Aliases[canon]
			if !ok {
				return &Error{Code: ENOTFOUND, Field: "alias", Message: fmt.Sprintf("alias: %s has no alias %q", m.Name, sel.Alias)}
			}
			mv, err = getVersion(tx, model, v)
			return err
		}
		all, err := versions(tx, m.ID)
		if err != nil {
			return err
		}
		for _, v := range slices.Backward(all) {
			if v.Stage == *sel.Stage {
				mv = v
				return nil
			}
		}
		return &Error{Code: ENOTFOUND, Field: "stage", Message: fmt.Sprintf("stage: %s has no version in %s", m.Name, *sel.Stage)}
	})
	return mv, err
}

// Transitions returns the audit trail of versions, oldest first.
func (s *Service) Transitions(ctx context.Context, versions []ID) ([]Transition, error) {
	var out []Transition
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.Transitions(versions)
		return err
	})
	return out, err
}

// Edges returns a node's current edges in one direction.
func (s *Service) Edges(ctx context.Context, id ID, dir Direction, types ...EdgeType) ([]Edge, error) {
	var out []Edge
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.Edges(id, dir, types...)
		return err
	})
	return out, err
}

// Search finds live nodes by name (type-ahead).
func (s *Service) Search(ctx context.Context, text string, kinds []Kind, limit int) ([]Entity, error) {
	if err := checkLine("query", text, 200); err != nil {
		return nil, err
	}
	for i, k := range kinds {
		if !k.Valid() {
			return nil, Invalid(indexed("kinds", i), "unknown kind %q", k)
		}
	}
	if limit <= 0 || limit > MaxSearchResults {
		limit = MaxSearchResults
	}
	nodes, err := s.store.Search(ctx, text, kinds, limit)
	if err != nil {
		return nil, err
	}
	var out []Entity
	for _, n := range nodes {
		if n.DeletedAt != nil {
			continue
		}
		e, err := Decode(n)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Events returns committed events after a global sequence number.
func (s *Service) Events(ctx context.Context, model string, afterSeq int64, types []EventType, limit int) ([]Event, error) {
	if model != "" {
		canon, err := checkName("model", model)
		if err != nil {
			return nil, err
		}
		model = canon
	}
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	var out []Event
	for {
		evs, err := s.store.Events(ctx, model, afterSeq, limit)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if len(types) == 0 || slices.Contains(types, e.Type) {
				out = append(out, e)
			}
		}
		if len(evs) < limit || len(out) >= limit {
			return out[:min(len(out), limit)], nil
		}
		afterSeq = evs[len(evs)-1].Seq
	}
}

// Subscribe streams a model's events (all models if model is "") as they
// commit, starting after afterSeq (a global Seq; negative: only new events).
// The channel is closed when ctx is done or the store fails.
func (s *Service) Subscribe(ctx context.Context, model string, types []EventType, afterSeq int64) (<-chan Event, error) {
	if model != "" {
		canon, err := checkName("model", model)
		if err != nil {
			return nil, err
		}
		model = canon
	}
	if afterSeq < 0 {
		head, err := s.store.LastEventSeq(ctx)
		if err != nil {
			return nil, err
		}
		afterSeq = head
	}
	ch := make(chan Event, 16)
	go func() {
		defer close(ch)
		for {
			wake := s.broker.wait() // taken before reading, so no commit is missed
			evs, err := s.store.Events(ctx, model, afterSeq, MaxPageSize)
			if err != nil {
				return
			}
			for _, e := range evs {
				afterSeq = e.Seq
				if len(types) > 0 && !slices.Contains(types, e.Type) {
					continue
				}
				select {
				case ch <- e:
				case <-ctx.Done():
					return
				}
			}
			if len(evs) == MaxPageSize {
				continue
			}
			select {
			case <-wake:
			case <-time.After(5 * time.Second): // commits by other replicas
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
