package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/artifact/artifacttest"
	"github.com/pedigree-ml/pedigree/lineage"
)

// moto is one S3-protocol server (python3 -m moto.server) for the test
// binary, started on first use.
var moto = sync.OnceValues(func() (string, error) {
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		return "", errMotoMissing
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		return "", err
	}
	motoCmd = cmd
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(endpoint + "/"); err == nil {
			resp.Body.Close()
			return endpoint, nil
		}
	}
	return "", fmt.Errorf("moto did not start on %s", endpoint)
})

var (
	motoCmd        *exec.Cmd
	errMotoMissing = fmt.Errorf("python3 -m moto.server is not available")
	motoBuckets    atomic.Int64
)

// newS3Bucket creates a fresh bucket on moto and opens it through the same
// s3blob driver and URL form a deployment uses.
func newS3Bucket(t *testing.T) *blob.Bucket {
	t.Helper()
	b, err := openBucket(context.Background(), s3BucketURL(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// s3BucketURL creates a fresh bucket on moto and returns its --blob-url.
func s3BucketURL(t *testing.T) string {
	t.Helper()
	endpoint, err := moto()
	if err == errMotoMissing {
		t.Skip("S3 tests need moto: python3 -m pip install 'moto[server]'")
	} else if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	name := fmt.Sprintf("pedigree-%d", motoBuckets.Add(1))
	req, _ := http.NewRequest(http.MethodPut, endpoint+"/"+name, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create bucket %s: %s", name, resp.Status)
	}
	return fmt.Sprintf("s3://%s?region=us-east-1&endpoint=%s&use_path_style=true&disable_https=true", name, endpoint)
}

// TestMain stops moto after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if motoCmd != nil {
		_ = motoCmd.Process.Kill()
		_ = motoCmd.Wait()
	}
	os.Exit(code)
}

func TestArtifactStoreS3(t *testing.T) {
	artifacttest.Run(t, newS3Bucket)
}

// A pre-signed URL on real S3 protocol takes the bytes directly; they are
// stored under their digest only by CompleteUpload, which checks them.
func TestPresignedUploadS3(t *testing.T) {
	ctx := context.Background()
	b := newS3Bucket(t)
	s := artifact.New(b, artifact.Options{})
	id, url, err := s.SignedUploadURL(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("weights ", 1000))
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(data))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT to the pre-signed URL = %s", resp.Status)
	}
	digest := artifacttest.Digest(data)
	if _, err := s.Stat(ctx, digest); lineage.ErrorCode(err) != lineage.ENOTFOUND {
		t.Fatalf("before CompleteUpload the blob is visible: %v", err)
	}
	got, err := s.CompleteUpload(ctx, id, digest)
	if err != nil || got.Digest != digest || got.Size != int64(len(data)) {
		t.Fatalf("CompleteUpload = %+v, %v", got, err)
	}
	if res, err := s.Check(ctx, digest); err != nil || res.Problem != "" {
		t.Errorf("Check after CompleteUpload = %+v, %v", res, err)
	}
}

// The whole pre-signed path through the API on an S3 bucket: the URL takes
// the bytes, completeUpload verifies them, and the version registered from
// the upload downloads through the server.
func TestPresignedUploadOverGraphQL(t *testing.T) {
	m := MustServe(t, t.TempDir(), "--blob-url", s3BucketURL(t))
	c := newClient(m.URL())
	var created struct {
		CreateUploadUrl struct{ ID, URL, Method string }
	}
	c.must(t, `mutation { createUploadUrl { id url method } }`, nil, &created)
	data := []byte(strings.Repeat("w", 1<<20))
	req, _ := http.NewRequest(created.CreateUploadUrl.Method, created.CreateUploadUrl.URL, bytes.NewReader(data))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT to the pre-signed URL = %s", resp.Status)
	}
	digest := artifacttest.Digest(data)
	var done struct{ CompleteUpload struct{ Digest, URI string } }
	c.must(t, `mutation($id: ID!, $d: String) { completeUpload(id: $id, digest: $d) { digest uri } }`,
		map[string]any{"id": created.CreateUploadUrl.ID, "d": digest}, &done)
	if done.CompleteUpload.Digest != digest {
		t.Fatalf("completeUpload = %+v, want digest %s", done.CompleteUpload, digest)
	}
	var r struct{ StartRun idResult }
	c.must(t, startRun, map[string]any{"in": map[string]any{"experiment": "s3"}}, &r)
	var mv struct {
		RegisterModelVersion struct {
			Artifact struct {
				Size        int64
				Verified    bool
				DownloadURL string
			}
		}
	}
	c.must(t, `mutation($in: RegisterModelVersionInput!) { registerModelVersion(input: $in) { artifact { size verified downloadUrl } } }`,
		map[string]any{"in": map[string]any{"model": "churn", "run": r.StartRun.ID, "upload": digest}}, &mv)
	a := mv.RegisterModelVersion.Artifact
	if !a.Verified || a.Size != int64(len(data)) || a.DownloadURL == "" {
		t.Fatalf("artifact = %+v", a)
	}
	get, err := http.Get(m.URL() + a.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, data) {
		t.Errorf("download through the server: %d bytes, want the %d uploaded", len(got), len(data))
	}
}
