package resolvers

import (
	"context"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/graph/model"
	"github.com/pedigree-ml/pedigree/lineage"
)

// Artifact bytes: locations of model versions, dataset versions and
// artifacts; registering from an upload; uploadArtifact, createUploadUrl
// and completeUpload. The bytes themselves are artifact.Store's business;
// resolvers only turn what it verified into facts the Service records.

const (
	// DefaultMaxUploadBytes bounds one file of uploadArtifact. Larger files
	// go to PUT /artifacts/ or a pre-signed URL.
	DefaultMaxUploadBytes = 32 << 20
	// DefaultUploadMemory is how much of one multipart file part is held in
	// memory; the rest goes to a temporary file.
	DefaultUploadMemory = 1 << 20
	// multipartOverhead is what a multipart body may hold besides its files:
	// the operations and map parts and the part headers.
	multipartOverhead = 1 << 20
	// maxUploadFiles bounds the file parts of one multipart request.
	maxUploadFiles = 10
	// uploadURLExpiry is how long a pre-signed upload URL works.
	uploadURLExpiry = time.Hour
)

var errNoArtifacts = lineage.Errorf(lineage.EUNAVAILABLE, "artifact storage is not enabled")

func (r *Resolver) artifactStore() (*artifact.Store, error) {
	if r.blobs == nil {
		return nil, errNoArtifacts
	}
	return r.blobs, nil
}

// location describes where an artifact is. Only a verified pedigree://
// blob has a download URL, and only while this server serves artifacts.
func (r *Resolver) location(uri, digest string, size *int64, verified bool) *model.ArtifactLocation {
	loc := &model.ArtifactLocation{URI: uri, Size: size, Verified: verified}
	if digest != "" {
		loc.Digest = &digest
	}
	if d, ok := artifact.DigestFromURI(uri); ok && verified && r.blobs != nil {
		url := artifact.DefaultPrefix + "sha256/" + strings.TrimPrefix(d, "sha256:")
		loc.DownloadURL = &url
	}
	return loc
}

func (r *Resolver) blobLocation(b *artifact.Blob) *model.ArtifactLocation {
	return r.location(b.URI, b.Digest, &b.Size, true)
}

func (r modelVersionResolver) Artifact(_ context.Context, o *lineage.ModelVersion) (*model.ArtifactLocation, error) {
	return r.location(o.ArtifactURI, o.ArtifactDigest, o.ArtifactSize, o.ArtifactVerified), nil
}

func (r datasetVersionResolver) Location(_ context.Context, o *lineage.DatasetVersion) (*model.ArtifactLocation, error) {
	if o.URI == "" {
		return nil, nil
	}
	return r.location(o.URI, o.Digest, o.Size, o.Verified), nil
}

func (r artifactResolver) Location(_ context.Context, o *lineage.Artifact) (*model.ArtifactLocation, error) {
	if o.URI == "" {
		return nil, nil
	}
	return r.location(o.URI, o.Digest, o.Size, o.Verified), nil
}

// declared names the fields of a register input that describe its bytes.
type declared struct {
	uriField, uri       string
	digestField, digest string
	sizeField           string
	size                *int64
}

// uploaded looks up the blob a register input names with upload and checks
// what the client declared about it against what the store computed: the
// location comes from the store, never from the client.
func (r *Resolver) uploaded(ctx context.Context, upload string, d declared) (*artifact.Blob, error) {
	if d.uri != "" {
		return nil, lineage.Invalid(d.uriField, "give %s or upload, not both: upload sets the location", d.uriField)
	}
	store, err := r.artifactStore()
	if err != nil {
		return nil, err
	}
	digest, err := artifact.ParseDigest("upload", upload)
	if err != nil {
		return nil, err
	}
	b, err := store.Stat(ctx, digest)
	if lineage.ErrorCode(err) == lineage.ENOTFOUND {
		return nil, &lineage.Error{Code: lineage.ENOTFOUND, Field: "upload",
			Message: "upload: no uploaded blob has digest " + digest + "; upload it to /artifacts/ (or with uploadArtifact) first"}
	} else if err != nil {
		return nil, err
	}
	if d.digest != "" {
		want, err := artifact.ParseDigest(d.digestField, d.digest)
		if err != nil {
			return nil, err
		}
		if want != b.Digest {
			return nil, lineage.Invalid(d.digestField, "declared %s but the upload is %s", want, b.Digest)
		}
	}
	if d.size != nil && *d.size != b.Size {
		return nil, lineage.Invalid(d.sizeField, "declared %d bytes but the upload has %d", *d.size, b.Size)
	}
	return b, nil
}

func (r mutationResolver) RegisterDatasetVersion(ctx context.Context, in lineage.RegisterDatasetVersionInput) (*lineage.DatasetVersion, error) {
	if in.Upload != "" {
		b, err := r.uploaded(ctx, in.Upload, declared{uriField: "uri", uri: in.URI, digestField: "digest", digest: in.Digest})
		if err != nil {
			return nil, err
		}
		in.Upload, in.URI, in.Digest, in.Size, in.Verified = b.Digest, b.URI, b.Digest, &b.Size, true
	}
	return r.svc.RegisterDatasetVersion(ctx, in)
}

func (r mutationResolver) RegisterArtifact(ctx context.Context, in lineage.RegisterArtifactInput) (*lineage.Artifact, error) {
	if in.Upload != "" {
		b, err := r.uploaded(ctx, in.Upload, declared{uriField: "uri", uri: in.URI, digestField: "digest", digest: in.Digest,
			sizeField: "size", size: in.Size})
		if err != nil {
			return nil, err
		}
		in.Upload, in.URI, in.Digest, in.Size, in.Verified = b.Digest, b.URI, b.Digest, &b.Size, true
	}
	return r.svc.RegisterArtifact(ctx, in)
}

func (r mutationResolver) RegisterModelVersion(ctx context.Context, in lineage.RegisterModelVersionInput, idempotencyKey *string) (*lineage.ModelVersion, error) {
	in.IdempotencyKey = deref(idempotencyKey)
	if in.Upload != "" {
		b, err := r.uploaded(ctx, in.Upload, declared{uriField: "artifactUri", uri: in.ArtifactURI,
			digestField: "artifactDigest", digest: in.ArtifactDigest})
		if err != nil {
			return nil, err
		}
		in.Upload, in.ArtifactURI, in.ArtifactDigest, in.ArtifactSize, in.Verified = b.Digest, b.URI, b.Digest, &b.Size, true
	}
	return r.svc.RegisterModelVersion(ctx, in)
}

func (r mutationResolver) UploadArtifact(ctx context.Context, file graphql.Upload, digest *string) (*model.ArtifactLocation, error) {
	store, err := r.artifactStore()
	if err != nil {
		return nil, err
	}
	if file.File == nil {
		return nil, lineage.Invalid("file", "is required: send it as a part of a multipart/form-data request")
	}
	if file.Size > r.maxUploadBytes {
		return nil, lineage.Invalid("file", "is %d bytes; uploadArtifact takes at most %d: PUT larger files to %s", file.Size, r.maxUploadBytes, artifact.DefaultPrefix)
	}
	b, err := store.Put(ctx, file.File, deref(digest))
	if err != nil {
		return nil, err
	}
	return r.blobLocation(b), nil
}

func (r mutationResolver) CreateUploadURL(ctx context.Context, size *int64) (*model.UploadURL, error) {
	store, err := r.artifactStore()
	if err != nil {
		return nil, err
	}
	if size != nil && *size < 0 {
		return nil, lineage.Invalid("size", "must not be negative")
	}
	expires := time.Now().Add(uploadURLExpiry)
	id, url, err := store.SignedUploadURL(ctx, uploadURLExpiry)
	if err != nil {
		return nil, err
	}
	return &model.UploadURL{ID: lineage.ID(id), URL: url, Method: "PUT", ExpiresAt: expires.UTC().Truncate(time.Second)}, nil
}

func (r mutationResolver) CompleteUpload(ctx context.Context, id lineage.ID, digest *string) (*model.ArtifactLocation, error) {
	store, err := r.artifactStore()
	if err != nil {
		return nil, err
	}
	b, err := store.CompleteUpload(ctx, string(id), deref(digest))
	if err != nil {
		return nil, err
	}
	return r.blobLocation(b), nil
}
