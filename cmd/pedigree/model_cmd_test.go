package main

import (
	"encoding/json"
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
