package artifact

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Pre-signed uploads let a pipeline send a large file straight to a cloud
// bucket: the server signs a PUT to a fresh key under uploads/, and
// CompleteUpload then hashes what arrived and stores it under its content
// key like any other upload. Nothing uploaded this way is visible, or can
// be referenced, before CompleteUpload has verified it.

// MaxSignedURLExpiry bounds how long a pre-signed URL stays valid.
const MaxSignedURLExpiry = 24 * time.Hour

var uploadID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// SignedUploadURL returns the id of a new upload and a URL that accepts
// one PUT of its bytes until expiry (at most MaxSignedURLExpiry).
// EUNAVAILABLE on a bucket that cannot sign URLs (file://, mem://).
func (s *Store) SignedUploadURL(ctx context.Context, expiry time.Duration) (id, url string, err error) {
	if expiry <= 0 || expiry > MaxSignedURLExpiry {
		return "", "", lineage.Invalid("expiry", "must be between 1s and %s", MaxSignedURLExpiry)
	}
	key, err := uploadKey()
	if err != nil {
		return "", "", err
	}
	url, err = s.bucket.SignedURL(ctx, key, &blob.SignedURLOptions{Method: http.MethodPut, Expiry: expiry})
	if gcerrors.Code(err) == gcerrors.Unimplemented {
		return "", "", lineage.Errorf(lineage.EUNAVAILABLE, "pre-signed URLs need a cloud bucket (s3://, gs://, azblob://); upload to /artifacts/ instead")
	} else if err != nil {
		return "", "", fmt.Errorf("artifact: sign upload URL: %w", err)
	}
	return strings.TrimPrefix(key, uploadPrefix), url, nil
}

// CompleteUpload verifies the bytes PUT to a pre-signed URL (against
// declared, if given), stores them under their content key and removes
// the upload. ENOTFOUND (field "id") if nothing was uploaded under id.
func (s *Store) CompleteUpload(ctx context.Context, id, declared string) (*Blob, error) {
	if !uploadID.MatchString(id) {
		return nil, lineage.Invalid("id", "must be an upload id returned with a pre-signed URL")
	}
	key := uploadPrefix + id
	r, err := s.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, &lineage.Error{Code: lineage.ENOTFOUND, Field: "id", Message: "id: nothing was uploaded under " + id + "; PUT the file to the pre-signed URL first"}
	} else if err != nil {
		return nil, fmt.Errorf("artifact: open upload %s: %w", id, err)
	}
	b, err := s.Put(ctx, r, declared)
	r.Close()
	if err != nil {
		return nil, err
	}
	if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		s.log.Warn("upload not removed after completion; GC will", "id", id, "err", err)
	}
	return b, nil
}
