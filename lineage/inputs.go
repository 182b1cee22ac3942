package lineage

import (
	"encoding/json"
	"time"
)

// Inputs of the Service's mutations. Validation lives in each input's
// Validate method, so every backend and transport gets the same rules.

type RegisterDatasetVersionInput struct {
	Dataset     string
	URI         string
	Digest      string // e.g. "sha256:…"; registering the same digest again returns the existing version
	Format      string
	Rows        *int64
	Schema      []Column
	Stats       json.RawMessage
	Description string
	Tags        map[string]string
	DerivedFrom []ID // DERIVED_FROM edges, recorded without a run

	// Upload, Size and Verified are set by the transport, never by a
	// client directly: see Upload. They are omitted from idempotency
	// digests when empty.
	Upload   string `json:",omitempty"`
	Size     *int64 `json:",omitempty"`
	Verified bool   `json:",omitempty"`
}

// Uploads. A client that uploaded bytes to Pedigree's artifact storage
// names the blob by its digest (Upload). lineage does not import the
// storage: the transport (resolvers) looks the blob up, replaces the URI,
// digest and size with what the storage computed, and sets Verified. The
// Service accepts a pedigree:// URI only with Verified set, so a client
// cannot claim a stored, checked blob by typing its URI, and refuses an
// Upload that no transport resolved. External URIs (s3://, gs://, …) are
// references: never fetched, never Verified.

type SplitInput struct {
	Name     string
	Digest   string
	Rows     *int64
	Fraction *float64
}

type RegisterSplitsInput struct {
	DatasetVersion ID
	Strategy       string // random, stratified, time, …
	Seed           *int64
	Splits         []SplitInput
}

type RegisterFeatureSetVersionInput struct {
	FeatureSet     string
	Features       []Feature
	Transformation string
	Sources        []ID // what the features are derived from (DERIVED_FROM)
	Description    string
	Tags           map[string]string
}

type RegisterCodeVersionInput struct {
	Repository string
	Commit     string
	Branch     string
	Path       string
	Dirty      bool
	DiffDigest string // digest of the uncommitted diff; part of the identity when Dirty
}

type RegisterEnvironmentInput struct {
	Language        string
	LanguageVersion string
	Packages        []Package
	ImageDigest     string
	Hardware        map[string]string
}

type RegisterArtifactInput struct {
	Name        string
	Type        string
	URI         string
	Digest      string // same (name, digest) again returns the existing version
	MediaType   string
	Size        *int64
	Run         ID // optional producing run (GENERATED_BY)
	DerivedFrom []ID
	Description string
	Tags        map[string]string

	// Set by the transport from an upload; see RegisterDatasetVersionInput.
	Upload   string `json:",omitempty"`
	Verified bool   `json:",omitempty"`
}

// RunInput is an input of a run and the role it played.
type RunInput struct {
	Node ID
	Role string
}

type StartRunInput struct {
	Experiment     string
	Pipeline       string
	Name           string
	Params         map[string]string
	Tags           map[string]string
	Trigger        Trigger
	Parent         ID // CHILD_OF, for nested runs and tuning trials
	Code           ID // RAN_CODE
	Environment    ID // RAN_IN
	Inputs         []RunInput
	StartedAt      *time.Time // default: now
	Description    string
	IdempotencyKey string
}

type FinishRunInput struct {
	Run     ID
	Status  RunStatus // FINISHED, FAILED or KILLED
	EndedAt *time.Time
	Compute map[string]string
}

type RegisterModelVersionInput struct {
	Model          string
	Run            ID // required: the run that produced the artifact
	ArtifactURI    string
	ArtifactDigest string
	Framework      string
	Signature      json.RawMessage
	Description    string
	Tags           map[string]string
	IdempotencyKey string

	// Set by the transport from an upload; see RegisterDatasetVersionInput.
	Upload       string `json:",omitempty"`
	ArtifactSize *int64 `json:",omitempty"`
	Verified     bool   `json:",omitempty"`
}

type TransitionInput struct {
	Model           string
	Version         int64
	Stage           Stage
	ArchiveExisting bool   // archive the current holder of the stage (always for PRODUCTION)
	ExpectedStage   *Stage // compare-and-swap: CONFLICT unless the version is in this stage
	Reason          string
}

type RecordDeploymentInput struct {
	Model       string
	Version     int64
	Environment string
	Status      DeploymentStatus
	Endpoint    string
	ExternalID  string
	URL         string
	Message     string
}

// UpdateModelInput changes a model; nil fields are left as they are.
type UpdateModelInput struct {
	Model        string
	Description  *string
	AutoRollback *bool
}

// VersionSelector picks one version of a model: by number, stage or alias
// (exactly one of them).
type VersionSelector struct {
	Version *int64
	Stage   *Stage
	Alias   string
}

// LineageInput is the lineage query.
type LineageInput struct {
	Of        ID
	Direction Direction
	Depth     int    // 0: DefaultDepth; capped at MaxDepth
	Kinds     []Kind // only return nodes of these kinds (Of always returned)
	AsOf      *time.Time
	Limit     int // 0: DefaultLimit; capped at MaxLimit
}
