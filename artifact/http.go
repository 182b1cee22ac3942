package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/pedigree-ml/pedigree/lineage"
)

// HeaderDigest carries a digest "sha256:<hex>" on uploads (declared by the
// client) and downloads (the stored digest).
const HeaderDigest = "X-Pedigree-Digest"

// DefaultPrefix is the path the server mounts Handler at.
const DefaultPrefix = "/artifacts/"

// HandlerOptions configure Store.Handler.
type HandlerOptions struct {
	// Prefix is the path the handler is mounted at, with a trailing slash;
	// DefaultPrefix if "". The handler sees the full request path (mount it
	// with mux.Handle(prefix, h), not behind http.StripPrefix).
	Prefix string
	// RequestID returns the id of the request ctx belongs to, for log lines
	// and internal error messages; none if nil.
	RequestID func(ctx context.Context) string
}

// Handler returns the streaming HTTP endpoint for artifacts:
//
//	PUT|POST <prefix>                 upload the body; optional X-Pedigree-Digest: sha256:<hex>
//	                                  or Repr-Digest: sha-256=:<base64>: (RFC 9530) is verified.
//	                                  201 {"digest","size","uri"}, 200 if it already existed,
//	                                  400 bad digest/interrupted, 413 over MaxUploadBytes.
//	GET|HEAD <prefix>sha256/<hex>     download, with Content-Length, X-Pedigree-Digest, ETag,
//	                                  single byte ranges (206/416), served as an attachment.
//
// Paths are checked after exactly one decode and must be exactly
// "sha256/<64 lower-case hex>" (downloads) or empty (uploads); anything else,
// including any percent-encoding, query string or path parameter, is 400
// and touches nothing. Other methods are 405. A full download is hashed
// while it streams; if the bytes are not the digest's, the response is
// aborted before its last byte, so the client sees a broken transfer rather
// than corrupt data. Range responses cannot be verified that way.
//
// Error responses are JSON {"code","field","message"}; internal errors are
// "internal error (request id …)" and logged once.
func (s *Store) Handler(opts HandlerOptions) http.Handler {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.RequestID == nil {
		opts.RequestID = func(context.Context) string { return "" }
	}
	return &handler{s: s, opts: opts}
}

type handler struct {
	s    *Store
	opts HandlerOptions
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, POST")
		h.fail(w, r, http.StatusMethodNotAllowed, lineage.Errorf(lineage.EINVALID, "method %s not allowed", r.Method))
		return
	}
	rest, err := h.path(r)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err)
		return
	}
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		if rest != "" {
			h.fail(w, r, http.StatusBadRequest, lineage.Invalid("path", "uploads go to %s; the server chooses the key", h.opts.Prefix))
			return
		}
		h.upload(w, r)
		return
	}
	hexd, ok := strings.CutPrefix(rest, "sha256/")
	if !ok || !isHex64(hexd) {
		h.fail(w, r, http.StatusBadRequest, lineage.Invalid("path", "must be %ssha256/ followed by 64 lower-case hex digits", h.opts.Prefix))
		return
	}
	h.download(w, r, digestPrefix+hexd)
}

// path returns the request path after the prefix, refusing anything that
// is not already in its one canonical form: the decoded path must equal the
// path as sent (so no percent-encoding of any kind, which rules out encoded
// slashes, dots and double encoding), and it may only hold the characters
// a key is made of.
func (h *handler) path(r *http.Request) (string, error) {
	bad := func() error {
		return lineage.Invalid("path", "must be %ssha256/ followed by 64 lower-case hex digits", h.opts.Prefix)
	}
	u := r.URL
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" || u.User != nil {
		return "", bad()
	}
	p := u.Path
	if u.RawPath != "" && u.RawPath != p {
		return "", bad()
	}
	if ep := u.EscapedPath(); ep != p {
		return "", bad()
	}
	// The request line itself, where available, must agree: it is what
	// the client sent, before any decoding or proxy rewriting.
	if r.RequestURI != "" && r.RequestURI != p {
		return "", bad()
	}
	rest, ok := strings.CutPrefix(p, h.opts.Prefix)
	if !ok {
		return "", bad()
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || c == '/') {
			return "", bad()
		}
	}
	return rest, nil
}

type uploadResponse struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	URI    string `json:"uri"`
}

func (h *handler) upload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	declared, err := declaredDigest(r.Header)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err)
		return
	}
	if max := h.s.opts.MaxUploadBytes; max > 0 && r.ContentLength > max {
		h.fail(w, r, http.StatusRequestEntityTooLarge, lineage.Invalid("file", "the upload is larger than the limit of %d bytes", max))
		return
	}
	b, created, err := h.s.put(ctx, r.Body, declared)
	if err != nil {
		switch {
		case errors.Is(err, ErrTooLarge):
			h.fail(w, r, http.StatusRequestEntityTooLarge, err)
		case lineage.ErrorCode(err) == lineage.EINVALID:
			h.fail(w, r, http.StatusBadRequest, err)
		default:
			h.fail(w, r, http.StatusInternalServerError, err)
		}
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h.s.log.Info("artifact: uploaded", "request_id", h.opts.RequestID(ctx), "digest", b.Digest, "size", b.Size, "new", status == http.StatusCreated)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", h.opts.Prefix+"sha256/"+strings.TrimPrefix(b.Digest, digestPrefix))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(uploadResponse{Digest: b.Digest, Size: b.Size, URI: b.URI})
}

// declaredDigest reads the digest a client declares for an upload, from
// X-Pedigree-Digest or Repr-Digest (RFC 9530, sha-256 only); both must agree.
func declaredDigest(hd http.Header) (string, error) {
	var d string
	if v := hd.Values(HeaderDigest); len(v) > 0 {
		if len(v) > 1 {
			return "", lineage.Invalid("digest", "give %s once", HeaderDigest)
		}
		var err error
		if d, err = ParseDigest("digest", v[0]); err != nil {
			return "", err
		}
	}
	if v := hd.Values("Repr-Digest"); len(v) > 0 {
		rd, err := parseReprDigest(strings.Join(v, ","))
		if err != nil {
			return "", err
		}
		if rd != "" {
			if d != "" && d != rd {
				return "", lineage.Invalid("digest", "%s and Repr-Digest disagree", HeaderDigest)
			}
			d = rd
		}
	}
	return d, nil
}

// parseReprDigest returns the sha-256 member of an RFC 9530 Repr-Digest
// dictionary as a digest, "" if there is none.
func parseReprDigest(v string) (string, error) {
	for _, m := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(m), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "sha-256") {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) < 2 || val[0] != ':' || val[len(val)-1] != ':' {
			return "", lineage.Invalid("digest", "Repr-Digest sha-256 must be a byte sequence, :<base64>:")
		}
		raw, err := base64.StdEncoding.DecodeString(val[1 : len(val)-1])
		if err != nil || len(raw) != sha256.Size {
			return "", lineage.Invalid("digest", "Repr-Digest sha-256 must be the base64 of 32 bytes")
		}
		return digestPrefix + hex.EncodeToString(raw), nil
	}
	return "", nil
}

func (h *handler) download(w http.ResponseWriter, r *http.Request, digest string) {
	ctx := r.Context()
	b, err := h.s.Stat(ctx, digest)
	if err != nil {
		if lineage.ErrorCode(err) == lineage.ENOTFOUND {
			h.fail(w, r, http.StatusNotFound, err)
		} else {
			h.fail(w, r, http.StatusInternalServerError, err)
		}
		return
	}
	hexd := strings.TrimPrefix(digest, digestPrefix)
	etag := `"` + digest + `"`
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Disposition", `attachment; filename="`+hexd+`"`)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set(HeaderDigest, digest)
	hd.Set("ETag", etag)
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("Cache-Control", "private, max-age=31536000, immutable")

	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	start, length, ranged, ok := parseRange(r.Header.Get("Range"), b.Size)
	if ir := r.Header.Get("If-Range"); ranged && ir != "" && ir != etag {
		ranged, start, length, ok = false, 0, b.Size, true
	}
	if !ok {
		hd.Set("Content-Range", fmt.Sprintf("bytes */%d", b.Size))
		h.fail(w, r, http.StatusRequestedRangeNotSatisfiable, lineage.Invalid("range", "not satisfiable for %d bytes", b.Size))
		return
	}
	hd.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if ranged {
		status = http.StatusPartialContent
		hd.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, b.Size))
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	rc, _, err := h.s.Open(ctx, digest, start, length)
	if err != nil {
		hd.Del("Content-Length")
		if lineage.ErrorCode(err) == lineage.ENOTFOUND {
			h.fail(w, r, http.StatusNotFound, err)
		} else {
			h.fail(w, r, http.StatusInternalServerError, err)
		}
		return
	}
	defer rc.Close()
	w.WriteHeader(status)
	buf := make([]byte, copyBuffer)
	if ranged {
		if _, err := io.CopyBuffer(w, io.LimitReader(onlyReader{rc}, length), buf); err != nil {
			h.s.log.Info("artifact: download interrupted", "request_id", h.opts.RequestID(ctx), "digest", digest, "err", err)
			panic(http.ErrAbortHandler)
		}
		return
	}
	// A full download is verified as it streams. The last byte is held back
	// until the hash is known: with Content-Length set, a client that got
	// every byte would otherwise take the transfer as complete.
	hash := sha256.New()
	src := io.TeeReader(onlyReader{rc}, hash)
	head := length - 1
	if head < 0 {
		head = 0
	}
	n, err := io.CopyBuffer(w, io.LimitReader(src, head), buf)
	if err != nil || n != head {
		h.abort(ctx, digest, "reading or sending", err)
	}
	tail, err := io.ReadAll(io.LimitReader(src, 2))
	if err != nil {
		h.abort(ctx, digest, "reading", err)
	}
	got := digestPrefix + hex.EncodeToString(hash.Sum(nil))
	if int64(len(tail)) != length-head || got != digest {
		h.s.log.Error("artifact: corrupt blob on download", "request_id", h.opts.RequestID(ctx), "digest", digest, "hashes_to", got)
		panic(http.ErrAbortHandler)
	}
	if _, err := w.Write(tail); err != nil {
		h.abort(ctx, digest, "sending", err)
	}
}

func (h *handler) abort(ctx context.Context, digest, what string, err error) {
	h.s.log.Info("artifact: download interrupted", "request_id", h.opts.RequestID(ctx), "digest", digest, "while", what, "err", err)
	panic(http.ErrAbortHandler)
}

// parseRange interprets a Range header for a blob of size bytes. ranged is
// false (the whole blob) if there is no header, or one this handler does not
// serve (another unit, several ranges), which RFC 9110 lets a server
// ignore. ok is false if a single byte range cannot be satisfied.
func parseRange(v string, size int64) (start, length int64, ranged, ok bool) {
	whole := func() (int64, int64, bool, bool) { return 0, size, false, true }
	spec, found := strings.CutPrefix(v, "bytes=")
	if v == "" || !found || strings.Contains(spec, ",") {
		return whole()
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, true, false
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 19 {
			return 0, false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if a == "" { // bytes=-n: the last n bytes
		n, good := num(b)
		if !good || n == 0 || size == 0 {
			return 0, 0, true, false
		}
		n = min(n, size)
		return size - n, n, true, true
	}
	first, good := num(a)
	if !good || first >= size {
		return 0, 0, true, false
	}
	last := size - 1
	if b != "" {
		l, good := num(b)
		if !good || l < first {
			return 0, 0, true, false
		}
		last = min(l, size-1)
	}
	return first, last - first + 1, true, true
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

type errorResponse struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// fail writes an error response. Application errors show their message;
// anything else is logged once and shown as "internal error (request id …)".
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	id := h.opts.RequestID(r.Context())
	resp := errorResponse{Code: lineage.ErrorCode(err), Field: lineage.ErrorField(err), Message: lineage.ErrorMessage(err)}
	if resp.Code == lineage.EINTERNAL {
		if errors.Is(err, context.Canceled) || r.Context().Err() != nil {
			h.s.log.Info("artifact: request canceled", "request_id", id, "method", r.Method, "err", err)
		} else {
			h.s.log.Error("artifact: internal error", "request_id", id, "method", r.Method, "err", err)
		}
		resp.Message = "internal error"
		if id != "" {
			resp.Message += " (request id " + id + ")"
		}
	} else {
		// Client errors are logged without the path: it is the client's
		// input and may carry anything.
		h.s.log.Log(r.Context(), slog.LevelInfo, "artifact: refused", "request_id", id, "method", r.Method, "status", status, "code", resp.Code, "field", resp.Field)
	}
	hd := w.Header()
	hd.Del(HeaderDigest)
	hd.Del("ETag")
	hd.Del("Content-Disposition")
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}
