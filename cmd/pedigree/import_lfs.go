package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	apiclient "github.com/pedigree-ml/pedigree/client"
)

// `pedigree import git-lfs` records Git LFS pointers as dataset versions:
// the pointer's oid is the sha256 of the content, so the server gets the
// real digest without the content ever being downloaded.

// lfsMaxPointer bounds what is read as a possible pointer; git-lfs itself
// treats nothing larger than 1024 bytes as one.
const lfsMaxPointer = 1024

const lfsVersionLine = "version https://git-lfs.github.com/spec/v1"

func newImportLFSCommand() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "git-lfs [PATH...]",
		Short: "Record Git LFS pointer files as dataset versions",
		Long: `Record Git LFS objects as dataset versions: each becomes a version of the
dataset named after its path ('/' mapped to '-', other characters not allowed
in names to '_'), with the pointer's oid as its sha256 digest, a git-lfs:///PATH
URI (PATH relative to the repository) and its size in the lfs.size tag.

Without PATH, every file tracked in the current git repository's index whose
staged content is a pointer is recorded, whether or not git-lfs has replaced
the file in the working tree with its content. With PATHs, those files (and the
files under those directories) that are pointer files on disk are. Importing
again adds nothing: dataset versions are found by digest.`,
		Example: `  pedigree import git-lfs
  pedigree import git-lfs data/ models/weights.bin`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runImportLFS(cmd, &f, args))
		},
	}
	bindClientFlags(cmd.Flags(), &f)
	return usageCommand(cmd)
}

// lfsPointer is a parsed pointer file.
type lfsPointer struct {
	path string // as given, or relative to the repository
	oid  string // sha256:<hex>
	size int64
}

// parseLFSPointer reads a pointer (spec v1): a version line first, then
// key-value lines that include oid sha256:<hex> and size. ok is false for
// anything else.
func parseLFSPointer(raw []byte) (oid string, size int64, ok bool) {
	if len(raw) > lfsMaxPointer || !bytes.HasPrefix(raw, []byte(lfsVersionLine+"\n")) {
		return "", 0, false
	}
	size = -1
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		switch k {
		case "oid":
			h, found := strings.CutPrefix(v, "sha256:")
			if _, err := hex.DecodeString(h); !found || err != nil || len(h) != 64 {
				return "", 0, false
			}
			oid = "sha256:" + strings.ToLower(h)
		case "size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return "", 0, false
			}
			size = n
		}
	}
	return oid, size, oid != "" && size >= 0
}

func runImportLFS(cmd *cobra.Command, f *clientFlags, paths []string) error {
	ctx := cmd.Context()
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	if resolved, err := filepath.EvalSymlinks(cwd); err == nil {
		cwd = resolved
	}
	var (
		pointers []lfsPointer
		root     string
	)
	if len(paths) == 0 {
		out, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			return usagef("not in a git repository: give the pointer files or directories to import")
		}
		root = strings.TrimSpace(string(out))
		if pointers, err = lfsIndexPointers(ctx, root); err != nil {
			return err
		}
	} else {
		root = importRepoRoot(ctx, cwd)
		for _, p := range paths {
			found, err := lfsFilePointers(p)
			if err != nil {
				return err
			}
			pointers = append(pointers, found...)
		}
	}
	im, err := newImporter(cmd, f)
	if err != nil {
		return err
	}
	for _, p := range pointers {
		base := cwd
		if len(paths) == 0 {
			base = root
		}
		in := apiclient.RegisterDatasetVersionInput{
			Dataset: pathDatasetName(p.path),
			Uri:     importStr(importRefURI("git-lfs", root, base, p.path)),
			Digest:  importStr(p.oid),
			Tags:    importKVs(map[string]string{"lfs.path": filepath.ToSlash(p.path), "lfs.size": strconv.FormatInt(p.size, 10), "importer": "git-lfs"}),
		}
		if _, err := im.datasetVersion(ctx, in); err != nil {
			return fmt.Errorf("%s: %w", p.path, err)
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "imported %d git-lfs pointers → %d dataset versions\n", len(pointers), len(im.ids))
	return nil
}

// lfsFilePointers reads path, or walks it if it is a directory, for
// pointer files. A named file that is not a pointer is an error; files
// found in a directory that are not are skipped.
func lfsFilePointers(path string) ([]lfsPointer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usagef("%s: no such file or directory", path)
		}
		return nil, fmt.Errorf("%s: %w", path, pathErr(err))
	}
	if !fi.IsDir() {
		p, ok, err := readLFSPointer(path, fi)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s is not a git-lfs pointer file (want %q, an oid sha256:<hex> and a size line)", path, lfsVersionLine)
		}
		return []lfsPointer{p}, nil
	}
	var out []lfsPointer
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", p, pathErr(err))
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("%s: %w", p, pathErr(err))
		}
		ptr, ok, err := readLFSPointer(p, fi)
		if ok {
			out = append(out, ptr)
		}
		return err
	})
	return out, err
}

func readLFSPointer(path string, fi fs.FileInfo) (lfsPointer, bool, error) {
	if !fi.Mode().IsRegular() || fi.Size() > lfsMaxPointer {
		return lfsPointer{}, false, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return lfsPointer{}, false, fmt.Errorf("%s: %w", path, pathErr(err))
	}
	oid, size, ok := parseLFSPointer(raw)
	return lfsPointer{path: path, oid: oid, size: size}, ok, nil
}

// lfsIndexPointers finds the files of the repository at root whose staged
// content is a pointer: `git ls-files -s` names the blobs, one
// `git cat-file --batch-check` sizes them, one `git cat-file --batch`
// reads the small ones.
func lfsIndexPointers(ctx context.Context, root string) ([]lfsPointer, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "ls-files", "-s", "-z").Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %v", importGitErr(err))
	}
	type entry struct{ path, blob string }
	var entries []entry
	for _, rec := range strings.Split(string(out), "\x00") {
		meta, path, ok := strings.Cut(rec, "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 3 || fields[0] == "160000" || fields[2] != "0" { // submodules, conflicts
			continue
		}
		entries = append(entries, entry{path, fields[1]})
	}
	if len(entries) == 0 {
		return nil, nil
	}
	var req bytes.Buffer
	for _, e := range entries {
		req.WriteString(e.blob + "\n")
	}
	check := exec.CommandContext(ctx, "git", "-C", root, "cat-file", "--batch-check")
	check.Stdin = bytes.NewReader(req.Bytes())
	sizes, err := check.Output()
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %v", importGitErr(err))
	}
	lines := strings.Split(strings.TrimSuffix(string(sizes), "\n"), "\n")
	if len(lines) != len(entries) {
		return nil, fmt.Errorf("git cat-file --batch-check: %d answers for %d blobs", len(lines), len(entries))
	}
	var small []entry
	req.Reset()
	for i, l := range lines {
		fields := strings.Fields(l) // <sha> <type> <size>, or "<sha> missing"
		if len(fields) != 3 || fields[1] != "blob" {
			continue
		}
		if n, err := strconv.ParseInt(fields[2], 10, 64); err == nil && n <= lfsMaxPointer {
			small = append(small, entries[i])
			req.WriteString(entries[i].blob + "\n")
		}
	}
	if len(small) == 0 {
		return nil, nil
	}
	batch := exec.CommandContext(ctx, "git", "-C", root, "cat-file", "--batch")
	batch.Stdin = bytes.NewReader(req.Bytes())
	contents, err := batch.Output()
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %v", importGitErr(err))
	}
	r := bufio.NewReader(bytes.NewReader(contents))
	var pointers []lfsPointer
	for _, e := range small {
		header, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("git cat-file --batch: %v", err)
		}
		fields := strings.Fields(header)
		if len(fields) != 3 {
			return nil, fmt.Errorf("git cat-file --batch: unexpected header %q", strings.TrimSpace(header))
		}
		n, err := strconv.Atoi(fields[2])
		if err != nil {
			return nil, fmt.Errorf("git cat-file --batch: unexpected header %q", strings.TrimSpace(header))
		}
		body := make([]byte, n+1) // the content and a newline
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, fmt.Errorf("git cat-file --batch: %v", err)
		}
		if oid, size, ok := parseLFSPointer(body[:n]); ok {
			pointers = append(pointers, lfsPointer{path: filepath.FromSlash(e.path), oid: oid, size: size})
		}
	}
	return pointers, nil
}

// importGitErr adds git's own message to a failed run.
func importGitErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return errors.New(strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}
