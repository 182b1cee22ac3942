package lineage

import (
	"fmt"
	"strings"
)

// Label is a node's short display name, for graphs, lists and search:
// churn@v7, customers@v2/train, github.com/acme/churn@9f8e7d6c5b4a.
func Label(e Entity) string {
	switch n := e.(type) {
	case *Dataset:
		return n.Name
	case *DatasetVersion:
		return fmt.Sprintf("%s@v%d", n.Dataset, n.Version)
	case *Split:
		// datasetversion:NAME/VERSION → NAME@vVERSION/SPLIT
		name, version, _ := strings.Cut(n.DatasetVersion.Key(), "/")
		return fmt.Sprintf("%s@v%s/%s", name, version, n.Name)
	case *FeatureSet:
		return n.Name
	case *FeatureSetVersion:
		return fmt.Sprintf("%s@v%d", n.FeatureSet, n.Version)
	case *CodeVersion:
		l := n.Repository + "@" + short(n.Commit, 12)
		if n.Dirty {
			l += "+dirty"
		}
		return l
	case *Environment:
		l := strings.TrimSpace(n.Language + " " + n.LanguageVersion)
		d := short(strings.TrimPrefix(n.Digest, "sha256:"), 12)
		if l == "" {
			return d
		}
		return l + " (" + d + ")"
	case *Experiment:
		return n.Name
	case *Pipeline:
		return n.Name
	case *Run:
		if n.Name != "" {
			return n.Name
		}
		return n.ID.Key()
	case *Model:
		return n.Name
	case *ModelVersion:
		return fmt.Sprintf("%s@v%d", n.Model, n.Version)
	case *Artifact:
		return fmt.Sprintf("%s@v%d", n.Name, n.Version)
	case *Deployment:
		return fmt.Sprintf("%s@v%d in %s", n.Model, n.Version, n.Environment)
	}
	return string(EntityID(e))
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
