// Package artifacttest is the conformance suite every bucket driver Pedigree
// stores artifacts on must pass (the Go CDK drivertest pattern): artifact's
// own tests run it on mem:// and file://, cmd/ runs it on S3.
package artifacttest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/lineage"
)

// Big is the size of the uploads that exercise multipart writes: larger
// than the 5 MiB part size of the S3 uploader, so an aborted write has
// parts to abandon.
const Big = 6 << 20

// Run runs the suite. open returns a new, empty bucket for each test and
// arranges (t.Cleanup) for it to be closed.
func Run(t *testing.T, open func(t *testing.T) *blob.Bucket) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b *blob.Bucket)
	}{
		{"RoundTrip", testRoundTrip},
		{"DigestMismatch", testDigestMismatch},
		{"WriteOnce", testWriteOnce},
		{"InterruptedUpload", testInterruptedUpload},
		{"SizeLimit", testSizeLimit},
		{"OpenRanges", testOpenRanges},
		{"VerifyAndCheck", testVerifyAndCheck},
		{"GC", testGC},
		{"HTTPRoundTrip", testHTTPRoundTrip},
		{"HTTPRanges", testHTTPRanges},
		{"HTTPBadPaths", testHTTPBadPaths},
		{"HTTPCorruptDownload", testHTTPCorruptDownload},
		{"HTTPSizeLimit", testHTTPSizeLimit},
		{"HTTPStreaming", func(t *testing.T, b *blob.Bucket) { HTTPStreaming(t, b, Big+123) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// Data returns n deterministic pseudo-random bytes, different for each seed.
func Data(seed uint64, n int) []byte {
	p := make([]byte, n)
	_, _ = Gen(seed, int64(n)).Read(p)
	return p
}

// Gen returns a reader of n deterministic pseudo-random bytes that are
// generated as they are read, never held in memory.
func Gen(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// Digest returns the digest of p.
func Digest(p []byte) string {
	h := sha256.Sum256(p)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Keys lists every key in b, sorted.
func Keys(t testing.TB, b *blob.Bucket) []string {
	t.Helper()
	var keys []string
	it := b.List(nil)
	for {
		obj, err := it.Next(context.Background())
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("List: %v", err)
		}
		keys = append(keys, obj.Key)
	}
	slices.Sort(keys)
	return keys
}

// MustPut stores p and returns the blob.
func MustPut(t testing.TB, s *artifact.Store, p []byte, declared string) *artifact.Blob {
	t.Helper()
	b, err := s.Put(context.Background(), strings.NewReader(string(p)), declared)
	if err != nil {
		t.Fatalf("Put(%d bytes, %q): %v", len(p), declared, err)
	}
	return b
}

func wantCode(t testing.TB, what string, err error, code, field string) {
	t.Helper()
	if got := lineage.ErrorCode(err); got != code {
		t.Errorf("%s: got code %q (err %v), want %q", what, got, err, code)
	}
	if field != "" {
		if got := lineage.ErrorField(err); got != field {
			t.Errorf("%s: got field %q, want %q", what, got, field)
		}
	}
}

func wantNoKeys(t testing.TB, b *blob.Bucket, prefix string) {
	t.Helper()
	for _, k := range Keys(t, b) {
		if strings.HasPrefix(k, prefix) {
			t.Errorf("key %q is visible, want nothing under %q", k, prefix)
		}
	}
}

func wantContent(t testing.TB, s *artifact.Store, digest string, want []byte) {
	t.Helper()
	rc, _, err := s.Open(context.Background(), digest, 0, -1)
	if err != nil {
		t.Fatalf("Open(%s): %v", digest, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", digest, err)
	}
	if string(got) != string(want) {
		t.Errorf("content of %s: got %d bytes (%s), want %d bytes", digest, len(got), Digest(got), len(want))
	}
}

func testRoundTrip(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	s := artifact.New(b, artifact.Options{})
	for _, tc := range []struct {
		name    string
		data    []byte
		declare bool
	}{
		{"undeclared", Data(1, 1000), false},
		{"declared", Data(2, 1000), true},
		{"empty", nil, false},
		{"big declared", Data(3, Big), true},
		{"big undeclared", Data(4, Big), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := Digest(tc.data)
			declared := ""
			if tc.declare {
				declared = strings.ToUpper(want[len("sha256:"):]) // any case, bare hex
			}
			got := MustPut(t, s, tc.data, declared)
			if got.Digest != want || got.Size != int64(len(tc.data)) || got.URI != artifact.URI(want) || got.Key != artifact.Key(want) || got.ModTime.IsZero() {
				t.Errorf("Put: got %+v, want digest %s size %d", got, want, len(tc.data))
			}
			st, err := s.Stat(ctx, want)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			if st.Digest != want || st.Size != got.Size || !st.ModTime.Equal(got.ModTime) {
				t.Errorf("Stat: got %+v, want %+v", st, got)
			}
			wantContent(t, s, want, tc.data)
			if r, err := s.Check(ctx, want); err != nil || r.Problem != "" || r.Size != int64(len(tc.data)) {
				t.Errorf("Check: got %+v, %v, want intact", r, err)
			}
		})
	}
	wantNoKeys(t, b, "uploads/")
	for _, k := range Keys(t, b) {
		if !strings.HasPrefix(k, "sha256/") {
			t.Errorf("unexpected key %q", k)
		}
	}
}

func testDigestMismatch(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	s := artifact.New(b, artifact.Options{})
	for _, n := range []int{10, Big} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data, other := Data(10, n), Data(11, 10)
			declared := Digest(other)
			_, err := s.Put(ctx, strings.NewReader(string(data)), declared)
			wantCode(t, "Put(mismatch)", err, lineage.EINVALID, "digest")
			if msg := lineage.ErrorMessage(err); !strings.Contains(msg, "declared "+declared+" but the upload hashes to "+Digest(data)) {
				t.Errorf("message: got %q", msg)
			}
			for _, d := range []string{declared, Digest(data)} {
				_, err := s.Stat(ctx, d)
				wantCode(t, "Stat after mismatch", err, lineage.ENOTFOUND, "")
			}
			if keys := Keys(t, b); len(keys) != 0 {
				t.Errorf("keys after mismatch: %q, want none", keys)
			}
		})
	}
	_, err := s.Put(ctx, strings.NewReader("x"), "md5:abc")
	wantCode(t, "Put(bad digest)", err, lineage.EINVALID, "digest")
}

func testWriteOnce(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	s := artifact.New(b, artifact.Options{})
	data := Data(20, 5000)
	first := MustPut(t, s, data, "")
	time.Sleep(20 * time.Millisecond) // so a rewrite would change ModTime
	for _, declared := range []string{"", Digest(data)} {
		again := MustPut(t, s, data, declared)
		if !again.ModTime.Equal(first.ModTime) || again.Digest != first.Digest {
			t.Errorf("second Put(declared %q): got %+v, want the first %+v", declared, again, first)
		}
	}
	// Other bytes declared as the stored digest are refused and change nothing.
	_, err := s.Put(ctx, strings.NewReader("overwrite"), first.Digest)
	wantCode(t, "Put(other bytes, existing digest)", err, lineage.EINVALID, "digest")
	wantContent(t, s, first.Digest, data)
	if st, err := s.Stat(ctx, first.Digest); err != nil || !st.ModTime.Equal(first.ModTime) {
		t.Errorf("Stat after overwrite attempt: %+v, %v; want ModTime %v", st, err, first.ModTime)
	}
	wantNoKeys(t, b, "uploads/")
}

// failingReader yields n bytes of data then fails with err; cancel, if set,
// is called instead of failing, and the reader goes on to yield data.
type failingReader struct {
	r      io.Reader
	n      int64
	err    error
	cancel func()
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if f.cancel != nil {
			f.cancel()
			return f.r.Read(p)
		}
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func testInterruptedUpload(t *testing.T, b *blob.Bucket) {
	s := artifact.New(b, artifact.Options{})
	for _, n := range []int64{1 << 10, Big} {
		for _, declare := range []bool{false, true} {
			for _, how := range []string{"reader error", "canceled"} {
				t.Run(fmt.Sprintf("%d/declared=%v/%s", n, declare, how), func(t *testing.T) {
					data := Data(30, int(n)+(1<<20))
					declared := ""
					if declare {
						declared = Digest(data)
					}
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					r := &failingReader{r: strings.NewReader(string(data)), n: n, err: io.ErrUnexpectedEOF}
					if how == "canceled" {
						r.cancel = cancel
					}
					_, err := s.Put(ctx, r, declared)
					if err == nil {
						t.Fatal("Put: got no error")
					}
					if how == "reader error" {
						wantCode(t, "Put(failing reader)", err, lineage.EINVALID, "file")
						if !errors.Is(err, io.ErrUnexpectedEOF) {
							t.Errorf("Put: %v does not wrap the reader's error", err)
						}
					}
					if keys := Keys(t, b); len(keys) != 0 {
						t.Errorf("keys after interrupted upload: %q, want none", keys)
					}
					_, err = s.Stat(context.Background(), Digest(data))
					wantCode(t, "Stat after interrupted upload", err, lineage.ENOTFOUND, "")
				})
			}
		}
	}
}

func testSizeLimit(t *testing.T, b *blob.Bucket) {
	s := artifact.New(b, artifact.Options{MaxUploadBytes: 1000})
	MustPut(t, s, Data(40, 1000), "")
	for _, declare := range []bool{false, true} {
		data := Data(41, 1001)
		declared := ""
		if declare {
			declared = Digest(data)
		}
		_, err := s.Put(context.Background(), strings.NewReader(string(data)), declared)
		if !errors.Is(err, artifact.ErrTooLarge) {
			t.Errorf("Put(1001 bytes, declared=%v): got %v, want ErrTooLarge", declare, err)
		}
		wantCode(t, "Put(too large)", err, lineage.EINVALID, "file")
	}
	if keys := Keys(t, b); len(keys) != 1 {
		t.Errorf("keys: got %q, want the one blob within the limit", keys)
	}
}

func testOpenRanges(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	s := artifact.New(b, artifact.Options{})
	data := Data(50, 100_000)
	blb := MustPut(t, s, data, "")
	for _, tc := range []struct{ off, n int64 }{{0, -1}, {0, 10}, {99_990, -1}, {99_990, 10}, {12_345, 54_321}, {50_000, 0}} {
		rc, got, err := s.Open(ctx, blb.Digest, tc.off, tc.n)
		if err != nil {
			t.Errorf("Open(%d, %d): %v", tc.off, tc.n, err)
			continue
		}
		p, err := io.ReadAll(rc)
		rc.Close()
		end := int64(len(data))
		if tc.n >= 0 {
			end = tc.off + tc.n
		}
		if err != nil || string(p) != string(data[tc.off:end]) {
			t.Errorf("Open(%d, %d): got %d bytes, %v; want %d bytes", tc.off, tc.n, len(p), err, end-tc.off)
		}
		if got.Size != int64(len(data)) || got.Digest != blb.Digest {
			t.Errorf("Open(%d, %d) blob: got %+v, want size %d", tc.off, tc.n, got, len(data))
		}
	}
	absent := Digest([]byte("absent"))
	_, _, err := s.Open(ctx, absent, 0, -1)
	wantCode(t, "Open(absent)", err, lineage.ENOTFOUND, "")
	_, err = s.Stat(ctx, absent)
	wantCode(t, "Stat(absent)", err, lineage.ENOTFOUND, "")
	_, err = s.Stat(ctx, "sha256:../../etc/passwd")
	wantCode(t, "Stat(bad digest)", err, lineage.EINVALID, "digest")
	_, _, err = s.Open(ctx, blb.Digest, -1, 1)
	wantCode(t, "Open(negative offset)", err, lineage.EINVALID, "offset")
}

func testVerifyAndCheck(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	s := artifact.New(b, artifact.Options{})
	good := MustPut(t, s, Data(60, 3000), "")
	bad := MustPut(t, s, Data(61, 3000), "")
	empty := MustPut(t, s, nil, "")
	// Corrupt a blob behind the store's back, keeping its size.
	if err := b.WriteAll(ctx, bad.Key, Data(62, 3000), nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	if err := s.Verify(ctx, func(r artifact.VerifyResult) { got[r.Digest] = r.Problem }); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := map[string]string{good.Digest: "", bad.Digest: artifact.ProblemCorrupt, empty.Digest: ""}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Verify: got %v, want %v", got, want)
	}
	for _, tc := range []struct{ digest, problem string }{
		{good.Digest, ""}, {bad.Digest, artifact.ProblemCorrupt}, {Digest([]byte("never stored")), artifact.ProblemMissing},
	} {
		r, err := s.Check(ctx, tc.digest)
		if err != nil || r.Problem != tc.problem || r.Digest != tc.digest {
			t.Errorf("Check(%s): got %+v, %v; want problem %q", tc.digest, r, err, tc.problem)
		}
	}
	_, err := s.Check(ctx, "nope")
	wantCode(t, "Check(bad digest)", err, lineage.EINVALID, "digest")
}

func testGC(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	var (
		mu  sync.Mutex
		now = time.Now()
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := artifact.New(b, artifact.Options{Now: clock})
	kept := MustPut(t, s, Data(70, 100), "")
	orphan := MustPut(t, s, Data(71, 100), "")
	for _, k := range []string{"uploads/stale", "sha256/ab/" + strings.Repeat("ab", 32) + ".17d0c0ffee.tmp", "sha256/README"} {
		if err := b.WriteAll(ctx, k, []byte("left by a crash"), nil); err != nil {
			t.Fatal(err)
		}
	}
	refs := map[string]bool{kept.Digest: true}
	referenced := func(d string) bool { return refs[d] }

	deleted, err := s.GC(ctx, referenced, time.Hour, false)
	if err != nil || len(deleted) != 0 {
		t.Errorf("GC of young blobs: deleted %q, %v; want nothing", deleted, err)
	}
	advance(2 * time.Hour)
	young := MustPut(t, s, Data(72, 100), "") // put "now", after the clock moved
	_ = young
	want := []string{orphan.Key, "uploads/stale", "sha256/ab/" + strings.Repeat("ab", 32) + ".17d0c0ffee.tmp"}
	slices.Sort(want)
	before := Keys(t, b)
	planned, err := s.GC(ctx, referenced, time.Hour, true)
	slices.Sort(planned)
	if err != nil || !slices.Equal(planned, want) || !slices.Equal(Keys(t, b), before) {
		t.Errorf("GC dry run: would delete %q, %v; want %q, and nothing deleted", planned, err, want)
	}
	deleted, err = s.GC(ctx, referenced, time.Hour, false)
	slices.Sort(deleted)
	if err != nil || !slices.Equal(deleted, want) {
		t.Errorf("GC: deleted %q, %v; want %q", deleted, err, want)
	}
	if _, err := s.Stat(ctx, kept.Digest); err != nil {
		t.Errorf("referenced blob after GC: %v", err)
	}
	if _, err := s.Stat(ctx, young.Digest); err != nil {
		t.Errorf("young blob after GC: %v", err)
	}
	_, err = s.Stat(ctx, orphan.Digest)
	wantCode(t, "Stat(collected)", err, lineage.ENOTFOUND, "")

	// Grace 0 takes every unreferenced blob, never a referenced one.
	advance(time.Second)
	deleted, err = s.GC(ctx, referenced, 0, false)
	if err != nil || !slices.Equal(deleted, []string{young.Key}) {
		t.Errorf("GC(grace 0): deleted %q, %v; want %q", deleted, err, young.Key)
	}
	want = []string{"sha256/README", kept.Key}
	slices.Sort(want)
	if keys := Keys(t, b); !slices.Equal(keys, want) {
		t.Errorf("keys after GC: %q, want %q and the unknown file", keys, kept.Key)
	}
}

// server serves s's handler at /artifacts/ the way Pedigree's server mounts it.
func server(t *testing.T, s *artifact.Store) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(artifact.DefaultPrefix, s.Handler(artifact.HandlerOptions{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type uploaded struct {
	status int
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	URI    string `json:"uri"`
	Code   string `json:"code"`
	Field  string `json:"field"`
}

func upload(t testing.TB, srv *httptest.Server, method string, body io.Reader, size int64, header http.Header) uploaded {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+"/artifacts/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s /artifacts/: %v", method, err)
	}
	defer resp.Body.Close()
	var u uploaded
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
		t.Fatalf("%s /artifacts/: status %d, decoding body: %v", method, resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("upload response Content-Type %q", ct)
	}
	u.status = resp.StatusCode
	return u
}

func testHTTPRoundTrip(t *testing.T, b *blob.Bucket) {
	s := artifact.New(b, artifact.Options{})
	srv := server(t, s)
	data := Data(80, 70_000)
	d := Digest(data)
	sum := sha256.Sum256(data)

	u := upload(t, srv, http.MethodPut, strings.NewReader(string(data)), -1, nil)
	if u.status != http.StatusCreated || u.Digest != d || u.Size != int64(len(data)) || u.URI != artifact.URI(d) {
		t.Errorf("first PUT: got %+v, want 201 %s", u, d)
	}
	for _, h := range []http.Header{
		{artifact.HeaderDigest: {d}},
		{"Repr-Digest": {"sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"}},
		nil,
	} {
		u := upload(t, srv, http.MethodPost, strings.NewReader(string(data)), int64(len(data)), h)
		if u.status != http.StatusOK || u.Digest != d {
			t.Errorf("POST again with %v: got %+v, want 200 %s", h, u, d)
		}
	}
	other := Data(81, 10)
	u = upload(t, srv, http.MethodPut, strings.NewReader(string(other)), -1, http.Header{artifact.HeaderDigest: {d[:len(d)-1] + "0"}})
	if u.status != http.StatusBadRequest || u.Code != lineage.EINVALID || u.Field != "digest" {
		t.Errorf("PUT with a wrong digest: got %+v, want 400 %s digest", u, lineage.EINVALID)
	}
	u = upload(t, srv, http.MethodPut, strings.NewReader(string(other)), -1, http.Header{artifact.HeaderDigest: {"sha256:zz"}})
	if u.status != http.StatusBadRequest || u.Field != "digest" {
		t.Errorf("PUT with a malformed digest: got %+v, want 400 digest", u)
	}
	if _, err := s.Stat(context.Background(), Digest(other)); lineage.ErrorCode(err) != lineage.ENOTFOUND {
		t.Errorf("Stat after refused uploads: %v, want ENOTFOUND", err)
	}

	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequest(method, srv.URL+"/artifacts/sha256/"+d[7:], nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, %v", method, resp.StatusCode, err)
		}
		if method == http.MethodGet && string(body) != string(data) {
			t.Errorf("GET body: got %d bytes, want %d", len(body), len(data))
		}
		for k, v := range map[string]string{
			"Content-Length":         fmt.Sprint(len(data)),
			"Content-Type":           "application/octet-stream",
			"Content-Disposition":    `attachment; filename="` + d[7:] + `"`,
			"X-Content-Type-Options": "nosniff",
			artifact.HeaderDigest:    d,
			"Etag":                   `"` + d + `"`,
			"Accept-Ranges":          "bytes",
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s header %s: got %q, want %q", method, k, got, v)
			}
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/artifacts/sha256/"+d[7:], nil)
	req.Header.Set("If-None-Match", `"`+d+`"`)
	if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET If-None-Match: %v, %v; want 304", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := srv.Client().Get(srv.URL + "/artifacts/sha256/" + Digest([]byte("absent"))[7:])
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET absent: %v, %v; want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	for _, method := range []string{http.MethodDelete, http.MethodPatch, "PROPFIND", http.MethodOptions} {
		before := Keys(t, b)
		req, _ := http.NewRequest(method, srv.URL+"/artifacts/sha256/"+d[7:], nil)
		resp, err := srv.Client().Do(req)
		if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %v, %v; want 405", method, resp, err)
		} else {
			resp.Body.Close()
		}
		if after := Keys(t, b); !slices.Equal(before, after) {
			t.Errorf("%s changed the bucket: %q -> %q", method, before, after)
		}
	}
}

func testHTTPRanges(t *testing.T, b *blob.Bucket) {
	s := artifact.New(b, artifact.Options{})
	srv := server(t, s)
	data := Data(90, 1000)
	d := MustPut(t, s, data, "").Digest
	for _, tc := range []struct {
		rng        string
		status     int
		start, end int // data[start:end]
		cr         string
	}{
		{"bytes=0-9", 206, 0, 10, "bytes 0-9/1000"},
		{"bytes=990-", 206, 990, 1000, "bytes 990-999/1000"},
		{"bytes=-5", 206, 995, 1000, "bytes 995-999/1000"},
		{"bytes=-5000", 206, 0, 1000, "bytes 0-999/1000"},
		{"bytes=500-99999", 206, 500, 1000, "bytes 500-999/1000"},
		{"bytes=999-999", 206, 999, 1000, "bytes 999-999/1000"},
		{"bytes=1000-", 416, 0, 0, "bytes */1000"},
		{"bytes=5-4", 416, 0, 0, "bytes */1000"},
		{"bytes=-0", 416, 0, 0, "bytes */1000"},
		{"bytes=x-y", 416, 0, 0, "bytes */1000"},
		{"bytes=0-1,5-6", 200, 0, 1000, ""}, // several ranges: the whole blob
		{"items=0-1", 200, 0, 1000, ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/artifacts/sha256/"+d[7:], nil)
		req.Header.Set("Range", tc.rng)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.status || resp.Header.Get("Content-Range") != tc.cr {
			t.Errorf("Range %s: got %d %q, %v; want %d %q", tc.rng, resp.StatusCode, resp.Header.Get("Content-Range"), err, tc.status, tc.cr)
			continue
		}
		if tc.status != 416 && string(body) != string(data[tc.start:tc.end]) {
			t.Errorf("Range %s: got %d bytes, want data[%d:%d]", tc.rng, len(body), tc.start, tc.end)
		}
		if tc.status != 416 && resp.Header.Get("Content-Length") != fmt.Sprint(tc.end-tc.start) {
			t.Errorf("Range %s: Content-Length %q, want %d", tc.rng, resp.Header.Get("Content-Length"), tc.end-tc.start)
		}
	}
}

// BadPaths are request targets that must be refused (SECURITY.md, "Paths
// and locations"); %s is replaced by the hex of a stored blob so that a lax
// parser would find something to serve.
var BadPaths = []string{
	"/artifacts/../etc/passwd",
	"/artifacts/sha256/../../../etc/passwd",
	"/artifacts/%2e%2e%2fetc%2fpasswd",
	"/artifacts/%2e%2e/%2e%2e/etc/passwd",
	"/artifacts/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
	"/artifacts/%252e%252e%252fetc%252fpasswd",
	"/artifacts/sha256/%252e%252e/%s",
	"/artifacts/..%2f..%2fetc%2fpasswd",
	"/artifacts/..%5c..%5cetc%5cpasswd",
	"/artifacts/..\\..\\etc\\passwd",
	"/artifacts/sha256\\%s",
	"/artifacts/sha256%2f%s",
	"/artifacts/sha256%2F%s",
	"/artifacts/sha256/%s/../%s",
	"/artifacts/sha256/./%s",
	"/artifacts/./sha256/%s",
	"/artifacts/sha256//%s",
	"/artifacts//sha256/%s",
	"/artifacts//etc/passwd",
	"/artifacts/%2fetc%2fpasswd",
	"/artifacts/C:/Windows/win.ini",
	"/artifacts/C:%5cWindows%5cwin.ini",
	"/artifacts/c:\\windows\\win.ini",
	"/artifacts/sha256/%s;jsessionid=1",
	"/artifacts/sha256;x=1/%s",
	"/artifacts/sha256/%s%3b",
	"/artifacts/sha256/%s?x=../../etc/passwd",
	"/artifacts/sha256/%s?",
	"/artifacts/sha256/%s%3f..%2f..",
	"/artifacts/sha256/%s%23frag",
	"/artifacts/sha256/%s#frag",
	"/artifacts/sha256/%s%00",
	"/artifacts/sha256/%s%00.html",
	"/artifacts/sha256/%s%0d%0aX-Injected:%20yes",
	"/artifacts/sha256/%s%09",
	"/artifacts/sha256/%s%7f",
	"/artifacts/%73ha256/%s",
	"/artifacts/sha256/%s%2f",
	"/artifacts/sha256/%s/",
	"/artifacts/sha256/%s.html",
	"/artifacts/SHA256/%s",
	"/artifacts/sha256/UPPER",
	"/artifacts/sha256/short",
	"/artifacts/sha256/ab/%s",
	"/artifacts/sha512/%s",
	"/artifacts/uploads/x",
	"/artifacts/%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/etc/passwd",
	"/artifacts/%c0%ae%c0%ae/etc/passwd",
	"http://evil.example/artifacts/sha256/%s",
	"//artifacts/sha256/%s",
	"/artifacts/sha256/%s\x00",
	"/artifacts/sha256/%s\x01",
}

// rawRequest sends target exactly as given, which Go's client would
// normalise, and returns the status.
func rawRequest(t *testing.T, srv *httptest.Server, method, target, body string) int {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: example.test\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", method, target, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %q: %v", method, target, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func testHTTPBadPaths(t *testing.T, b *blob.Bucket) {
	s := artifact.New(b, artifact.Options{})
	data := Data(100, 100)
	hexd := MustPut(t, s, data, "").Digest[7:]
	before := Keys(t, b)
	// Directly (the handler is the server) and through a ServeMux, as
	// Pedigree mounts it. A mux may redirect a path it cleans (3xx); that
	// never reaches the handler, and is accepted as a refusal.
	direct := httptest.NewServer(s.Handler(artifact.HandlerOptions{}))
	t.Cleanup(direct.Close)
	muxed := server(t, s)
	for _, p := range BadPaths {
		target := strings.ReplaceAll(p, "%s", hexd)
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost} {
			if code := rawRequest(t, direct, method, target, "evil"); code < 400 || code > 499 {
				t.Errorf("%s %q: got %d, want 4xx", method, target, code)
			}
			if code := rawRequest(t, muxed, method, target, "evil"); code < 300 || code > 499 || code == http.StatusNotModified {
				t.Errorf("%s %q through a mux: got %d, want 3xx or 4xx", method, target, code)
			}
		}
	}
	// Uploads choose no key: any path after the prefix is refused.
	for _, target := range []string{"/artifacts/sha256/" + hexd, "/artifacts/sha256/" + Digest([]byte("evil"))[7:], "/artifacts/x", "/artifacts/uploads/x"} {
		for _, method := range []string{http.MethodPut, http.MethodPost} {
			if code := rawRequest(t, direct, method, target, "evil"); code != http.StatusBadRequest {
				t.Errorf("%s %q: got %d, want 400", method, target, code)
			}
		}
	}
	if after := Keys(t, b); !slices.Equal(before, after) {
		t.Errorf("bad requests changed the bucket: %q -> %q", before, after)
	}
	wantContent(t, s, "sha256:"+hexd, data)
	// The good path works through the same raw client.
	if code := rawRequest(t, direct, http.MethodGet, "/artifacts/sha256/"+hexd, ""); code != http.StatusOK {
		t.Errorf("GET good path: got %d, want 200", code)
	}
}

func testHTTPCorruptDownload(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	s := artifact.New(b, artifact.Options{})
	srv := server(t, s)
	for _, n := range []int{1, 100, Big} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			blb := MustPut(t, s, Data(110, n), "")
			if err := b.WriteAll(ctx, blb.Key, Data(111, n), nil); err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Get(srv.URL + "/artifacts/sha256/" + blb.Digest[7:])
			if err != nil {
				return // refused before the body: fine
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Errorf("GET of a corrupt blob: status %d, read %d bytes with no error; want a broken transfer", resp.StatusCode, len(got))
			}
			if len(got) >= n {
				t.Errorf("GET of a corrupt blob: read all %d bytes", len(got))
			}
		})
	}
}

func testHTTPSizeLimit(t *testing.T, b *blob.Bucket) {
	s := artifact.New(b, artifact.Options{MaxUploadBytes: 1 << 20})
	srv := server(t, s)
	big := Data(120, 1<<20+1)
	for _, size := range []int64{int64(len(big)), -1} { // declared and chunked
		u := upload(t, srv, http.MethodPut, strings.NewReader(string(big)), size, nil)
		if u.status != http.StatusRequestEntityTooLarge || u.Code != lineage.EINVALID || u.Field != "file" {
			t.Errorf("PUT %d bytes (Content-Length %d): got %+v, want 413", len(big), size, u)
		}
	}
	if u := upload(t, srv, http.MethodPut, strings.NewReader(string(big[:1<<20])), -1, nil); u.status != http.StatusCreated {
		t.Errorf("PUT at the limit: got %+v, want 201", u)
	}
	if keys := Keys(t, b); len(keys) != 1 {
		t.Errorf("keys: %q, want the one upload within the limit", keys)
	}
}

// HTTPStreaming uploads n generated bytes through the handler from a reader
// (the bytes never exist in memory at once), downloads them, and checks the
// digest both ways.
func HTTPStreaming(t testing.TB, b *blob.Bucket, n int64) {
	s := artifact.New(b, artifact.Options{})
	mux := http.NewServeMux()
	mux.Handle(artifact.DefaultPrefix, s.Handler(artifact.HandlerOptions{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	h := sha256.New()
	if _, err := io.Copy(h, Gen(130, n)); err != nil {
		t.Fatal(err)
	}
	want := "sha256:" + hex.EncodeToString(h.Sum(nil))
	u := upload(t, srv, http.MethodPut, Gen(130, n), -1, http.Header{artifact.HeaderDigest: {want}})
	if u.status != http.StatusCreated || u.Digest != want || u.Size != n {
		t.Fatalf("PUT %d generated bytes: got %+v, want 201 %s", n, u, want)
	}
	resp, err := srv.Client().Get(srv.URL + "/artifacts/sha256/" + want[7:])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h.Reset()
	got, err := io.Copy(h, resp.Body)
	if err != nil || got != n || "sha256:"+hex.EncodeToString(h.Sum(nil)) != want {
		t.Errorf("GET: %d bytes, %v; want %d bytes hashing to %s", got, err, n, want)
	}
}
