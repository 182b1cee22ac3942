package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// model register uploads the file and registers the version from the
// upload: the server's digest and URI, printed as text or JSON.
func TestModelRegister(t *testing.T) {
	m := MustServe(t, t.TempDir())
	run := mustStartRun(t, m)
	path, digest := mustPatternFile(t, t.TempDir(), "model.pkl", 5, 3<<20)
	args := []string{"model", "register", "--server", m.URL(), "--model", "churn", "--run", string(run), "--file", path, "--framework", "xgboost"}

	if out := mustPedigree(t, nil, args...); out != "model churn v1 (modelversion:churn/1)\n" {
		t.Errorf("register printed %q, want %q", out, "model churn v1 (modelversion:churn/1)\n")
	}
	out := mustPedigree(t, nil, append(args, "--output", "json", "--description", "second")...)
	var mv registeredVersion
	if err := json.Unmarshal([]byte(out), &mv); err != nil {
		t.Fatalf("register --output json printed %q: %v", out, err)
	}
	want := registeredVersion{ID: "modelversion:churn/2", ModelName: "churn", Version: 2, RunID: string(run),
		ArtifactURI: "pedigree://artifacts/sha256/" + strings.TrimPrefix(digest, "sha256:"), ArtifactDigest: digest,
		Framework: "xgboost", Stage: "NONE"}
	if mv != want {
		t.Errorf("register --output json = %+v, want %+v", mv, want)
	}

	// A refusal after the upload names the uploaded digest and the reason.
	bad := []string{"model", "register", "--server", m.URL(), "--model", "churn", "--run", "run:00000000-0000-7000-8000-000000000000", "--file", path}
	_, _, err := runPedigree(t, nil, bad...)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "run") {
		t.Errorf("register with an unknown run: %v, want exit 1 naming the run", err)
	}
}

// The registry commands on the scenario's churn v1 and v2: promote (with
// compare-and-swap), get, history, list and rollback.
func TestModelRegistryCommands(t *testing.T) {
	m, _ := mustFixture(t)
	s := []string{"--server", m.URL()}
	pedigree := func(args ...string) string { t.Helper(); return mustPedigree(t, nil, append(args, s...)...) }

	if out := pedigree("model", "promote", "churn", "1", "--stage", "PRODUCTION", "--reason", "first"); out != "model churn v1 is in PRODUCTION\n" {
		t.Errorf("promote printed %q", out)
	}
	pedigree("model", "promote", "churn", "v2", "--stage", "staging")

	if out := pedigree("model", "get", "churn", "--stage", "PRODUCTION", "--field", "artifactUri"); out != "s3://models/churn/1/model.xgb\n" {
		t.Errorf("get --field artifactUri printed %q, want one line", out)
	}
	if out := pedigree("model", "get", "churn", "--field", "version"); out != "2\n" {
		t.Errorf("get without a selector printed version %q, want the newest, 2", out)
	}
	var mv struct {
		ID, Stage, RunID string
		Version          int
	}
	if err := json.Unmarshal([]byte(pedigree("model", "get", "churn", "--version", "2", "-o", "json")), &mv); err != nil {
		t.Fatal(err)
	}
	if mv.ID != "modelversion:churn/2" || mv.Stage != "STAGING" || mv.Version != 2 || mv.RunID == "" {
		t.Errorf("get --version 2 -o json = %+v", mv)
	}
	if out := pedigree("model", "get", "churn", "--version", "1"); !strings.Contains(out, "stage           PRODUCTION\n") {
		t.Errorf("get as a table:\n%s", out)
	}

	// Compare-and-swap: the version is in STAGING, not NONE.
	_, _, err := runPedigree(t, nil, append([]string{"model", "promote", "churn", "2", "--stage", "PRODUCTION", "--expect-stage", "NONE"}, s...)...)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "someone else changed it first") {
		t.Errorf("promote with a stale --expect-stage: %v, want exit 1, someone else changed it first", err)
	}
	pedigree("model", "promote", "churn", "2", "--stage", "PRODUCTION", "--expect-stage", "STAGING", "--reason", "better auc")

	out := pedigree("model", "list")
	if !strings.Contains(out, "churn  v2      PRODUCTION  v2") {
		t.Errorf("list:\n%s", out)
	}

	if out := pedigree("model", "rollback", "churn", "--reason", "regression"); out != "model churn: v1 is back in PRODUCTION\n" {
		t.Errorf("rollback printed %q", out)
	}
	if out := pedigree("model", "get", "churn", "--stage", "PRODUCTION", "--field", "version"); out != "1\n" {
		t.Errorf("after rollback, PRODUCTION is v%q, want 1", out)
	}

	out = pedigree("model", "history", "churn")
	goldenText(t, "model-history.txt", regexpTimes.ReplaceAllString(out, "0000-00-00 00:00:00Z"))
	var history []stageChange
	if err := json.Unmarshal([]byte(pedigree("model", "history", "churn", "-o", "json")), &history); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range history {
		got = append(got, fmt.Sprintf("v%d %s→%s %s", h.Version, h.From, h.To, h.Reason))
	}
	want := []string{"v1 NONE→PRODUCTION first", "v2 NONE→STAGING ", "v1 PRODUCTION→ARCHIVED archived by the promotion of v2",
		"v2 STAGING→PRODUCTION better auc", "v1 ARCHIVED→PRODUCTION rollback: regression", "v2 PRODUCTION→ARCHIVED rollback: regression"}
	if !slices.Equal(got, want) {
		t.Errorf("history:\n got %q\nwant %q", got, want)
	}
}

var regexpTimes = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`)
