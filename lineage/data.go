package lineage

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

func checkMeta(description string, tags map[string]string) error {
	if err := checkText("description", description, MaxDescription); err != nil {
		return err
	}
	return checkMap("tags", tags)
}

func (in *RegisterDatasetVersionInput) validate() (name string, err error) {
	if name, err = checkName("dataset", in.Dataset); err != nil {
		return "", err
	}
	if in.Digest == "" {
		return "", Invalid("digest", "is required: give digest, or upload (the digest of an uploaded blob)")
	}
	if in.Digest, err = checkDigest("digest", in.Digest, true); err != nil {
		return "", err
	}
	if err := checkURI("uri", in.URI, false); err != nil {
		return "", err
	}
	if err := checkOrigin("uri", in.URI, in.Digest, in.Upload, in.Verified); err != nil {
		return "", err
	}
	if err := checkSize("size", in.Size); err != nil {
		return "", err
	}
	if err := checkLine("format", in.Format, 64); err != nil {
		return "", err
	}
	if in.Rows != nil && *in.Rows < 0 {
		return "", Invalid("rows", "must not be negative")
	}
	if len(in.Schema) > MaxBatch {
		return "", Invalid("schema", "must have at most %d columns", MaxBatch)
	}
	for i, c := range in.Schema {
		if c.Name == "" {
			return "", Invalid(indexed("schema", i)+".name", "is required")
		}
		if err := checkLine(indexed("schema", i)+".name", c.Name, MaxKeyLen); err != nil {
			return "", err
		}
		if err := checkLine(indexed("schema", i)+".type", c.Type, 64); err != nil {
			return "", err
		}
	}
	if err := checkJSON("stats", in.Stats); err != nil {
		return "", err
	}
	if err := checkMeta(in.Description, in.Tags); err != nil {
		return "", err
	}
	return name, checkIDs("derivedFrom", in.DerivedFrom)
}

// RegisterDatasetVersion records an immutable snapshot of a dataset, creating
// the dataset on first use. Registering a digest the dataset already has
// returns the existing version unchanged.
func (s *Service) RegisterDatasetVersion(ctx context.Context, in RegisterDatasetVersionInput) (*DatasetVersion, error) {
	name, err := in.validate()
	if err != nil {
		return nil, err
	}
	var dv *DatasetVersion
	err = s.update(ctx, func(tx Tx, now time.Time) error {
		natural := "datasetversion:" + name + ":" + in.Digest
		if id, err := lookupNatural(tx, natural); err != nil || id != "" {
			if err == nil {
				dv, err = get[*DatasetVersion](tx, id)
			}
			return err
		}
		datasetID := NewID(KindDataset, name)
		if err := ensure(tx, &Dataset{Meta: Meta{ID: datasetID}, Name: in.Dataset}, now); err != nil {
			return err
		}
		v, err := tx.NextVersion(datasetID)
		if err != nil {
			return err
		}
		dv = &DatasetVersion{
			Meta:    Meta{ID: NewID(KindDatasetVersion, name, itoa(v)), Description: in.Description, Tags: in.Tags},
			Dataset: in.Dataset, Version: v, URI: in.URI, Digest: in.Digest, Format: in.Format,
			Rows: in.Rows, Schema: in.Schema, Stats: in.Stats, Size: in.Size, Verified: in.Verified,
		}
		if err := create(tx, dv, datasetID, now); err != nil {
			return err
		}
		if err := tx.AddEdge(Edge{From: dv.ID, To: datasetID, Type: EdgeVersionOf, CreatedAt: now}); err != nil {
			return err
		}
		if err := addDerivedFrom(tx, dv.ID, "derivedFrom", in.DerivedFrom, now); err != nil {
			return err
		}
		if err := emit(tx, "", EventDatasetVersionRegistered, map[string]any{
			"id": dv.ID, "dataset": dv.Dataset, "version": dv.Version, "uri": dv.URI, "digest": dv.Digest,
			"format": dv.Format, "rows": dv.Rows, "derivedFrom": in.DerivedFrom,
		}, now); err != nil {
			return err
		}
		return rememberNatural(tx, natural, dv.ID, now)
	})
	return dv, err
}

func addDerivedFrom(tx Tx, from ID, field string, sources []ID, now time.Time) error {
	for i, src := range sources {
		if src == from {
			return Invalid(indexed(field, i), "a node cannot derive from itself")
		}
		if _, err := exists(tx, indexed(field, i), src); err != nil {
			return err
		}
		if err := tx.AddEdge(Edge{From: from, To: src, Type: EdgeDerivedFrom, CreatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// RegisterSplits records named splits of a dataset version. A split that
// exists with the same digest is returned as is; another digest is a CONFLICT.
func (s *Service) RegisterSplits(ctx context.Context, in RegisterSplitsInput) ([]*Split, error) {
	if _, err := ParseID("datasetVersion", string(in.DatasetVersion)); err != nil {
		return nil, err
	}
	if len(in.Splits) == 0 || len(in.Splits) > MaxBatch {
		return nil, Invalid("splits", "must have between 1 and %d splits", MaxBatch)
	}
	if err := checkLine("strategy", in.Strategy, 64); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var total float64
	for i := range in.Splits {
		sp := &in.Splits[i]
		field := indexed("splits", i)
		name, err := checkName(field+".name", sp.Name)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, Invalid(field+".name", "%q appears twice", sp.Name)
		}
		seen[name] = true
		if sp.Digest, err = checkDigest(field+".digest", sp.Digest, false); err != nil {
			return nil, err
		}
		if sp.Rows != nil && *sp.Rows < 0 {
			return nil, Invalid(field+".rows", "must not be negative")
		}
		if f := sp.Fraction; f != nil {
			if *f < 0 || *f > 1 {
				return nil, Invalid(field+".fraction", "must be between 0 and 1")
			}
			total += *f
		}
	}
	if total > 1+1e-9 {
		return nil, Invalid("splits", "fractions add up to %g, more than 1", total)
	}
	var out []*Split
	err := s.update(ctx, func(tx Tx, now time.Time) error {
		out = out[:0]
		dvNode, err := exists(tx, "datasetVersion", in.DatasetVersion, KindDatasetVersion)
		if err != nil {
			return err
		}
		for i, sp := range in.Splits {
			id := NewID(KindSplit, dvNode.ID.Key(), strings.ToLower(sp.Name))
			existing, err := get[*Split](tx, id)
			switch {
			case err == nil:
				if existing.Digest != sp.Digest {
					return &Error{Code: ECONFLICT, Field: indexed("splits", i) + ".digest",
						Message: fmt.Sprintf("splits[%d].digest: split %q of %s exists with digest %q", i, sp.Name, in.DatasetVersion, existing.Digest)}
				}
				out = append(out, existing)
				continue
			case ErrorCode(err) != ENOTFOUND:
				return err
			}
			split := &Split{Meta: Meta{ID: id}, DatasetVersion: dvNode.ID, Name: sp.Name, Digest: sp.Digest,
				Rows: sp.Rows, Fraction: sp.Fraction, Strategy: in.Strategy, Seed: in.Seed}
			if err := create(tx, split, dvNode.ID, now); err != nil {
				return err
			}
			if err := tx.AddEdge(Edge{From: id, To: dvNode.ID, Type: EdgeSplitOf, CreatedAt: now}); err != nil {
				return err
			}
			out = append(out, split)
		}
		return nil
	})
	return out, err
}

// RegisterFeatureSetVersion records a feature view. Its digest is computed
// from the features and transformation; the same definition again returns
// the existing version.
func (s *Service) RegisterFeatureSetVersion(ctx context.Context, in RegisterFeatureSetVersionInput) (*FeatureSetVersion, error) {
	name, err := checkName("featureSet", in.FeatureSet)
	if err != nil {
		return nil, err
	}
	if len(in.Features) == 0 || len(in.Features) > MaxBatch {
		return nil, Invalid("features", "must have between 1 and %d features", MaxBatch)
	}
	seen := map[string]bool{}
	for i, f := range in.Features {
		field := indexed("features", i)
		if err := checkKey(field+".name", f.Name); err != nil {
			return nil, err
		}
		if seen[f.Name] {
			return nil, Invalid(field+".name", "%q appears twice", f.Name)
		}
		seen[f.Name] = true
		if f.Type == "" {
			return nil, Invalid(field+".type", "is required")
		}
		if err := checkLine(field+".type", f.Type, 64); err != nil {
			return nil, err
		}
		if err := checkText(field+".description", f.Description, MaxDescription); err != nil {
			return nil, err
		}
	}
	if err := checkText("transformation", in.Transformation, 100_000); err != nil {
		return nil, err
	}
	if err := checkMeta(in.Description, in.Tags); err != nil {
		return nil, err
	}
	if err := checkIDs("sources", in.Sources); err != nil {
		return nil, err
	}
	features := slices.Clone(in.Features)
	slices.SortFunc(features, func(a, b Feature) int { return strings.Compare(a.Name, b.Name) })
	digest := digestJSON(struct {
		Features       []Feature
		Transformation string
	}{features, in.Transformation})

	var fv *FeatureSetVersion
	err = s.update(ctx, func(tx Tx, now time.Time) error {
		natural := "featuresetversion:" + name + ":" + digest
		if id, err := lookupNatural(tx, natural); err != nil || id != "" {
			if err == nil {
				fv, err = get[*FeatureSetVersion](tx, id)
			}
			return err
		}
		fsID := NewID(KindFeatureSet, name)
		if err := ensure(tx, &FeatureSet{Meta: Meta{ID: fsID}, Name: in.FeatureSet}, now); err != nil {
			return err
		}
		v, err := tx.NextVersion(fsID)
		if err != nil {
			return err
		}
		fv = &FeatureSetVersion{
			Meta:       Meta{ID: NewID(KindFeatureSetVersion, name, itoa(v)), Description: in.Description, Tags: in.Tags},
			FeatureSet: in.FeatureSet, Version: v, Digest: digest, Features: features, Transformation: in.Transformation,
		}
		if err := create(tx, fv, fsID, now); err != nil {
			return err
		}
		if err := tx.AddEdge(Edge{From: fv.ID, To: fsID, Type: EdgeVersionOf, CreatedAt: now}); err != nil {
			return err
		}
		if err := addDerivedFrom(tx, fv.ID, "sources", in.Sources, now); err != nil {
			return err
		}
		return rememberNatural(tx, natural, fv.ID, now)
	})
	return fv, err
}

var commitPattern = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// RegisterCodeVersion records a commit of a repository; it is idempotent on
// repository + commit (+ diff digest when dirty).
func (s *Service) RegisterCodeVersion(ctx context.Context, in RegisterCodeVersionInput) (*CodeVersion, error) {
	if in.Repository == "" {
		return nil, Invalid("repository", "is required")
	}
	if err := checkLine("repository", in.Repository, MaxURILen); err != nil {
		return nil, err
	}
	repo := NormalizeRepository(in.Repository)
	if repo == "" || strings.Contains(repo, "..") || strings.ContainsAny(repo, " @") {
		return nil, Invalid("repository", "must be a git remote such as github.com/acme/churn")
	}
	commit := strings.ToLower(in.Commit)
	if !commitPattern.MatchString(commit) {
		return nil, Invalid("commit", "must be a hex commit hash of 7 to 64 digits")
	}
	if err := checkLine("branch", in.Branch, 255); err != nil {
		return nil, err
	}
	if err := checkLine("path", in.Path, 1024); err != nil {
		return nil, err
	}
	diff, err := checkDigest("diffDigest", in.DiffDigest, false)
	if err != nil {
		return nil, err
	}
	key := repo + "@" + commit
	if in.Dirty {
		if diff == "" {
			return nil, Invalid("diffDigest", "is required when dirty is true, so that two different dirty trees are two code versions")
		}
		_, h, _ := strings.Cut(diff, ":")
		key += "+" + h[:12]
	} else {
		diff = ""
	}
	cv := &CodeVersion{Meta: Meta{ID: NewID(KindCodeVersion, key)}, Repository: repo, Commit: commit,
		Branch: in.Branch, Path: in.Path, Dirty: in.Dirty, DiffDigest: diff}
	err = s.update(ctx, func(tx Tx, now time.Time) error {
		existing, err := get[*CodeVersion](tx, cv.ID)
		if err == nil {
			cv = existing
			return nil
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		return create(tx, cv, "", now)
	})
	return cv, err
}

// RegisterEnvironment records a runtime; its identity is the digest of its
// content, so the same environment again returns the existing node.
func (s *Service) RegisterEnvironment(ctx context.Context, in RegisterEnvironmentInput) (*Environment, error) {
	if err := checkLine("language", in.Language, 64); err != nil {
		return nil, err
	}
	if err := checkLine("languageVersion", in.LanguageVersion, 64); err != nil {
		return nil, err
	}
	if len(in.Packages) > 10*MaxBatch {
		return nil, Invalid("packages", "must have at most %d entries", 10*MaxBatch)
	}
	pkgs := slices.Clone(in.Packages)
	slices.SortFunc(pkgs, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	for i, p := range pkgs {
		field := "packages." + p.Name
		if p.Name == "" {
			return nil, Invalid("packages", "every package needs a name")
		}
		if err := checkLine(field, p.Name, MaxKeyLen); err != nil {
			return nil, err
		}
		if err := checkLine(field, p.Version, 128); err != nil {
			return nil, err
		}
		if i > 0 && pkgs[i-1].Name == p.Name {
			return nil, Invalid(field, "is listed twice")
		}
	}
	imageDigest, err := checkDigest("imageDigest", in.ImageDigest, false)
	if err != nil {
		return nil, err
	}
	if err := checkMap("hardware", in.Hardware); err != nil {
		return nil, err
	}
	env := &Environment{Language: in.Language, LanguageVersion: in.LanguageVersion, Packages: pkgs,
		ImageDigest: imageDigest, Hardware: in.Hardware}
	env.Digest = digestJSON(env)
	env.ID = NewID(KindEnvironment, env.Digest[len("sha256:"):][:16])
	err = s.update(ctx, func(tx Tx, now time.Time) error {
		existing, err := get[*Environment](tx, env.ID)
		if err == nil {
			env = existing
			return nil
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		return create(tx, env, "", now)
	})
	return env, err
}

// RegisterArtifact records a version of any other object (config, report,
// plot). The same (name, digest) again returns the existing version.
func (s *Service) RegisterArtifact(ctx context.Context, in RegisterArtifactInput) (*Artifact, error) {
	name, err := checkName("name", in.Name)
	if err != nil {
		return nil, err
	}
	if in.Digest == "" {
		return nil, Invalid("digest", "is required: give digest, or upload (the digest of an uploaded blob)")
	}
	if in.Digest, err = checkDigest("digest", in.Digest, true); err != nil {
		return nil, err
	}
	if err := checkURI("uri", in.URI, false); err != nil {
		return nil, err
	}
	if err := checkOrigin("uri", in.URI, in.Digest, in.Upload, in.Verified); err != nil {
		return nil, err
	}
	if err := checkLine("type", in.Type, 64); err != nil {
		return nil, err
	}
	if err := checkLine("mediaType", in.MediaType, 128); err != nil {
		return nil, err
	}
	if err := checkSize("size", in.Size); err != nil {
		return nil, err
	}
	if err := checkMeta(in.Description, in.Tags); err != nil {
		return nil, err
	}
	if in.Run != "" {
		if _, err := ParseID("run", string(in.Run)); err != nil {
			return nil, err
		}
	}
	if err := checkIDs("derivedFrom", in.DerivedFrom); err != nil {
		return nil, err
	}
	var a *Artifact
	err = s.update(ctx, func(tx Tx, now time.Time) error {
		natural := "artifact:" + name + ":" + in.Digest
		if id, err := lookupNatural(tx, natural); err != nil || id != "" {
			if err == nil {
				a, err = get[*Artifact](tx, id)
			}
			return err
		}
		v, err := tx.NextVersion(NewID(KindArtifact, name))
		if err != nil {
			return err
		}
		a = &Artifact{Meta: Meta{ID: NewID(KindArtifact, name, itoa(v)), Description: in.Description, Tags: in.Tags},
			Name: in.Name, Version: v, Type: in.Type, URI: in.URI, Digest: in.Digest, MediaType: in.MediaType, Size: in.Size, Verified: in.Verified}
		if err := create(tx, a, "", now); err != nil {
			return err
		}
		if in.Run != "" {
			if err := addOutput(tx, in.Run, "run", a.ID, now); err != nil {
				return err
			}
		}
		if err := addDerivedFrom(tx, a.ID, "derivedFrom", in.DerivedFrom, now); err != nil {
			return err
		}
		return rememberNatural(tx, natural, a.ID, now)
	})
	return a, err
}
