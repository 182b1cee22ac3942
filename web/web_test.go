package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

const testPage = `<!doctype html><html><head>` +
	`<script type="module" crossorigin src="/assets/graphiql-AbC123.js"></script>` +
	`<link rel="stylesheet" crossorigin href="/assets/graphiql-XyZ789.css">` +
	`</head><body><div id="graphiql"></div></body></html>`

// builtFS is a dist/ tree as Vite lays it out.
func builtFS() fstest.MapFS {
	return fstest.MapFS{
		".gitkeep":                       {},
		"graphiql.html":                  {Data: []byte(testPage)},
		"assets/graphiql-AbC123.js":      {Data: []byte(strings.Repeat("console.log('graphiql');\n", 200))},
		"assets/graphiql-XyZ789.css":     {Data: []byte(strings.Repeat(".graphiql-container{color:red}\n", 100))},
		"assets/json.worker-Q1w2E3.js":   {Data: []byte("self.onmessage=()=>{};")},
		"assets/codicon-DCmgc-ay.ttf":    {Data: []byte("\x00\x01\x00\x00 font")},
		"assets/roboto-latin.woff2":      {Data: []byte("wOF2 font")},
		"assets/logo-1a2b3c.svg":         {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/blob-9z8y7x.bin":         {Data: []byte("opaque")},
		"assets/nested/chunk-5t6y7u.mjs": {Data: []byte("export{}")},
	}
}

// emptyFS is dist/ before a build.
func emptyFS() fstest.MapFS {
	return fstest.MapFS{".gitkeep": {}}
}

func serve(t testing.TB, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	want := map[string]string{
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": contentSecurityPolicy,
	}
	for _, tc := range []struct {
		name   string
		files  fs.FS
		method string
		target string
	}{
		{"page", builtFS(), "GET", "/graphiql"},
		{"page slash", builtFS(), "GET", "/graphiql/"},
		{"page head", builtFS(), "HEAD", "/graphiql"},
		{"asset", builtFS(), "GET", "/assets/graphiql-AbC123.js"},
		{"missing asset", builtFS(), "GET", "/assets/nope.js"},
		{"unknown path", builtFS(), "GET", "/elsewhere"},
		{"post", builtFS(), "POST", "/graphiql"},
		{"not built", emptyFS(), "GET", "/graphiql"},
		{"not built asset", emptyFS(), "GET", "/assets/graphiql-AbC123.js"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := serve(t, newHandler(tc.files), tc.method, tc.target, nil)
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s %s (status %d): %s = %q, want %q", tc.method, tc.target, resp.StatusCode, k, got, v)
				}
			}
		})
	}
}

func TestCSPAllowsNoInlineScriptOrOtherOrigin(t *testing.T) {
	directives := map[string]string{}
	for _, d := range strings.Split(contentSecurityPolicy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for name, want := range map[string]string{
		"default-src":     "'self'",
		"script-src":      "'self'",
		"object-src":      "'none'",
		"base-uri":        "'none'",
		"frame-ancestors": "'none'",
	} {
		if got := directives[name]; got != want {
			t.Errorf("CSP %s = %q, want %q", name, got, want)
		}
	}
	for name, value := range directives {
		if strings.Contains(value, "http") || strings.Contains(value, "*") || strings.Contains(value, "unsafe-eval") ||
			(strings.Contains(value, "unsafe-inline") && name != "style-src") {
			t.Errorf("CSP %s = %q allows more than this origin's files", name, value)
		}
	}
}

func TestPage(t *testing.T) {
	h := newHandler(builtFS())
	for _, target := range []string{"/graphiql", "/graphiql/", "/graphiql?query=%7B%20node%20%7D"} {
		resp := serve(t, h, "GET", target, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200", target, resp.StatusCode)
		}
		if got, want := resp.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", target, got, want)
		}
		if got, want := resp.Header.Get("Cache-Control"), "no-cache"; got != want {
			t.Errorf("GET %s: Cache-Control %q, want %q", target, got, want)
		}
		if got := readBody(t, resp); got != testPage {
			t.Errorf("GET %s: body %q, want the page", target, got)
		}
	}

	etag := serve(t, h, "GET", "/graphiql", nil).Header.Get("ETag")
	if etag == "" {
		t.Fatal("page has no ETag")
	}
	resp := serve(t, h, "GET", "/graphiql", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match: status %d, want 304", resp.StatusCode)
	}

	resp = serve(t, h, "HEAD", "/graphiql", nil)
	if resp.StatusCode != http.StatusOK || readBody(t, resp) != "" {
		t.Errorf("HEAD /graphiql: status %d with a body, want 200 and none", resp.StatusCode)
	}
}

func TestNotBuilt(t *testing.T) {
	if built(emptyFS()) {
		t.Fatal("built(dist with only .gitkeep) = true, want false")
	}
	if !built(builtFS()) {
		t.Fatal("built(dist after a build) = false, want true")
	}
	h := newHandler(emptyFS())
	for _, target := range []string{"/graphiql", "/graphiql/"} {
		resp := serve(t, h, "GET", target, nil)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET %s: status %d, want 503", target, resp.StatusCode)
		}
		if got, want := resp.Header.Get("Content-Type"), "text/plain; charset=utf-8"; got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", target, got, want)
		}
		if got, want := strings.TrimSpace(readBody(t, resp)), "web UI not built: run make web"; got != want {
			t.Errorf("GET %s: body %q, want %q", target, got, want)
		}
	}
	if resp := serve(t, h, "GET", "/assets/graphiql-AbC123.js", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET an asset before a build: status %d, want 404", resp.StatusCode)
	}
}

func TestAssets(t *testing.T) {
	h := newHandler(builtFS())
	for _, tc := range []struct {
		target, ctype string
	}{
		{"/assets/graphiql-AbC123.js", "text/javascript; charset=utf-8"},
		{"/assets/json.worker-Q1w2E3.js", "text/javascript; charset=utf-8"},
		{"/assets/nested/chunk-5t6y7u.mjs", "text/javascript; charset=utf-8"},
		{"/assets/graphiql-XyZ789.css", "text/css; charset=utf-8"},
		{"/assets/codicon-DCmgc-ay.ttf", "font/ttf"},
		{"/assets/roboto-latin.woff2", "font/woff2"},
		{"/assets/logo-1a2b3c.svg", "image/svg+xml"},
		{"/assets/blob-9z8y7x.bin", "application/octet-stream"},
	} {
		resp := serve(t, h, "GET", tc.target, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", tc.target, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.target, got, tc.ctype)
		}
		if got, want := resp.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
			t.Errorf("GET %s: Cache-Control %q, want %q", tc.target, got, want)
		}
		want, _ := fs.ReadFile(builtFS(), strings.TrimPrefix(tc.target, "/"))
		if got := readBody(t, resp); got != string(want) {
			t.Errorf("GET %s: body differs from the file", tc.target)
		}
	}
}

func TestAssetsRejected(t *testing.T) {
	h := newHandler(builtFS())
	for _, target := range []string{
		"/assets/",
		"/assets/nested",
		"/assets/nested/",
		"/assets/../graphiql.html",
		"/assets/./graphiql-AbC123.js",
		"/assets//graphiql-AbC123.js",
		"/assets/nested/../graphiql-AbC123.js",
		`/assets/nested\chunk-5t6y7u.mjs`,
		"/assets/%2e%2e/graphiql.html",
		"/assets/missing-000000.js",
		"/.gitkeep",
		"/assets/.gitkeep",
		"/graphiql.html",
		"/graphiql/extra",
	} {
		resp := serve(t, h, "GET", target, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, resp.StatusCode)
		}
		if body := readBody(t, resp); strings.Contains(body, "<") {
			t.Errorf("GET %s: body %q looks like a page", target, body)
		}
	}
}

func TestMethods(t *testing.T) {
	h := newHandler(builtFS())
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		for _, target := range []string{"/graphiql", "/assets/graphiql-AbC123.js"} {
			resp := serve(t, h, method, target, nil)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", method, target, resp.StatusCode)
			}
			if got, want := resp.Header.Get("Allow"), "GET, HEAD"; got != want {
				t.Errorf("%s %s: Allow %q, want %q", method, target, got, want)
			}
		}
	}
}

func TestAssetGzip(t *testing.T) {
	h := newHandler(builtFS())
	const target = "/assets/graphiql-AbC123.js"
	want, _ := fs.ReadFile(builtFS(), "assets/graphiql-AbC123.js")

	for _, accept := range []string{"gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "GZIP"} {
		resp := serve(t, h, "GET", target, http.Header{"Accept-Encoding": {accept}})
		if got := resp.Header.Get("Content-Encoding"); got != "gzip" {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q, want gzip", accept, got)
		}
		if got := resp.Header.Get("Vary"); got != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Vary %q, want Accept-Encoding", accept, got)
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Accept-Encoding %q: decompressed body differs from the file", accept)
		}
	}
	for _, accept := range []string{"", "identity", "gzip;q=0", "br"} {
		resp := serve(t, h, "GET", target, http.Header{"Accept-Encoding": {accept}})
		if got := resp.Header.Get("Content-Encoding"); got != "" {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want none", accept, got)
		}
		if got := readBody(t, resp); got != string(want) {
			t.Errorf("Accept-Encoding %q: body differs from the file", accept)
		}
	}
	// Concurrent first requests share one compression.
	h = newHandler(builtFS())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resp := serve(t, h, "GET", target, http.Header{"Accept-Encoding": {"gzip"}})
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Error("concurrent request: not gzipped")
			}
		})
	}
	wg.Wait()

	// Small files and already-compressed fonts are sent as they are.
	for _, small := range []string{"/assets/json.worker-Q1w2E3.js", "/assets/roboto-latin.woff2"} {
		want, _ := fs.ReadFile(builtFS(), strings.TrimPrefix(small, "/"))
		for range 2 { // the second time, from the cache's verdict
			resp := serve(t, h, "GET", small, http.Header{"Accept-Encoding": {"gzip"}})
			if got := resp.Header.Get("Content-Encoding"); got != "" {
				t.Errorf("GET %s: Content-Encoding %q, want none", small, got)
			}
			if got := readBody(t, resp); got != string(want) {
				t.Errorf("GET %s: body %q, want %q", small, got, want)
			}
		}
	}
}

// remoteLoad matches, just before a "//", the ways a page, script or
// stylesheet could make the browser load something from another origin.
// Plain strings such as "http://www.w3.org/2000/svg" (an XML namespace) or
// links in help text are not loads, so the test looks for these forms, and
// for well-known CDN hosts anywhere. Text is lower-cased first.
var remoteLoad = regexp.MustCompile(`(` +
	`(src|href|action)\s*=\s*["']?\s*` + // HTML attributes
	`|url\(\s*["']?\s*` + // CSS url()
	`|@import\s+(url\()?\s*["']?\s*` + // CSS @import
	`|\bimport\s*\(\s*["'` + "`" + `]\s*` + // dynamic import()
	`|\bfrom\s*["']\s*` + // static import
	`|importscripts\s*\(\s*["']\s*` + // worker scripts
	`)(https?:)?//$`)

var cdnHosts = []string{"unpkg.com", "jsdelivr.net", "cdnjs.", "esm.sh", "esm.run", "skypack.dev", "googleapis.com", "gstatic.com"}

// remoteLoads returns up to limit excerpts of b that load from another origin.
// Running remoteLoad only on the text before each "//" keeps this fast on
// the multi-MiB bundle.
func remoteLoads(b []byte, limit int) []string {
	low := bytes.ToLower(b)
	excerpt := func(lo, hi int) string {
		return string(b[max(lo-60, 0):min(hi+60, len(b))])
	}
	var hits []string
	for _, host := range cdnHosts {
		if i := bytes.Index(low, []byte(host)); i >= 0 {
			hits = append(hits, excerpt(i, i+len(host)))
		}
	}
	for off := 0; len(hits) < limit; {
		i := bytes.Index(low[off:], []byte("//"))
		if i < 0 {
			break
		}
		i += off
		if remoteLoad.Match(low[max(i-80, 0) : i+2]) {
			hits = append(hits, excerpt(i, i+2))
		}
		off = i + 2
	}
	return hits
}

// TestBuiltDist checks the real build embedded in this package.
func TestBuiltDist(t *testing.T) {
	if !Built() {
		t.Skip("web/dist not built: run make web")
	}
	files := distFS()
	h := Handler()
	for route, name := range map[string]string{"/": appPage, "/graphiql": graphiqlPage} {
		page, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		if m := regexp.MustCompile(`(?i)https?:|//[a-z0-9.-]+\.[a-z]`).Find(page); m != nil {
			t.Errorf("%s refers to another origin: %q", name, m)
		}
		if regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]`).Match(page) {
			t.Errorf("%s has an inline script; the CSP would block it", name)
		}
		if regexp.MustCompile(`(?i)\son[a-z]+\s*=`).Match(page) {
			t.Errorf("%s has an inline event handler; the CSP would block it", name)
		}

		// Every asset the page names is served, with the right type.
		refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllSubmatch(page, -1)
		if len(refs) == 0 {
			t.Fatalf("%s names no /assets/ file", name)
		}
		for _, ref := range refs {
			target := string(ref[1])
			resp := serve(t, h, "GET", target, nil)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s (named by %s): status %d", target, name, resp.StatusCode)
			}
			if ctype, _ := assetType(target); resp.Header.Get("Content-Type") != ctype || ctype == "application/octet-stream" {
				t.Errorf("GET %s: Content-Type %q", target, resp.Header.Get("Content-Type"))
			}
		}
		resp := serve(t, h, "GET", route, nil)
		if resp.StatusCode != http.StatusOK || readBody(t, resp) != string(page) {
			t.Errorf("GET %s: status %d, or the body is not %s", route, resp.StatusCode, name)
		}
	}

	// No script or stylesheet loads anything from another origin.
	n := 0
	err := fs.WalkDir(files, "assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, ok := assetTypes[strings.ToLower(path.Ext(name))]; !ok {
			t.Errorf("%s: no Content-Type is set for this kind of file", name)
		}
		if !strings.HasSuffix(name, ".js") && !strings.HasSuffix(name, ".css") {
			return nil
		}
		n++
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		for _, hit := range remoteLoads(b, 5) {
			t.Errorf("%s loads from another origin: …%s…", name, hit)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("dist/assets holds no .js or .css file")
	}
}

func TestRemoteLoadPattern(t *testing.T) {
	for text, want := range map[string]bool{
		`<script src="https://cdn.example.com/graphiql.js">`:                     true,
		`<link rel=stylesheet href=//cdn.example.com/a.css>`:                     true,
		`.x{background:url("https://example.com/a.png")}`:                        true,
		`@import url(https://fonts.example.com/css);`:                            true,
		"@import '//fonts.example.com/css';":                                     true,
		"import(`https://esm.example.com/react`)":                                true,
		`import x from"https://example.com/x.js"`:                                true,
		`importScripts('https://example.com/worker.js')`:                         true,
		`const u = "https://unpkg.com/graphiql"`:                                 true,
		`document.createElementNS("http://www.w3.org/2000/svg","svg")`:           false,
		`{href:"https://github.com/graphql/graphiql",target:"_blank"}`:           false,
		`"see https://react.dev/errors/"+e`:                                      false,
		`.x{background:url(data:image/svg+xml;base64,PHN2Zz4=)}`:                 false,
		`new Worker(new URL("/assets/json.worker-BAR7yJ6b.js",import.meta.url))`: false,
	} {
		if got := len(remoteLoads([]byte(text), 1)) > 0; got != want {
			t.Errorf("remoteLoad matches %q = %v, want %v", text, got, want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                    false,
		"gzip":                true,
		"gzip, deflate, br":   true,
		"deflate, gzip;q=1.0": true,
		"gzip;q=0.5":          true,
		"gzip; q=0.001":       true,
		"gzip;q=0":            false,
		"gzip;q=0.0":          false,
		"gzip;q=0.000":        false,
		"br":                  false,
		"identity":            false,
		"x-gzip":              false,
		" GZip ; Q=0.3 , br ": true,
	} {
		if got := acceptsGzip(accept); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", accept, got, want)
		}
	}
}
