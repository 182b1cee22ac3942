package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type kv struct{ Key, Value string }

type runView struct {
	Status  string
	Name    string
	Params  []kv
	Tags    []kv
	Compute []kv
	Trigger struct{ Kind, Actor, ExternalID, URL string }
	Inputs  []struct {
		Role string
		Node struct{ ID string }
	}
	Metric *struct {
		Last     float64
		LastStep int64
		Count    int64
	}
	Code *struct {
		Repository, Commit, Branch, Path, DiffDigest string
		Dirty                                        bool
	}
	Environment *struct {
		Language string
		Packages []struct{ Name, Version string }
		Hardware []kv
	}
}

func mustRun(tb testing.TB, m *Main, id, metric string) runView {
	tb.Helper()
	var out struct{ Run *runView }
	newClient(m.URL()).must(tb, `query($id: ID!, $k: String!) { run(id: $id) {
		status name params { key value } tags { key value } compute { key value }
		trigger { kind actor externalId url } inputs { role node { id } }
		metric(key: $k) { last lastStep count }
		code { repository commit branch path dirty diffDigest }
		environment { language packages { name version } hardware { key value } } } }`,
		map[string]any{"id": id, "k": metric}, &out)
	if out.Run == nil {
		tb.Fatalf("run %s not found", id)
	}
	return *out.Run
}

func value(list []kv, key string) string {
	for _, e := range list {
		if e.Key == key {
			return e.Value
		}
	}
	return "<none>"
}

func TestRunStartLogFinish(t *testing.T) {
	m := MustServe(t, t.TempDir())
	srv := "--server=" + m.URL()
	csv := mustWrite(t, filepath.Join(t.TempDir(), "d.csv"), "a\n1\n")
	mustPedigree(t, nil, "dataset", "register", srv, "d", csv)

	t.Setenv("GITHUB_ACTIONS", "") // a manual run, wherever the test runs
	t.Setenv("GITLAB_CI", "")
	t.Setenv("JENKINS_URL", "")
	t.Setenv("USER", "ada")
	id := strings.TrimSpace(mustPedigree(t, nil, "run", "start", srv, "--experiment", "churn", "--name", "first",
		"--param", "lr=0.1", "--tag", "team=ml", "--input", "datasetversion:d/1:train"))
	if !strings.HasPrefix(id, "run:") {
		t.Fatalf("run start printed %q, want a run ID", id)
	}
	out := mustPedigree(t, nil, "run", "log", srv, id, "--metric", "auc=0.5@1", "--metric", "auc=0.75@2", "--param", "epochs=2")
	if !strings.Contains(out, "logged 2 metric points, 1 params") {
		t.Errorf("run log printed %q", out)
	}
	if out := mustPedigree(t, nil, "run", "finish", srv, id); out != id+" FINISHED\n" {
		t.Errorf("run finish printed %q, want %q", out, id+" FINISHED\n")
	}
	r := mustRun(t, m, id, "auc")
	if r.Status != "FINISHED" || r.Name != "first" || value(r.Params, "lr") != "0.1" || value(r.Params, "epochs") != "2" || value(r.Tags, "team") != "ml" {
		t.Errorf("run = %+v", r)
	}
	if r.Metric == nil || r.Metric.Last != 0.75 || r.Metric.LastStep != 2 || r.Metric.Count != 2 {
		t.Errorf("metric auc = %+v, want last 0.75 at step 2 of 2", r.Metric)
	}
	if len(r.Inputs) != 1 || r.Inputs[0].Node.ID != "datasetversion:d/1" || r.Inputs[0].Role != "train" {
		t.Errorf("inputs = %+v", r.Inputs)
	}
	if r.Trigger.Kind != "MANUAL" || r.Trigger.Actor != "ada" {
		t.Errorf("trigger = %+v, want MANUAL by ada", r.Trigger)
	}

	// JSON for scripts.
	out = mustPedigree(t, nil, "run", "start", srv, "--experiment", "churn", "--output", "json")
	if !strings.Contains(out, `"id": "run:`) || !strings.Contains(out, `"status": "RUNNING"`) {
		t.Errorf("run start --output json printed %s", out)
	}

	// run list: the filter language, as a table.
	out = mustPedigree(t, nil, "run", "list", srv, "--filter", "metrics.auc > 0.7 and params.lr = '0.1'")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[1], id) || !strings.Contains(lines[1], "FINISHED") {
		t.Errorf("run list --filter printed\n%s\nwant a header and the one matching run %s", out, id)
	}
	if out := mustPedigree(t, nil, "run", "list", srv, "--filter", "metrics.auc > 0.9"); strings.Contains(out, id) {
		t.Errorf("run list with a filter no run matches printed\n%s", out)
	}
}

func TestRunBadInput(t *testing.T) {
	m := MustServe(t, t.TempDir())
	srv := "--server=" + m.URL()
	id := strings.TrimSpace(mustPedigree(t, nil, "run", "start", srv, "--experiment", "e"))
	unknown := "run:00000000-0000-7000-8000-000000000000"
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "start", "--experiment", "no good!"}, 1, "experiment:"},
		{[]string{"run", "start"}, 2, "--experiment is required"},
		{[]string{"run", "start", "--experiment", "e", "--param", "lr"}, 2, "KEY=VALUE"},
		{[]string{"run", "start", "--experiment", "e", "--input", "datasetversion:nope/1:train"}, 1, "nope"},
		{[]string{"run", "log", unknown, "--metric", "a=1"}, 1, "not found"},
		{[]string{"run", "log", id, "--metric", "acc"}, 2, "--metric"},
		{[]string{"run", "log", id, "--metric", "acc=high"}, 2, "not a number"},
		{[]string{"run", "log", id, "--metric", "acc=1@x"}, 2, "step"},
		{[]string{"run", "log", id}, 2, "nothing to log"},
		{[]string{"run", "log", "42", "--metric", "a=1"}, 2, "not a run ID"},
		{[]string{"run", "finish", unknown}, 1, "not found"},
		{[]string{"run", "finish", id, "--status", "DONE"}, 2, "--status"},
		{[]string{"run", "exec", "--experiment", "e"}, 2, "expected a command"},
		{[]string{"run", "list", "--filter", "metrics.auc >"}, 1, "filter:"},
		{[]string{"run", "list", "--limit", "0"}, 2, "--limit"},
	} {
		_, _, err := runPedigree(t, nil, append(tc.args, srv)...)
		if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want exit %d, one line containing %q", tc.args, err, tc.code, tc.want)
		}
	}
	// An unreachable server.
	_, _, err := runPedigree(t, nil, "run", "start", "--server", "http://127.0.0.1:1", "--experiment", "e")
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "cannot reach the server at http://127.0.0.1:1") {
		t.Errorf("unreachable server: %v", err)
	}
}

// ciEnv is the environment without any CI provider's variables, plus extra.
func ciEnv(extra ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		if strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "GITLAB_") || strings.HasPrefix(k, "CI_") ||
			strings.HasPrefix(k, "PEDIGREE_") || strings.HasPrefix(k, "GIT_") || k == "JENKINS_URL" || k == "CI" {
			continue
		}
		env = append(env, e)
	}
	return append(env, extra...)
}

func mustGit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	c := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	c.Dir = dir
	c.Env = ciEnv()
	out, err := c.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// pedigree run exec, as the binary, in a real git repository: the code
// version (commit, dirty state), the CI trigger, the packages, the exit
// status and the run's outcome.
func TestRunExec(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	m := MustServe(t, t.TempDir())
	repo := t.TempDir()
	mustGit(t, repo, "init", "-q")
	mustGit(t, repo, "remote", "add", "origin", "https://user:s3cret@github.com/acme/churn.git")
	mustWrite(t, filepath.Join(repo, "train.py"), "print('v1')\n")
	mustWrite(t, filepath.Join(repo, "requirements.txt"), "# pinned\nnumpy==1.26.4\nscikit_learn==1.5.0  # ml\n-r other.txt\npandas>=2\n")
	mustGit(t, repo, "add", ".")
	mustGit(t, repo, "commit", "-q", "-m", "first")
	commit := mustGit(t, repo, "rev-parse", "HEAD")
	mustWrite(t, filepath.Join(repo, "train.py"), "print('v2')\n") // dirty

	github := []string{"GITHUB_ACTIONS=true", "GITHUB_ACTOR=octocat", "GITHUB_RUN_ID=987", "GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=acme/churn"}
	pedigree := func(dir string, env []string, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		c := exec.Command(bin, args...)
		c.Dir, c.Env = dir, env
		var o, e bytes.Buffer
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return o.String(), e.String(), c.ProcessState.ExitCode()
	}

	// A failing command: its exit status is pedigree's, the run FAILED.
	stdout, stderr, code := pedigree(repo, ciEnv(github...), "run", "exec", "--server", m.URL(), "--experiment", "churn",
		"--", "sh", "-c", `echo "id=$PEDIGREE_RUN_ID"; echo oops >&2; exit 3`)
	if code != 3 {
		t.Fatalf("exit status %d, want 3\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	id := strings.TrimSpace(strings.TrimPrefix(stdout, "id="))
	if !strings.HasPrefix(id, "run:") || !strings.Contains(stderr, "oops") || !strings.Contains(stderr, id+" FAILED (exit status 3") {
		t.Fatalf("stdout %q, stderr %q: want the run ID from PEDIGREE_RUN_ID and the command's stderr", stdout, stderr)
	}
	r := mustRun(t, m, id, "x")
	if r.Status != "FAILED" || value(r.Tags, "exit_code") != "3" || value(r.Compute, "wall_seconds") == "<none>" {
		t.Errorf("run: status %s, tags %v, compute %v; want FAILED, exit_code 3, wall_seconds", r.Status, r.Tags, r.Compute)
	}
	if r.Code == nil || r.Code.Commit != commit || !r.Code.Dirty || r.Code.Branch != "main" ||
		r.Code.Repository != "github.com/acme/churn" || !strings.HasPrefix(r.Code.DiffDigest, "sha256:") {
		t.Errorf("code = %+v, want commit %s, dirty, branch main, github.com/acme/churn", r.Code, commit)
	}
	want := struct{ Kind, Actor, ExternalID, URL string }{"CI", "octocat", "987", "https://github.com/acme/churn/actions/runs/987"}
	if r.Trigger != want {
		t.Errorf("trigger = %+v, want %+v", r.Trigger, want)
	}
	if r.Environment == nil || r.Environment.Language != "python" {
		t.Fatalf("environment = %+v, want python", r.Environment)
	}
	pkgs := map[string]string{}
	for _, p := range r.Environment.Packages {
		pkgs[p.Name] = p.Version
	}
	if wantPkgs := map[string]string{"numpy": "1.26.4", "scikit-learn": "1.5.0", "pandas": ">=2"}; !reflect.DeepEqual(pkgs, wantPkgs) {
		t.Errorf("packages = %v, want %v", pkgs, wantPkgs)
	}
	if value(r.Environment.Hardware, "cpus") == "<none>" || value(r.Environment.Hardware, "os") == "<none>" {
		t.Errorf("hardware = %v", r.Environment.Hardware)
	}

	// A clean tree from a subdirectory, a succeeding command, manual trigger.
	mustGit(t, repo, "commit", "-q", "-am", "second")
	sub := filepath.Join(repo, "jobs")
	mustWrite(t, filepath.Join(sub, "x"), "")
	mustGit(t, repo, "add", ".")
	mustGit(t, repo, "commit", "-q", "-m", "third")
	commit3 := mustGit(t, repo, "rev-parse", "HEAD")
	start := time.Now()
	stdout, stderr, code = pedigree(sub, ciEnv("USER=ada"), "run", "exec", "--server", m.URL(), "--experiment", "churn",
		"sh", "-c", `echo "$PEDIGREE_RUN_ID"`)
	if code != 0 {
		t.Fatalf("exit status %d\n%s", code, stderr)
	}
	r = mustRun(t, m, strings.TrimSpace(stdout), "x")
	if r.Status != "FINISHED" || value(r.Tags, "exit_code") != "0" || r.Code == nil || r.Code.Commit != commit3 || r.Code.Dirty || r.Code.Path != "jobs" {
		t.Errorf("run: status %s, tags %v, code %+v; want FINISHED, exit_code 0, clean %s at jobs", r.Status, r.Tags, r.Code, commit3)
	}
	if r.Trigger.Kind != "MANUAL" || r.Trigger.Actor != "ada" {
		t.Errorf("trigger = %+v, want MANUAL by ada", r.Trigger)
	}
	t.Logf("run exec took %s", time.Since(start))

	// A command that does not exist: 127, and the run FAILED.
	_, stderr, code = pedigree(repo, ciEnv(), "run", "exec", "--server", m.URL(), "--", "no-such-command-pedigree")
	if code != 127 || !strings.Contains(stderr, "cannot run no-such-command-pedigree") {
		t.Errorf("a missing command: exit %d, stderr %q; want 127 and why", code, stderr)
	}
	// An unreachable server: exit 1, one line, the command never runs.
	marker := filepath.Join(t.TempDir(), "ran")
	_, stderr, code = pedigree(repo, ciEnv(), "run", "exec", "--server", "http://127.0.0.1:1", "--", "touch", marker)
	if code != 1 || !strings.Contains(stderr, "cannot reach the server") {
		t.Errorf("unreachable server: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran although no run could be started")
	}
}
