package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// mustPatternFile writes n pseudo-random bytes (newPattern(seed, n)) to a
// new file in dir and returns its path and digest.
func mustPatternFile(tb testing.TB, dir, name string, seed byte, n int64) (path, digest string) {
	tb.Helper()
	path = filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), newPattern(seed, n)); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path, "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func fileDigest(tb testing.TB, path string) string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		tb.Fatal(err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// mustPush runs `pedigree artifact push --output json` and returns what it printed.
func mustPush(tb testing.TB, server, path string) pushed {
	tb.Helper()
	out := mustPedigree(tb, nil, "artifact", "push", "--server", server, "--output", "json", path)
	var p pushed
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		tb.Fatalf("push printed %q: %v", out, err)
	}
	return p
}

// blobPath is where a file:// bucket under dataDir keeps a digest's bytes.
func blobPath(dataDir, digest string) string {
	h := strings.TrimPrefix(digest, "sha256:")
	return filepath.Join(dataDir, "artifacts", "sha256", h[:2], h)
}

// entries lists the names in dir.
func entries(tb testing.TB, dir string) []string {
	tb.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// push then pull: the same bytes, by digest and by URI, to a file and to
// standard output; pushing again changes nothing.
func TestArtifactPushPull(t *testing.T) {
	m := MustServe(t, t.TempDir())
	dir := t.TempDir()
	const size = 5<<20 + 123
	src, want := mustPatternFile(t, dir, "model.bin", 7, size)

	p := mustPush(t, m.URL(), src)
	if p.Digest != want || p.Size != size || p.URI != "pedigree://artifacts/sha256/"+strings.TrimPrefix(want, "sha256:") {
		t.Fatalf("push = %+v, want digest %s, size %d and its URI", p, want, size)
	}
	if got := fileDigest(t, blobPath(m.DataDir, want)); got != want {
		t.Fatalf("stored blob hashes to %s, want %s", got, want)
	}
	text := mustPedigree(t, nil, "artifact", "push", "--server", m.URL(), src)
	if text != want+" "+p.URI+"\n" {
		t.Errorf("push again (text) printed %q, want %q", text, want+" "+p.URI+"\n")
	}
	// A digest given by the caller is sent as is, and verified by the server.
	if out := mustPedigree(t, nil, "artifact", "push", "--server", m.URL(), "--digest", want, src); !strings.HasPrefix(out, want) {
		t.Errorf("push --digest printed %q", out)
	}
	_, _, err := runPedigree(t, nil, "artifact", "push", "--server", m.URL(), "--digest", patternDigest(8, 10), src)
	if err == nil || !strings.Contains(err.Error(), "digest") || exitCode(err) != 1 {
		t.Errorf("push with a wrong --digest: %v, want refused (exit 1) naming the digest", err)
	}

	outDir := t.TempDir()
	for _, ref := range []string{want, p.URI, strings.TrimPrefix(want, "sha256:")} {
		dst := filepath.Join(outDir, "pulled.bin")
		os.Remove(dst)
		mustPedigree(t, nil, "artifact", "pull", "--server", m.URL(), ref, "-o", dst)
		if got := fileDigest(t, dst); got != want {
			t.Errorf("pull %s wrote bytes hashing to %s, want %s", ref, got, want)
		}
		if fi, err := os.Stat(dst); err != nil || fi.Size() != size {
			t.Errorf("pull %s: %v, size %v, want %d", ref, err, fi, size)
		}
	}
	if names := entries(t, outDir); len(names) != 1 {
		t.Errorf("after pulls, %s holds %v, want only pulled.bin", outDir, names)
	}
	stdout := mustPedigree(t, nil, "artifact", "pull", "--server", m.URL(), want, "-o", "-")
	if got := "sha256:" + hex.EncodeToString(sum256(stdout)); len(stdout) != size || got != want {
		t.Errorf("pull -o - wrote %d bytes hashing to %s, want %d and %s", len(stdout), got, size, want)
	}
	// Without -o, the file is named after the digest, in the current directory.
	t.Chdir(outDir)
	mustPedigree(t, nil, "artifact", "pull", "--server", m.URL(), want)
	if got := fileDigest(t, strings.TrimPrefix(want, "sha256:")); got != want {
		t.Errorf("pull without -o: %s", got)
	}

	// An empty file works too.
	empty, emptyDigest := mustPatternFile(t, dir, "empty", 0, 0)
	if p := mustPush(t, m.URL(), empty); p.Digest != emptyDigest || p.Size != 0 {
		t.Errorf("push of an empty file = %+v, want %s", p, emptyDigest)
	}
	mustPedigree(t, nil, "artifact", "pull", "--server", m.URL(), emptyDigest, "-o", filepath.Join(outDir, "empty"))
	if fi, err := os.Stat(filepath.Join(outDir, "empty")); err != nil || fi.Size() != 0 {
		t.Errorf("pull of an empty blob: %v %v", fi, err)
	}
}

func sum256(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// A blob corrupted on disk is refused on download: the output file is not
// created (nor replaced), and nothing partial is left beside it.
func TestArtifactPullCorrupt(t *testing.T) {
	m := MustServe(t, t.TempDir())
	dir := t.TempDir()
	const size = 2<<20 + 5
	src, want := mustPatternFile(t, dir, "model.bin", 3, size)
	mustPush(t, m.URL(), src)

	// Same length, one byte flipped in the middle.
	stored := blobPath(m.DataDir, want)
	f, err := os.OpenFile(stored, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, size/2); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, size/2); err != nil {
		t.Fatal(err)
	}
	f.Close()

	outDir := t.TempDir()
	dst := filepath.Join(outDir, "model.bin")
	_, _, err = runPedigree(t, nil, "artifact", "pull", "--server", m.URL(), want, "-o", dst)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nothing written") {
		t.Fatalf("pull of a corrupt blob: %v, want exit 1 naming the digest and saying nothing was written", err)
	}
	if names := entries(t, outDir); len(names) != 0 {
		t.Errorf("pull of a corrupt blob left %v", names)
	}
	// An existing file is not replaced.
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runPedigree(t, nil, "artifact", "pull", "--server", m.URL(), want, "-o", dst); err == nil {
		t.Fatal("second pull of a corrupt blob succeeded")
	}
	if got, _ := os.ReadFile(dst); string(got) != "old" {
		t.Errorf("a failed pull replaced the existing file with %d bytes", len(got))
	}
	if names := entries(t, outDir); len(names) != 1 {
		t.Errorf("failed pull left %v beside the file", names)
	}
}

// Errors a user sees: one line, exit status 1 for failures and 2 for bad usage.
func TestArtifactCommandErrors(t *testing.T) {
	m := MustServe(t, t.TempDir())
	dir := t.TempDir()
	src, _ := mustPatternFile(t, dir, "f", 1, 10)
	unknown := patternDigest(99, 1)

	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"artifact", "pull", "--server", m.URL(), unknown, "-o", filepath.Join(dir, "x")}, 1, "artifact " + unknown + " not found"},
		{[]string{"artifact", "push", "--server", dead, src}, 1, "cannot reach the server at " + dead},
		{[]string{"artifact", "pull", "--server", dead, unknown}, 1, "cannot reach the server"},
		{[]string{"artifact", "push", "--server", m.URL(), filepath.Join(dir, "none")}, 1, "no such file"},
		{[]string{"artifact", "push", "--server", m.URL(), dir}, 2, "not a regular file"},
		{[]string{"artifact", "push"}, 2, "expected one FILE"},
		{[]string{"artifact", "push", src, src}, 2, "expected one FILE"},
		{[]string{"artifact", "push", "--output", "xml", src}, 2, "--output"},
		{[]string{"artifact", "push", "--digest", "md5:abc", src}, 2, "--digest"},
		{[]string{"artifact", "push", "--server", "ftp://x", src}, 2, "--server"},
		{[]string{"artifact", "push", "--bogus", src}, 2, "unknown flag"},
		{[]string{"artifact", "pull"}, 2, "expected one DIGEST or URI"},
		{[]string{"artifact", "pull", "sha256:abc"}, 2, "not a digest"},
		{[]string{"artifact", "pull", "s3://bucket/model.pkl"}, 2, "not a stored artifact"},
		{[]string{"artifact", "pull", unknown, "-o", dir}, 2, "is a directory"},
		{[]string{"artifact", "nope"}, 2, "takes no arguments"},
		{[]string{"model", "register", "--run", "run:x", "--file", src}, 2, "--model is required"},
		{[]string{"model", "register", "--model", "churn", "--file", src}, 2, "--run is required"},
		{[]string{"model", "register", "--model", "churn", "--run", "run:x"}, 2, "--file is required"},
		{[]string{"model", "register", "--model", "bad name", "--run", "r", "--file", src}, 2, "--model"},
		{[]string{"verify", "extra"}, 2, "takes no arguments"},
		{[]string{"gc", "--grace", "-1h"}, 2, "--grace"},
		{[]string{"gc", "--grace", "soon"}, 2, "invalid argument"},
	} {
		_, _, err := runPedigree(t, nil, tc.args...)
		if err == nil {
			t.Errorf("pedigree %s succeeded, want exit %d", strings.Join(tc.args, " "), tc.code)
			continue
		}
		if got := exitCode(err); got != tc.code || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("pedigree %s: exit %d %q, want exit %d and one line containing %q", strings.Join(tc.args, " "), got, err, tc.code, tc.msg)
		}
	}
}

// The binary exits 2 for bad usage and 1 for a failure, with one line on stderr.
func TestArtifactExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	m := MustServe(t, t.TempDir())
	unknown := patternDigest(42, 1)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"artifact", "pull", "--server", m.URL(), "--quiet", unknown, "-o", filepath.Join(t.TempDir(), "x")}, 1, "pedigree: artifact " + unknown + " not found\n"},
		{[]string{"artifact", "pull", "not-a-digest"}, 2, "pedigree: \"not-a-digest\" is not a digest"},
		{[]string{"gc", "--grace", "-5m"}, 2, "pedigree: --grace"},
	} {
		cmd := exec.Command(bin, tc.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
			t.Errorf("pedigree %s: %v, want exit status %d", strings.Join(tc.args, " "), err, tc.code)
		}
		if got := stderr.String(); !strings.HasPrefix(got, tc.want) || strings.Count(got, "\n") != 1 {
			t.Errorf("pedigree %s: stderr %q, want one line starting %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}

// --server and --token default to PEDIGREE_URL and PEDIGREE_TOKEN; the
// token goes as a Bearer header on uploads and downloads.
func TestArtifactSendsToken(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Method+" "+r.Header.Get("Authorization"))
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":"UNAUTHENTICATED","message":"bad token"}`)
	}))
	defer srv.Close()
	t.Setenv("PEDIGREE_URL", srv.URL)
	t.Setenv("PEDIGREE_TOKEN", "s3cret")
	src, digest := mustPatternFile(t, t.TempDir(), "f", 1, 1000)
	if _, _, err := runPedigree(t, nil, "artifact", "push", src); err == nil || !strings.Contains(err.Error(), "bad token") || exitCode(err) != 1 {
		t.Errorf("push refused by the server: %v, want its message and exit 1", err)
	}
	if _, _, err := runPedigree(t, nil, "artifact", "pull", digest, "-o", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "bad token") {
		t.Errorf("pull refused by the server: %v, want its message", err)
	}
	if want := []string{"PUT Bearer s3cret", "GET Bearer s3cret"}; !slices.Equal(auth, want) {
		t.Errorf("the server saw %q, want %q", auth, want)
	}
}
