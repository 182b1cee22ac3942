package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/pedigree-ml/pedigree/artifact/artifacttest"
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
	u := fmt.Sprintf("s3://%s?region=us-east-1&endpoint=%s&use_path_style=true&disable_https=true", name, endpoint)
	b, err := openBucket(context.Background(), u, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
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
