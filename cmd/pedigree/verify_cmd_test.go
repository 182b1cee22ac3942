package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pedigree-ml/pedigree/lineage"
)

// mustStartRun starts a run through the API and returns its ID.
func mustStartRun(tb testing.TB, m *Main) lineage.ID {
	tb.Helper()
	var run struct{ StartRun idResult }
	newClient(m.URL()).must(tb, startRun, map[string]any{"in": map[string]any{"experiment": "artifacts"}}, &run)
	return lineage.ID(run.StartRun.ID)
}

// mustRegisterUpload registers an uploaded blob as the next version of
// model through the API, naming the upload by its digest.
func mustRegisterUpload(tb testing.TB, m *Main, model string, run lineage.ID, p pushed) lineage.ID {
	tb.Helper()
	var out struct{ RegisterModelVersion idResult }
	newClient(m.URL()).must(tb, registerVersion, map[string]any{"in": map[string]any{"model": model, "run": run, "upload": p.Digest}}, &out)
	return lineage.ID(out.RegisterModelVersion.ID)
}

// mustRegisterDatasetUpload registers an uploaded blob as the next version
// of dataset through the API.
func mustRegisterDatasetUpload(tb testing.TB, m *Main, dataset string, p pushed) lineage.ID {
	tb.Helper()
	var out struct{ RegisterDatasetVersion idResult }
	newClient(m.URL()).must(tb, `mutation($in: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $in) { id version } }`,
		map[string]any{"in": map[string]any{"dataset": dataset, "upload": p.Digest}}, &out)
	return lineage.ID(out.RegisterDatasetVersion.ID)
}

func flipByte(tb testing.TB, path string) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func exists(tb testing.TB, path string) bool {
	tb.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		tb.Fatal(err)
	}
	return err == nil
}

// verify reports a corrupt blob with what references it, a referenced
// blob that is missing, and a corrupt unreferenced one; exit status 1 then,
// 0 on a clean store.
func TestVerify(t *testing.T) {
	m := MustServe(t, t.TempDir())
	dir := t.TempDir()
	run := mustStartRun(t, m)
	var p [4]pushed
	for i := range p {
		path, _ := mustPatternFile(t, dir, "f", byte(10+i), int64(1<<20+i))
		p[i] = mustPush(t, m.URL(), path)
	}
	v1 := mustRegisterUpload(t, m, "churn", run, p[0])
	v2 := mustRegisterUpload(t, m, "churn", run, p[1])
	dv := mustRegisterDatasetUpload(t, m, "customers", p[0]) // p[0] has two referrers
	mustRegisterDatasetUpload(t, m, "events", p[3])
	// p[2] is not referenced.
	// An external reference is not Pedigree's to check.
	if _, err := m.Service.RegisterModelVersion(context.Background(), lineage.RegisterModelVersionInput{
		Model: "churn", Run: run, ArtifactURI: "s3://bucket/model.pkl"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil { // verify runs offline, like export
		t.Fatal(err)
	}
	args := []string{"verify", "--data-dir", m.DataDir}

	out := mustPedigree(t, nil, args...)
	if !strings.Contains(out, "verified 4 blobs") || !strings.Contains(out, "3 referenced digests") || !strings.Contains(out, "0 corrupt, 0 missing, 0 unreadable") {
		t.Errorf("verify of a clean store printed %q", out)
	}

	flipByte(t, blobPath(m.DataDir, p[0].Digest))
	flipByte(t, blobPath(m.DataDir, p[2].Digest))
	if err := os.Remove(blobPath(m.DataDir, p[1].Digest)); err != nil {
		t.Fatal(err)
	}
	out, _, err := runPedigree(t, nil, args...)
	if err == nil || exitCode(err) != 1 || err.Error() != "verify found 3 problems" {
		t.Errorf("verify of a damaged store: %v (exit %d), want \"verify found 3 problems\", exit 1", err, exitCode(err))
	}
	for _, want := range []string{
		"corrupt " + p[0].Digest + " (referenced by " + string(dv) + ", " + string(v1) + ")\n",
		"missing " + p[1].Digest + " referenced by " + string(v2) + "\n",
		"corrupt " + p[2].Digest + " (unreferenced)\n",
		"verified 3 blobs",
		"2 corrupt, 1 missing, 0 unreadable",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify printed\n%s\nwant a line with %q", out, want)
		}
	}
	if strings.Contains(out, p[3].Digest) {
		t.Errorf("verify reported the intact blob %s:\n%s", p[3].Digest, out)
	}

	_, _, err = runPedigree(t, nil, "verify", "--data-dir", filepath.Join(dir, "nothing"))
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "no store at") {
		t.Errorf("verify of a missing store: %v", err)
	}
}

// gc deletes an old unreferenced blob and keeps referenced ones (a
// soft-deleted version's too); --dry-run deletes nothing; young blobs stay.
func TestGC(t *testing.T) {
	m := MustServe(t, t.TempDir())
	dir := t.TempDir()
	run := mustStartRun(t, m)
	var p [3]pushed
	for i := range p {
		path, _ := mustPatternFile(t, dir, "f", byte(20+i), int64(100<<10+i))
		p[i] = mustPush(t, m.URL(), path)
	}
	mustRegisterUpload(t, m, "churn", run, p[0])
	// p[1] is not referenced; p[2] only by a soft-deleted version, which
	// stays in lineage and keeps its bytes.
	dv := mustRegisterDatasetUpload(t, m, "customers", p[2])
	if err := m.Service.DeleteNode(context.Background(), dv, false); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	present := func() [3]bool {
		var got [3]bool
		for i := range p {
			got[i] = exists(t, blobPath(m.DataDir, p[i].Digest))
		}
		return got
	}
	gone := "sha256/" + strings.TrimPrefix(p[1].Digest, "sha256:")[:2] + "/" + strings.TrimPrefix(p[1].Digest, "sha256:")

	if out := mustPedigree(t, nil, "gc", "--data-dir", m.DataDir); !strings.HasPrefix(out, "deleted 0 objects") || present() != [3]bool{true, true, true} {
		t.Errorf("gc with the default grace printed %q and left %v, want nothing deleted", out, present())
	}
	out := mustPedigree(t, nil, "gc", "--data-dir", m.DataDir, "--grace", "0", "--dry-run")
	if want := "would delete " + gone + "\nwould delete 1 object"; !strings.HasPrefix(out, want) || present() != [3]bool{true, true, true} {
		t.Errorf("gc --dry-run printed %q and left %v, want %q and nothing deleted", out, present(), want)
	}
	out = mustPedigree(t, nil, "gc", "--data-dir", m.DataDir, "--grace", "0")
	if want := "deleted " + gone + "\ndeleted 1 object"; !strings.HasPrefix(out, want) || present() != [3]bool{true, false, true} {
		t.Errorf("gc --grace 0 printed %q and left %v, want %q and only %s deleted", out, present(), want, p[1].Digest)
	}
	if out := mustPedigree(t, nil, "verify", "--data-dir", m.DataDir); !strings.Contains(out, "verified 2 blobs") {
		t.Errorf("verify after gc printed %q", out)
	}
}
