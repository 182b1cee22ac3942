package artifact_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/artifact/artifacttest"
	"github.com/pedigree-ml/pedigree/lineage"
)

func openMem(t *testing.T) *blob.Bucket {
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { b.Close() })
	return b
}

func openFile(t *testing.T) *blob.Bucket {
	t.Helper()
	b, err := fileblob.OpenBucket(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// openFileURL opens a file bucket by URL, the way cmd/ does, with
// temporary files next to their final path (no_tmp_dir), which puts the
// driver's temporaries in the key space the store lists.
func openFileURL(t *testing.T) *blob.Bucket {
	t.Helper()
	b, err := blob.OpenBucket(context.Background(), "file://"+t.TempDir()+"?no_tmp_dir=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestMem(t *testing.T)           { artifacttest.Run(t, openMem) }
func TestFile(t *testing.T)          { artifacttest.Run(t, openFile) }
func TestFileNoTempDir(t *testing.T) { artifacttest.Run(t, openFileURL) }

func TestParseDigest(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, tc := range []struct{ in, want string }{
		{"sha256:" + hex, "sha256:" + hex},
		{"SHA256:" + strings.ToUpper(hex), "sha256:" + hex},
		{hex, "sha256:" + hex},
		{"", ""},
		{"sha256:", ""},
		{"sha256:" + hex[:63], ""},
		{"sha256:" + hex + "0", ""},
		{"sha256:" + hex[:62] + "zz", ""},
		{"md5:" + hex, ""},
		{" sha256:" + hex, ""},
		{"sha256:" + hex + "\n", ""},
		{"sha256:../../" + hex[:58], ""},
		{"sha-256:" + hex, ""},
	} {
		got, err := artifact.ParseDigest("digest", tc.in)
		if tc.want == "" {
			if lineage.ErrorCode(err) != lineage.EINVALID || lineage.ErrorField(err) != "digest" {
				t.Errorf("ParseDigest(%q): got %q, %v; want EINVALID digest", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDigest(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestURIAndKey(t *testing.T) {
	hex := "0123456789abcdef" + strings.Repeat("0", 48)
	d := "sha256:" + hex
	if got, want := artifact.URI(d), "pedigree://artifacts/sha256/"+hex; got != want {
		t.Errorf("URI: got %q, want %q", got, want)
	}
	if got, want := artifact.Key(d), "sha256/01/"+hex; got != want {
		t.Errorf("Key: got %q, want %q", got, want)
	}
	if got, ok := artifact.DigestFromURI(artifact.URI(d)); !ok || got != d {
		t.Errorf("DigestFromURI(URI(d)): got %q, %v", got, ok)
	}
	for _, uri := range []string{
		"s3://bucket/data.csv",
		"file:///etc/passwd",
		"pedigree://artifacts/sha256/" + strings.ToUpper(hex),
		"pedigree://artifacts/sha256/" + hex + "/x",
		"pedigree://artifacts/sha256/../" + hex[3:],
		"pedigree://artifacts/sha512/" + hex,
		"",
	} {
		if got, ok := artifact.DigestFromURI(uri); ok {
			t.Errorf("DigestFromURI(%q): got %q, true; want false", uri, got)
		}
	}
}

// TestStreaming64MiB uploads and downloads 64 MiB generated as it is read
// through the handler onto a file bucket and checks that the heap stays
// far below the size of the data.
func TestStreaming64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 64 << 20
	b := openFile(t)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var (
		peak uint64
		wg   sync.WaitGroup
	)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	artifacttest.HTTPStreaming(t, b, n)
	close(done)
	wg.Wait()
	grew := int64(peak) - int64(base)
	t.Logf("64 MiB up and down: heap peak %d MiB above the start", grew>>20)
	if grew > n/2 {
		t.Errorf("heap grew by %d MiB moving %d MiB; the transfer is buffered", grew>>20, n>>20)
	}
}
