// Package artifact owns Pedigree's artifact bytes: a content-addressed,
// write-once store on a Go CDK bucket (gocloud.dev/blob), and the streaming
// HTTP endpoint that uploads to and downloads from it.
//
// Every key is chosen here, never by a client: a blob's only key is
// Key(digest) = "sha256/<first 2 hex>/<hex>", where digest is the sha256 the
// server computed while streaming the bytes in. A blob becomes visible under
// that key only once it is complete and its digest verified, and it is never
// overwritten. The package does not know which blobs the lineage graph
// references; GC asks its caller.
//
// The bucket's driver is chosen by the caller (cmd/), so this package imports
// no cloud driver.
package artifact

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/pedigree-ml/pedigree/lineage"
)

const (
	// keyPrefix is where complete, verified blobs live.
	keyPrefix = "sha256/"
	// uploadPrefix is where uploads without a declared digest are written
	// until their digest is known. GC removes stale ones.
	uploadPrefix = "uploads/"
	// uriPrefix starts the URI of a stored artifact.
	uriPrefix = "pedigree://artifacts/sha256/"
	// digestPrefix starts every digest.
	digestPrefix = "sha256:"
	// contentType is the type every blob is stored and served with: bytes
	// are never interpreted, so a stored HTML or SVG file cannot run.
	contentType = "application/octet-stream"
	// copyBuffer bounds the memory one transfer uses.
	copyBuffer = 64 << 10
)

// ErrTooLarge is matched (errors.Is) by the error Put returns when an upload
// exceeds Options.MaxUploadBytes. That error is also a *lineage.Error with
// code EINVALID and field "file".
var ErrTooLarge = errors.New("artifact: upload too large")

// Options configure a Store.
type Options struct {
	// Now is the clock GC measures ages with; time.Now if nil.
	Now func() time.Time
	// Logger receives one line per notable event; discarded if nil.
	Logger *slog.Logger
	// MaxUploadBytes is the largest upload Put accepts; 0 means unlimited.
	MaxUploadBytes int64
}

// Store is Pedigree's artifact storage on a bucket. It is safe for
// concurrent use.
type Store struct {
	bucket *blob.Bucket
	opts   Options
	log    *slog.Logger

	// recent records when this process last handed out each digest from
	// Put, so that GC does not delete a blob a client has just uploaded
	// (possibly as a duplicate of an old, unreferenced blob whose ModTime
	// is past the grace period) before it had a chance to register it.
	mu     sync.Mutex
	recent map[string]time.Time
}

// New returns a Store on bucket. The Store does not own the bucket: the
// caller closes it after the Store is no longer used.
func New(bucket *blob.Bucket, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{bucket: bucket, opts: opts, log: log, recent: map[string]time.Time{}}
}

// Blob describes one stored artifact.
type Blob struct {
	// Digest is "sha256:<64 lower-case hex>", computed by the server.
	Digest string
	// Size is the length in bytes.
	Size int64
	// URI is the artifact's location as recorded in the lineage graph, URI(Digest).
	URI string
	// Key is the bucket key, Key(Digest).
	Key string
	// ModTime is when the bucket last wrote the blob.
	ModTime time.Time
}

// ParseDigest returns s as a normalised digest "sha256:<64 lower-case hex>".
// It accepts "sha256:<hex>" (prefix and hex in any case) and a bare 64-digit
// hex string, as sha256sum prints it. Anything else is an EINVALID
// *lineage.Error naming field.
func ParseDigest(field, s string) (string, error) {
	h := s
	if len(h) >= len(digestPrefix) && strings.EqualFold(h[:len(digestPrefix)], digestPrefix) {
		h = h[len(digestPrefix):]
	}
	h = strings.ToLower(h)
	if !isHex64(h) {
		return "", lineage.Invalid(field, "must be a sha256 digest, \"sha256:\" followed by 64 hex digits")
	}
	return digestPrefix + h, nil
}

// isHex64 reports whether s is exactly 64 lower-case hex digits.
func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// URI returns the URI the lineage graph records for a stored artifact,
// "pedigree://artifacts/sha256/<hex>". digest must be normalised.
func URI(digest string) string {
	return uriPrefix + strings.TrimPrefix(digest, digestPrefix)
}

// DigestFromURI is the inverse of URI. ok is false for any other URI, such
// as an external s3:// reference that Pedigree records but does not store.
func DigestFromURI(uri string) (digest string, ok bool) {
	h, found := strings.CutPrefix(uri, uriPrefix)
	if !found || !isHex64(h) {
		return "", false
	}
	return digestPrefix + h, true
}

// Key returns the bucket key of a digest, "sha256/<first 2 hex>/<hex>": the
// only form of key a blob is stored under. digest must be normalised.
func Key(digest string) string {
	h := strings.TrimPrefix(digest, digestPrefix)
	if len(h) < 2 {
		return keyPrefix + h
	}
	return keyPrefix + h[:2] + "/" + h
}

// digestFromKey is the inverse of Key; ok is false for any other key.
func digestFromKey(key string) (string, bool) {
	rest, found := strings.CutPrefix(key, keyPrefix)
	if !found || len(rest) != 2+1+64 || rest[2] != '/' || !isHex64(rest[3:]) || rest[:2] != rest[3:5] {
		return "", false
	}
	return digestPrefix + rest[3:], true
}

func newBlob(digest string, size int64, mod time.Time) *Blob {
	return &Blob{Digest: digest, Size: size, URI: URI(digest), Key: Key(digest), ModTime: mod}
}

// Put stores the bytes r yields and returns the stored blob. It streams:
// memory use does not depend on the size of r.
//
// If declared is not "", it is parsed with ParseDigest (field "digest") and
// the upload is written straight to Key(declared); if the bytes hash to
// anything else the write is aborted and Put returns an EINVALID error with
// field "digest". Without a declared digest, the bytes go to a temporary key
// and are copied to Key(digest) once the digest is known.
//
// Keys are write-once: if the blob already exists, r is still read and
// hashed (to verify a declared digest) and the existing blob is returned
// unchanged. Use Stat first to tell a new blob from an existing one.
//
// An upload that does not complete (r fails, ctx is canceled, the size limit
// is exceeded) is never visible under Key. A failure r reports and an upload
// over Options.MaxUploadBytes (also matching ErrTooLarge) are EINVALID
// errors with field "file"; bucket failures are returned as they are.
func (s *Store) Put(ctx context.Context, r io.Reader, declared string) (*Blob, error) {
	b, _, err := s.put(ctx, r, declared)
	return b, err
}

// put is Put, also reporting whether this call created the blob.
func (s *Store) put(ctx context.Context, r io.Reader, declared string) (*Blob, bool, error) {
	want := ""
	if declared != "" {
		var err error
		if want, err = ParseDigest("digest", declared); err != nil {
			return nil, false, err
		}
	}
	if s.opts.MaxUploadBytes > 0 {
		r = &limitReader{r: r, left: s.opts.MaxUploadBytes, limit: s.opts.MaxUploadBytes}
	}
	var (
		b       *Blob
		created bool
		err     error
	)
	if want != "" {
		b, created, err = s.putDeclared(ctx, r, want)
	} else {
		b, created, err = s.putUndeclared(ctx, r)
	}
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	s.recent[b.Digest] = s.opts.Now()
	s.mu.Unlock()
	return b, created, nil
}

func (s *Store) putDeclared(ctx context.Context, r io.Reader, want string) (*Blob, bool, error) {
	if b, err := s.Stat(ctx, want); err == nil {
		b, err := s.verifyExisting(r, b, want)
		return b, false, err
	} else if lineage.ErrorCode(err) != lineage.ENOTFOUND {
		return nil, false, err
	}
	if _, _, err := s.write(ctx, r, Key(want), want); err != nil {
		if gcerrors.Code(err) == gcerrors.FailedPrecondition {
			// Another upload of the same bytes won the race; ours was
			// verified, so the blob is the same.
			b, err := s.Stat(ctx, want)
			return b, false, err
		}
		return nil, false, err
	}
	b, err := s.Stat(ctx, want)
	return b, err == nil, err
}

func (s *Store) putUndeclared(ctx context.Context, r io.Reader) (*Blob, bool, error) {
	tmp, err := uploadKey()
	if err != nil {
		return nil, false, err
	}
	got, _, err := s.write(ctx, r, tmp, "")
	if err != nil {
		return nil, false, err
	}
	// The temporary key goes however this ends; GC removes it if this
	// process dies first.
	defer func() {
		if err := s.bucket.Delete(context.WithoutCancel(ctx), tmp); err != nil {
			s.log.Warn("artifact: deleting temporary upload", "key", tmp, "err", err)
		}
	}()
	if b, err := s.Stat(ctx, got); err == nil {
		return b, false, nil
	} else if lineage.ErrorCode(err) != lineage.ENOTFOUND {
		return nil, false, err
	}
	// Copy is atomic on every driver (fileblob writes a temporary file and
	// renames it; S3 CopyObject and memblob replace the object whole), so a
	// partial copy is never visible. Two concurrent copies of the same bytes
	// may both write; the bytes are the same.
	if err := s.bucket.Copy(ctx, Key(got), tmp, nil); err != nil {
		if ctx.Err() != nil {
			return nil, false, readError(ctx.Err())
		}
		return nil, false, fmt.Errorf("artifact: copy upload: %w", err)
	}
	b, err := s.Stat(ctx, got)
	return b, err == nil, err
}

// verifyExisting drains r, checks it hashes to want, and returns the
// existing blob b.
func (s *Store) verifyExisting(r io.Reader, b *Blob, want string) (*Blob, error) {
	h := sha256.New()
	if _, err := io.CopyBuffer(h, r, make([]byte, copyBuffer)); err != nil {
		return nil, readError(err)
	}
	if got := digestPrefix + hex.EncodeToString(h.Sum(nil)); got != want {
		return nil, mismatch(want, got)
	}
	return b, nil
}

// write streams r to key, hashing it. If want is not "" and the bytes hash to
// anything else, or if anything fails, the write is aborted (its context is
// canceled before Close, which makes every Go CDK driver discard it), so
// nothing becomes visible under key. With want set, the write only succeeds
// if key does not exist yet (a FailedPrecondition error otherwise).
func (s *Store) write(ctx context.Context, r io.Reader, key, want string) (digest string, n int64, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, key, &blob.WriterOptions{
		ContentType: contentType,
		IfNotExist:  want != "",
	})
	if err != nil {
		return "", 0, fmt.Errorf("artifact: open writer: %w", err)
	}
	abort := func(e error) (string, int64, error) {
		cancel()
		_ = w.Close()
		return "", 0, e
	}
	h := sha256.New()
	n, err = io.CopyBuffer(io.MultiWriter(taggedWriter{w}, h), onlyReader{r}, make([]byte, copyBuffer))
	if err != nil {
		var we *writeErr
		if errors.As(err, &we) {
			return abort(fmt.Errorf("artifact: write: %w", we.err))
		}
		return abort(readError(err))
	}
	if err := ctx.Err(); err != nil {
		return abort(readError(err))
	}
	digest = digestPrefix + hex.EncodeToString(h.Sum(nil))
	if want != "" && digest != want {
		return abort(mismatch(want, digest))
	}
	if err := w.Close(); err != nil {
		if gcerrors.Code(err) == gcerrors.FailedPrecondition {
			return "", 0, err
		}
		if ctx.Err() != nil {
			return "", 0, readError(ctx.Err())
		}
		return "", 0, fmt.Errorf("artifact: close writer: %w", err)
	}
	return digest, n, nil
}

// onlyReader hides any WriterTo of the reader so that io.CopyBuffer uses
// its bounded buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// taggedWriter marks the bucket writer's errors so they are not mistaken
// for failures to read the upload.
type taggedWriter struct{ w io.Writer }

func (t taggedWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		err = &writeErr{err}
	}
	return n, err
}

type writeErr struct{ err error }

func (e *writeErr) Error() string { return e.err.Error() }

func uploadKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("artifact: random upload key: %w", err)
	}
	return uploadPrefix + hex.EncodeToString(b[:]), nil
}

// Stat returns the stored blob with digest (parsed with ParseDigest, field
// "digest"); ENOTFOUND if there is none.
func (s *Store) Stat(ctx context.Context, digest string) (*Blob, error) {
	d, err := ParseDigest("digest", digest)
	if err != nil {
		return nil, err
	}
	a, err := s.bucket.Attributes(ctx, Key(d))
	if err != nil {
		return nil, s.notFound(err, d)
	}
	return newBlob(d, a.Size, a.ModTime), nil
}

// Open returns a reader of length bytes of the blob with digest, starting at
// offset; length < 0 reads to the end. The caller closes the reader. The
// bytes are not verified: Check does that, and the HTTP handler verifies
// full downloads. ENOTFOUND if there is no such blob; EINVALID (field
// "offset") for a negative offset.
func (s *Store) Open(ctx context.Context, digest string, offset, length int64) (io.ReadCloser, *Blob, error) {
	d, err := ParseDigest("digest", digest)
	if err != nil {
		return nil, nil, err
	}
	if offset < 0 {
		return nil, nil, lineage.Invalid("offset", "must not be negative")
	}
	r, err := s.bucket.NewRangeReader(ctx, Key(d), offset, length, nil)
	if err != nil {
		return nil, nil, s.notFound(err, d)
	}
	return r, newBlob(d, r.Size(), r.ModTime()), nil
}

// notFound turns a bucket NotFound into ENOTFOUND and wraps anything else.
func (s *Store) notFound(err error, digest string) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return lineage.Errorf(lineage.ENOTFOUND, "artifact %s not found", digest)
	}
	return fmt.Errorf("artifact: %s: %w", digest, err)
}

// appError is a client-caused *lineage.Error that also carries its cause
// for errors.Is (ErrTooLarge, context.Canceled, io.ErrUnexpectedEOF).
type appError struct {
	app   *lineage.Error
	cause error
}

func (e *appError) Error() string   { return e.app.Error() }
func (e *appError) Unwrap() []error { return []error{e.app, e.cause} }

func mismatch(want, got string) error {
	return lineage.Invalid("digest", "declared %s but the upload hashes to %s", want, got)
}

// readError classifies a failure to read the upload: the size limit, or an
// interrupted upload (client gone, body cut short, context canceled).
func readError(err error) error {
	var app *appError
	if errors.As(err, &app) {
		return err
	}
	return &appError{app: lineage.Invalid("file", "the upload was interrupted before it completed"), cause: err}
}

// limitReader fails with ErrTooLarge once more than left bytes are read.
type limitReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.tooLarge()
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, l.tooLarge()
	}
	return n, err
}

func (l *limitReader) tooLarge() error {
	return &appError{app: lineage.Invalid("file", "the upload is larger than the limit of %d bytes", l.limit), cause: ErrTooLarge}
}
