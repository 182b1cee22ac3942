package lineage

import (
	"encoding/json"
	"slices"
	"time"
)

// Meta holds what every node has. Props of a node are the rest of its struct,
// stored as JSON by the backend.
type Meta struct {
	ID          ID                `json:"-"`
	CreatedAt   time.Time         `json:"-"`
	UpdatedAt   time.Time         `json:"-"`
	DeletedAt   *time.Time        `json:"-"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

func (m *Meta) meta() *Meta { return m }

// Entity is any typed node: *Dataset, *DatasetVersion, … *Deployment.
type Entity interface {
	meta() *Meta
	Kind() Kind
}

// EntityID returns an entity's ID.
func EntityID(e Entity) ID { return e.meta().ID }

// EntityMeta returns an entity's common fields.
func EntityMeta(e Entity) *Meta { return e.meta() }

type Dataset struct {
	Meta
	Name string `json:"name"`
}

type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type DatasetVersion struct {
	Meta
	Dataset string          `json:"dataset"`
	Version int64           `json:"version"`
	URI     string          `json:"uri,omitempty"`
	Digest  string          `json:"digest"`
	Format  string          `json:"format,omitempty"`
	Rows    *int64          `json:"rows,omitempty"`
	Schema  []Column        `json:"schema,omitempty"`
	Stats   json.RawMessage `json:"stats,omitempty"` // feature distributions, free-form JSON
	// Size is the data's length in bytes when the server stored it.
	Size *int64 `json:"size,omitempty"`
	// Verified: URI is a blob the server stored and hashed to Digest
	// (an upload); false for external references, which are never fetched.
	Verified bool `json:"verified,omitempty"`
}

type Split struct {
	Meta
	DatasetVersion ID       `json:"datasetVersion"`
	Name           string   `json:"name"`
	Digest         string   `json:"digest,omitempty"`
	Rows           *int64   `json:"rows,omitempty"`
	Fraction       *float64 `json:"fraction,omitempty"`
	Strategy       string   `json:"strategy,omitempty"`
	Seed           *int64   `json:"seed,omitempty"`
}

type FeatureSet struct {
	Meta
	Name string `json:"name"`
}

type Feature struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

type FeatureSetVersion struct {
	Meta
	FeatureSet     string    `json:"featureSet"`
	Version        int64     `json:"version"`
	Digest         string    `json:"digest"` // of features + transformation, computed by the server
	Features       []Feature `json:"features"`
	Transformation string    `json:"transformation,omitempty"`
}

type CodeVersion struct {
	Meta
	Repository string `json:"repository"` // normalized, see NormalizeRepository
	Commit     string `json:"commit"`
	Branch     string `json:"branch,omitempty"`
	Path       string `json:"path,omitempty"`
	Dirty      bool   `json:"dirty,omitempty"`
	DiffDigest string `json:"diffDigest,omitempty"`
}

type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type Environment struct {
	Meta
	Digest          string            `json:"digest"` // of everything below, computed by the server
	Language        string            `json:"language,omitempty"`
	LanguageVersion string            `json:"languageVersion,omitempty"`
	Packages        []Package         `json:"packages,omitempty"` // sorted by name
	ImageDigest     string            `json:"imageDigest,omitempty"`
	Hardware        map[string]string `json:"hardware,omitempty"`
}

type Experiment struct {
	Meta
	Name string `json:"name"`
}

type Pipeline struct {
	Meta
	Name string `json:"name"`
}

// RunStatus is the state of a run.
type RunStatus string

const (
	RunRunning  RunStatus = "RUNNING"
	RunFinished RunStatus = "FINISHED"
	RunFailed   RunStatus = "FAILED"
	RunKilled   RunStatus = "KILLED"
)

// TriggerKind says how a run was started.
type TriggerKind string

const (
	TriggerManual       TriggerKind = "MANUAL"
	TriggerCI           TriggerKind = "CI"
	TriggerSchedule     TriggerKind = "SCHEDULE"
	TriggerOrchestrator TriggerKind = "ORCHESTRATOR"
)

type Trigger struct {
	Kind       TriggerKind `json:"kind,omitempty"`
	Actor      string      `json:"actor,omitempty"`
	ExternalID string      `json:"externalId,omitempty"`
	URL        string      `json:"url,omitempty"`
}

// Run is one execution. Its params, tags and metric summaries are stored
// beside the node (RunData) so that runs can be filtered and sorted by them.
type Run struct {
	Meta
	Name       string            `json:"name,omitempty"`
	Experiment string            `json:"experiment"`
	Pipeline   string            `json:"pipeline,omitempty"`
	Status     RunStatus         `json:"status"`
	StartedAt  time.Time         `json:"startedAt"`
	EndedAt    *time.Time        `json:"endedAt,omitempty"`
	Trigger    Trigger           `json:"trigger"`
	Compute    map[string]string `json:"compute,omitempty"` // e.g. gpu_hours, instance_type
}

type Model struct {
	Meta
	Name    string           `json:"name"`
	Aliases map[string]int64 `json:"aliases,omitempty"` // alias → version
	// AutoRollback restores the previous Production version when a
	// deployment of the current one reports FAILED.
	AutoRollback bool `json:"autoRollback,omitempty"`
}

// Stage is a model version's registry stage.
type Stage string

const (
	StageNone       Stage = "NONE"
	StageStaging    Stage = "STAGING"
	StageProduction Stage = "PRODUCTION"
	StageArchived   Stage = "ARCHIVED"
)

// Valid reports whether s is one of the four stages.
func (s Stage) Valid() bool {
	switch s {
	case StageNone, StageStaging, StageProduction, StageArchived:
		return true
	}
	return false
}

type ModelVersion struct {
	Meta
	Model          string          `json:"model"`
	Version        int64           `json:"version"`
	Run            ID              `json:"run"`
	ArtifactURI    string          `json:"artifactUri"`
	ArtifactDigest string          `json:"artifactDigest,omitempty"`
	Framework      string          `json:"framework,omitempty"`
	Signature      json.RawMessage `json:"signature,omitempty"`
	Stage          Stage           `json:"stage"`
	Aliases        []string        `json:"aliases,omitempty"` // kept in step with Model.Aliases
	// ArtifactSize is the artifact's length in bytes, known when the
	// server stored it (nil otherwise).
	ArtifactSize *int64 `json:"artifactSize,omitempty"`
	// ArtifactVerified: ArtifactURI is a blob the server stored and hashed
	// to ArtifactDigest (an upload); false for external references.
	ArtifactVerified bool `json:"artifactVerified,omitempty"`
}

type Artifact struct {
	Meta
	Name      string `json:"name"`
	Version   int64  `json:"version"`
	Type      string `json:"type,omitempty"` // config, report, plot, image, …
	URI       string `json:"uri,omitempty"`
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType,omitempty"`
	Size      *int64 `json:"size,omitempty"`
	// Verified: URI is a blob the server stored and hashed to Digest, and
	// Size is its stored length (an upload); false for external references.
	Verified bool `json:"verified,omitempty"`
}

// DeploymentStatus is the state of a deployment.
type DeploymentStatus string

const (
	DeploymentPending        DeploymentStatus = "PENDING"
	DeploymentSucceeded      DeploymentStatus = "SUCCEEDED"
	DeploymentFailed         DeploymentStatus = "FAILED"
	DeploymentDecommissioned DeploymentStatus = "DECOMMISSIONED"
)

// Deployment is one model version in one environment. It SERVES its version
// until it is DECOMMISSIONED.
type Deployment struct {
	Meta
	Model       string           `json:"model"`
	Environment string           `json:"environment"`
	Version     int64            `json:"version"`
	Status      DeploymentStatus `json:"status"`
	Endpoint    string           `json:"endpoint,omitempty"`
	ExternalID  string           `json:"externalId,omitempty"`
	URL         string           `json:"url,omitempty"`
	Message     string           `json:"message,omitempty"` // from the deploy system, e.g. why it failed
	// DecommissionRequested is set while the version is archived: the
	// deployment should go, and goes when another version of the model
	// succeeds in the same environment.
	DecommissionRequested bool `json:"decommissionRequested,omitempty"`
}

func (*Dataset) Kind() Kind           { return KindDataset }
func (*DatasetVersion) Kind() Kind    { return KindDatasetVersion }
func (*Split) Kind() Kind             { return KindSplit }
func (*FeatureSet) Kind() Kind        { return KindFeatureSet }
func (*FeatureSetVersion) Kind() Kind { return KindFeatureSetVersion }
func (*CodeVersion) Kind() Kind       { return KindCodeVersion }
func (*Environment) Kind() Kind       { return KindEnvironment }
func (*Experiment) Kind() Kind        { return KindExperiment }
func (*Pipeline) Kind() Kind          { return KindPipeline }
func (*Run) Kind() Kind               { return KindRun }
func (*Model) Kind() Kind             { return KindModel }
func (*ModelVersion) Kind() Kind      { return KindModelVersion }
func (*Artifact) Kind() Kind          { return KindArtifact }
func (*Deployment) Kind() Kind        { return KindDeployment }

// newEntity returns an empty entity of kind k, for decoding.
func newEntity(k Kind) Entity {
	switch k {
	case KindDataset:
		return &Dataset{}
	case KindDatasetVersion:
		return &DatasetVersion{}
	case KindSplit:
		return &Split{}
	case KindFeatureSet:
		return &FeatureSet{}
	case KindFeatureSetVersion:
		return &FeatureSetVersion{}
	case KindCodeVersion:
		return &CodeVersion{}
	case KindEnvironment:
		return &Environment{}
	case KindExperiment:
		return &Experiment{}
	case KindPipeline:
		return &Pipeline{}
	case KindRun:
		return &Run{}
	case KindModel:
		return &Model{}
	case KindModelVersion:
		return &ModelVersion{}
	case KindArtifact:
		return &Artifact{}
	case KindDeployment:
		return &Deployment{}
	}
	return nil
}

// MetricPoint is one logged value of a metric.
type MetricPoint struct {
	Key       string
	Value     float64
	Step      int64
	Timestamp time.Time
}

// MetricSummary is what a run shows of one metric's history. Last is the
// value at the highest step (latest timestamp among equal steps).
type MetricSummary struct {
	Key      string
	Last     float64
	LastStep int64
	Min      float64
	Max      float64
	Count    int64
}

// RunData is what is stored beside a run node: params, tags and metric summaries.
type RunData struct {
	Params  map[string]string
	Tags    map[string]string
	Metrics []MetricSummary // sorted by key
}

// Transition is one entry of a model version's audit trail.
type Transition struct {
	ModelVersion ID
	From, To     Stage
	Actor        string
	Reason       string
	At           time.Time
	Rollback     bool // set on the transitions a rollbackModel made
}

// EventType names what happened in a registry event.
type EventType string

const (
	EventModelVersionRegistered EventType = "MODEL_VERSION_REGISTERED"
	EventStageChanged           EventType = "STAGE_CHANGED"
	EventRolledBack             EventType = "ROLLED_BACK"
	EventAliasSet               EventType = "ALIAS_SET"
	EventAliasDeleted           EventType = "ALIAS_DELETED"
	EventDeploymentRecorded     EventType = "DEPLOYMENT_RECORDED"
	// Events that concern no model have Model "" (and their own ModelSeq).
	EventRunFinished              EventType = "RUN_FINISHED"
	EventDatasetVersionRegistered EventType = "DATASET_VERSION_REGISTERED"
)

// EventTypes lists every EventType.
var EventTypes = []EventType{
	EventModelVersionRegistered, EventStageChanged, EventRolledBack, EventAliasSet, EventAliasDeleted,
	EventDeploymentRecorded, EventRunFinished, EventDatasetVersionRegistered,
}

// Valid reports whether t is one of EventTypes.
func (t EventType) Valid() bool { return slices.Contains(EventTypes, t) }

// Event is a committed change a deploy system cares about, written in the
// same transaction as the change (transactional outbox).
type Event struct {
	Seq       int64  // global, assigned by the store, increasing
	ID        string // unique, stable across redeliveries
	Model     string
	ModelSeq  int64 // per model ("" included), contiguous from 1, assigned by the Service
	Type      EventType
	Payload   json.RawMessage
	CreatedAt time.Time
}

// IdempotencyRecord remembers the result of a mutation called with an
// idempotency key, so a retry returns the same result.
type IdempotencyRecord struct {
	Key       string
	Operation string
	Digest    string // of the canonical request payload
	Result    ID
	CreatedAt time.Time
}
