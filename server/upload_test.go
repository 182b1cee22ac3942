package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gocloud.dev/blob/memblob"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/server"
)

type gqlResult struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func postGQL(t *testing.T, srv *httptest.Server, header http.Header, contentType string, body io.Reader) gqlResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", body)
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out gqlResult
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("status %d, undecodable response: %v", resp.StatusCode, err)
	}
	return out
}

func postJSON(t *testing.T, srv *httptest.Server, query string, vars map[string]any) gqlResult {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return postGQL(t, srv, nil, "application/json", bytes.NewReader(b))
}

// End to end over the real routes: a multipart upload, a model version
// registered from it, its artifact location, and the download it points at.
func TestUploadRegisterDownload(t *testing.T) {
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	store := artifact.New(bucket, artifact.Options{})
	srv, _ := newServer(t, server.Options{Artifacts: store.Handler(artifact.HandlerOptions{}), ArtifactStore: store})

	file := bytes.Repeat([]byte("weights "), 300_000) // 2.4 MB: spooled to a temporary file
	sum := sha256.Sum256(file)
	digest := "sha256:" + hex.EncodeToString(sum[:])

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("operations", `{"query":"mutation($f: Upload!, $d: String) { uploadArtifact(file: $f, digest: $d) { digest size verified downloadUrl } }","variables":{"f":null,"d":"`+digest+`"}}`)
	_ = mw.WriteField("map", `{"0":["variables.f"]}`)
	fw, _ := mw.CreateFormFile("0", "model.bin")
	_, _ = fw.Write(file)
	_ = mw.Close()
	up := postGQL(t, srv, http.Header{"Graphql-Require-Preflight": {"1"}}, mw.FormDataContentType(), &body)
	if len(up.Errors) > 0 {
		t.Fatalf("uploadArtifact: %+v", up.Errors)
	}

	run := postJSON(t, srv, `mutation { startRun(input: {experiment: "churn"}) { id } }`, nil)
	if len(run.Errors) > 0 {
		t.Fatalf("startRun: %+v", run.Errors)
	}
	runID := run.Data["startRun"].(map[string]any)["id"]

	// A pedigree:// URI typed by hand is refused; nothing is registered.
	hand := postJSON(t, srv, `mutation($in: RegisterModelVersionInput!) { registerModelVersion(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"model": "churn", "run": runID, "artifactUri": artifact.URI(digest)}})
	if len(hand.Errors) != 1 || hand.Errors[0].Extensions["code"] != "BAD_USER_INPUT" || hand.Errors[0].Extensions["field"] != "artifactUri" {
		t.Errorf("pedigree:// by hand: %+v, want BAD_USER_INPUT field artifactUri", hand.Errors)
	}

	reg := postJSON(t, srv, `mutation($in: RegisterModelVersionInput!) { registerModelVersion(input: $in) { version artifactUri artifactDigest } }`,
		map[string]any{"in": map[string]any{"model": "churn", "run": runID, "upload": digest}})
	if len(reg.Errors) > 0 {
		t.Fatalf("registerModelVersion(upload): %+v", reg.Errors)
	}
	if mv := reg.Data["registerModelVersion"].(map[string]any); mv["version"] != float64(1) || mv["artifactUri"] != artifact.URI(digest) || mv["artifactDigest"] != digest {
		t.Errorf("registered %v; want version 1 of the uploaded blob", mv)
	}
	q := postJSON(t, srv, `{ modelVersion(model: "churn", version: 1) { artifact { uri digest size verified downloadUrl } } }`, nil)
	if len(q.Errors) > 0 {
		t.Fatalf("modelVersion: %+v", q.Errors)
	}
	loc := q.Data["modelVersion"].(map[string]any)["artifact"].(map[string]any)
	want := map[string]any{"uri": artifact.URI(digest), "digest": digest, "size": float64(len(file)), "verified": true,
		"downloadUrl": "/artifacts/sha256/" + strings.TrimPrefix(digest, "sha256:")}
	for k, v := range want {
		if loc[k] != v {
			t.Errorf("artifact.%s = %v, want %v", k, loc[k], v)
		}
	}
	resp, err := srv.Client().Get(srv.URL + want["downloadUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, file) {
		t.Errorf("GET downloadUrl: %s, %d bytes; want the uploaded %d bytes", resp.Status, len(got), len(file))
	}
}
