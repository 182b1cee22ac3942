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
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pedigree-ml/pedigree/artifact"
)

// `pedigree artifact push` and `pull` move files to and from the server's
// streaming endpoint (artifact.Handler, mounted at /artifacts/). Both
// stream: no file is ever held in memory, whatever its size.

// clientFlags are the flags of a command that talks to a server.
type clientFlags struct {
	server string
	token  string
	quiet  bool
}

func bindClientFlags(fs *pflag.FlagSet, f *clientFlags) {
	fs.StringVar(&f.server, "server", env("PEDIGREE_URL", "http://127.0.0.1:8080"), "base URL of the Pedigree server (PEDIGREE_URL)")
	fs.StringVar(&f.token, "token", env("PEDIGREE_TOKEN", ""), "bearer token sent to the server (PEDIGREE_TOKEN; prefer the variable: flags show in ps)")
	fs.Lookup("token").DefValue = "" // --help must not print the token from the environment
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar (there is none anyway unless stderr is a terminal and CI is unset)")
}

// artifactClient talks to a server's /artifacts/ endpoint.
type artifactClient struct {
	base  string // http(s)://host[/prefix], without a trailing slash
	token string
	http  *http.Client
	// progress says whether transfers draw a progress bar on stderr.
	progress bool
	stderr   io.Writer
}

func newArtifactClient(cmd *cobra.Command, f *clientFlags) (*artifactClient, error) {
	// newGQLClient checks the URL the way every client command does.
	gc, err := newGQLClient(f.server, f.token)
	if err != nil {
		return nil, &usageError{err}
	}
	stderr := cmd.ErrOrStderr()
	return &artifactClient{
		base:  strings.TrimSuffix(gc.endpoint, "/graphql"),
		token: f.token,
		// No overall timeout: a multi-GB transfer takes as long as it
		// takes. The default transport bounds dialing and TLS; ctx (SIGINT)
		// ends the rest.
		http:     &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		progress: progressEnabled(f.quiet, isTerminal(stderr), os.LookupEnv),
		stderr:   stderr,
	}, nil
}

// pushed is what the server answers an upload with, and what push prints.
type pushed struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	URI    string `json:"uri"`
}

// push uploads the file at path. declared is a digest the caller vouches
// for ("" to hash the file first: one extra read, so that the server can
// refuse the upload if the bytes it gets are not the ones hashed).
func (c *artifactClient) push(ctx context.Context, path, declared string) (*pushed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, pathErr(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, pathErr(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, &usageError{fmt.Errorf("%s is not a regular file", path)}
	}
	size := fi.Size()
	digest := declared
	if digest == "" {
		h := sha256.New()
		p := newProgress(c.stderr, c.progress, size, "hashing  ")
		_, err := io.CopyBuffer(h, p.reader(onlyReader{f}), make([]byte, 256<<10))
		p.done()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, pathErr(err))
		}
		digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("%s: %w", path, pathErr(err))
		}
	}
	p := newProgress(c.stderr, c.progress, size, "uploading")
	defer p.done()
	// The body hides *os.File so the transport streams it through the
	// progress reader; ContentLength is set explicitly instead.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+artifact.DefaultPrefix, io.NopCloser(p.reader(onlyReader{f})))
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(artifact.HeaderDigest, digest)
	c.header(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportErr(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("upload of %s refused: %s", path, c.serverErr(resp))
	}
	var out pushed
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: reading the upload's answer: %w", c.base, err)
	}
	// The server verified the digest we declared; an answer naming any
	// other is a server we must not trust with the reference.
	if out.Digest != digest || out.Size != size {
		return nil, fmt.Errorf("the server stored %s (%d bytes), not %s (%d bytes) as sent", out.Digest, out.Size, digest, size)
	}
	return &out, nil
}

// pull downloads the blob with digest to out ("-" for w). A file is
// written to a temporary file beside out, verified while it is written,
// and renamed into place only if every byte matches the digest; otherwise
// nothing is left. Standard output cannot be taken back: a mismatch there
// is reported after the bytes were written.
func (c *artifactClient) pull(ctx context.Context, digest, out string, w io.Writer) (n int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+artifact.DefaultPrefix+"sha256/"+strings.TrimPrefix(digest, "sha256:"), nil)
	if err != nil {
		return 0, err
	}
	c.header(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, c.transportErr(ctx, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return 0, fmt.Errorf("artifact %s not found", digest)
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("download of %s refused: %s", digest, c.serverErr(resp))
	}
	if got := resp.Header.Get(artifact.HeaderDigest); got != "" && got != digest {
		return 0, fmt.Errorf("the server answered with %s, not %s", got, digest)
	}

	dst := w
	var tmp *os.File
	if out != "-" {
		dir := filepath.Dir(out)
		tmp, err = os.CreateTemp(dir, "."+filepath.Base(out)+".*.partial")
		if err != nil {
			return 0, fmt.Errorf("-o: %w", pathErr(err))
		}
		defer func() {
			if tmp != nil { // not renamed into place
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		dst = tmp
	}
	p := newProgress(c.stderr, c.progress, resp.ContentLength, "downloading")
	h := sha256.New()
	n, err = io.CopyBuffer(io.MultiWriter(dst, h), p.reader(onlyReader{resp.Body}), make([]byte, 256<<10))
	p.done()
	nothing := "; nothing written"
	if out == "-" {
		nothing = ""
	}
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if resp.ContentLength >= 0 && n < resp.ContentLength {
			// The server aborts a download whose bytes do not match the
			// digest before the last byte, so a cut transfer is either a
			// broken connection or a corrupt blob.
			return n, fmt.Errorf("download of %s broke off after %d of %d bytes (the server found the stored blob corrupt, or the connection failed)%s", digest, n, resp.ContentLength, nothing)
		}
		return n, fmt.Errorf("download of %s: %w%s", digest, err, nothing)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		if out == "-" {
			return n, fmt.Errorf("download of %s is corrupt: the bytes written to standard output hash to %s", digest, got)
		}
		return n, fmt.Errorf("download of %s is corrupt: the bytes received hash to %s%s", digest, got, nothing)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("download of %s: got %d bytes, the server announced %d%s", digest, n, resp.ContentLength, nothing)
	}
	if tmp != nil {
		if err := tmp.Sync(); err != nil {
			return n, fmt.Errorf("-o: %w", pathErr(err))
		}
		// CreateTemp makes the file 0600; a downloaded artifact is an
		// ordinary file.
		if err := tmp.Chmod(0o644); err != nil {
			return n, fmt.Errorf("-o: %w", pathErr(err))
		}
		if err := tmp.Close(); err != nil {
			return n, fmt.Errorf("-o: %w", pathErr(err))
		}
		if err := os.Rename(tmp.Name(), out); err != nil {
			return n, fmt.Errorf("-o: %w", pathErr(err))
		}
		tmp = nil
	}
	return n, nil
}

func (c *artifactClient) header(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// transportErr says the server could not be reached, in one line.
func (c *artifactClient) transportErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("cannot reach the server at %s: %v", c.base, op.Err)
	}
	return fmt.Errorf("%s: %w", c.base, err)
}

// serverErr is the message of an error response: the JSON
// {"code","field","message"} the artifact endpoint answers with, else the
// status.
func (c *artifactClient) serverErr(resp *http.Response) string {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct{ Code, Field, Message string }
	if json.Unmarshal(raw, &e) == nil && e.Message != "" {
		if e.Field != "" && !strings.HasPrefix(e.Message, e.Field+":") {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return resp.Status + " (check --token / PEDIGREE_TOKEN)"
	}
	return c.base + " answered " + resp.Status
}

// pathErr drops *os.PathError's op and path when the caller names the path.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseArtifactRef reads a digest ("sha256:<hex>" or bare hex) or a
// pedigree:// artifact URI.
func parseArtifactRef(ref string) (string, error) {
	if strings.Contains(ref, "://") {
		if d, ok := artifact.DigestFromURI(ref); ok {
			return d, nil
		}
		return "", usagef("%q is not a stored artifact's URI (pedigree://artifacts/sha256/<hex>)", ref)
	}
	d, err := artifact.ParseDigest("digest", ref)
	if err != nil {
		return "", usagef("%q is not a digest: want sha256:<64 hex digits> or a pedigree://artifacts/sha256/<hex> URI", ref)
	}
	return d, nil
}

func newArtifactCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "artifact",
		Short: "Upload files to and download them from a Pedigree server",
		Long: `Upload files to and download them from a Pedigree server's artifact store.

Stored files are content-addressed: a file's name is its sha256 digest, chosen
by the server, and its URI is pedigree://artifacts/sha256/<hex>. Transfers
stream (any size works) and are verified end to end. A progress bar shows on
a terminal, never when CI is set or with --quiet.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newArtifactPushCommand(), newArtifactPullCommand())
	return usageCommand(cmd)
}

func newArtifactPushCommand() *cobra.Command {
	var (
		f      clientFlags
		digest string
		out    outputFlag
	)
	cmd := &cobra.Command{
		Use:   "push FILE",
		Short: "Upload a file; prints its digest and URI",
		Long: `Upload FILE to the server's artifact store and print its digest and URI.

The file is hashed first (or --digest is trusted instead) and the digest sent
with the upload; the server stores the bytes only if they hash to it. Uploading
a file that is already stored changes nothing.`,
		Example: `  pedigree artifact push model.pkl
  pedigree artifact push --output json model.pkl`,
		Args: exactArgs(1, "one FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runArtifactPush(cmd, &f, args[0], digest, &out))
		},
	}
	bindClientFlags(cmd.Flags(), &f)
	cmd.Flags().StringVar(&digest, "digest", "", "the file's sha256 digest, if known: skips hashing it locally (the server still verifies it)")
	out.bind(cmd) // table: "DIGEST URI"; json/yaml: {digest,size,uri}
	return usageCommand(cmd)
}

func runArtifactPush(cmd *cobra.Command, f *clientFlags, path, digest string, out *outputFlag) error {
	if err := out.check(); err != nil {
		return err
	}
	var err error
	if digest != "" {
		if digest, err = artifact.ParseDigest("digest", digest); err != nil {
			return usagef("--digest: must be sha256: followed by 64 hex digits")
		}
	}
	c, err := newArtifactClient(cmd, f)
	if err != nil {
		return err
	}
	p, err := c.push(cmd.Context(), path, digest)
	if err != nil {
		return err
	}
	return out.print(cmd.OutOrStdout(), p, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s %s\n", p.Digest, p.URI)
		return err
	})
}

func newArtifactPullCommand() *cobra.Command {
	var (
		f   clientFlags
		out string
	)
	cmd := &cobra.Command{
		Use:   "pull DIGEST|URI",
		Short: "Download a stored file, verifying its digest",
		Long: `Download the stored file with DIGEST (sha256:<hex>) or URI
(pedigree://artifacts/sha256/<hex>) to -o FILE, by default a file named after
the digest's hex in the current directory.

The download goes to a temporary file beside FILE and is hashed as it is
written; it replaces FILE only if it matches the digest, else nothing is
written and pull exits with status 1. With -o - it goes to standard output,
and a mismatch is reported (exit status 1) after the bytes were written.`,
		Example: `  pedigree artifact pull sha256:9f86d0… -o model.pkl
  pedigree artifact pull pedigree://artifacts/sha256/9f86d0… -o - | tar x`,
		Args: exactArgs(1, "one DIGEST or URI"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runArtifactPull(cmd, &f, args[0], out))
		},
	}
	bindClientFlags(cmd.Flags(), &f)
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write; - for standard output; default: the digest's hex")
	return usageCommand(cmd)
}

func runArtifactPull(cmd *cobra.Command, f *clientFlags, ref, out string) error {
	digest, err := parseArtifactRef(ref)
	if err != nil {
		return err
	}
	if out == "" {
		out = strings.TrimPrefix(digest, "sha256:")
	}
	if out != "-" {
		if fi, err := os.Stat(out); err == nil && fi.IsDir() {
			return usagef("-o: %s is a directory", out)
		}
	}
	c, err := newArtifactClient(cmd, f)
	if err != nil {
		return err
	}
	n, err := c.pull(cmd.Context(), digest, out, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	if out != "-" && !f.quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%s bytes, %s)\n", out, strconv.FormatInt(n, 10), digest)
	}
	return nil
}

// onlyReader hides any WriterTo/ReaderFrom of a reader, so that copies
// go through their bounded buffer (and the progress reader) instead of
// sendfile or a whole-file read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
