package resolvers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"gocloud.dev/blob/memblob"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/lineage"
)

const uploadMutation = `mutation($f: Upload!, $d: String) { uploadArtifact(file: $f, digest: $d) { uri digest size verified downloadUrl } }`

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func newArtifactStore(t testing.TB) *artifact.Store {
	t.Helper()
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { b.Close() })
	return artifact.New(b, artifact.Options{})
}

// multipartBody builds a GraphQL multipart request (operations, map, one
// file mapped to variables.f).
func multipartBody(t testing.TB, query string, vars map[string]any, file []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if vars == nil {
		vars = map[string]any{}
	}
	vars["f"] = nil
	ops, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	_ = mw.WriteField("operations", string(ops))
	_ = mw.WriteField("map", `{"0":["variables.f"]}`)
	fw, err := mw.CreateFormFile("0", "model.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(file)
	_ = mw.Close()
	return mw.FormDataContentType(), &buf
}

func (s *testServer) postMultipart(t testing.TB, header http.Header, contentType string, body io.Reader) *gqlResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	return s.do(t, req)
}

func (s *testServer) upload(t testing.TB, file []byte, vars map[string]any) *gqlResponse {
	t.Helper()
	ct, body := multipartBody(t, uploadMutation, vars, file)
	return s.postMultipart(t, http.Header{headerPreflight: {"1"}}, ct, body)
}

func preflight() http.Header { return http.Header{headerPreflight: {"1"}} }

// A real multipart upload over HTTP: small files stay in memory, larger
// ones are spooled to a temporary file; the store gets the bytes, the
// response their server-computed location.
func TestUploadArtifact(t *testing.T) {
	store := newArtifactStore(t)
	s := newTestServer(t, nil, Options{Artifacts: store, UploadMemory: 1 << 10, MaxUploadBytes: 1 << 20})
	for _, size := range []int{0, 100, 1 << 10, 1<<10 + 1, 300_000} {
		file := bytes.Repeat([]byte{byte(size)}, size)
		digest := sha(file)
		for _, declared := range []any{nil, digest} {
			r := s.upload(t, file, map[string]any{"d": declared})
			if r.Status != http.StatusOK || len(r.Errors) > 0 {
				t.Fatalf("upload of %d bytes: %d %s", size, r.Status, r.Raw)
			}
			loc, _ := r.Data["uploadArtifact"].(map[string]any)
			hexd := strings.TrimPrefix(digest, "sha256:")
			want := map[string]any{"uri": artifact.URI(digest), "digest": digest, "size": float64(size), "verified": true,
				"downloadUrl": "/artifacts/sha256/" + hexd}
			for k, v := range want {
				if loc[k] != v {
					t.Errorf("upload of %d bytes: %s = %v, want %v", size, k, loc[k], v)
				}
			}
			b, err := store.Stat(context.Background(), digest)
			if err != nil || b.Size != int64(size) {
				t.Errorf("upload of %d bytes: stored %+v, %v", size, b, err)
			}
		}
	}
}

func TestUploadArtifactRefusals(t *testing.T) {
	store := newArtifactStore(t)
	const limit = 64 << 10
	s := newTestServer(t, nil, Options{Artifacts: store, UploadMemory: 1 << 10, MaxUploadBytes: limit})
	file := []byte("model bytes")
	stored := func() bool { _, err := store.Stat(context.Background(), sha(file)); return err == nil }

	t.Run("digest mismatch", func(t *testing.T) {
		r := s.upload(t, file, map[string]any{"d": sha([]byte("other bytes"))})
		if r.code() != lineage.EINVALID || r.Errors[0].Extensions["field"] != "digest" {
			t.Errorf("wrong declared digest: %s, want BAD_USER_INPUT field digest", r.Raw)
		}
		if r := s.upload(t, file, map[string]any{"d": "sha256:nothex"}); r.code() != lineage.EINVALID || r.Errors[0].Extensions["field"] != "digest" {
			t.Errorf("malformed declared digest: %s, want BAD_USER_INPUT field digest", r.Raw)
		}
		if stored() {
			t.Error("a refused upload was stored")
		}
	})
	t.Run("file over the limit", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), limit+1) // the body is within limit + overhead
		r := s.upload(t, big, nil)
		if r.code() != lineage.EINVALID || r.Errors[0].Extensions["field"] != "file" {
			t.Errorf("file of limit+1 bytes: %s, want BAD_USER_INPUT field file", r.Raw)
		}
		if _, err := store.Stat(context.Background(), sha(big)); err == nil {
			t.Error("a file over the limit was stored")
		}
		if r := s.upload(t, big[:limit], nil); len(r.Errors) > 0 {
			t.Errorf("file of exactly the limit: %s", r.Raw)
		}
	})
	t.Run("body over the cap", func(t *testing.T) {
		huge := bytes.Repeat([]byte("y"), limit+multipartOverhead+1)
		r := s.upload(t, huge, nil)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("body over limit + overhead: %d %s, want 413", r.Status, r.Raw)
		}
	})
	t.Run("no preflight header", func(t *testing.T) {
		ct, body := multipartBody(t, uploadMutation, nil, file)
		r := s.postMultipart(t, nil, ct, body)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Raw, headerPreflight) {
			t.Errorf("multipart without %s: %d %s, want 400 naming the header", headerPreflight, r.Status, r.Raw)
		}
		if stored() {
			t.Error("an upload without the preflight header was stored")
		}
		ct, body = multipartBody(t, uploadMutation, nil, file)
		if r := s.postMultipart(t, http.Header{headerApolloPreflight: {"true"}}, ct, body); len(r.Errors) > 0 {
			t.Errorf("multipart with %s: %s", headerApolloPreflight, r.Raw)
		}
	})
	t.Run("no Content-Length", func(t *testing.T) {
		ct, body := multipartBody(t, uploadMutation, nil, file)
		r := s.postMultipart(t, preflight(), ct, io.MultiReader(body)) // unknown length: chunked
		if r.Status != http.StatusLengthRequired {
			t.Errorf("chunked multipart: %d %s, want 411", r.Status, r.Raw)
		}
	})
	t.Run("malformed requests", func(t *testing.T) {
		hugeOps := `{"query":"` + uploadMutation + `","variables":{"f":null,"pad":"` + strings.Repeat("p", DefaultMaxBodyBytes) + `"}}`
		for _, tc := range []struct {
			name   string
			parts  [][2]string
			status int
		}{
			{"map first", [][2]string{{"map", `{}`}, {"operations", `{}`}}, http.StatusBadRequest},
			{"batched operations", [][2]string{{"operations", `[{"query":"{__typename}"}]`}, {"map", `{}`}}, http.StatusBadRequest},
			{"operations over 1 MiB", [][2]string{{"operations", hugeOps}, {"map", `{}`}}, http.StatusRequestEntityTooLarge},
			{"map naming a missing file", [][2]string{{"operations", `{"query":"{__typename}"}`}, {"map", `{"0":["variables.f"]}`}}, http.StatusBadRequest},
			{"file not in the map", [][2]string{{"operations", `{"query":"{__typename}"}`}, {"map", `{}`}, {"0", "x"}}, http.StatusBadRequest},
			{"map to a path the operations lack", [][2]string{{"operations", `{"query":"{__typename}"}`}, {"map", `{"0":["variables.nope.x"]}`}, {"0", "x"}}, http.StatusBadRequest},
		} {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for _, p := range tc.parts {
				_ = mw.WriteField(p[0], p[1])
			}
			_ = mw.Close()
			r := s.postMultipart(t, preflight(), mw.FormDataContentType(), &buf)
			if r.Status != tc.status || r.code() != CodeBadRequest {
				t.Errorf("%s: %d %s, want %d BAD_REQUEST", tc.name, r.Status, r.Raw, tc.status)
			}
			if strings.Contains(r.Raw, "variables.nope") || strings.Contains(r.Raw, "ppp") {
				t.Errorf("%s: the error echoes the request: %s", tc.name, r.Raw)
			}
		}
	})
	t.Run("file as JSON", func(t *testing.T) {
		r := s.post(t, uploadMutation, map[string]any{"f": "/etc/passwd"})
		if r.code() != lineage.EINVALID || r.Errors[0].Extensions["field"] != "file" {
			t.Errorf("uploadArtifact over JSON: %s, want BAD_USER_INPUT field file", r.Raw)
		}
	})
	t.Run("storage not enabled", func(t *testing.T) {
		s := newTestServer(t, nil, Options{})
		if r := s.upload(t, file, nil); r.code() != lineage.EUNAVAILABLE {
			t.Errorf("upload without storage: %s, want UNAVAILABLE", r.Raw)
		}
		for _, q := range []string{`mutation { createUploadUrl { url } }`, `mutation { completeUpload(id: "0123456789abcdef0123456789abcdef") { uri } }`} {
			if r := s.post(t, q, nil); r.code() != lineage.EUNAVAILABLE {
				t.Errorf("%s without storage: %s, want UNAVAILABLE", q, r.Raw)
			}
		}
	})
	t.Run("pre-signed URLs on a bucket that cannot sign", func(t *testing.T) {
		if r := s.post(t, `mutation { createUploadUrl(size: 10) { id url method expiresAt } }`, nil); r.code() != lineage.EUNAVAILABLE {
			t.Errorf("createUploadUrl on mem://: %s, want UNAVAILABLE", r.Raw)
		}
		r := s.post(t, `mutation { completeUpload(id: "0123456789abcdef0123456789abcdef") { uri } }`, nil)
		if r.code() != lineage.ENOTFOUND || r.Errors[0].Extensions["field"] != "id" {
			t.Errorf("completeUpload of nothing: %s, want NOT_FOUND field id", r.Raw)
		}
	})
}

// registerStub records what the register mutations hand the Service.
type registerStub struct {
	stubService
	mu sync.Mutex
	mv lineage.RegisterModelVersionInput
	dv lineage.RegisterDatasetVersionInput
	a  lineage.RegisterArtifactInput
}

func (s *registerStub) RegisterModelVersion(_ context.Context, in lineage.RegisterModelVersionInput) (*lineage.ModelVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mv = in
	return &lineage.ModelVersion{Meta: lineage.Meta{ID: "modelversion:m/1"}, Model: in.Model, Version: 1, Run: in.Run,
		ArtifactURI: in.ArtifactURI, ArtifactDigest: in.ArtifactDigest, ArtifactSize: in.ArtifactSize, ArtifactVerified: in.Verified}, nil
}

func (s *registerStub) RegisterDatasetVersion(_ context.Context, in lineage.RegisterDatasetVersionInput) (*lineage.DatasetVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dv = in
	return &lineage.DatasetVersion{Meta: lineage.Meta{ID: "datasetversion:d/1"}, Dataset: in.Dataset, Version: 1,
		URI: in.URI, Digest: in.Digest, Size: in.Size, Verified: in.Verified}, nil
}

func (s *registerStub) RegisterArtifact(_ context.Context, in lineage.RegisterArtifactInput) (*lineage.Artifact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.a = in
	return &lineage.Artifact{Meta: lineage.Meta{ID: "artifact:a/1"}, Name: in.Name, Version: 1,
		URI: in.URI, Digest: in.Digest, Size: in.Size, Verified: in.Verified}, nil
}

// Register mutations with upload: the location, digest and size come from
// the store; what the client declares must agree; upload excludes a URI.
func TestRegisterFromUpload(t *testing.T) {
	store := newArtifactStore(t)
	file := []byte("the model")
	digest := sha(file)
	if _, err := store.Put(context.Background(), bytes.NewReader(file), ""); err != nil {
		t.Fatal(err)
	}
	stub := &registerStub{}
	srv := newTestServerWith(t, stub, Options{Artifacts: store})
	hexd := strings.TrimPrefix(digest, "sha256:")
	const regMV = `mutation($in: RegisterModelVersionInput!) { registerModelVersion(input: $in) {
		artifactUri artifactDigest artifact { uri digest size verified downloadUrl } } }`
	const regDV = `mutation($in: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $in) { uri digest location { size verified downloadUrl } } }`
	const regA = `mutation($in: RegisterArtifactInput!) { registerArtifact(input: $in) { uri digest size location { size verified downloadUrl } } }`

	r := srv.post(t, regMV, map[string]any{"in": map[string]any{"model": "m", "run": "run:x", "upload": hexd}})
	if len(r.Errors) > 0 {
		t.Fatal(r.Raw)
	}
	got := stub.mv
	if got.ArtifactURI != artifact.URI(digest) || got.ArtifactDigest != digest || got.ArtifactSize == nil ||
		*got.ArtifactSize != int64(len(file)) || !got.Verified || got.Upload != digest {
		t.Errorf("registerModelVersion(upload) gave the Service %+v", got)
	}
	loc := r.Data["registerModelVersion"].(map[string]any)["artifact"].(map[string]any)
	if loc["verified"] != true || loc["size"] != float64(len(file)) || loc["downloadUrl"] != "/artifacts/sha256/"+hexd {
		t.Errorf("artifact = %v", loc)
	}

	r = srv.post(t, regDV, map[string]any{"in": map[string]any{"dataset": "d", "upload": digest, "digest": digest}})
	if len(r.Errors) > 0 || !stub.dv.Verified || stub.dv.URI != artifact.URI(digest) || *stub.dv.Size != int64(len(file)) {
		t.Errorf("registerDatasetVersion(upload): %s; Service got %+v", r.Raw, stub.dv)
	}
	r = srv.post(t, regA, map[string]any{"in": map[string]any{"name": "a", "upload": digest, "size": len(file)}})
	if len(r.Errors) > 0 || !stub.a.Verified || stub.a.Digest != digest {
		t.Errorf("registerArtifact(upload): %s; Service got %+v", r.Raw, stub.a)
	}

	// External references are recorded as given, unverified, with no download URL.
	r = srv.post(t, regMV, map[string]any{"in": map[string]any{"model": "m", "run": "run:x", "artifactUri": "s3://b/m"}})
	if loc := r.Data["registerModelVersion"].(map[string]any)["artifact"].(map[string]any); loc["verified"] != false ||
		loc["downloadUrl"] != nil || loc["size"] != nil || loc["uri"] != "s3://b/m" || stub.mv.Verified {
		t.Errorf("external artifact = %v (%s)", loc, r.Raw)
	}

	other := sha([]byte("other"))
	for _, tc := range []struct {
		name, query string
		in          map[string]any
		code, field string
	}{
		{"upload and artifactUri", regMV, map[string]any{"model": "m", "run": "run:x", "upload": digest, "artifactUri": "s3://b/m"}, lineage.EINVALID, "artifactUri"},
		{"artifactDigest that differs", regMV, map[string]any{"model": "m", "run": "run:x", "upload": digest, "artifactDigest": other}, lineage.EINVALID, "artifactDigest"},
		{"artifactDigest of another algorithm", regMV, map[string]any{"model": "m", "run": "run:x", "upload": digest, "artifactDigest": "md5:" + strings.Repeat("0", 32)}, lineage.EINVALID, "artifactDigest"},
		{"upload never uploaded", regMV, map[string]any{"model": "m", "run": "run:x", "upload": other}, lineage.ENOTFOUND, "upload"},
		{"upload not a digest", regMV, map[string]any{"model": "m", "run": "run:x", "upload": "../../etc/passwd"}, lineage.EINVALID, "upload"},
		{"dataset upload and uri", regDV, map[string]any{"dataset": "d", "upload": digest, "uri": "s3://lake/x"}, lineage.EINVALID, "uri"},
		{"dataset digest that differs", regDV, map[string]any{"dataset": "d", "upload": digest, "digest": other}, lineage.EINVALID, "digest"},
		{"artifact size that differs", regA, map[string]any{"name": "a", "upload": digest, "size": 1}, lineage.EINVALID, "size"},
	} {
		stub.mv, stub.dv, stub.a = lineage.RegisterModelVersionInput{}, lineage.RegisterDatasetVersionInput{}, lineage.RegisterArtifactInput{}
		r := srv.post(t, tc.query, map[string]any{"in": tc.in})
		if r.code() != tc.code || r.Errors[0].Extensions["field"] != tc.field {
			t.Errorf("%s: %s, want %s field %s", tc.name, r.Raw, tc.code, tc.field)
		}
		if stub.mv.Model != "" || stub.dv.Dataset != "" || stub.a.Name != "" {
			t.Errorf("%s: refused, but the Service was called", tc.name)
		}
	}

	// Without artifact storage, upload is unavailable; a URI still works.
	plain := newTestServerWith(t, &registerStub{}, Options{})
	if r := plain.post(t, regMV, map[string]any{"in": map[string]any{"model": "m", "run": "run:x", "upload": digest}}); r.code() != lineage.EUNAVAILABLE {
		t.Errorf("upload without storage: %s, want UNAVAILABLE", r.Raw)
	}
}

// newTestServerWith is newTestServer with any service.
func newTestServerWith(t testing.TB, svc service, opts Options) *testServer {
	t.Helper()
	logs := &logBuffer{}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	srv := httptest.NewServer(newHandler(svc, opts))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, logs: logs}
}
