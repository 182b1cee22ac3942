package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	apiclient "github.com/pedigree-ml/pedigree/client"
)

// What `pedigree run exec` finds out by itself about the run it starts:
// the code (git), the environment (runtime, packages, hardware) and the
// trigger (CI variables). Capture never fails a run: what cannot be found
// is left out, and the caller says so on stderr.

// gitCapture is the code version of a working directory.
type gitCapture struct {
	Repository string // remote URL without credentials, or file:// of the top level
	Commit     string
	Branch     string // "" when HEAD is detached
	Path       string // the working directory relative to the top level, "" at the top
	Dirty      bool
	DiffDigest string // see diffDigest; "" when clean
}

// captureGit describes the git repository containing dir. It returns nil
// (and a reason) when dir is not in a repository with a commit, or git is
// not installed.
func captureGit(ctx context.Context, dir string) (*gitCapture, string) {
	git := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, "git", args...)
		c.Dir = dir
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		if err := c.Run(); err != nil {
			if msg := strings.TrimSpace(errb.String()); msg != "" {
				return "", fmt.Errorf("git %s: %s", args[0], firstLineOf(msg))
			}
			return "", fmt.Errorf("git %s: %w", args[0], err)
		}
		return strings.TrimRight(out.String(), "\n"), nil
	}
	if _, err := exec.LookPath("git"); err != nil {
		return nil, "git is not installed"
	}
	top, err := git("rev-parse", "--show-toplevel")
	if err != nil {
		return nil, "not in a git repository"
	}
	commit, err := git("rev-parse", "HEAD")
	if err != nil {
		return nil, "the git repository has no commit yet"
	}
	g := &gitCapture{Commit: commit}
	if b, err := git("symbolic-ref", "--short", "-q", "HEAD"); err == nil {
		g.Branch = b
	}
	if p, err := git("rev-parse", "--show-prefix"); err == nil {
		g.Path = strings.TrimSuffix(p, "/")
	}
	g.Repository = gitRemote(git, top)
	status, err := git("status", "--porcelain")
	if err != nil {
		return nil, err.Error()
	}
	if status != "" {
		g.Dirty = true
		if g.DiffDigest, err = diffDigest(ctx, dir, top); err != nil {
			return nil, err.Error()
		}
	}
	return g, ""
}

// gitRemote is the URL of the remote "origin" (else the first remote),
// without credentials; a repository without remotes is named by its top
// level directory as a file:// URL.
func gitRemote(git func(...string) (string, error), top string) string {
	remote, err := git("remote", "get-url", "origin")
	if err != nil || remote == "" {
		if names, err := git("remote"); err == nil && names != "" {
			remote, _ = git("remote", "get-url", strings.Fields(names)[0])
		}
	}
	if remote == "" {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(top)}).String()
	}
	return stripCredentials(remote)
}

// stripCredentials drops user:password@ from a URL remote (tokens end up
// there); scp-style remotes (git@host:path) carry no secret and are kept.
func stripCredentials(remote string) string {
	u, err := url.Parse(remote)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User == nil {
		return remote
	}
	u.User = nil
	return u.String()
}

// diffDigest is the digest of a dirty working tree's changes: sha256 over
// the output of `git diff --binary HEAD` (tracked changes, staged or not),
// then for each untracked, not ignored file in path order
// "\x00untracked <path>\x00<sha256 hex of its content>". Two trees with the
// same commit and the same changes have the same digest.
func diffDigest(ctx context.Context, dir, top string) (string, error) {
	h := sha256.New()
	c := exec.CommandContext(ctx, "git", "diff", "--binary", "--no-color", "--no-ext-diff", "HEAD")
	c.Dir = dir
	c.Stdout = h
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("git diff: %w", err)
	}
	c = exec.CommandContext(ctx, "git", "ls-files", "--others", "--exclude-standard", "-z", "--full-name")
	c.Dir = top
	out, err := c.Output()
	if err != nil {
		return "", fmt.Errorf("git ls-files: %w", err)
	}
	paths := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	slices.Sort(paths)
	for _, p := range paths {
		if p == "" {
			continue
		}
		fh := sha256.New()
		if f, err := os.Open(filepath.Join(top, filepath.FromSlash(p))); err == nil {
			_, _ = io.Copy(fh, f)
			f.Close()
		}
		fmt.Fprintf(h, "\x00untracked %s\x00%x", p, fh.Sum(nil))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// envCapture is the environment of a run.
type envCapture struct {
	Language        string
	LanguageVersion string
	Packages        []apiclient.PackageInput
	Hardware        []apiclient.KeyValueInput
	Sources         []string // the lock files read, for the user
}

// captureEnvironment looks for lock files in dir (then in top, the git top
// level, if different) to find the language and its packages, asks the
// language's tool for its version, and describes the hardware.
func captureEnvironment(ctx context.Context, dir, top string) *envCapture {
	e := &envCapture{Hardware: hardware()}
	dirs := []string{dir}
	if top != "" && top != dir {
		dirs = append(dirs, top)
	}
	for _, d := range dirs {
		if e.readLockFiles(d) {
			break
		}
	}
	switch e.Language {
	case "python":
		e.LanguageVersion = toolVersion(ctx, "python3", "--version")
	case "go":
		e.LanguageVersion = toolVersion(ctx, "go", "env", "GOVERSION")
	case "node":
		e.LanguageVersion = toolVersion(ctx, "node", "--version")
	}
	return e
}

// readLockFiles reads the lock files of dir; it reports whether it found any.
func (e *envCapture) readLockFiles(dir string) bool {
	pkgs := map[string]string{}
	read := func(name string, parse func(io.Reader, map[string]string) error) bool {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return false
		}
		defer f.Close()
		if parse != nil {
			_ = parse(f, pkgs) // a line that cannot be read is skipped, not fatal
		}
		e.Sources = append(e.Sources, name)
		return true
	}
	switch {
	case read("uv.lock", parseTOMLLock), read("poetry.lock", parseTOMLLock), read("requirements.txt", parseRequirements),
		read("pyproject.toml", nil):
		e.Language = "python"
	case read("go.sum", parseGoSum), read("go.mod", nil):
		e.Language = "go"
	case read("package-lock.json", nil), read("package.json", nil):
		e.Language = "node"
	default:
		return false
	}
	for name, version := range pkgs {
		e.Packages = append(e.Packages, apiclient.PackageInput{Name: name, Version: version})
	}
	slices.SortFunc(e.Packages, func(a, b apiclient.PackageInput) int { return strings.Compare(a.Name, b.Name) })
	return true
}

// parseRequirements reads name==version lines of a pip requirements file;
// other specifiers (>=, ~=, …) are recorded as written, since the installed
// version is not known. Options (-r, -e, --hash), URLs and comments are
// skipped. Names are normalized as PEP 503 says.
func parseRequirements(r io.Reader, pkgs map[string]string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "-") || strings.Contains(line, "://") {
			continue
		}
		line, _, _ = strings.Cut(line, ";") // environment markers
		line = strings.TrimSpace(strings.TrimSuffix(line, "\\"))
		i := strings.IndexAny(line, "=<>!~ [")
		if i < 0 {
			pkgs[normalizePyName(line)] = ""
			continue
		}
		name, spec := line[:i], strings.TrimSpace(line[i:])
		if strings.HasPrefix(spec, "[") { // extras
			if j := strings.IndexByte(spec, ']'); j >= 0 {
				spec = strings.TrimSpace(spec[j+1:])
			}
		}
		spec, _, _ = strings.Cut(spec, " ")
		if v, ok := strings.CutPrefix(spec, "=="); ok {
			spec = v
		}
		if name != "" {
			pkgs[normalizePyName(name)] = spec
		}
	}
	return sc.Err()
}

func normalizePyName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == '.' }), "-")
}

// parseTOMLLock reads the name and version of each [[package]] table of a
// uv.lock or poetry.lock. It is a line reader, not a TOML parser: both
// tools write `name = "…"` and `version = "…"` as plain lines of the table.
func parseTOMLLock(r io.Reader, pkgs map[string]string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var in bool
	var name, version string
	flush := func() {
		if in && name != "" {
			pkgs[normalizePyName(name)] = version
		}
		name, version = "", ""
	}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			// A new table; a package's sub-tables ([package.dependencies])
			// come after its name and version, and their keys are not its.
			flush()
			in = line == "[[package]]"
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		switch strings.TrimSpace(k) {
		case "name":
			name = v
		case "version":
			version = v
		}
	}
	flush()
	return sc.Err()
}

// parseGoSum reads the modules of a go.sum: a module's "/go.mod" line
// only says its go.mod was read, so a module counts once, with its code's
// version. go.sum lists versions in ascending order: the last one wins.
func parseGoSum(r io.Reader, pkgs map[string]string) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasSuffix(f[1], "/go.mod") {
			continue
		}
		pkgs[f[0]] = f[1]
	}
	return sc.Err()
}

// toolVersion is the version a tool prints, e.g. "Python 3.11.9" → 3.11.9;
// "" if it is not installed.
func toolVersion(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return ""
	}
	v := strings.TrimSpace(firstLineOf(string(out)))
	v = strings.TrimPrefix(v, "Python ")
	v = strings.TrimPrefix(v, "go")
	v = strings.TrimPrefix(v, "v")
	if len(v) > 64 {
		v = v[:64]
	}
	return v
}

// hardware describes the machine: os, arch, cpus and, on Linux, memory.
func hardware() []apiclient.KeyValueInput {
	hw := []apiclient.KeyValueInput{
		{Key: "arch", Value: runtime.GOARCH},
		{Key: "cpus", Value: strconv.Itoa(runtime.NumCPU())},
		{Key: "os", Value: runtime.GOOS},
	}
	if mem := memTotal("/proc/meminfo"); mem != "" {
		hw = append(hw, apiclient.KeyValueInput{Key: "memory", Value: mem})
	}
	slices.SortFunc(hw, func(a, b apiclient.KeyValueInput) int { return strings.Compare(a.Key, b.Key) })
	return hw
}

// memTotal is MemTotal of /proc/meminfo in bytes, "" if unknown.
func memTotal(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return ""
			}
			return strconv.FormatInt(kb*1024, 10)
		}
	}
	return ""
}

// detectTrigger maps CI provider variables to a trigger: GitHub Actions,
// GitLab CI and Jenkins are CI triggers with their actor, pipeline id and
// url; anything else is MANUAL by $USER.
func detectTrigger(lookup func(string) (string, bool)) apiclient.TriggerInput {
	get := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := lookup(k); ok && v != "" {
				return v
			}
		}
		return ""
	}
	ptr := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	kind := func(k apiclient.TriggerKind) *apiclient.TriggerKind { return &k }
	switch {
	case get("GITHUB_ACTIONS") == "true":
		id := get("GITHUB_RUN_ID")
		var u string
		if srv, repo := get("GITHUB_SERVER_URL"), get("GITHUB_REPOSITORY"); srv != "" && repo != "" && id != "" {
			u = strings.TrimSuffix(srv, "/") + "/" + repo + "/actions/runs/" + id
		}
		return apiclient.TriggerInput{Kind: kind(apiclient.TriggerKindCi), Actor: ptr(get("GITHUB_ACTOR")), ExternalId: ptr(id), Url: ptr(u)}
	case get("GITLAB_CI") != "":
		return apiclient.TriggerInput{Kind: kind(apiclient.TriggerKindCi), Actor: ptr(get("GITLAB_USER_LOGIN")),
			ExternalId: ptr(get("CI_PIPELINE_ID")), Url: ptr(get("CI_PIPELINE_URL"))}
	case get("JENKINS_URL") != "":
		return apiclient.TriggerInput{Kind: kind(apiclient.TriggerKindCi), Actor: ptr(get("BUILD_USER", "BUILD_USER_ID", "USER")),
			ExternalId: ptr(get("BUILD_ID", "BUILD_NUMBER")), Url: ptr(get("BUILD_URL"))}
	}
	return apiclient.TriggerInput{Kind: kind(apiclient.TriggerKindManual), Actor: ptr(get("USER", "USERNAME"))}
}

func firstLineOf(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
