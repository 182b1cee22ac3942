package artifact_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/artifact/artifacttest"
	"github.com/pedigree-ml/pedigree/lineage"
)

// TestKill9DuringUpload kills a process with SIGKILL in the middle of a Put
// onto a file bucket (configured as cmd/ configures it) and checks that
// nothing is visible under sha256/ and that GC removes what it left.
func TestKill9DuringUpload(t *testing.T) {
	if dir := os.Getenv("ARTIFACT_KILL_CHILD_DIR"); dir != "" {
		// The child: upload stdin until killed.
		b, err := blob.OpenBucket(context.Background(), "file://"+dir+"?no_tmp_dir=1")
		if err != nil {
			t.Fatal(err)
		}
		_, err = artifact.New(b, artifact.Options{}).Put(context.Background(), os.Stdin, os.Getenv("ARTIFACT_KILL_CHILD_DIGEST"))
		t.Fatalf("Put returned %v before the kill", err)
	}
	if testing.Short() {
		t.Skip("-short")
	}
	data := artifacttest.Data(200, 8<<20)
	for _, declared := range []string{"", artifacttest.Digest(data)} {
		t.Run("declared="+map[bool]string{true: "yes", false: "no"}[declared != ""], func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKill9DuringUpload$")
			cmd.Env = append(os.Environ(), "ARTIFACT_KILL_CHILD_DIR="+dir, "ARTIFACT_KILL_CHILD_DIGEST="+declared)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// All but the last byte, then wait for the bytes to reach the
			// driver's temporary file.
			if _, err := stdin.Write(data[:len(data)-1]); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for tmpBytes(t, dir) < int64(len(data)-1) {
				if time.Now().After(deadline) {
					t.Fatalf("the child never wrote its temporary file (%d bytes)", tmpBytes(t, dir))
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			_ = stdin.Close()

			b, err := blob.OpenBucket(context.Background(), "file://"+dir+"?no_tmp_dir=1")
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			s := artifact.New(b, artifact.Options{})
			_, err = s.Stat(context.Background(), artifacttest.Digest(data))
			if lineage.ErrorCode(err) != lineage.ENOTFOUND {
				t.Errorf("Stat after kill -9: %v, want ENOTFOUND", err)
			}
			var n int
			if err := s.Verify(context.Background(), func(artifact.VerifyResult) { n++ }); err != nil || n != 0 {
				t.Errorf("Verify after kill -9: %d blobs, %v; want none", n, err)
			}
			left := artifacttest.Keys(t, b)
			t.Logf("left by the killed upload: %q", left)
			deleted, err := s.GC(context.Background(), func(string) bool { return false }, 0, false)
			if err != nil || len(deleted) != len(left) {
				t.Errorf("GC: deleted %q, %v; want %q", deleted, err, left)
			}
			if keys := artifacttest.Keys(t, b); len(keys) != 0 {
				t.Errorf("keys after GC: %q, want none", keys)
			}
		})
	}
}

// tmpBytes is the size of the largest temporary file under dir.
func tmpBytes(t *testing.T, dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasSuffix(p, ".tmp") {
			n = max(n, fi.Size())
		}
		return nil
	})
	return n
}
