package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/demo"
	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/neo4j"
	"github.com/pedigree-ml/pedigree/lineage/sqlite"
)

// runPedigree runs the CLI in-process with stdin and returns its stdout
// and stderr.
func runPedigree(tb testing.TB, stdin []byte, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetIn(bytes.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// mustPedigree is runPedigree for a command that has to succeed.
func mustPedigree(tb testing.TB, stdin []byte, args ...string) string {
	tb.Helper()
	out, stderr, err := runPedigree(tb, stdin, args...)
	if err != nil {
		tb.Fatalf("pedigree %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	tb.Logf("pedigree %s: %s", args[0], strings.TrimSpace(stderr))
	return out
}

func sqliteURL(path string) string { return "sqlite://" + path }

// mustDemoStore writes the demo plus a long metric history (with values
// JSON numbers cannot hold) into a new SQLite store at path, and closes it.
func mustDemoStore(tb testing.TB, path string) {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	svc := lineage.NewService(s)
	if err := demo.Load(ctx, svc); err != nil {
		tb.Fatal(err)
	}
	runs, err := svc.Runs(ctx, lineage.RunsInput{Page: lineage.Page{First: 1}})
	if err != nil || len(runs.Runs) == 0 {
		tb.Fatalf("demo runs: %v, %v", runs, err)
	}
	run := runs.Runs[0].ID
	pts := make([]lineage.MetricPoint, 2500)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range pts {
		pts[i] = lineage.MetricPoint{Key: "train/loss", Step: int64(i), Value: 1 / float64(i+1), Timestamp: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	if _, err := svc.LogMetrics(ctx, run, pts); err != nil {
		tb.Fatal(err)
	}
	err = s.Update(ctx, func(tx lineage.Tx) error {
		return tx.LogMetrics(run, []lineage.MetricPoint{
			{Key: "grad_norm", Step: 1, Value: math.NaN(), Timestamp: t0},
			{Key: "grad_norm", Step: 2, Value: math.Inf(1), Timestamp: t0},
			{Key: "grad_norm", Step: 3, Value: math.Inf(-1), Timestamp: t0},
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// export A → file, import the file into B, export B: the same bytes;
// migrate A → C, export C: the same bytes again.
func TestExportImportMigrate(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a", "pedigree.db"), filepath.Join(dir, "b.db"), filepath.Join(dir, "c.db")
	mustDemoStore(t, a)

	dumpA := filepath.Join(dir, "a.jsonl")
	if out := mustPedigree(t, nil, "export", "--data-dir", filepath.Dir(a), "-o", dumpA); out != "" {
		t.Errorf("export -o wrote %d bytes to stdout", len(out))
	}
	want, err := os.ReadFile(dumpA)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(want, []byte("{\"pedigreeDump\":1}\n")) || !bytes.Contains(want, []byte(`"value":"NaN"`)) {
		t.Fatalf("export wrote %.200q…", want)
	}
	if out := mustPedigree(t, nil, "export", "--store", sqliteURL(a)); out != string(want) {
		t.Errorf("export to stdout differs from export -o")
	}

	mustPedigree(t, nil, "import", "--store", sqliteURL(b), "-i", dumpA)
	if got := mustPedigree(t, nil, "export", "--store", sqliteURL(b)); got != string(want) {
		t.Errorf("export of the imported store differs: %s", firstDiff(want, []byte(got)))
	}

	_, stderr, err := runPedigree(t, nil, "migrate", "--from", sqliteURL(a), "--to", sqliteURL(c))
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if !strings.HasPrefix(stderr, "migrated ") || !strings.Contains(stderr, " node, ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("migrate printed %q, want one line of counts", stderr)
	}
	t.Logf("pedigree migrate: %s", strings.TrimSpace(stderr))
	if got := mustPedigree(t, nil, "export", "--store", sqliteURL(c)); got != string(want) {
		t.Errorf("export of the migrated store differs: %s", firstDiff(want, []byte(got)))
	}

	// The copy is a working store: the registry carries on from the history.
	s, err := sqlite.Open(context.Background(), c, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mv, err := lineage.NewService(s).ModelVersion(context.Background(), demo.Model, lineage.VersionSelector{Stage: ptrTo(lineage.StageProduction)})
	if err != nil || mv.Version != 1 {
		t.Errorf("Production version of the migrated store = %+v, %v; want v1 (the demo rolls back to it)", mv, err)
	}
}

// Importing into a store that holds anything fails and changes nothing;
// so does a dump that is cut short or damaged, with the line it broke at.
func TestImportRefusals(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.db")
	mustDemoStore(t, a)
	dump := []byte(mustPedigree(t, nil, "export", "--store", sqliteURL(a)))
	lines := strings.SplitAfter(string(dump), "\n")
	n := len(lines) - 1 // the last element is "" after the final newline

	t.Run("non-empty target", func(t *testing.T) {
		before := mustPedigree(t, nil, "export", "--store", sqliteURL(a))
		_, _, err := runPedigree(t, dump, "import", "--store", sqliteURL(a))
		if err == nil || !strings.Contains(err.Error(), "must be empty") {
			t.Errorf("import into a non-empty store: %v, want a refusal saying it must be empty", err)
		}
		if after := mustPedigree(t, nil, "export", "--store", sqliteURL(a)); after != before {
			t.Errorf("a refused import changed the store: %s", firstDiff([]byte(before), []byte(after)))
		}
	})

	for i, c := range []struct {
		name, dump, want string
	}{
		{"cut in a line", string(dump[:len(dump)/2]), "the last line is cut short"},
		{"cut at a line end", strings.Join(lines[:n-3], ""), fmt.Sprintf("dump line %d: the dump ends without its end line", n-2)},
		{"a damaged line", strings.Join(lines[:10], "") + "{\"node\":{\"id\":\n" + strings.Join(lines[11:], ""), "dump line 11: "},
		{"a record too many", strings.Join(lines[:n-1], "") + lines[n-2] + lines[n-1], fmt.Sprintf("dump line %d: the end line counts", n+1)},
		{"not a dump", "id,kind\n", "dump line 1: not a Pedigree dump"},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := filepath.Join(dir, fmt.Sprintf("t%d.db", i))
			_, _, err := runPedigree(t, []byte(c.dump), "import", "--store", sqliteURL(target))
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("import of a dump %s: %v, want one line containing %q", c.name, err, c.want)
			}
			// A demo-sized dump is one batch: nothing was written.
			if got := mustPedigree(t, nil, "export", "--store", sqliteURL(target)); !strings.HasPrefix(got, "{\"pedigreeDump\":1}\n{\"pedigreeDumpEnd\":{\"records\":0}}") {
				t.Errorf("a failed import left records: %.300s", got)
			}
		})
	}

	// Past the first batch a failure leaves a partial store, and says so.
	t.Run("partial", func(t *testing.T) {
		var buf bytes.Buffer
		w := lineage.NewDumpWriter(&buf)
		for i := range lineage.RestoreBatch + 100 {
			if err := w.Write(&lineage.Record{Counter: &lineage.Counter{Name: lineage.ID(fmt.Sprintf("model:m%04d", i)), Value: 1}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		cut := buf.Bytes()[:buf.Len()-30]
		_, _, err := runPedigree(t, cut, "import", "--store", sqliteURL(filepath.Join(dir, "partial.db")))
		want := fmt.Sprintf("after %d records were written: the target holds part of the dump; wipe it", lineage.RestoreBatch)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("import that failed after a batch: %v, want one saying %q", err, want)
		}
	})
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	_, _, err := runPedigree(t, nil, "export", "--store", sqliteURL(filepath.Join(dir, "none.db")))
	if err == nil || !strings.Contains(err.Error(), "no store at") {
		t.Errorf("export of a missing store: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("export of a missing store created it (%v)", err)
	}
	_, _, err = runPedigree(t, nil, "migrate", "--from", sqliteURL(filepath.Join(dir, "x.db")), "--to", sqliteURL(filepath.Join(dir, "x.db")))
	if err == nil || !strings.Contains(err.Error(), "same store") {
		t.Errorf("migrate onto itself: %v", err)
	}
	_, _, err = runPedigree(t, nil, "export", "--store", "mysql://db/x")
	if err == nil || !strings.Contains(err.Error(), "unsupported scheme") {
		t.Errorf("export of an unknown scheme: %v", err)
	}
}

// The binary exits non-zero with one line on stderr.
func TestImportExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"pedigreeDump\":1}\n{\"edge\":{}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "import", "--store", sqliteURL(filepath.Join(dir, "t.db")), "-i", bad)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("import of a bad dump: %v, want a non-zero exit", err)
	}
	if got := stderr.String(); !strings.HasPrefix(got, "pedigree: import: dump line 2: ") || strings.Count(got, "\n") != 1 {
		t.Errorf("stderr = %q, want one line naming line 2", got)
	}
}

// sqlite → Neo4j → sqlite keeps every record, when PEDIGREE_TEST_NEO4J_URI
// names a Neo4j server whose database the test may wipe.
func TestMigrateNeo4j(t *testing.T) {
	uri := os.Getenv("PEDIGREE_TEST_NEO4J_URI")
	if uri == "" {
		t.Skip("set PEDIGREE_TEST_NEO4J_URI (and PEDIGREE_TEST_NEO4J_USER, PEDIGREE_TEST_NEO4J_PASSWORD) to a Neo4j server whose database this test may wipe")
	}
	opts := neo4j.Options{User: os.Getenv("PEDIGREE_TEST_NEO4J_USER"), Password: os.Getenv("PEDIGREE_TEST_NEO4J_PASSWORD")}
	if opts.User == "" {
		opts.User = "neo4j"
	}
	t.Setenv("PEDIGREE_NEO4J_USER", opts.User)
	t.Setenv("PEDIGREE_NEO4J_PASSWORD", opts.Password)
	t.Setenv("PEDIGREE_NEO4J_DATABASE", "")
	if err := neo4j.Wipe(context.Background(), uri, opts); err != nil {
		t.Fatalf("wipe %s: %v", uri, err)
	}
	t.Cleanup(func() { _ = neo4j.Wipe(context.Background(), uri, opts) })

	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	mustDemoStore(t, a)
	want := mustPedigree(t, nil, "export", "--store", sqliteURL(a))
	mustPedigree(t, nil, "migrate", "--from", sqliteURL(a), "--to", uri)
	if got := mustPedigree(t, nil, "export", "--store", uri); got != want {
		t.Errorf("export of the Neo4j copy differs from the SQLite original: %s", firstDiff([]byte(want), []byte(got)))
	}
	mustPedigree(t, nil, "migrate", "--from", uri, "--to", sqliteURL(b))
	if got := mustPedigree(t, nil, "export", "--store", sqliteURL(b)); got != want {
		t.Errorf("sqlite → neo4j → sqlite changed the dump: %s", firstDiff([]byte(want), []byte(got)))
	}
}

// firstDiff describes where two dumps first differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(a) && i == len(b) {
		return "no difference"
	}
	line := bytes.Count(a[:i], []byte("\n")) + 1
	around := func(d []byte) []byte { return d[max(0, i-100):min(len(d), i+100)] }
	return fmt.Sprintf("line %d:\n  want …%s…\n  got  …%s…", line, around(a), around(b))
}

func ptrTo[T any](v T) *T { return &v }
