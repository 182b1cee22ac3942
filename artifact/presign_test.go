package artifact_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/artifact/artifacttest"
	"github.com/pedigree-ml/pedigree/lineage"
)

// A bucket that cannot sign says so; CompleteUpload verifies and stores
// what was PUT under the upload's key (written here straight into the
// bucket, as the cloud would) and refuses a wrong digest or id.
func TestPresignOnMem(t *testing.T) {
	ctx := context.Background()
	b := openMem(t)
	s := artifact.New(b, artifact.Options{})
	if _, _, err := s.SignedUploadURL(ctx, time.Minute); lineage.ErrorCode(err) != lineage.EUNAVAILABLE {
		t.Errorf("SignedUploadURL on mem:// = %v, want UNAVAILABLE", err)
	}
	if _, _, err := s.SignedUploadURL(ctx, 48*time.Hour); lineage.ErrorCode(err) != lineage.EINVALID {
		t.Errorf("SignedUploadURL(48h) = %v, want INVALID", err)
	}
	for _, id := range []string{"", "../sha256/x", strings.Repeat("A", 32), "0123"} {
		if _, err := s.CompleteUpload(ctx, id, ""); lineage.ErrorCode(err) != lineage.EINVALID {
			t.Errorf("CompleteUpload(%q) = %v, want INVALID", id, err)
		}
	}
	id := strings.Repeat("ab", 16)
	if _, err := s.CompleteUpload(ctx, id, ""); lineage.ErrorCode(err) != lineage.ENOTFOUND {
		t.Errorf("CompleteUpload before any PUT = %v, want NOT_FOUND", err)
	}
	data := []byte("model bytes")
	if err := b.WriteAll(ctx, "uploads/"+id, data, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteUpload(ctx, id, artifacttest.Digest([]byte("other"))); lineage.ErrorCode(err) != lineage.EINVALID {
		t.Errorf("CompleteUpload with a wrong digest = %v, want INVALID", err)
	}
	got, err := s.CompleteUpload(ctx, id, artifacttest.Digest(data))
	if err != nil || got.Digest != artifacttest.Digest(data) || got.Size != int64(len(data)) {
		t.Fatalf("CompleteUpload = %+v, %v", got, err)
	}
	if ok, _ := b.Exists(ctx, "uploads/"+id); ok {
		t.Error("the upload is still there after completion")
	}
}
