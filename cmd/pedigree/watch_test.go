package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests of `pedigree watch`: the built binary follows a real
// server and runs a real shell script, which logs what it was given.

const watchWait = 30 * time.Second

// watchScript is the deploy command of the tests. It saves the event,
// appends one tab-separated line of its PEDIGREE_* variables to
// deploys.log, then (WATCH_TEST_SLEEP) waits to be interrupted or exits
// with WATCH_TEST_EXIT (1 for version WATCH_TEST_FAIL_VERSION). The trap is set before the line is written, so a
// test may signal as soon as it sees the line.
const watchScript = `#!/bin/sh
if [ -n "$WATCH_TEST_SLEEP" ]; then
  echo $$ > "$WATCH_TEST_DIR/pid"
  trap 'echo "$PEDIGREE_VERSION" >> "$WATCH_TEST_DIR/terminated"; exit 143' TERM
fi
printf '%s' "$PEDIGREE_EVENT" > "$WATCH_TEST_DIR/event-$PEDIGREE_EVENT_SEQ.json"
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$PEDIGREE_MODEL" "$PEDIGREE_VERSION" "$PEDIGREE_STAGE" \
  "$PEDIGREE_ENVIRONMENT" "$PEDIGREE_ARTIFACT_URI" "$PEDIGREE_ARTIFACT_DIGEST" "$PEDIGREE_EVENT_ID" \
  "$PEDIGREE_EVENT_TYPE" "$PEDIGREE_EVENT_SEQ" "$PEDIGREE_RUN" "$PEDIGREE_PREVIOUS_VERSION" >> "$WATCH_TEST_DIR/deploys.log"
if [ -n "$WATCH_TEST_SLEEP" ]; then
  sleep "$WATCH_TEST_SLEEP" &
  wait $!
fi
if [ "$PEDIGREE_VERSION" = "$WATCH_TEST_FAIL_VERSION" ]; then
  exit 1
fi
exit "${WATCH_TEST_EXIT:-0}"
`

// deployRun is one line of deploys.log: one run of the deploy command.
type deployRun struct {
	Model, Version, Stage, Environment, ArtifactURI, ArtifactDigest string
	EventID, EventType, EventSeq, Run, PreviousVersion              string
}

// watchEnv is one test's server, script and working directory.
type watchEnv struct {
	t      *testing.T
	url    string
	c      *client
	dir    string // the script's directory: deploys.log, event-N.json
	script string
	state  string
	run    string // the run that produced every model version

	versions map[string]int // versions registered, by model
}

func newWatchEnv(t *testing.T, url string) *watchEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds pedigree and runs it as a child process; skipped with -short")
	}
	dir := t.TempDir()
	e := &watchEnv{t: t, url: url, c: newClient(url), dir: dir,
		script: filepath.Join(dir, "deploy.sh"), state: filepath.Join(dir, "state", "watch.json"), versions: map[string]int{}}
	if err := os.WriteFile(e.script, []byte(watchScript), 0o755); err != nil {
		t.Fatal(err)
	}
	var run struct{ StartRun idResult }
	e.c.must(t, startRun, map[string]any{"in": map[string]any{"experiment": "watch"}}, &run)
	e.run = run.StartRun.ID
	return e
}

func artifactURI(model string, n int) string { return fmt.Sprintf("s3://models/%s/%d", model, n) }

// register registers the next version of a model and returns its number.
func (e *watchEnv) register(model string) int {
	e.t.Helper()
	e.versions[model]++
	next := e.versions[model]
	var out struct{ RegisterModelVersion idResult }
	e.c.must(e.t, registerVersion, map[string]any{"in": map[string]any{
		"model": model, "run": e.run, "artifactUri": artifactURI(model, next), "artifactDigest": sha(fmt.Sprintf("%s-%d", model, next)),
	}}, &out)
	if out.RegisterModelVersion.Version != next {
		e.t.Fatalf("registered %s v%d, want v%d", model, out.RegisterModelVersion.Version, next)
	}
	return next
}

func (e *watchEnv) promote(model string, version int, stage string) {
	e.t.Helper()
	e.c.must(e.t, transition, map[string]any{"in": map[string]any{"model": model, "version": version, "stage": stage}}, nil)
}

// deploysOrNil reads deploys.log.
func (e *watchEnv) deploysOrNil() []deployRun {
	b, err := os.ReadFile(filepath.Join(e.dir, "deploys.log"))
	if err != nil {
		return nil
	}
	var out []deployRun
	for line := range strings.Lines(string(b)) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(f) != 11 {
			e.t.Fatalf("deploys.log: malformed line %q", line)
		}
		out = append(out, deployRun{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]})
	}
	return out
}

// waitDeploys waits until the script has run n times and returns the runs.
func (e *watchEnv) waitDeploys(w *watchProc, n int) []deployRun {
	e.t.Helper()
	var got []deployRun
	watchEventually(e.t, w, fmt.Sprintf("%d runs of the deploy script", n), func() bool {
		got = e.deploysOrNil()
		return len(got) >= n
	})
	return got
}

// deployment is a deployment as a model version lists it.
type deployment struct {
	Environment string `json:"environment"`
	Status      string `json:"status"`
	ExternalID  string `json:"externalId"`
	Version     int    `json:"version"`
	Message     string `json:"message"`
}

// deploymentOf is the deployment of a model version in an environment, or
// nil if it has none. It is read by ID (deployment:MODEL/VERSION/ENVIRONMENT),
// as a version lists only the deployments that still serve it.
func (e *watchEnv) deploymentOf(model string, version int, environment string) *deployment {
	e.t.Helper()
	var out struct{ Node *deployment }
	id := fmt.Sprintf("deployment:%s/%d/%s", model, version, strings.ToLower(environment))
	e.c.must(e.t, `query($id: ID!) { node(id: $id) { ... on Deployment { environment status externalId version message } } }`,
		map[string]any{"id": id}, &out)
	return out.Node
}

// waitDeployment waits until a version's deployment in an environment has
// a status, and returns it.
func (e *watchEnv) waitDeployment(w *watchProc, model string, version int, environment, status string) deployment {
	e.t.Helper()
	var d *deployment
	watchEventually(e.t, w, fmt.Sprintf("%s v%d %s in %s", model, version, status, environment), func() bool {
		d = e.deploymentOf(model, version, environment)
		return d != nil && d.Status == status
	})
	return *d
}

func (e *watchEnv) readState() watchState {
	e.t.Helper()
	b, err := os.ReadFile(e.state)
	if err != nil {
		e.t.Fatal(err)
	}
	var st watchState
	if err := json.Unmarshal(b, &st); err != nil {
		e.t.Fatalf("state file: %v\n%s", err, b)
	}
	return st
}

// watchProc is a running `pedigree watch`.
type watchProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string // stderr
	part   []byte   // stderr after the last newline
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// lineWriter collects a process's stderr by line.
type lineWriter struct{ w *watchProc }

func (l lineWriter) Write(p []byte) (int, error) {
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	l.w.part = append(l.w.part, p...)
	for {
		i := slices.Index(l.w.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.w.lines = append(l.w.lines, string(l.w.part[:i]))
		l.w.part = l.w.part[i+1:]
	}
}

// startWatch runs `pedigree watch` on e's server, script and state file;
// env holds extra variables (e.g. WATCH_TEST_EXIT=1).
func (e *watchEnv) startWatch(env []string, args ...string) *watchProc {
	e.t.Helper()
	bin, err := buildBinary()
	if err != nil {
		e.t.Fatal(err)
	}
	base := []string{"watch", "--server", e.url, "--exec", "sh " + e.script, "--state", e.state}
	cmd := exec.Command(bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"WATCH_TEST_DIR=" + e.dir, "XDG_STATE_HOME=" + e.dir}, env...)...)
	w := &watchProc{t: e.t, cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = lineWriter{w}
	// A deploy command left running by a killed watch holds stderr open;
	// don't wait for it.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		w.err = cmd.Wait()
		close(w.exited)
	}()
	e.t.Cleanup(func() {
		w.kill()
		if e.t.Failed() {
			e.t.Logf("pedigree watch %s stderr:\n%s", strings.Join(args, " "), strings.Join(w.stderr(), "\n"))
		}
	})
	return w
}

func (w *watchProc) stderr() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.lines)
}

// waitLog waits for a stderr line containing s and returns it.
func (w *watchProc) waitLog(s string) string {
	w.t.Helper()
	var line string
	watchEventually(w.t, w, fmt.Sprintf("pedigree watch to log %q", s), func() bool {
		for _, l := range w.stderr() {
			if strings.Contains(l, s) {
				line = l
				return true
			}
		}
		return false
	})
	return line
}

func (w *watchProc) countLog(s string) int {
	n := 0
	for _, l := range w.stderr() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// kill ends the process with SIGKILL (as a crash would) and waits for it.
func (w *watchProc) kill() {
	select {
	case <-w.exited:
		return
	default:
	}
	_ = w.cmd.Process.Kill()
	<-w.exited
}

// wait waits for the process to exit and returns its exit code.
func (w *watchProc) wait() int {
	w.t.Helper()
	select {
	case <-w.exited:
	case <-time.After(watchWait):
		w.t.Fatalf("pedigree watch did not exit within %s", watchWait)
	}
	var ee *exec.ExitError
	if errors.As(w.err, &ee) {
		return ee.ExitCode()
	}
	if w.err != nil {
		w.t.Fatal(w.err)
	}
	return 0
}

// watchEventually polls cond until it holds, failing the test after
// watchWait or as soon as the watch process exits.
func watchEventually(t *testing.T, w *watchProc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(watchWait)
	for !cond() {
		if w != nil {
			select {
			case <-w.exited:
				if cond() {
					return
				}
				t.Fatalf("pedigree watch exited (%v) while waiting for %s; stderr:\n%s", w.err, what, strings.Join(w.stderr(), "\n"))
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", watchWait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRun compares a run of the script with the event it should have
// deployed and returns that event as the script received it.
func (e *watchEnv) checkRun(r deployRun, model string, version int, eventType, previous string) map[string]any {
	e.t.Helper()
	want := deployRun{Model: model, Version: strconv.Itoa(version), Stage: "PRODUCTION", Environment: "production",
		ArtifactURI: artifactURI(model, version), ArtifactDigest: sha(fmt.Sprintf("%s-%d", model, version)),
		EventID: r.EventID, EventType: eventType, EventSeq: r.EventSeq, Run: e.run, PreviousVersion: previous}
	if r != want {
		e.t.Errorf("deploy script got\n%+v\nwant\n%+v", r, want)
	}
	if r.EventID == "" || r.EventSeq == "" {
		e.t.Fatalf("deploy script got no event id or seq: %+v", r)
	}
	b, err := os.ReadFile(filepath.Join(e.dir, "event-"+r.EventSeq+".json"))
	if err != nil {
		e.t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		e.t.Fatalf("PEDIGREE_EVENT is not JSON: %v: %s", err, b)
	}
	if ev["id"] != r.EventID || ev["type"] != eventType || fmt.Sprint(ev["seq"]) != r.EventSeq {
		e.t.Errorf("PEDIGREE_EVENT = %s, want id %s, type %s, seq %s", b, r.EventID, eventType, r.EventSeq)
	}
	if p, _ := ev["payload"].(map[string]any); p == nil || p["artifactUri"] != artifactURI(model, version) {
		e.t.Errorf("PEDIGREE_EVENT payload = %v, want artifactUri %s", ev["payload"], artifactURI(model, version))
	}
	return ev
}

// A promotion is deployed once and reported SUCCEEDED; a promotion made
// while watch is down (killed with SIGKILL) is deployed when it restarts
// on the same state file, and the earlier one is not run again.
func TestWatchDeploysAndResumes(t *testing.T) {
	srv := MustServe(t, t.TempDir())
	e := newWatchEnv(t, srv.URL())
	v1 := e.register("churn")

	w := e.startWatch(nil, "--model", "churn")
	w.waitLog("watching churn PRODUCTION (environment production) from seq ")
	e.promote("churn", v1, "PRODUCTION")
	runs := e.waitDeploys(w, 1)
	e.checkRun(runs[0], "churn", v1, "STAGE_CHANGED", "")
	d := e.waitDeployment(w, "churn", v1, "production", "SUCCEEDED")
	if d.ExternalID != runs[0].EventID {
		t.Errorf("deployment externalId = %q, want the event id %q", d.ExternalID, runs[0].EventID)
	}
	w.waitLog("churn v1 deployed")
	var st watchState
	watchEventually(t, w, "the state file to record the deployment", func() bool {
		st = e.readState()
		return st.InFlight == nil && st.Last != nil
	})
	if strconv.FormatInt(st.Seq, 10) != runs[0].EventSeq || st.Last.Status != "SUCCEEDED" || st.Last.EventID != runs[0].EventID {
		t.Errorf("state file = %+v, want seq %s, last SUCCEEDED", st, runs[0].EventSeq)
	}
	w.kill()

	v2 := e.register("churn")
	e.promote("churn", v2, "PRODUCTION")
	w = e.startWatch(nil, "--model", "churn")
	w.waitLog("watching churn PRODUCTION (environment production) from seq " + runs[0].EventSeq)
	runs = e.waitDeploys(w, 2)
	d = e.waitDeployment(w, "churn", v2, "production", "SUCCEEDED")
	// Events are handled in seq order, so a second run of v1's event would
	// come before v2's.
	if len(runs) != 2 || runs[0].Version != "1" || runs[1].Version != "2" {
		t.Fatalf("deploy script runs = %+v, want v1 then v2, once each", runs)
	}
	e.checkRun(runs[1], "churn", v2, "STAGE_CHANGED", "")
	if d.ExternalID != runs[1].EventID {
		t.Errorf("deployment externalId = %q, want the event id %q", d.ExternalID, runs[1].EventID)
	}
	// The server's part: v2 succeeding replaces v1 in the environment.
	if d := e.deploymentOf("churn", v1, "production"); d == nil || d.Status != "DECOMMISSIONED" || d.ExternalID != runs[0].EventID {
		t.Errorf("v1 deployment = %+v, want DECOMMISSIONED (externalId %s)", d, runs[0].EventID)
	}
}

// A deploy script that exits 1 leaves the deployment FAILED.
func TestWatchFailedDeploy(t *testing.T) {
	srv := MustServe(t, t.TempDir())
	e := newWatchEnv(t, srv.URL())
	v1 := e.register("fraud")
	w := e.startWatch([]string{"WATCH_TEST_EXIT=1"}, "--model", "fraud")
	w.waitLog("watching fraud PRODUCTION")
	e.promote("fraud", v1, "PRODUCTION")
	runs := e.waitDeploys(w, 1)
	e.checkRun(runs[0], "fraud", v1, "STAGE_CHANGED", "")
	d := e.waitDeployment(w, "fraud", v1, "production", "FAILED")
	if d.ExternalID != runs[0].EventID {
		t.Errorf("deployment externalId = %q, want the event id %q", d.ExternalID, runs[0].EventID)
	}
	if d.Message != "exit status 1" {
		t.Errorf("deployment message = %q, want %q", d.Message, "exit status 1")
	}
	w.waitLog("fraud v1 deploy failed: exit status 1")
}

// The whole loop with the server's automatic rollback: v2's deploy fails,
// the server rolls Production back to v1, and watch deploys v1 again on
// the ROLLED_BACK event.
func TestWatchAutoRollback(t *testing.T) {
	srv := MustServe(t, t.TempDir())
	e := newWatchEnv(t, srv.URL())
	v1, v2 := e.register("churn"), e.register("churn")
	e.c.must(t, `mutation($in: UpdateModelInput!) { updateModel(input: $in) { name } }`,
		map[string]any{"in": map[string]any{"model": "churn", "autoRollback": true}}, nil)
	w := e.startWatch([]string{"WATCH_TEST_FAIL_VERSION=2"}, "--model", "churn")
	w.waitLog("watching churn PRODUCTION")
	e.promote("churn", v1, "PRODUCTION")
	e.waitDeployment(w, "churn", v1, "production", "SUCCEEDED")
	e.promote("churn", v2, "PRODUCTION")
	runs := e.waitDeploys(w, 3)
	w.waitLog("churn v2 deploy failed: exit status 1")
	if len(runs) != 3 || runs[1].Version != "2" {
		t.Fatalf("deploy script runs = %+v, want v1, v2, v1", runs)
	}
	ev := e.checkRun(runs[2], "churn", v1, "ROLLED_BACK", "2")
	// The FAILED report's message reaches the rollback's reason.
	if p, _ := ev["payload"].(map[string]any); p == nil || !strings.Contains(fmt.Sprint(p["reason"]), "exit status 1") {
		t.Errorf("rollback payload = %v, want a reason naming the failure (exit status 1)", ev["payload"])
	}
	if d := e.waitDeployment(w, "churn", v1, "production", "SUCCEEDED"); d.ExternalID != runs[2].EventID {
		t.Errorf("v1 deployment externalId = %q, want the rollback event %q", d.ExternalID, runs[2].EventID)
	}
	// v2's FAILED deployment is replaced once v1 succeeds again.
	if d := e.deploymentOf("churn", v2, "production"); d == nil || d.Status != "DECOMMISSIONED" || d.ExternalID != runs[1].EventID {
		t.Errorf("v2 deployment = %+v, want DECOMMISSIONED with externalId %s", d, runs[1].EventID)
	}
	var mv struct {
		ModelVersion struct{ Version int } `json:"modelVersion"`
	}
	e.c.must(t, `query { modelVersion(model: "churn", stage: PRODUCTION) { version } }`, nil, &mv)
	if mv.ModelVersion.Version != v1 {
		t.Errorf("Production holds v%d after the failed deploy, want v%d", mv.ModelVersion.Version, v1)
	}
}

// Promotions made before watch starts (replayed with --after-seq 0) deploy
// only the version that is in Production when their turn comes.
func TestWatchBurstDeploysOnlyCurrent(t *testing.T) {
	srv := MustServe(t, t.TempDir())
	e := newWatchEnv(t, srv.URL())
	for range 3 {
		e.promote("churn", e.register("churn"), "PRODUCTION")
	}
	w := e.startWatch(nil, "--model", "churn", "--after-seq", "0")
	w.waitLog("watching churn PRODUCTION (environment production) from seq 0")
	e.waitDeployment(w, "churn", 3, "production", "SUCCEEDED")
	runs := e.deploysOrNil()
	if len(runs) != 1 {
		t.Fatalf("deploy script runs = %+v, want only v3", runs)
	}
	e.checkRun(runs[0], "churn", 3, "STAGE_CHANGED", "")
	if n := w.countLog("superseded"); n != 2 {
		t.Errorf("%d events logged as superseded, want 2 (v1 and v2)", n)
	}
	for _, v := range []int{1, 2} {
		if d := e.deploymentOf("churn", v, "production"); d != nil {
			t.Errorf("v%d has a deployment %+v, want none", v, d)
		}
	}
}

// A rollback deploys the restored version once, as its ROLLED_BACK event
// (not also as the stage change that comes with it), with the version it
// replaced in PEDIGREE_PREVIOUS_VERSION.
func TestWatchRollback(t *testing.T) {
	srv := MustServe(t, t.TempDir())
	e := newWatchEnv(t, srv.URL())
	v1, v2 := e.register("churn"), e.register("churn")
	w := e.startWatch(nil, "--model", "churn")
	w.waitLog("watching churn PRODUCTION")
	e.promote("churn", v1, "PRODUCTION")
	e.waitDeployment(w, "churn", v1, "production", "SUCCEEDED")
	e.promote("churn", v2, "PRODUCTION")
	e.waitDeployment(w, "churn", v2, "production", "SUCCEEDED")
	e.c.must(t, rollback, map[string]any{"in": map[string]any{"model": "churn", "reason": "bad metrics"}}, nil)
	runs := e.waitDeploys(w, 3)
	w.waitLog("churn v1 deployed")
	if len(runs) != 3 {
		t.Fatalf("deploy script runs = %+v, want v1, v2, v1", runs)
	}
	e.checkRun(runs[2], "churn", v1, "ROLLED_BACK", "2")
	if d := e.waitDeployment(w, "churn", v1, "production", "SUCCEEDED"); d.ExternalID != runs[2].EventID {
		t.Errorf("deployment externalId = %q, want the rollback event %q", d.ExternalID, runs[2].EventID)
	}
}

// tryServe runs `pedigree serve` on a fixed address, so that a restarted
// server is found where the old one was; false if it is not listening
// within a few seconds (e.g. the port is taken), in which case it is killed.
func tryServe(t *testing.T, dataDir, addr string) (*exec.Cmd, bool) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--addr", addr)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	up := make(chan bool, 2)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if listening.MatchString(sc.Text()) {
				up <- true
			}
		}
		up <- false
	}()
	ok := false
	select {
	case ok = <-up:
	case <-time.After(10 * time.Second):
	}
	if !ok {
		// Killed rather than waited for: serve may hang when it cannot
		// listen (Main.Close waits on a channel made only after Listen).
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, false
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, true
}

// serveAt runs `pedigree serve` on addr, retrying while the address is
// still taken (a restarted server needs the port its clients know).
func serveAt(t *testing.T, dataDir, addr string) *exec.Cmd {
	t.Helper()
	deadline := time.Now().Add(watchWait)
	for {
		if cmd, ok := tryServe(t, dataDir, addr); ok {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("pedigree serve --addr %s did not start", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serveOnFreePort runs `pedigree serve` on a free port and returns it and
// its address. (A port found free may be taken by the time serve binds it:
// then another is tried.)
func serveOnFreePort(t *testing.T, dataDir string) (*exec.Cmd, string) {
	t.Helper()
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if cmd, ok := tryServe(t, dataDir, addr); ok {
			return cmd, addr
		}
	}
	t.Fatal("pedigree serve did not start on any of 5 free ports")
	return nil, ""
}

// When the server goes away (SIGKILL) and comes back on the same data,
// watch reconnects and deploys what was promoted meanwhile.
func TestWatchSurvivesServerRestart(t *testing.T) {
	dataDir := t.TempDir()
	server, addr := serveOnFreePort(t, dataDir)
	e := newWatchEnv(t, "http://"+addr)
	v1, v2 := e.register("churn"), e.register("churn")
	w := e.startWatch(nil, "--model", "churn")
	w.waitLog("watching churn PRODUCTION")
	e.promote("churn", v1, "PRODUCTION")
	e.waitDeployment(w, "churn", v1, "production", "SUCCEEDED")

	_ = server.Process.Kill()
	_ = server.Wait()
	serveAt(t, dataDir, addr)
	e.promote("churn", v2, "PRODUCTION")
	e.waitDeployment(w, "churn", v2, "production", "SUCCEEDED")
	w.waitLog("disconnected")
	w.waitLog("reconnected")
	runs := e.deploysOrNil()
	if len(runs) != 2 || runs[0].Version != "1" || runs[1].Version != "2" {
		t.Fatalf("deploy script runs = %+v, want v1 then v2, once each", runs)
	}
	e.checkRun(runs[1], "churn", v2, "STAGE_CHANGED", "")
}

// SIGTERM while the deploy command runs: the command gets SIGTERM, the
// deployment is recorded FAILED, watch exits 0 and its state file has the
// event as handled.
func TestWatchInterrupted(t *testing.T) {
	srv := MustServe(t, t.TempDir())
	e := newWatchEnv(t, srv.URL())
	v1 := e.register("churn")
	w := e.startWatch([]string{"WATCH_TEST_SLEEP=60"}, "--model", "churn")
	w.waitLog("watching churn PRODUCTION")
	e.promote("churn", v1, "PRODUCTION")
	runs := e.waitDeploys(w, 1)
	e.waitDeployment(w, "churn", v1, "production", "PENDING")
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := w.wait(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; stderr:\n%s", code, strings.Join(w.stderr(), "\n"))
	}
	if b, err := os.ReadFile(filepath.Join(e.dir, "terminated")); err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Errorf("the deploy command did not get SIGTERM (terminated = %q, %v)", b, err)
	}
	if d := e.deploymentOf("churn", v1, "production"); d == nil || d.Status != "FAILED" || d.Message != "interrupted" {
		t.Errorf("deployment = %+v, want FAILED, interrupted", d)
	}
	if st := e.readState(); strconv.FormatInt(st.Seq, 10) != runs[0].EventSeq || st.InFlight != nil {
		t.Errorf("state file = %+v, want seq %s and nothing in flight", st, runs[0].EventSeq)
	}
}

// PEDIGREE_TOKEN goes to the server as a bearer token, on queries,
// mutations and the websocket handshake alike.
func TestWatchSendsToken(t *testing.T) {
	srv := MustServe(t, t.TempDir())
	target, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []string // method, upgrade and authorization of each request
	)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s %q", r.Method, r.Header.Get("Upgrade"), r.Header.Get("Authorization")))
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	e := newWatchEnv(t, srv.URL())
	e.url = front.URL // only watch goes through the proxy
	v1 := e.register("churn")
	w := e.startWatch([]string{"PEDIGREE_TOKEN=s3cret"}, "--model", "churn")
	w.waitLog("watching churn PRODUCTION")
	e.promote("churn", v1, "PRODUCTION")
	e.waitDeployment(w, "churn", v1, "production", "SUCCEEDED")
	mu.Lock()
	defer mu.Unlock()
	var posts, upgrades int
	for _, s := range seen {
		if !strings.HasSuffix(s, `"Bearer s3cret"`) {
			t.Errorf("request %s, want Authorization: Bearer s3cret", s)
		}
		switch {
		case strings.HasPrefix(s, "POST "):
			posts++
		case strings.HasPrefix(s, "GET websocket "):
			upgrades++
		}
	}
	if posts == 0 || upgrades == 0 {
		t.Errorf("requests = %v, want POSTs and a websocket upgrade", seen)
	}
}

// A deploy command that ignores SIGTERM, and anything it started, gets
// SIGKILL 10 seconds after the interrupt.
func TestWatchInterruptKillsStubbornCommand(t *testing.T) {
	srv := MustServe(t, t.TempDir())
	e := newWatchEnv(t, srv.URL())
	v1 := e.register("churn")
	stubborn := filepath.Join(e.dir, "stubborn.sh")
	script := "#!/bin/sh\ntrap '' TERM\nsleep 120 &\necho $! > \"$WATCH_TEST_DIR/child\"\nwait\n"
	if err := os.WriteFile(stubborn, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	w := e.startWatch(nil, "--model", "churn", "--exec", "sh "+stubborn)
	w.waitLog("watching churn PRODUCTION")
	e.promote("churn", v1, "PRODUCTION")
	var child int
	watchEventually(t, w, "the command's child pid", func() bool {
		b, _ := os.ReadFile(filepath.Join(e.dir, "child"))
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return child > 0
	})
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	interrupted := time.Now()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := w.wait(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if d := time.Since(interrupted); d < watchKillGrace-time.Second {
		t.Errorf("watch exited %s after SIGTERM, before the %s grace period", d, watchKillGrace)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child)); err == nil && !strings.Contains(string(b), ") Z ") {
		t.Errorf("the command's child (pid %d) outlived watch: %s", child, b)
	}
	if d := e.deploymentOf("churn", v1, "production"); d == nil || d.Status != "FAILED" {
		t.Errorf("deployment = %+v, want FAILED", d)
	}
}

// A watch killed (SIGKILL) while its deploy command runs records that
// deployment FAILED when it restarts, and does not run the event again.
func TestWatchCrashDuringDeploy(t *testing.T) {
	srv := MustServe(t, t.TempDir())
	e := newWatchEnv(t, srv.URL())
	v1 := e.register("churn")
	w := e.startWatch([]string{"WATCH_TEST_SLEEP=60"}, "--model", "churn")
	w.waitLog("watching churn PRODUCTION")
	e.promote("churn", v1, "PRODUCTION")
	runs := e.waitDeploys(w, 1)
	e.waitDeployment(w, "churn", v1, "production", "PENDING")
	w.kill()
	// The deploy command outlives watch (it has its own process group).
	var pid int
	watchEventually(t, nil, "the deploy script's pid", func() bool {
		b, _ := os.ReadFile(filepath.Join(e.dir, "pid"))
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return pid > 0
	})
	if pgid, err := syscall.Getpgid(pid); err == nil {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	if st := e.readState(); st.InFlight == nil || st.InFlight.EventID != runs[0].EventID || st.InFlight.Status != "" {
		t.Errorf("state file after the crash = %+v, want event %s in flight", st, runs[0].EventID)
	}

	w = e.startWatch(nil, "--model", "churn")
	w.waitLog("watch stopped while its deploy command ran")
	w.waitLog("watching churn PRODUCTION (environment production) from seq " + runs[0].EventSeq)
	if d := e.deploymentOf("churn", v1, "production"); d == nil || d.Status != "FAILED" || d.ExternalID != runs[0].EventID || d.Message != "interrupted" {
		t.Errorf("deployment = %+v, want FAILED, interrupted, with externalId %s", d, runs[0].EventID)
	}
	if st := e.readState(); st.InFlight != nil || st.Last == nil || st.Last.Status != "FAILED" {
		t.Errorf("state file = %+v, want nothing in flight, last FAILED", st)
	}
	if got := e.deploysOrNil(); len(got) != 1 {
		t.Errorf("deploy script runs = %+v, want one", got)
	}
}

// Bad flags and an unknown model exit non-zero with a one-line message.
func TestWatchBadInput(t *testing.T) {
	srv := MustServe(t, t.TempDir())
	e := newWatchEnv(t, srv.URL())
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state.json")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"--exec", "true"}, "pedigree: --model is required"},
		{"no exec", []string{"--model", "churn"}, "pedigree: --exec is required"},
		{"bad stage", []string{"--model", "churn", "--exec", "true", "--stage", "ARCHIVED"}, `pedigree: --stage: must be PRODUCTION or STAGING, not "ARCHIVED"`},
		{"bad environment", []string{"--model", "churn", "--exec", "true", "--environment", "prod east"}, `pedigree: --environment: "prod east" must be`},
		{"negative after-seq", []string{"--model", "churn", "--exec", "true", "--after-seq", "-1"}, "pedigree: --after-seq: must not be negative"},
		{"bad server", []string{"--model", "churn", "--exec", "true", "--server", "ftp://x"}, `pedigree: --server: "ftp://x" is not an http:// or https:// URL`},
		{"unknown model", []string{"--model", "nope", "--exec", "true"}, `pedigree: model: model "nope" not found`},
		{"unknown flag", []string{"--model", "churn", "--exec", "true", "--colour"}, "unknown flag: --colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"watch", "--server", e.url, "--state", state}, tc.args...)
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("exit: %v, want a non-zero status; output:\n%s", err, out)
			}
			if got := strings.TrimSpace(string(out)); !strings.Contains(got, tc.want) || strings.Count(got, "\n") > 0 {
				t.Errorf("output = %q, want one line containing %q", got, tc.want)
			}
		})
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused watch wrote its state file (%v)", err)
	}
}
