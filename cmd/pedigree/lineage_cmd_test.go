package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goldenText compares a command's output, normalized (run UUIDs, times),
// with testdata/name; go test ./cmd/pedigree -update rewrites it.
func goldenText(tb testing.TB, name, out string) {
	tb.Helper()
	got := normalize([]byte(out))
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./cmd/pedigree -run %s -update to create it)", err, tb.Name())
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("output differs from %s (go test ./cmd/pedigree -run %s -update to accept):\n%s", path, tb.Name(), got)
	}
}

// mustFixture serves the scenario's lineage: two datasets versions with
// splits, feature sets, code, environments, two runs and churn v1, v2.
func mustFixture(t *testing.T) (*Main, *fixture) {
	t.Helper()
	m := MustServe(t, t.TempDir())
	f := &fixture{c: newClient(m.URL())}
	f.build(t)
	return m, f
}

func TestLineageCommand(t *testing.T) {
	m, f := mustFixture(t)
	server := []string{"--server", m.URL()}
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"lineage-up.tree", []string{"lineage", "modelversion:churn/2", "--depth", "10"}},
		{"lineage-up.json", []string{"lineage", "modelversion:churn/2", "--depth", "10", "--format", "json"}},
		{"lineage-up.dot", []string{"lineage", "modelversion:churn/2", "--depth", "10", "--format", "dot"}},
		{"lineage-up.mmd", []string{"lineage", "modelversion:churn/2", "--depth", "10", "--format", "mermaid"}},
		{"lineage-down.tree", []string{"lineage", "datasetversion:customers/1", "--down"}},
		{"lineage-both.tree", []string{"lineage", f.runs[0], "--up", "--down"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			goldenText(t, tc.golden, mustPedigree(t, nil, append(tc.args, server...)...))
		})
	}

	t.Run("yaml is json", func(t *testing.T) {
		out := mustPedigree(t, nil, append([]string{"lineage", "modelversion:churn/1", "--format", "yaml"}, server...)...)
		if !strings.Contains(out, "of: modelversion:churn/1\n") || !strings.Contains(out, "type: GENERATED_BY") {
			t.Errorf("lineage --format yaml printed:\n%s", out)
		}
	})

	t.Run("tree shows a shared node once", func(t *testing.T) {
		out := mustPedigree(t, nil, append([]string{"lineage", "modelversion:churn/1", "--depth", "10"}, server...)...)
		// customers@v1 is split into train and test and feeds the features:
		// expanded once, referred to the other times.
		full := strings.Count(out, "customers@v1 (datasetversion:customers/1)\n")
		refs := strings.Count(out, "customers@v1 (datasetversion:customers/1) (see above)\n")
		if full != 1 || refs < 1 {
			t.Errorf("customers@v1 printed %d times in full and %d as a reference, want 1 and at least 1:\n%s", full, refs, out)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"lineage", "modelversion:churn/1", "--format", "svg"}, 2, "--format"},
			{[]string{"lineage", "modelversion:churn/1", "--depth", "0"}, 2, "--depth"},
			{[]string{"lineage"}, 2, "NODE_ID"},
			{[]string{"lineage", "modelversion:churn/9"}, 1, "not found"},
		} {
			_, _, err := runPedigree(t, nil, append(tc.args, server...)...)
			if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("pedigree %s: %v, want exit %d mentioning %q", strings.Join(tc.args, " "), err, tc.code, tc.want)
			}
		}
	})
}

func TestImpactCommand(t *testing.T) {
	m, f := mustFixture(t)
	f.transition(t, 2, "PRODUCTION", nil)
	out := mustPedigree(t, nil, "impact", "datasetversion:customers/2", "--server", m.URL())
	goldenText(t, "impact.txt", out)

	var v impactView
	out = mustPedigree(t, nil, "impact", "datasetversion:customers/2", "--server", m.URL(), "--output", "json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("impact --output json printed %q: %v", out, err)
	}
	if len(v.ModelVersions) != 1 || v.ModelVersions[0].Stage != "PRODUCTION" || v.ModelVersions[0].Count != 1 ||
		v.ModelVersions[0].Versions[0].ID != "modelversion:churn/2" || len(v.Runs) != 1 || v.Total == 0 {
		t.Errorf("impact --output json = %+v, want churn v2 in PRODUCTION, one run", v)
	}
}

func TestCompareCommand(t *testing.T) {
	m, f := mustFixture(t)
	out := mustPedigree(t, nil, "compare", f.runs[0], f.runs[1], "--server", m.URL())
	goldenText(t, "compare.txt", out)
	lines := strings.Split(out, "\n")
	line := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("no line starting with %q in:\n%s", prefix, out)
		return ""
	}
	if l := line("* max_depth"); !strings.Contains(l, "6") || !strings.Contains(l, "8") {
		t.Errorf("max_depth differs: %q", l)
	}
	line("  model ") // the same in both runs: not marked
	if l := line("  auc ↑"); !strings.HasSuffix(strings.TrimSpace(l), "*") {
		t.Errorf("auc's best run (the second) is not marked: %q", l)
	}

	var c comparison
	out = mustPedigree(t, nil, "compare", f.runs[0], f.runs[1], "--server", m.URL(), "-o", "json")
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("compare -o json printed %q: %v", out, err)
	}
	for _, mt := range c.Metrics {
		if mt.BestRun == nil || *mt.BestRun != f.runs[1] {
			t.Errorf("metric %s: best run %v, want %s", mt.Key, mt.BestRun, f.runs[1])
		}
	}

	if _, _, err := runPedigree(t, nil, "compare", f.runs[0], "--server", m.URL()); err == nil || exitCode(err) != 2 {
		t.Errorf("compare with one run: %v, want exit 2", err)
	}
}

func TestDiffCommand(t *testing.T) {
	m, _ := mustFixture(t)
	out := mustPedigree(t, nil, "diff", "churn", "1", "v2", "--server", m.URL())
	goldenText(t, "diff.txt", out)
	for _, want := range []string{"xgboost  CHANGED  2.0.3   2.1.0", "max_depth  CHANGED  6       8"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	out = mustPedigree(t, nil, "diff", "churn", "1", "2", "--server", m.URL(), "--output", "yaml")
	if !strings.Contains(out, "packages:\n") || !strings.Contains(out, "name: xgboost") {
		t.Errorf("diff --output yaml:\n%s", out)
	}
	if _, _, err := runPedigree(t, nil, "diff", "churn", "one", "2", "--server", m.URL()); err == nil || exitCode(err) != 2 {
		t.Errorf("diff with a malformed version: %v, want exit 2", err)
	}
}

// runBinary runs the real pedigree binary and returns its stdout, stderr
// and exit status.
func runBinary(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PEDIGREE_URL=", "PEDIGREE_TOKEN=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// Scripts rely on exit statuses and one-line errors: the real binary.
func TestClientExitCodes(t *testing.T) {
	m, f := mustFixture(t)
	f.transition(t, 1, "PRODUCTION", nil)
	url := m.URL()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // exact, if not empty
		stderr string // exact, if not empty
		prefix string // stderr prefix, if not empty
	}{
		{name: "deploy script", args: []string{"model", "get", "churn", "--stage", "production", "--field", "artifactUri", "--server", url},
			stdout: "s3://models/churn/1/model.xgb\n"},
		{name: "unknown model", args: []string{"model", "get", "nope", "--stage", "PRODUCTION", "--server", url}, code: 1,
			stderr: "pedigree: model: model \"nope\" not found\n"},
		{name: "unknown model, latest", args: []string{"model", "get", "nope", "--server", url}, code: 1,
			stderr: "pedigree: model: model \"nope\" not found\n"},
		{name: "compare and swap lost", args: []string{"model", "promote", "churn", "2", "--stage", "PRODUCTION", "--expect-stage", "STAGING", "--server", url}, code: 1,
			stderr: "pedigree: expectedStage: churn v2 is in NONE, not STAGING; someone else changed it first\n"},
		{name: "unreachable server", args: []string{"model", "list", "--server", "http://127.0.0.1:1"}, code: 1,
			prefix: "pedigree: cannot reach the server at http://127.0.0.1:1: "},
		{name: "unreachable server, lineage", args: []string{"lineage", "run:x", "--server", "http://127.0.0.1:1"}, code: 1,
			prefix: "pedigree: cannot reach the server at http://127.0.0.1:1: "},
		{name: "unknown field", args: []string{"model", "get", "churn", "--field", "url", "--server", url}, code: 2,
			prefix: "pedigree: --field: unknown field \"url\"; one of id, model, version, stage, artifactUri"},
		{name: "malformed version", args: []string{"model", "promote", "churn", "latest", "--stage", "STAGING", "--server", url}, code: 2},
		{name: "unknown stage", args: []string{"model", "promote", "churn", "2", "--stage", "LIVE", "--server", url}, code: 2},
		{name: "two selectors", args: []string{"model", "get", "churn", "--version", "1", "--alias", "a", "--server", url}, code: 2},
		{name: "unknown flag", args: []string{"lineage", "run:x", "--sideways", "--server", url}, code: 2},
		{name: "bad output", args: []string{"model", "list", "--output", "xml", "--server", url}, code: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runBinary(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if tc.stdout != "" && stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout, tc.stdout)
			}
			if tc.stderr != "" && stderr != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr, tc.stderr)
			}
			if tc.prefix != "" && !strings.HasPrefix(stderr, tc.prefix) {
				t.Errorf("stderr %q, want it to start with %q", stderr, tc.prefix)
			}
			if tc.code != 0 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	stdout, stderr, code := runBinary(t, "completion", "bash")
	if code != 0 || !strings.Contains(stdout, "__start_pedigree") {
		t.Errorf("completion bash: exit %d, %d bytes of stdout, stderr %q", code, len(stdout), stderr)
	}
	// Flag values complete without a server.
	stdout, _, _ = runBinary(t, "__complete", "model", "promote", "churn", "2", "--stage", "")
	for _, want := range []string{"STAGING", "PRODUCTION", "ARCHIVED"} {
		if !strings.Contains(stdout, want+"\n") {
			t.Errorf("completing --stage: %q lacks %s", stdout, want)
		}
	}
	stdout, _, _ = runBinary(t, "__complete", "lineage", "x", "--format", "")
	if !strings.Contains(stdout, "mermaid\n") {
		t.Errorf("completing --format: %q lacks mermaid", stdout)
	}
}
