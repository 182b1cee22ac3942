// Package web serves Pedigree's browser UI: the app at / (lineage, runs,
// registry; its views are hash routes), the GraphiQL page at /graphiql, and
// the hashed assets they load from /assets/. The pages are built from this
// directory by Vite (`npm ci && npm run build`, or `make web`) into dist/,
// which is embedded in the binary, so the UI works with no internet access.
//
// Every response carries the UI's security headers (see SECURITY.md,
// "Browser-origin attacks"): no framing, no MIME sniffing, no Referer, and a
// Content-Security-Policy that allows no inline script and no other origin.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// dist holds the Vite build. Before a build it holds only dist/.gitkeep,
// which keeps the pattern valid; Handler then answers 503 for the pages.
//
//go:embed all:dist
var dist embed.FS

// The Vite entries, relative to dist/: the app at / and GraphiQL.
const (
	appPage      = "index.html"
	graphiqlPage = "graphiql.html"
)

// contentSecurityPolicy is sent with every response. It was checked against
// GraphiQL 5 in headless Chromium (e2e/graphiql.smoke.mjs):
//   - script-src 'self': Vite emits no inline script and Monaco needs no eval.
//   - style-src 'self' 'unsafe-inline': the Monaco editor writes <style>
//     elements (token colours) and style attributes (line layout) at run
//     time. Without either, Chromium logs hundreds of CSP violations and the
//     editor loses syntax colours and line numbers. Inline styles cannot run
//     code; scripts stay locked to 'self'.
//   - worker-src 'self': Monaco's workers are separate files under /assets/,
//     not blob: URLs.
//   - img-src and font-src allow data: for the icons and fonts GraphiQL's CSS
//     inlines.
//   - connect-src 'self' covers POST /graphql and the ws(s): socket to the same
//     host and port.
const contentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; " +
	"font-src 'self' data:; " +
	"connect-src 'self'; " +
	"worker-src 'self'; " +
	"object-src 'none'; " +
	"base-uri 'none'; " +
	"form-action 'none'; " +
	"frame-ancestors 'none'"

// notBuilt is the body of the 503 answered for a page when dist/ is empty.
const notBuilt = "web UI not built: run make web\n"

// Handler serves the embedded UI. Mount it for /, /graphiql, /graphiql/ and
// /assets/; any other path gets a 404.
func Handler() http.Handler {
	return newHandler(distFS())
}

// Built reports whether the binary was built with the web UI in it.
func Built() bool {
	return built(distFS())
}

func distFS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid constant path; fs.Sub cannot fail.
	}
	return sub
}

func built(files fs.FS) bool {
	_, err := fs.Stat(files, graphiqlPage)
	return err == nil
}

// handler serves pages and assets from files, a tree laid out like dist/.
type handler struct {
	files fs.FS
	pages map[string]*page // by file name; absent when not built

	gzMu sync.Mutex
	gz   map[string]*gzipped // compressed assets, made on first request
}

// page is an HTML entry, read once.
type page struct {
	body []byte
	etag string // strong validator
}

type gzipped struct {
	once sync.Once
	body []byte // nil when compressing did not pay
}

func newHandler(files fs.FS) *handler {
	h := &handler{files: files, pages: map[string]*page{}, gz: make(map[string]*gzipped)}
	for _, name := range []string{appPage, graphiqlPage} {
		if b, err := fs.ReadFile(files, name); err == nil {
			sum := sha256.Sum256(b)
			h.pages[name] = &page{body: b, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		}
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/" || p == "/index.html":
		h.servePage(w, r, appPage)
	case p == "/graphiql" || p == "/graphiql/":
		h.servePage(w, r, graphiqlPage)
	case strings.HasPrefix(p, "/assets/"):
		h.serveAsset(w, r, strings.TrimPrefix(p, "/"))
	default:
		http.NotFound(w, r)
	}
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request, name string) {
	hdr := w.Header()
	pg := h.pages[name]
	if pg == nil {
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, notBuilt)
		return
	}
	// The page names the current hashed assets, so it is revalidated on
	// every load; the ETag makes that a 304 when nothing changed.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("ETag", pg.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(pg.body))
}

// serveAsset serves name (e.g. "assets/graphiql-DZg6Hlca.js"). Vite puts a
// content hash in every asset name, so an asset never changes and may be
// cached for a year.
func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	// r.URL.Path is already decoded once; fs.ValidPath rejects "..", ".",
	// empty elements and leading or trailing slashes, and embed.FS has no
	// symlinks, so nothing outside assets/ can be reached.
	if !fs.ValidPath(name) || strings.Contains(name, `\`) || path.Base(name) == ".gitkeep" {
		http.NotFound(w, r)
		return
	}
	f, err := h.files.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	content, ok := f.(io.ReadSeeker) // embed.FS files are
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		content = bytes.NewReader(b)
	}
	hdr := w.Header()
	ctype, compressible := assetType(name)
	hdr.Set("Content-Type", ctype)
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	if compressible {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			if gz := h.gzipped(name, content); gz != nil {
				hdr.Set("Content-Encoding", "gzip")
				http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(gz))
				return
			}
		}
	}
	// ServeContent seeks to the start itself, even if gzipped read the file.
	http.ServeContent(w, r, name, time.Time{}, content)
}

// gzipped returns name's body compressed, made once per asset and kept: the
// bundle is a few MiB of JavaScript that compresses about 4:1.
func (h *handler) gzipped(name string, f io.Reader) []byte {
	h.gzMu.Lock()
	e := h.gz[name]
	if e == nil {
		e = new(gzipped)
		h.gz[name] = e
	}
	h.gzMu.Unlock()
	e.once.Do(func() {
		body, err := io.ReadAll(f)
		if err != nil || len(body) < 1024 {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body) {
			e.body = buf.Bytes()
		}
	})
	return e.body
}

// assetTypes fixes the Content-Type of every kind of file Vite emits, rather
// than relying on the host's MIME tables; anything else is served as opaque
// bytes, which nosniff keeps from being run or rendered.
var assetTypes = map[string]struct {
	ctype        string
	compressible bool
}{
	".js":    {"text/javascript; charset=utf-8", true},
	".mjs":   {"text/javascript; charset=utf-8", true},
	".css":   {"text/css; charset=utf-8", true},
	".json":  {"application/json", true},
	".map":   {"application/json", true},
	".svg":   {"image/svg+xml", true},
	".ttf":   {"font/ttf", true},
	".wasm":  {"application/wasm", true},
	".txt":   {"text/plain; charset=utf-8", true},
	".woff":  {"font/woff", false},
	".woff2": {"font/woff2", false},
	".png":   {"image/png", false},
	".jpg":   {"image/jpeg", false},
	".gif":   {"image/gif", false},
	".webp":  {"image/webp", false},
	".ico":   {"image/x-icon", false},
}

func assetType(name string) (ctype string, compressible bool) {
	if t, ok := assetTypes[strings.ToLower(path.Ext(name))]; ok {
		return t.ctype, t.compressible
	}
	return "application/octet-stream", false
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip.
func acceptsGzip(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		return !strings.HasPrefix(q, "q=0") || strings.HasPrefix(q, "q=0.") && strings.Trim(q[4:], "0") != ""
	}
	return false
}
