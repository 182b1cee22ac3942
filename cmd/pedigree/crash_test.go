package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles pedigree once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "pedigree-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pedigree")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

var listening = regexp.MustCompile(`url=(http://[0-9.:]+)`)

// startChild runs `pedigree serve` (with extra args) as a child process and returns its URL.
func startChild(t testing.TB, dataDir string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--data-dir", dataDir, "--addr", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case u := <-urls:
		return cmd, u
	case <-time.After(30 * time.Second):
		t.Fatal("child server did not start")
	}
	return nil, ""
}

// A server killed with SIGKILL in the middle of a stream of writes loses
// none it acknowledged, and the registry's invariants hold after restart.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a child server; skipped with -short")
	}
	dir := t.TempDir()
	cmd, url := startChild(t, dir)
	c := newClient(url)
	var run struct{ StartRun idResult }
	c.must(t, startRun, map[string]any{"in": map[string]any{"experiment": "crash"}}, &run)

	type acked struct {
		runs     []string
		points   map[string]int // run → points acknowledged
		versions []int
	}
	var mu sync.Mutex
	got := acked{points: map[string]int{}}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				var r struct{ StartRun idResult }
				data, errs := c.tryDo(startRun, map[string]any{"in": map[string]any{"experiment": "crash", "name": fmt.Sprintf("w%d-%d", w, i)}})
				if errs != nil || jsonUnmarshal(data, &r) != nil {
					return // the server is gone
				}
				mu.Lock()
				got.runs = append(got.runs, r.StartRun.ID)
				mu.Unlock()
				points := make([]map[string]any, 100)
				for j := range points {
					points[j] = map[string]any{"key": "loss", "value": float64(j), "step": j}
				}
				if _, errs := c.tryDo(logMetrics, map[string]any{"in": map[string]any{"run": r.StartRun.ID, "metrics": points}}); errs != nil {
					return
				}
				mu.Lock()
				got.points[r.StartRun.ID] = 100
				mu.Unlock()
				var mv struct{ RegisterModelVersion idResult }
				data, errs = c.tryDo(registerVersion, map[string]any{"in": map[string]any{"model": "crashy", "run": run.StartRun.ID, "artifactUri": "s3://m/crashy"}})
				if errs != nil || jsonUnmarshal(data, &mv) != nil {
					return
				}
				mu.Lock()
				got.versions = append(got.versions, mv.RegisterModelVersion.Version)
				mu.Unlock()
				_, _ = c.tryDo(transition, map[string]any{"in": map[string]any{"model": "crashy", "version": mv.RegisterModelVersion.Version, "stage": "PRODUCTION"}})
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	stop()
	wg.Wait()
	_ = cmd.Wait()
	if len(got.runs) < 10 {
		t.Fatalf("only %d writes acknowledged before the kill; the test proves little", len(got.runs))
	}

	_, url = startChild(t, dir)
	c = newClient(url)
	for _, id := range got.runs {
		var out struct {
			Run *struct{ Metric *struct{ Count int } }
		}
		c.must(t, `query($id: ID!) { run(id: $id) { metric(key: "loss") { count } } }`, map[string]any{"id": id}, &out)
		switch {
		case out.Run == nil:
			t.Errorf("acknowledged run %s lost", id)
		case got.points[id] > 0 && (out.Run.Metric == nil || out.Run.Metric.Count < got.points[id]):
			t.Errorf("run %s: acknowledged %d points, found %+v", id, got.points[id], out.Run.Metric)
		}
	}
	var model struct {
		Model struct {
			Versions struct{ Edges []struct{ Node idResult } }
		}
	}
	c.must(t, `{ model(name: "crashy") { versions(first: 1000) { edges { node { version stage } } } } }`, nil, &model)
	production := 0
	seen := map[int]bool{}
	for _, e := range model.Model.Versions.Edges {
		seen[e.Node.Version] = true
		if e.Node.Stage == "PRODUCTION" {
			production++
		}
	}
	for v := 1; v <= len(seen); v++ {
		if !seen[v] {
			t.Errorf("versions after restart are not contiguous: %d missing of %d", v, len(seen))
		}
	}
	for _, v := range got.versions {
		if !seen[v] {
			t.Errorf("acknowledged version %d lost", v)
		}
	}
	if production > 1 {
		t.Errorf("%d versions in PRODUCTION after restart, want at most 1", production)
	}
	t.Logf("acknowledged before SIGKILL: %d runs, %d versions; all present after restart", len(got.runs), len(got.versions))
}

// SIGTERM stops the server gracefully: it exits 0, releases the store (a new
// server opens the same data directory at once) and kept what it acknowledged.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a child server; skipped with -short")
	}
	dir := t.TempDir()
	cmd, url := startChild(t, dir)
	c := newClient(url)
	var run struct{ StartRun idResult }
	c.must(t, startRun, map[string]any{"in": map[string]any{"experiment": "shutdown"}}, &run)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("pedigree serve after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("pedigree serve did not stop within 15 s of SIGTERM")
	}
	_, url = startChild(t, dir)
	var out struct{ Run *struct{ ID string } }
	newClient(url).must(t, `query($id: ID!) { run(id: $id) { id } }`, map[string]any{"id": run.StartRun.ID}, &out)
	if out.Run == nil {
		t.Errorf("run %s lost across a graceful restart", run.StartRun.ID)
	}
}
