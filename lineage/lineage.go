// Package lineage is Pedigree's domain: the kinds of node and edge in the
// lineage graph, their validation and invariants, the Store contract every
// backend implements, and the Service that holds the rules (version
// assignment, stage changes, idempotency, events) once, above all backends.
//
// It imports nothing from the rest of the module.
package lineage

import (
	"net/url"
	"strconv"
	"strings"
)

// Kind is a node kind; its value is the Neo4j label and GraphQL type name.
type Kind string

const (
	KindDataset           Kind = "Dataset"
	KindDatasetVersion    Kind = "DatasetVersion"
	KindSplit             Kind = "Split"
	KindFeatureSet        Kind = "FeatureSet"
	KindFeatureSetVersion Kind = "FeatureSetVersion"
	KindCodeVersion       Kind = "CodeVersion"
	KindEnvironment       Kind = "Environment"
	KindExperiment        Kind = "Experiment"
	KindPipeline          Kind = "Pipeline"
	KindRun               Kind = "Run"
	KindModel             Kind = "Model"
	KindModelVersion      Kind = "ModelVersion"
	KindArtifact          Kind = "Artifact"
	KindDeployment        Kind = "Deployment"
)

// Kinds lists every node kind: the allowlist for labels.
var Kinds = []Kind{
	KindDataset, KindDatasetVersion, KindSplit, KindFeatureSet, KindFeatureSetVersion,
	KindCodeVersion, KindEnvironment, KindExperiment, KindPipeline, KindRun,
	KindModel, KindModelVersion, KindArtifact, KindDeployment,
}

// prefix is the kind's ID prefix: its name in lower case.
func (k Kind) prefix() string { return strings.ToLower(string(k)) }

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	_, ok := kindByPrefix[k.prefix()]
	return ok && string(k) == string(kindByPrefix[k.prefix()])
}

var kindByPrefix = func() map[string]Kind {
	m := make(map[string]Kind, len(Kinds))
	for _, k := range Kinds {
		m[k.prefix()] = k
	}
	return m
}()

// EdgeType is a relationship type; every edge points from the dependent to
// what it depends on (W3C PROV orientation).
type EdgeType string

const (
	EdgeUsed        EdgeType = "USED"         // Run → entity, with a role
	EdgeGeneratedBy EdgeType = "GENERATED_BY" // entity → Run
	EdgeDerivedFrom EdgeType = "DERIVED_FROM" // entity → entity
	EdgeSplitOf     EdgeType = "SPLIT_OF"     // Split → DatasetVersion
	EdgeRanCode     EdgeType = "RAN_CODE"     // Run → CodeVersion
	EdgeRanIn       EdgeType = "RAN_IN"       // Run → Environment
	EdgeChildOf     EdgeType = "CHILD_OF"     // Run → Run
	EdgeServes      EdgeType = "SERVES"       // Deployment → ModelVersion
	EdgeVersionOf   EdgeType = "VERSION_OF"   // version → logical node (grouping)
	EdgePartOf      EdgeType = "PART_OF"      // Run → Experiment / Pipeline (grouping)
)

// EdgeTypes lists every edge type: the allowlist for relationship types.
var EdgeTypes = []EdgeType{
	EdgeUsed, EdgeGeneratedBy, EdgeDerivedFrom, EdgeSplitOf, EdgeRanCode, EdgeRanIn,
	EdgeChildOf, EdgeServes, EdgeVersionOf, EdgePartOf,
}

// Provenance reports whether lineage traversal follows edges of this type.
// Grouping edges (VERSION_OF, PART_OF) are not provenance.
func (t EdgeType) Provenance() bool { return t != EdgeVersionOf && t != EdgePartOf }

// Valid reports whether t is one of EdgeTypes.
func (t EdgeType) Valid() bool {
	for _, v := range EdgeTypes {
		if v == t {
			return true
		}
	}
	return false
}

// ID identifies a node: "kind:key", stable, URL-safe and readable, e.g.
// "model:churn" or "modelversion:churn/7".
type ID string

// NewID joins a kind and key parts into an ID; parts are joined with "/".
func NewID(k Kind, parts ...string) ID {
	return ID(k.prefix() + ":" + strings.Join(parts, "/"))
}

// NameID returns the ID of a node identified by its name (a dataset, model,
// experiment, …): names are unique in their lower-case form.
func NameID(k Kind, name string) ID { return NewID(k, strings.ToLower(name)) }

// VersionID returns the ID of version v of a named node, e.g.
// VersionID(KindModelVersion, "Churn", 7) is "modelversion:churn/7".
func VersionID(k Kind, name string, v int64) ID {
	return NewID(k, strings.ToLower(name), strconv.FormatInt(v, 10))
}

// Kind returns the kind an ID names, or "" if it names none.
func (id ID) Kind() Kind {
	p, _, ok := strings.Cut(string(id), ":")
	if !ok {
		return ""
	}
	return kindByPrefix[p]
}

// Key returns the part of the ID after "kind:".
func (id ID) Key() string {
	_, k, _ := strings.Cut(string(id), ":")
	return k
}

// ParseID validates a client-supplied ID: a known kind and a non-empty key of
// printable characters. field names the input for the error.
func ParseID(field, s string) (ID, error) {
	id := ID(s)
	if len(s) > 512 {
		return "", Invalid(field, "must be at most 512 characters")
	}
	if id.Kind() == "" || id.Key() == "" {
		return "", Invalid(field, "must be an ID of the form kind:key, such as modelversion:churn/7")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", Invalid(field, "must not contain control characters")
		}
	}
	return id, nil
}

// NormalizeRepository turns the many spellings of a git remote into one:
// "https://github.com/acme/churn.git", "git@github.com:acme/churn" and
// "github.com/acme/churn" all become "github.com/acme/churn".
func NormalizeRepository(repo string) string {
	r := strings.TrimSpace(repo)
	if u, err := url.Parse(r); err == nil && u.Scheme != "" && u.Host != "" {
		r = u.Host + u.Path
	} else if at := strings.Index(r, "@"); at >= 0 && strings.Contains(r[at:], ":") {
		host, path, _ := strings.Cut(r[at+1:], ":")
		r = host + "/" + path
	}
	r = strings.TrimSuffix(strings.TrimSuffix(r, "/"), ".git")
	return strings.ToLower(r)
}
