package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/Khan/genqlient/graphql"
	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	apiclient "github.com/pedigree-ml/pedigree/client"
)

// `pedigree import dvc` records a DVC pipeline's dvc.lock as lineage: each
// stage a run, each dep and out a dataset version. Both are idempotent, so
// importing the lock again after `dvc repro` adds only what changed.

func newImportDVCCommand() *cobra.Command {
	var (
		f          clientFlags
		experiment string
	)
	cmd := &cobra.Command{
		Use:   "dvc [PATH/dvc.lock]",
		Short: "Record a DVC pipeline (dvc.lock) as runs and dataset versions",
		Long: `Record the stages of a dvc.lock (schema 2.0, DVC 2 and later) on the server:
every dep and out becomes a dataset version (named after its path, with the md5
DVC recorded as its digest and a dvc:///PATH URI, PATH relative to the git
repository), every stage a FINISHED run of --experiment named after the stage,
with its params, its cmd as the dvc.cmd tag, its deps as inputs and its outs as
outputs.

Importing is idempotent: dataset versions are found by digest, and a stage whose
cmd, deps, outs and params are unchanged maps to the run already recorded for it.
Deps and outs without an md5 (cloud deps with an etag only) are skipped with a
warning. Paths that are not valid dataset names have '/' mapped to '-' and
other characters to '_'; the path is kept in the dvc.path tag.`,
		Example: `  pedigree import dvc
  pedigree import dvc pipelines/churn/dvc.lock --experiment churn`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("%s: expected at most one dvc.lock, got %d arguments (see %s --help)", cmd.CommandPath(), len(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "dvc.lock"
			if len(args) == 1 {
				path = args[0]
			}
			return cliError(runImportDVC(cmd, &f, path, experiment))
		},
	}
	bindClientFlags(cmd.Flags(), &f)
	cmd.Flags().StringVar(&experiment, "experiment", "", "experiment of the runs; default: the repository directory's name")
	return usageCommand(cmd)
}

// dvcLock is a dvc.lock of schema 2.0.
type dvcLock struct {
	Schema string              `yaml:"schema"`
	Stages map[string]dvcStage `yaml:"stages"`
}

type dvcStage struct {
	Cmd    any                       `yaml:"cmd"` // a string or a list of strings
	Deps   []dvcEntry                `yaml:"deps"`
	Outs   []dvcEntry                `yaml:"outs"`
	Params map[string]map[string]any `yaml:"params"`
}

type dvcEntry struct {
	Path   string `yaml:"path" json:"path"`
	MD5    string `yaml:"md5" json:"md5,omitempty"`
	Hash   string `yaml:"hash" json:"hash,omitempty"` // DVC 3: the algorithm of md5 ("md5")
	Size   *int64 `yaml:"size" json:"size,omitempty"`
	NFiles *int64 `yaml:"nfiles" json:"nfiles,omitempty"`
}

// parseDVCLock reads a dvc.lock; stage names come back in file order.
func parseDVCLock(name string, raw []byte) (*dvcLock, []string, error) {
	var lock dvcLock
	if err := yaml.Unmarshal(raw, &lock); err != nil {
		return nil, nil, yamlError(name, err)
	}
	var order struct {
		Stages yaml.MapSlice `yaml:"stages"`
	}
	if err := yaml.Unmarshal(raw, &order); err != nil {
		return nil, nil, yamlError(name, err)
	}
	if lock.Schema != "2.0" {
		if lock.Schema == "" {
			return nil, nil, fmt.Errorf("%s: no schema: 2.0 (a DVC 1 lock file or not a dvc.lock; run dvc repro with DVC 2 or later to rewrite it)", name)
		}
		return nil, nil, fmt.Errorf("%s: schema %q is not supported (want 2.0)", name, lock.Schema)
	}
	if len(lock.Stages) == 0 {
		return nil, nil, fmt.Errorf("%s: no stages", name)
	}
	names := make([]string, 0, len(order.Stages))
	for _, it := range order.Stages {
		if s, ok := it.Key.(string); ok {
			names = append(names, s)
		}
	}
	if len(names) != len(lock.Stages) { // keys that are not strings: fall back to a stable order
		names = names[:0]
		for n := range lock.Stages {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	for _, n := range names {
		st := lock.Stages[n]
		for _, e := range append(append([]dvcEntry{}, st.Deps...), st.Outs...) {
			if strings.TrimSpace(e.Path) == "" {
				return nil, nil, fmt.Errorf("%s: stage %s: a dep or out has no path", name, n)
			}
		}
	}
	return &lock, names, nil
}

// yamlError is a YAML error in one line, with the line and column.
func yamlError(name string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return fmt.Errorf("%s:%d:%d: malformed YAML: %s", name, tk.Position.Line, tk.Position.Column, ye.GetMessage())
		}
		return fmt.Errorf("%s: malformed YAML: %s", name, ye.GetMessage())
	}
	return fmt.Errorf("%s: malformed YAML: %v", name, err)
}

// md5Digest is an entry's md5 as a digest; a directory's ("<hex>.dir", the
// md5 of DVC's listing of it) without the suffix. ok is false without one.
func (e dvcEntry) md5Digest() (digest string, dir, ok bool) {
	if e.Hash != "" && e.Hash != "md5" {
		return "", false, false
	}
	h := strings.ToLower(e.MD5)
	h, dir = strings.CutSuffix(h, ".dir")
	if _, err := hex.DecodeString(h); err != nil || len(h) != 32 {
		return "", false, false
	}
	return "md5:" + h, dir, true
}

// datasetName maps a path to a dataset name (letters, digits, '.', '_',
// '-'; at most 128): '/' becomes '-', any other character '_'.
func pathDatasetName(path string) string {
	p := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(path)), "/")
	var b strings.Builder
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		case r == '/':
			b.WriteByte('-')
		default:
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), "._-")
	if name == "" {
		name = "dataset"
	}
	if len(name) > 128 { // keep it unique with a hash of the whole path
		sum := sha256.Sum256([]byte(path))
		name = name[:119] + "-" + hex.EncodeToString(sum[:4])
	}
	return name
}

// importRepoRoot is the git repository holding dir, or dir itself outside one.
func importRepoRoot(ctx context.Context, dir string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err == nil {
		if root := strings.TrimSpace(string(out)); root != "" {
			return root
		}
	}
	return dir
}

// importRefURI is a reference URI for path (absolute or relative to base) under
// scheme: scheme:///PATH with PATH relative to root, or file:///ABS for a
// path outside root (reference URIs must not have '..' segments).
func importRefURI(scheme, root, base, path string) string {
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(base, path)
	}
	if rel, err := filepath.Rel(root, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return (&url.URL{Scheme: scheme, Path: "/" + filepath.ToSlash(rel)}).String()
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

// importer registers dataset versions once per (name, digest) and keeps
// the counts of a summary.
type importer struct {
	server string
	gql    graphql.Client
	stderr io.Writer
	ids    map[string]string // name + " " + digest → dataset version ID
}

func newImporter(cmd *cobra.Command, f *clientFlags) (*importer, error) {
	// newGQLClient checks the URL the way every client command does.
	if _, err := newGQLClient(f.server, f.token); err != nil {
		return nil, &usageError{err}
	}
	return &importer{server: f.server, gql: apiclient.New(f.server, f.token), stderr: cmd.ErrOrStderr(), ids: map[string]string{}}, nil
}

func (im *importer) warnf(format string, args ...any) {
	fmt.Fprintf(im.stderr, "pedigree: warning: "+format+"\n", args...)
}

func (im *importer) datasetVersion(ctx context.Context, in apiclient.RegisterDatasetVersionInput) (string, error) {
	key := strings.ToLower(in.Dataset) + " " + *in.Digest
	if id, ok := im.ids[key]; ok {
		return id, nil
	}
	out, err := apiclient.ImportDatasetVersion(ctx, im.gql, in)
	if err != nil {
		return "", fmt.Errorf("dataset %s: %w", in.Dataset, im.apiError(ctx, err))
	}
	im.ids[key] = out.RegisterDatasetVersion.Id
	return out.RegisterDatasetVersion.Id, nil
}

// apiError is a failed call's error for a person, in one line.
func (im *importer) apiError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, field, msg, ok := apiclient.Problem(err); ok {
		if field != "" && !strings.HasPrefix(msg, field+":") {
			msg = field + ": " + msg
		}
		return errors.New(msg)
	}
	var he *graphql.HTTPError
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("the server at %s answered %d %s (check --token / PEDIGREE_TOKEN)", im.server, he.StatusCode, http.StatusText(he.StatusCode))
		}
		if _, field, msg, ok := apiclient.Problem(he.Response.Errors); ok && msg != "" {
			if field != "" && !strings.HasPrefix(msg, field+":") {
				msg = field + ": " + msg
			}
			return errors.New(msg)
		}
		return fmt.Errorf("the server at %s answered %d %s", im.server, he.StatusCode, http.StatusText(he.StatusCode))
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("cannot reach the server at %s: %v", im.server, op.Err)
	}
	return err
}

func importStr(s string) *string { return &s }

func importKVs(m map[string]string) []apiclient.KeyValueInput {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]apiclient.KeyValueInput, 0, len(keys))
	for _, k := range keys {
		out = append(out, apiclient.KeyValueInput{Key: k, Value: m[k]})
	}
	return out
}

// importParamValue is a param's value as text: scalars as written, the rest as JSON.
func importParamValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "null"
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool, int, int64, uint64:
		return fmt.Sprint(v)
	}
	raw, err := json.Marshal(importJSONable(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(raw)
}

// importJSONable turns YAML's map[string]any / MapSlice values into JSON ones.
func importJSONable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = importJSONable(x)
		}
		return m
	case yaml.MapSlice:
		m := make(map[string]any, len(v))
		for _, it := range v {
			m[fmt.Sprint(it.Key)] = importJSONable(it.Value)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = importJSONable(x)
		}
		return out
	}
	return v
}

// stageParams flattens a stage's params: keys of params.yaml (DVC's
// default params file) as they are, others as FILE/KEY.
func stageParams(params map[string]map[string]any) map[string]string {
	out := map[string]string{}
	for file, kv := range params {
		for k, v := range kv {
			key := k
			if file != "params.yaml" {
				key = filepath.ToSlash(file) + "/" + k
			}
			out[importParamKey(key)] = importParamValue(v)
		}
	}
	return out
}

// importParamKey replaces characters a param key may not hold with '_'.
func importParamKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_.- /", r):
			return r
		}
		return '_'
	}, k)
}

func stageCmd(cmd any) string {
	switch c := cmd.(type) {
	case string:
		return c
	case []any:
		parts := make([]string, len(c))
		for i, p := range c {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, "\n")
	case nil:
		return ""
	}
	return fmt.Sprint(cmd)
}

func runImportDVC(cmd *cobra.Command, f *clientFlags, path, experiment string) error {
	ctx := cmd.Context()
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return usagef("%s: no such file (give the path of a dvc.lock)", path)
		}
		return fmt.Errorf("%s: %w", path, pathErr(err))
	}
	lock, stages, err := parseDVCLock(path, raw)
	if err != nil {
		return err
	}
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return err
	}
	if resolved, err := filepath.EvalSymlinks(base); err == nil {
		base = resolved
	}
	root := importRepoRoot(ctx, base)
	if experiment == "" {
		experiment = pathDatasetName(filepath.Base(root))
	} else if err := checkImportName(experiment); err != nil {
		return usagef("--experiment: %v", err)
	}
	im, err := newImporter(cmd, f)
	if err != nil {
		return err
	}

	// Every dep and out first, once each.
	register := func(stage string, e dvcEntry) (string, bool, error) {
		digest, dir, ok := e.md5Digest()
		if !ok {
			im.warnf("stage %s: %s has no md5; skipped", stage, e.Path)
			return "", false, nil
		}
		tags := map[string]string{"dvc.path": filepath.ToSlash(e.Path), "importer": "dvc"}
		if e.Size != nil {
			tags["dvc.size"] = strconv.FormatInt(*e.Size, 10)
		}
		if e.NFiles != nil {
			tags["dvc.nfiles"] = strconv.FormatInt(*e.NFiles, 10)
		}
		in := apiclient.RegisterDatasetVersionInput{
			Dataset: pathDatasetName(e.Path),
			Uri:     importStr(importRefURI("dvc", root, base, e.Path)),
			Digest:  importStr(digest),
			Tags:    importKVs(tags),
		}
		if dir {
			in.Format = importStr("directory")
		}
		id, err := im.datasetVersion(ctx, in)
		return id, true, err
	}
	type stageIO struct{ inputs, outputs []string }
	ios := make(map[string]stageIO, len(stages))
	for _, name := range stages {
		st := lock.Stages[name]
		var sio stageIO
		seen := map[string]bool{}
		for _, e := range st.Deps {
			id, ok, err := register(name, e)
			if err != nil {
				return fmt.Errorf("stage %s: %w", name, err)
			}
			if ok && !seen[id] {
				seen[id] = true
				sio.inputs = append(sio.inputs, id)
			}
		}
		for _, e := range st.Outs {
			id, ok, err := register(name, e)
			if err != nil {
				return fmt.Errorf("stage %s: %w", name, err)
			}
			if ok && !seen[id] {
				seen[id] = true
				sio.outputs = append(sio.outputs, id)
			}
		}
		ios[name] = sio
	}

	var created, existing int
	for _, name := range stages {
		st, sio := lock.Stages[name], ios[name]
		in := apiclient.StartRunInput{
			Experiment: experiment,
			Name:       importStr(name),
			Params:     importKVs(stageParams(st.Params)),
			Tags:       importKVs(map[string]string{"dvc.cmd": stageCmd(st.Cmd), "dvc.stage": name, "importer": "dvc"}),
		}
		for _, id := range sio.inputs {
			in.Inputs = append(in.Inputs, apiclient.RunInput{Node: id, Role: importStr("input")})
		}
		// The key is the stage's content, not the lock file's: a stage
		// that `dvc repro` did not rerun keeps its run when the lock changes.
		key := "dvc:" + stageKey(experiment, name, st)
		started, err := apiclient.ImportStartRun(ctx, im.gql, in, &key)
		if err != nil {
			return fmt.Errorf("stage %s: %w", name, im.apiError(ctx, err))
		}
		run := started.StartRun
		if run.Status != apiclient.RunStatusRunning { // imported before
			existing++
			continue
		}
		// A RUNNING run is new, or left by an import that failed part-way.
		if err := im.addOutputs(ctx, name, run.Id, sio.outputs); err != nil {
			return fmt.Errorf("stage %s: %w", name, err)
		}
		status := apiclient.RunStatusFinished
		if _, err := apiclient.ImportFinishRun(ctx, im.gql, apiclient.FinishRunInput{Run: run.Id, Status: &status}); err != nil {
			return fmt.Errorf("stage %s: %w", name, im.apiError(ctx, err))
		}
		created++
	}
	fmt.Fprintf(cmd.OutOrStdout(), "imported %s: %d stages → %d runs in experiment %s (%d new, %d already imported), %d dataset versions\n",
		path, len(stages), created+existing, experiment, created, existing, len(im.ids))
	return nil
}

// addOutputs records outputs of run; one another run generated already
// (the same out from a stage whose cmd changed) is skipped with a warning.
func (im *importer) addOutputs(ctx context.Context, stage, run string, outputs []string) error {
	if len(outputs) == 0 {
		return nil
	}
	_, err := apiclient.ImportRunOutputs(ctx, im.gql, apiclient.AddRunOutputsInput{Run: run, Outputs: outputs})
	if code, _, _, _ := apiclient.Problem(err); code != "CONFLICT" {
		if err != nil {
			return im.apiError(ctx, err)
		}
		return nil
	}
	for _, id := range outputs {
		_, err := apiclient.ImportRunOutputs(ctx, im.gql, apiclient.AddRunOutputsInput{Run: run, Outputs: []string{id}})
		if code, _, msg, _ := apiclient.Problem(err); code == "CONFLICT" {
			im.warnf("stage %s: %s not recorded as an output: %s", stage, id, msg)
		} else if err != nil {
			return im.apiError(ctx, err)
		}
	}
	return nil
}

// stageKey digests what identifies a stage's execution.
func stageKey(experiment, name string, st dvcStage) string {
	raw, _ := json.Marshal(struct {
		Experiment, Stage, Cmd string
		Deps, Outs             []dvcEntry
		Params                 map[string]string
	}{experiment, name, stageCmd(st.Cmd), st.Deps, st.Outs, stageParams(st.Params)})
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// checkImportName is the server's rule for names, checked before any call.
func checkImportName(name string) error {
	if name == "" || len(name) > 128 || pathDatasetName(name) != name {
		return fmt.Errorf("%q is not a valid name: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters", name)
	}
	return nil
}
