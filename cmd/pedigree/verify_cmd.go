package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gocloud.dev/blob"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/lineage"
)

// `pedigree verify` and `pedigree gc` work offline, like export: they open
// the store and the bucket themselves, so they run beside a stopped server
// (an embedded store must not be open in a running one) or against shared
// backends (neo4j://, s3://, …).

// offlineFlags name a store and its artifact bucket.
type offlineFlags struct {
	store   storeFlags
	blobURL string
}

func bindOfflineFlags(cmd *cobra.Command, f *offlineFlags) {
	fs := cmd.Flags()
	bindStoreFlags(fs, &f.store)
	f.blobURL = env("PEDIGREE_BLOB_URL", "")
	fs.StringVar(&f.blobURL, "blob-url", f.blobURL, "artifact bucket: file:///dir, s3://bucket?region=…, gs://bucket, azblob://container; default: artifacts/ in --data-dir (PEDIGREE_BLOB_URL)")
}

// open opens the store (which must exist) and the bucket.
func (f *offlineFlags) open(ctx context.Context) (lineage.Store, *blob.Bucket, error) {
	st, err := openSource(ctx, storeURL(f.store.url, f.store.dataDir), f.store.neo4j)
	if err != nil {
		return nil, nil, err
	}
	b, err := openBucket(ctx, f.blobURL, f.store.dataDir)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, b, nil
}

// references maps each stored artifact's digest to the nodes whose URI
// names it (model versions' artifactUri, dataset versions' and artifacts'
// uri), each list sorted.
type references map[string][]lineage.ID

// errNodesDone stops a dump once its nodes are read: they come first.
var errNodesDone = errors.New("nodes read")

// collectReferences reads every pedigree:// URI of the store from one
// consistent snapshot. Soft-deleted nodes count: they stay in lineage, so
// their bytes are kept and checked. (Service.List leaves them out, which is
// why this reads the nodes of a dump instead; the dump stops after them.)
func collectReferences(ctx context.Context, st lineage.Store) (references, error) {
	refs := references{}
	d, ok := st.(lineage.Dumper)
	if !ok {
		return nil, fmt.Errorf("a %T cannot be listed whole (it does not implement lineage.Dumper)", st)
	}
	err := d.Dump(ctx, func(r *lineage.Record) error {
		n := r.Node
		if n == nil {
			return errNodesDone
		}
		switch n.Kind {
		case lineage.KindModelVersion, lineage.KindDatasetVersion, lineage.KindArtifact:
		default:
			return nil
		}
		e, err := lineage.Decode(n)
		if err != nil {
			return fmt.Errorf("%s: %w", n.ID, err)
		}
		var uri string
		switch e := e.(type) {
		case *lineage.ModelVersion:
			uri = e.ArtifactURI
		case *lineage.DatasetVersion:
			uri = e.URI
		case *lineage.Artifact:
			uri = e.URI
		}
		if digest, ok := artifact.DigestFromURI(uri); ok {
			refs[digest] = append(refs[digest], n.ID)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNodesDone) {
		return nil, fmt.Errorf("reading the store: %s", message(err))
	}
	for _, ids := range refs {
		slices.Sort(ids)
	}
	return refs, nil
}

// has reports whether a node references digest, in the shape GC asks for.
func (r references) has(digest string) bool { return len(r[digest]) > 0 }

func (r references) by(digest string) string {
	ids := r[digest]
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}

func newVerifyCommand() *cobra.Command {
	var f offlineFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-hash every stored artifact and check every reference to one",
		Long: `Re-hash every blob in the artifact bucket, and check that every pedigree://
URI the store records (model versions' artifactUri, dataset versions' and
artifacts' uri, soft-deleted ones included) names a blob that is there.

Prints one line per problem and a summary; exits with status 1 if there is any
problem, 0 otherwise:

  corrupt sha256:… (referenced by modelversion:churn/3)
  missing sha256:… referenced by modelversion:churn/4
  unreadable sha256:…: <error>

Works offline, like export: an embedded store must not be open in a running server.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cliError(runVerify(cmd, &f))
		},
	}
	bindOfflineFlags(cmd, &f)
	return usageCommand(cmd)
}

func runVerify(cmd *cobra.Command, f *offlineFlags) (err error) {
	ctx, start := cmd.Context(), time.Now()
	st, b, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer closeStore(st, &err)
	defer b.Close()
	refs, err := collectReferences(ctx, st)
	if err != nil {
		return err
	}
	store := artifact.New(b, artifact.Options{})
	out := cmd.OutOrStdout()
	var (
		blobs, bytes                 int64
		corrupt, missing, unreadable int
		seen                         = map[string]bool{}
	)
	report := func(res artifact.VerifyResult) {
		switch res.Problem {
		case "":
		case artifact.ProblemCorrupt:
			corrupt++
			if by := refs.by(res.Digest); by != "" {
				fmt.Fprintf(out, "corrupt %s (referenced by %s)\n", res.Digest, by)
			} else {
				fmt.Fprintf(out, "corrupt %s (unreferenced)\n", res.Digest)
			}
		case artifact.ProblemMissing:
			missing++
			fmt.Fprintf(out, "missing %s referenced by %s\n", res.Digest, refs.by(res.Digest))
		default:
			unreadable++
			fmt.Fprintf(out, "unreadable %s: %s\n", res.Digest, strings.Join(strings.Fields(fmt.Sprint(res.Err)), " "))
		}
	}
	err = store.Verify(ctx, func(res artifact.VerifyResult) {
		seen[res.Digest] = true
		blobs++
		bytes += res.Size
		report(res)
	})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	// A referenced blob the listing did not show is missing; Check says so
	// (or finds it, if it was stored since the listing passed its key).
	digests := make([]string, 0, len(refs))
	for d := range refs {
		if !seen[d] {
			digests = append(digests, d)
		}
	}
	slices.Sort(digests)
	for _, d := range digests {
		res, err := store.Check(ctx, d)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		report(res)
	}
	problems := corrupt + missing + unreadable
	fmt.Fprintf(out, "verified %d blob%s (%d bytes) and %d referenced digest%s in %s: %d corrupt, %d missing, %d unreadable\n",
		blobs, plural(int(blobs)), bytes, len(refs), plural(len(refs)), since(start), corrupt, missing, unreadable)
	if problems > 0 {
		return fmt.Errorf("verify found %d problem%s", problems, plural(problems))
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func newGCCommand() *cobra.Command {
	var (
		f      offlineFlags
		grace  time.Duration
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete stored artifacts nothing references",
		Long: `Delete the blobs no model version, dataset version or artifact references
(soft-deleted ones included) and that were written at least --grace ago, and
temporary uploads older than --grace left by interrupted uploads. Prints each
key it deletes, or with --dry-run would delete.

--grace must exceed the longest time between an upload and the registration
that references it: a blob uploaded but not yet registered looks unreferenced.

Works offline, like export: an embedded store must not be open in a running server.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if grace < 0 {
				return cliError(usagef("--grace: must not be negative, got %s", grace))
			}
			return cliError(runGC(cmd, &f, grace, dryRun))
		},
	}
	bindOfflineFlags(cmd, &f)
	cmd.Flags().DurationVar(&grace, "grace", 24*time.Hour, "keep anything written more recently than this")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be deleted, delete nothing")
	return usageCommand(cmd)
}

func runGC(cmd *cobra.Command, f *offlineFlags, grace time.Duration, dryRun bool) (err error) {
	ctx, start := cmd.Context(), time.Now()
	st, b, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer closeStore(st, &err)
	defer b.Close()
	// The snapshot of references is taken before the bucket is listed, as
	// Store.GC requires.
	refs, err := collectReferences(ctx, st)
	if err != nil {
		return err
	}
	keys, err := artifact.New(b, artifact.Options{}).GC(ctx, refs.has, grace, dryRun)
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	out := cmd.OutOrStdout()
	for _, k := range keys {
		fmt.Fprintf(out, "%s %s\n", verb, k)
	}
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	fmt.Fprintf(out, "%s %d object%s in %s (%d referenced digest%s kept)\n", verb, len(keys), plural(len(keys)), since(start), len(refs), plural(len(refs)))
	return nil
}
