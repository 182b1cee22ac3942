package lineage

// Results of the Service's read-side queries.

// LineageGraph is a lineage query's answer: entities with their distance
// from the start node, the edges between them, and whether a limit cut it.
type LineageGraph struct {
	Nodes     []LineageNode
	Edges     []Edge
	Truncated bool
}

type LineageNode struct {
	Node  Entity
	Depth int
}

// Impact is everything downstream of a node that matters operationally.
type Impact struct {
	Of            Entity
	Runs          []*Run   // the first ImpactListLimit, newest first
	RunCount      int      // all downstream runs
	Data          []Entity // derived dataset versions, splits, feature set versions, artifacts: the first ImpactListLimit
	DataCount     int
	ModelVersions []StageGroup // all of them
	Deployments   []*Deployment
	Total         int  // downstream nodes counted
	Truncated     bool // the traversal hit MaxImpactNodes
}

// StageGroup is the model versions of one stage, in the order
// PRODUCTION, STAGING, NONE, ARCHIVED.
type StageGroup struct {
	Stage    Stage
	Versions []*ModelVersion
}

// RunComparison puts runs side by side.
type RunComparison struct {
	Runs    []*Run
	Params  []ParamRow
	Metrics []MetricRow
	Inputs  []InputRow
	Code    []CodeRow
}

// ParamRow is one param across the compared runs; Values[i] belongs to
// Runs[i], nil where a run lacks it.
type ParamRow struct {
	Key     string
	Values  []*string
	Differs bool
}

// MetricRow is one metric's summary across runs; Best is the index of the
// run with the best last value (the lowest for loss/error-like names, the
// highest otherwise), -1 if none has it.
type MetricRow struct {
	Key            string
	Values         []*MetricSummary
	Best           int
	HigherIsBetter bool
	Differs        bool
}

// InputRow is one role's inputs across runs (datasets, splits, features).
type InputRow struct {
	Role    string
	Values  [][]ID // Values[i]: the inputs of Runs[i] in that role
	Differs bool
}

// CodeRow is the code version each run ran.
type CodeRow struct {
	Values  []*CodeVersion
	Differs bool
}

// ModelVersionDiff is what changed between two versions' upstream lineage.
type ModelVersionDiff struct {
	From, To    *ModelVersion
	Data        []Change // dataset versions and splits
	Features    []Change
	Code        []Change
	Environment []PackageChange
	Params      []ValueChange
	Metrics     []MetricDelta
	Runs        [2]*Run
}

// Change is an entity only on one side, or replaced between them.
type Change struct {
	Kind   ChangeKind
	Before Entity // nil when ADDED
	After  Entity // nil when REMOVED
}

type ChangeKind string

const (
	Added   ChangeKind = "ADDED"
	Removed ChangeKind = "REMOVED"
	Changed ChangeKind = "CHANGED"
)

type PackageChange struct {
	Name          string
	Kind          ChangeKind
	Before, After string
}

type ValueChange struct {
	Key           string
	Kind          ChangeKind
	Before, After *string
}

type MetricDelta struct {
	Key           string
	Before, After *float64
	Delta         *float64 // After - Before when both exist
}

// Reproduction is everything needed to rebuild a model version.
type Reproduction struct {
	ModelVersion *ModelVersion
	Run          *Run
	Code         *CodeVersion
	Environment  *Environment
	Inputs       []ReproductionInput // upstream data with digests
	Params       map[string]string
	Seeds        map[string]int64 // split seeds and params whose key names a seed
}

type ReproductionInput struct {
	Role   string // the role it was used in, "" when reached indirectly
	Node   Entity
	Digest string
}
