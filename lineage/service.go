package lineage

import (
	"context"
	"time"
)

// Limits bound what one call may ask for. They are documented in the README.
const (
	DefaultDepth     = 5      // lineage hops when none is asked for
	MaxDepth         = 25     // lineage hops at most
	DefaultLimit     = 1000   // lineage nodes when no limit is asked for
	MaxLimit         = 10000  // lineage nodes at most
	MaxImpactNodes   = 100000 // downstream nodes impact walks at most
	ImpactListLimit  = 500    // runs and data listed by impact; counts cover all
	DefaultPageSize  = 50
	MaxPageSize      = 1000
	MaxMetricBatch   = 10000 // points per logMetrics call
	MaxBatch         = 1000  // params, tags, inputs, outputs, splits, features, packages per call
	MaxCompareRuns   = 100
	MaxNameLen       = 128
	MaxKeyLen        = 250
	MaxValueLen      = 6000 // param and tag values, like MLflow
	MaxDescription   = 10000
	MaxURILen        = 2048
	MaxSearchResults = 100
)

// Service holds Pedigree's rules above a Store. It is safe for concurrent use.
type Service struct {
	store  Store
	now    func() time.Time
	broker *broker
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (for tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// NewService returns a Service on store.
func NewService(store Store, opts ...Option) *Service {
	s := &Service{store: store, now: time.Now, broker: newBroker()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Store returns the store the Service runs on.
func (s *Service) Store() Store { return s.store }

type actorKey struct{}

// WithActor returns a context whose mutations are attributed to actor.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor of a context, "anonymous" if none.
func ActorFrom(ctx context.Context) string {
	if a, _ := ctx.Value(actorKey{}).(string); a != "" {
		return a
	}
	return "anonymous"
}

// EntityPage is a window of a list of entities.
type EntityPage struct {
	Entities  []Entity
	EndCursor string
	HasNext   bool
}

// RunsInput is the runs query as a client writes it.
type RunsInput struct {
	Filter     string   // see ParseFilter
	Experiment string   // experiment name, optional
	OrderBy    []string // see ParseOrderBy
	Page       Page
}

// RunsPage is a window of runs.
type RunsPage struct {
	Runs      []*Run
	EndCursor string
	HasNext   bool
}
