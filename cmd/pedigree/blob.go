package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://CONTAINER
	_ "gocloud.dev/blob/fileblob"  // file:///DIR
	_ "gocloud.dev/blob/gcsblob"   // gs://BUCKET
	_ "gocloud.dev/blob/memblob"   // mem://, for tests
	_ "gocloud.dev/blob/s3blob"    // s3://BUCKET?region=…&endpoint=…
)

// blobURL is the bucket a command opens: the URL given (--blob-url or
// PEDIGREE_BLOB_URL), else a directory beside the embedded store.
func blobURL(rawURL, dataDir string) (string, error) {
	if rawURL != "" {
		return rawURL, nil
	}
	dir, err := filepath.Abs(filepath.Join(dataDir, "artifacts"))
	if err != nil {
		return "", err
	}
	// no_tmp_dir: uploads are written next to their key and renamed into
	// place, so a partial one is never visible and the rename stays on one
	// file system.
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=1&no_tmp_dir=1"}).String(), nil
}

// openBucket is the one place a blob driver is chosen, by URL scheme.
func openBucket(ctx context.Context, rawURL, dataDir string) (*blob.Bucket, error) {
	u, err := blobURL(rawURL, dataDir)
	if err != nil {
		return nil, fmt.Errorf("--blob-url: %w", err)
	}
	if rawURL == "" {
		if err := os.MkdirAll(filepath.Join(dataDir, "artifacts"), 0o750); err != nil {
			return nil, fmt.Errorf("--blob-url: %w", err)
		}
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("--blob-url: %w (want file://, mem://, s3://, gs:// or azblob://)", err)
	}
	return b, nil
}

// collectGarbage deletes unreferenced artifacts older than the grace period
// every interval, on one replica at a time.
func (m *Main) collectGarbage(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(m.GCInterval):
		}
		refs, err := collectReferences(ctx, m.Store)
		if err != nil {
			m.Logger.Warn("artifact gc skipped", "err", err)
			continue
		}
		deleted, err := m.Artifacts.GC(ctx, refs.has, m.GCGrace, false)
		if err != nil && ctx.Err() == nil {
			m.Logger.Warn("artifact gc", "deleted", len(deleted), "err", err)
		} else if len(deleted) > 0 {
			m.Logger.Info("artifact gc", "deleted", len(deleted))
		}
	}
}
