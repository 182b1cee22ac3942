package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mustDVCRepo copies the dvc.lock fixture into a directory named churn.
func mustDVCRepo(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "churn")
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "dvc.lock"))
	if err != nil {
		tb.Fatal(err)
	}
	lock := filepath.Join(dir, "dvc.lock")
	if err := os.WriteFile(lock, raw, 0o644); err != nil {
		tb.Fatal(err)
	}
	return lock
}

type importedRun struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Params []struct{ Key, Value string }
	Tags   []struct{ Key, Value string }
	Inputs []struct {
		Role string
		Node struct{ ID string }
	}
	Outputs []struct{ ID string }
}

const importedRunsQuery = `query($e: String!) { experiment(name: $e) { runs(first: 100) { edges { node {
  id name status params { key value } tags { key value }
  inputs { role node { id } } outputs { id } } } } } }`

func importedRuns(tb testing.TB, c *client, experiment string) map[string]importedRun {
	tb.Helper()
	var out struct {
		Experiment *struct {
			Runs struct {
				Edges []struct{ Node importedRun }
			}
		}
	}
	c.must(tb, importedRunsQuery, map[string]any{"e": experiment}, &out)
	runs := map[string]importedRun{}
	if out.Experiment == nil {
		return runs
	}
	for _, e := range out.Experiment.Runs.Edges {
		if _, dup := runs[e.Node.Name]; dup {
			tb.Errorf("two runs named %s", e.Node.Name)
		}
		runs[e.Node.Name] = e.Node
	}
	return runs
}

type importedVersion struct {
	ID, URI, Digest, Format string
	Tags                    []struct{ Key, Value string }
}

func importedVersions(tb testing.TB, c *client, name string) []importedVersion {
	tb.Helper()
	var out struct {
		Dataset *struct {
			Versions struct {
				Edges []struct{ Node importedVersion }
			}
		}
	}
	c.must(tb, `query($n: String!) { dataset(name: $n) { versions(first: 100) { edges { node { id uri digest format tags { key value } } } } } }`,
		map[string]any{"n": name}, &out)
	if out.Dataset == nil {
		return nil
	}
	var vs []importedVersion
	for _, e := range out.Dataset.Versions.Edges {
		vs = append(vs, e.Node)
	}
	return vs
}

func importKVMap(list []struct{ Key, Value string }) map[string]string {
	m := map[string]string{}
	for _, p := range list {
		m[p.Key] = p.Value
	}
	return m
}

func TestImportDVC(t *testing.T) {
	m := MustServe(t, t.TempDir())
	c := newClient(m.URL())
	lock := mustDVCRepo(t)

	out := mustPedigree(t, nil, "import", "dvc", "--server", m.URL(), lock)
	if want := "2 stages → 2 runs in experiment churn (2 new, 0 already imported), 5 dataset versions"; !strings.Contains(out, want) {
		t.Errorf("first import printed %q, want it to contain %q", out, want)
	}

	// Dataset versions: md5 digests, dvc:/// URIs, directories marked.
	wantVersions := map[string]struct{ digest, uri, format string }{
		"data-raw.csv":   {"md5:1a2b3c4d5e6f708192a3b4c5d6e7f809", "dvc:///data/raw.csv", ""},
		"src-prepare.py": {"md5:f09ea0c15980b43010257ccb9f0055e2", "dvc:///src/prepare.py", ""},
		"data-prepared":  {"md5:153aad06d376b6595932470e459ef42a", "dvc:///data/prepared", "directory"},
		"src-train.py":   {"md5:6f4e8b6fbd2d2c2b6d4d2a3e5c8f1a90", "dvc:///src/train.py", ""},
		"model.pkl":      {"md5:0d1ba0a1b4a1d37c9f0e5b6a2a4e8c7d", "dvc:///model.pkl", ""},
	}
	ids := map[string]string{}
	for name, want := range wantVersions {
		vs := importedVersions(t, c, name)
		if len(vs) != 1 {
			t.Fatalf("dataset %s: %d versions, want 1", name, len(vs))
		}
		v := vs[0]
		if v.Digest != want.digest || v.URI != want.uri || v.Format != want.format {
			t.Errorf("dataset %s: got digest %s uri %s format %q, want %s %s %q", name, v.Digest, v.URI, v.Format, want.digest, want.uri, want.format)
		}
		ids[name] = v.ID
	}
	if tags := importKVMap(importedVersions(t, c, "data-prepared")[0].Tags); tags["dvc.path"] != "data/prepared" || tags["dvc.nfiles"] != "2" {
		t.Errorf("data-prepared tags = %v, want dvc.path data/prepared and dvc.nfiles 2", tags)
	}

	// Runs: one per stage, FINISHED, params, cmd tag, inputs and outputs.
	runs := importedRuns(t, c, "churn")
	if len(runs) != 2 {
		t.Fatalf("got %d runs, want 2", len(runs))
	}
	prepare, train := runs["prepare"], runs["train"]
	for _, r := range []importedRun{prepare, train} {
		if r.Status != "FINISHED" {
			t.Errorf("run %s: status %s, want FINISHED", r.Name, r.Status)
		}
	}
	if p := importKVMap(prepare.Params); p["prepare.seed"] != "20170428" || p["prepare.split"] != "0.2" {
		t.Errorf("prepare params = %v", p)
	}
	if p := importKVMap(train.Params); p["train.n_est"] != "50" || p["config/extra.yaml/features"] != `{"max":100,"names":["a","b"]}` {
		t.Errorf("train params = %v", p)
	}
	if tags := importKVMap(train.Tags); tags["dvc.cmd"] != "python src/train.py data/prepared model.pkl\necho done" {
		t.Errorf("train dvc.cmd = %q", tags["dvc.cmd"])
	}
	inputs := func(r importedRun) map[string]string {
		m := map[string]string{}
		for _, in := range r.Inputs {
			m[in.Node.ID] = in.Role
		}
		return m
	}
	outputs := func(r importedRun) []string {
		var ids []string
		for _, o := range r.Outputs {
			ids = append(ids, o.ID)
		}
		return ids
	}
	if got := inputs(prepare); len(got) != 2 || got[ids["data-raw.csv"]] != "input" || got[ids["src-prepare.py"]] != "input" {
		t.Errorf("prepare inputs = %v", got)
	}
	if got := outputs(prepare); len(got) != 1 || got[0] != ids["data-prepared"] {
		t.Errorf("prepare outputs = %v, want [%s]", got, ids["data-prepared"])
	}
	// The chain: prepare generated what train used.
	if got := inputs(train); len(got) != 2 || got[ids["data-prepared"]] != "input" || got[ids["src-train.py"]] != "input" {
		t.Errorf("train inputs = %v", got)
	}
	if got := outputs(train); len(got) != 1 || got[0] != ids["model.pkl"] {
		t.Errorf("train outputs = %v, want [%s]", got, ids["model.pkl"])
	}

	// Again: nothing new.
	out = mustPedigree(t, nil, "import", "dvc", "--server", m.URL(), lock)
	if want := "(0 new, 2 already imported), 5 dataset versions"; !strings.Contains(out, want) {
		t.Errorf("second import printed %q, want it to contain %q", out, want)
	}
	if again := importedRuns(t, c, "churn"); len(again) != 2 || again["prepare"].ID != prepare.ID || again["train"].ID != train.ID {
		t.Errorf("second import changed the runs: %+v", again)
	}
	for name := range wantVersions {
		if vs := importedVersions(t, c, name); len(vs) != 1 {
			t.Errorf("after the second import, dataset %s has %d versions, want 1", name, len(vs))
		}
	}

	// A lock where only train changed: prepare keeps its run, train gets a new one.
	raw, _ := os.ReadFile(lock)
	changed := strings.Replace(string(raw), "0d1ba0a1b4a1d37c9f0e5b6a2a4e8c7d", "0d1ba0a1b4a1d37c9f0e5b6a2a4e8c7e", 1)
	changed = strings.Replace(changed, "train.n_est: 50", "train.n_est: 60", 1)
	if err := os.WriteFile(lock, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustPedigree(t, nil, "import", "dvc", "--server", m.URL(), "--experiment", "churn", lock)
	if want := "(1 new, 1 already imported)"; !strings.Contains(out, want) {
		t.Errorf("import after a change printed %q, want it to contain %q", out, want)
	}
	if vs := importedVersions(t, c, "model.pkl"); len(vs) != 2 {
		t.Errorf("model.pkl has %d versions after the change, want 2", len(vs))
	}
}

func TestImportDVCErrors(t *testing.T) {
	m := MustServe(t, t.TempDir())
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	malformed := write("bad.lock", "schema: '2.0'\nstages:\n  prepare:\n    cmd: [unclosed\n")
	noSchema := write("v1.lock", "prepare:\n  cmd: x\n")
	noPath := write("nopath.lock", "schema: '2.0'\nstages:\n  a:\n    cmd: x\n    deps:\n    - md5: 1a2b3c4d5e6f708192a3b4c5d6e7f809\n")
	lock := mustDVCRepo(t)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"import", "dvc", "--server", m.URL(), malformed}, 1, "bad.lock:4:"},
		{[]string{"import", "dvc", "--server", m.URL(), noSchema}, 1, "no schema: 2.0"},
		{[]string{"import", "dvc", "--server", m.URL(), noPath}, 1, "stage a: a dep or out has no path"},
		{[]string{"import", "dvc", "--server", m.URL(), filepath.Join(dir, "none.lock")}, 2, "no such file"},
		{[]string{"import", "dvc", lock, lock}, 2, "expected at most one dvc.lock"},
		{[]string{"import", "dvc", "--experiment", "bad name", lock}, 2, "--experiment"},
		{[]string{"import", "dvc", "--server", "ftp://x", lock}, 2, "--server"},
		{[]string{"import", "dvc", "--server", "http://127.0.0.1:1", lock}, 1, "cannot reach the server at http://127.0.0.1:1"},
		{[]string{"import", "dvc", "--bogus"}, 2, "unknown flag"},
		{[]string{"import", "git-lfs", "--server", m.URL(), lock}, 1, "is not a git-lfs pointer file"},
		{[]string{"import", "git-lfs", "--server", m.URL(), filepath.Join(dir, "none")}, 2, "no such file"},
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

const lfsPointerText = "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n"

func TestImportGitLFS(t *testing.T) {
	m := MustServe(t, t.TempDir())
	c := newClient(m.URL())
	dir := t.TempDir()
	oidA, oidB := strings.Repeat("ab", 32), strings.Repeat("0c", 32)
	files := map[string]string{
		"data/train.parquet": strings.Replace(strings.Replace(lfsPointerText, "%s", oidA, 1), "%d", "1048576", 1),
		"models/w.bin":       strings.Replace(strings.Replace(lfsPointerText, "%s", oidB, 1), "%d", "42", 1),
		"README.md":          "not a pointer\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name, digest, size string) {
		t.Helper()
		vs := importedVersions(t, c, name)
		if len(vs) != 1 || vs[0].Digest != digest || importKVMap(vs[0].Tags)["lfs.size"] != size || !strings.HasPrefix(vs[0].URI, "git-lfs:///") && !strings.HasPrefix(vs[0].URI, "file:///") {
			t.Errorf("dataset %s: %+v, want one version with digest %s and lfs.size %s", name, vs, digest, size)
		}
	}

	out := mustPedigree(t, nil, "import", "git-lfs", "--server", m.URL(), dir)
	if want := "imported 2 git-lfs pointers → 2 dataset versions"; !strings.Contains(out, want) {
		t.Errorf("import printed %q, want %q", out, want)
	}
	// Named after the path as given (a temp dir here): find them by suffix.
	name := func(rel string) string { return pathDatasetName(filepath.Join(dir, filepath.FromSlash(rel))) }
	check(name("data/train.parquet"), "sha256:"+oidA, "1048576")
	check(name("models/w.bin"), "sha256:"+oidB, "42")
	mustPedigree(t, nil, "import", "git-lfs", "--server", m.URL(), dir)
	check(name("data/train.parquet"), "sha256:"+oidA, "1048576")

	// In a git repository, with no PATH: the pointers staged in the index,
	// with paths relative to the repository.
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed: the index scan is not tested")
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", args[0], err, out)
		}
	}
	// The working tree may hold the content (git-lfs smudged it): the index still has the pointer.
	if err := os.WriteFile(filepath.Join(dir, "models", "w.bin"), []byte("the real weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	out = mustPedigree(t, nil, "import", "git-lfs", "--server", m.URL())
	if want := "imported 2 git-lfs pointers → 2 dataset versions"; !strings.Contains(out, want) {
		t.Errorf("index import printed %q, want %q", out, want)
	}
	check("data-train.parquet", "sha256:"+oidA, "1048576")
	check("models-w.bin", "sha256:"+oidB, "42")
	if vs := importedVersions(t, c, "models-w.bin"); len(vs) == 1 && vs[0].URI != "git-lfs:///models/w.bin" {
		t.Errorf("models-w.bin uri = %s, want git-lfs:///models/w.bin", vs[0].URI)
	}
}

func TestParseLFSPointer(t *testing.T) {
	oid := strings.Repeat("a", 64)
	for _, tc := range []struct {
		in   string
		ok   bool
		size int64
	}{
		{"version https://git-lfs.github.com/spec/v1\noid sha256:" + oid + "\nsize 12\n", true, 12},
		{"version https://git-lfs.github.com/spec/v1\next-0-foo sha256:" + oid + "\noid sha256:" + oid + "\nsize 0\n", true, 0},
		{"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n", false, 0},
		{"version https://git-lfs.github.com/spec/v1\noid sha256:" + oid + "\n", false, 0},
		{"oid sha256:" + oid + "\nsize 12\n", false, 0},
		{"version https://git-lfs.github.com/spec/v1\noid md5:" + oid[:32] + "\nsize 1\n", false, 0},
	} {
		_, size, ok := parseLFSPointer([]byte(tc.in))
		if ok != tc.ok || size != tc.size && ok {
			t.Errorf("parseLFSPointer(%q) = %d, %v; want %d, %v", tc.in, size, ok, tc.size, tc.ok)
		}
	}
}

func TestPathDatasetName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"data/raw.csv", "data-raw.csv"},
		{"./data/raw.csv", "data-raw.csv"},
		{"/abs/x y.csv", "abs-x_y.csv"},
		{".hidden/x", "hidden-x"},
		{"../up/x", "up-x"},
		{"", "dataset"},
		{strings.Repeat("a", 200), strings.Repeat("a", 119) + "-"},
	} {
		if got := pathDatasetName(tc.in); got != tc.want && !(len(tc.in) > 128 && strings.HasPrefix(got, tc.want) && len(got) == 128) {
			t.Errorf("pathDatasetName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
