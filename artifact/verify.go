package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Problems VerifyResult reports.
const (
	// ProblemCorrupt: the stored bytes do not hash to the key's digest.
	ProblemCorrupt = "corrupt"
	// ProblemUnreadable: the blob is listed but could not be read through.
	ProblemUnreadable = "unreadable"
	// ProblemMissing: there is no blob with the digest (Check only).
	ProblemMissing = "missing"
)

// VerifyResult is the outcome of re-hashing one blob.
type VerifyResult struct {
	// Digest is the digest the blob is stored under.
	Digest string
	// Size is the number of bytes read.
	Size int64
	// Problem is "" if the blob is intact, else ProblemCorrupt,
	// ProblemUnreadable or ProblemMissing.
	Problem string
	// Err says what went wrong when Problem is ProblemUnreadable.
	Err error
}

// Verify re-hashes every stored blob and calls fn with each result, intact
// blobs included, in key order. Keys under "sha256/" that are not of the
// form Key makes (such as a driver's temporary files) are skipped. It
// returns an error only if listing fails or ctx ends; problems with single
// blobs are results.
func (s *Store) Verify(ctx context.Context, fn func(VerifyResult)) error {
	it := s.bucket.List(&blob.ListOptions{Prefix: keyPrefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("artifact: list: %w", err)
		}
		d, ok := digestFromKey(obj.Key)
		if !ok || obj.IsDir {
			continue
		}
		res := s.rehash(ctx, d)
		if err := ctx.Err(); err != nil {
			return err
		}
		fn(res)
	}
}

// Check re-hashes the blob with digest (parsed with ParseDigest, field
// "digest"); Problem is ProblemMissing if there is none.
func (s *Store) Check(ctx context.Context, digest string) (VerifyResult, error) {
	d, err := ParseDigest("digest", digest)
	if err != nil {
		return VerifyResult{}, err
	}
	res := s.rehash(ctx, d)
	return res, ctx.Err()
}

func (s *Store) rehash(ctx context.Context, digest string) VerifyResult {
	res := VerifyResult{Digest: digest}
	r, err := s.bucket.NewReader(ctx, Key(digest), nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			res.Problem = ProblemMissing
		} else {
			res.Problem, res.Err = ProblemUnreadable, err
		}
		return res
	}
	defer r.Close()
	h := sha256.New()
	res.Size, err = io.CopyBuffer(h, onlyReader{r}, make([]byte, copyBuffer))
	if err != nil {
		res.Problem, res.Err = ProblemUnreadable, err
		return res
	}
	if got := digestPrefix + hex.EncodeToString(h.Sum(nil)); got != digest {
		res.Problem = ProblemCorrupt
		s.log.Warn("artifact: corrupt blob", "digest", digest, "hashes_to", got)
	}
	return res
}

// GC deletes what no one needs any more and returns the keys it deleted:
// blobs whose digest referenced reports false and that were last written at
// least grace ago (by the Store's clock), and temporary uploads and driver
// temporaries ("*.tmp" under "sha256/") older than grace, left behind by a
// process that died mid-upload. It never deletes a
// blob referenced reports true for, nor one this Store's Put returned less
// than grace ago. A blob that fails to delete is logged and kept; GC goes
// on and returns the first such error with what it did delete.
//
// referenced is called once per stored blob; it should answer from a
// snapshot of the lineage graph taken before GC starts listing, and grace
// must exceed the longest time between an upload and the registration that
// references it.
//
// With dryRun, GC deletes nothing and returns what it would delete.
func (s *Store) GC(ctx context.Context, referenced func(digest string) bool, grace time.Duration, dryRun bool) (deleted []string, err error) {
	now := s.opts.Now()
	cutoff := now.Add(-grace)
	s.mu.Lock()
	for d, t := range s.recent {
		if !t.After(cutoff) {
			delete(s.recent, d)
		}
	}
	s.mu.Unlock()

	var firstErr error
	del := func(key string) {
		if dryRun {
			deleted = append(deleted, key)
			return
		}
		if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			s.log.Warn("artifact: gc delete", "key", key, "err", err)
			if firstErr == nil {
				firstErr = fmt.Errorf("artifact: gc delete %s: %w", key, err)
			}
			return
		}
		s.log.Info("artifact: gc deleted", "key", key)
		deleted = append(deleted, key)
	}
	for _, prefix := range []string{keyPrefix, uploadPrefix} {
		it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
		for {
			obj, err := it.Next(ctx)
			if err == io.EOF {
				break
			} else if err != nil {
				return deleted, errors.Join(fmt.Errorf("artifact: list: %w", err), firstErr)
			}
			if obj.IsDir || obj.ModTime.After(cutoff) {
				continue
			}
			if prefix == uploadPrefix {
				del(obj.Key)
				continue
			}
			d, ok := digestFromKey(obj.Key)
			if !ok {
				// A driver's temporary file (fileblob with no_tmp_dir writes
				// "<key>.<n>.tmp" beside the key) left by a process killed
				// mid-upload. Anything else unknown is left alone.
				if strings.HasSuffix(obj.Key, ".tmp") {
					del(obj.Key)
				}
				continue
			}
			if referenced(d) || s.recentlyPut(d, cutoff) {
				continue
			}
			del(obj.Key)
		}
	}
	return deleted, firstErr
}

func (s *Store) recentlyPut(digest string, cutoff time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.recent[digest]
	return ok && t.After(cutoff)
}
