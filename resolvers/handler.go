package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/rs/cors"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/graph"
	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/webhook"
)

// Default limits of a GraphQL request. Each is an Options field; zero means
// the default. They are documented at the top of schema.graphqls.
const (
	// DefaultMaxBodyBytes bounds a POST body; larger bodies get 413.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultParserTokenLimit bounds the tokens of a query document, so a
	// huge document (CVE-2023-49559: directive and alias overloading) is
	// refused while it is parsed. Batches belong in variables.
	DefaultParserTokenLimit = 15_000
	// DefaultMaxDepth bounds how deep selections nest (introspection
	// subtrees aside, which gqlparser bounds).
	DefaultMaxDepth = 15
	// DefaultMaxAliases bounds the aliased fields of one selection set.
	DefaultMaxAliases = 30
	// DefaultMaxRootFields bounds the root fields of an operation.
	DefaultMaxRootFields = 20
	// DefaultMaxFields bounds the fields of an operation once fragments are
	// expanded (the introspection query GraphiQL sends has a few hundred).
	DefaultMaxFields = 2_000
	// DefaultMaxComplexity bounds the cost of an operation (see
	// complexityRoot): a page of 1,000 runs with params and metrics costs
	// about 45,000, a default lineage graph about 10,000 per selected field.
	DefaultMaxComplexity = 200_000
	// DefaultTimeout bounds the execution of a query or mutation.
	DefaultTimeout = 15 * time.Second
	// DefaultMaxSubscriptions bounds the subscriptions of one websocket.
	DefaultMaxSubscriptions = 20
	// DefaultQueryCacheSize is how many parsed and validated documents are
	// kept; documents over maxCachedQuery bytes are never cached.
	DefaultQueryCacheSize = 1000
	maxCachedQuery        = 16 << 10
	// wsKeepAlive is how often an idle websocket is pinged.
	wsKeepAlive = 15 * time.Second
)

// Options configure the /graphql handler.
type Options struct {
	// AllowedOrigins may call the API from a browser: CORS responses and
	// websocket upgrades. Entries are origins ("https://ui.example.com").
	// Same-origin websocket upgrades, and clients that send no Origin (not
	// browsers), are always allowed.
	AllowedOrigins []string
	// Logger receives one info line per request and each internal error;
	// default slog.Default().
	Logger *slog.Logger
	// DisableIntrospection turns introspection off (for anonymous callers in
	// production, once authentication exists).
	DisableIntrospection bool

	// Limits; zero means the Default… constant of the same name.
	MaxBodyBytes     int64
	ParserTokenLimit int
	MaxDepth         int
	MaxAliases       int
	MaxRootFields    int
	MaxFields        int
	MaxComplexity    int
	Timeout          time.Duration
	MaxSubscriptions int
	// LoaderWait is how long dataloaders gather keys; default DefaultLoaderWait.
	LoaderWait time.Duration
	// Webhooks serves the webhook queries and mutations; nil answers them
	// with an error.
	Webhooks *webhook.Dispatcher
	// Artifacts stores uploads (uploadArtifact, createUploadUrl,
	// completeUpload, register mutations with upload); nil answers those
	// with UNAVAILABLE "artifact storage is not enabled".
	Artifacts *artifact.Store
	// MaxUploadBytes bounds one file of uploadArtifact; default
	// DefaultMaxUploadBytes. A multipart body may be this plus 1 MiB.
	MaxUploadBytes int64
	// UploadMemory is how much of one uploaded file is held in memory
	// before the rest is spooled to a temporary file; default
	// DefaultUploadMemory.
	UploadMemory int64
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if o.UploadMemory <= 0 {
		o.UploadMemory = DefaultUploadMemory
	}
	def(&o.ParserTokenLimit, DefaultParserTokenLimit)
	def(&o.MaxDepth, DefaultMaxDepth)
	def(&o.MaxAliases, DefaultMaxAliases)
	def(&o.MaxRootFields, DefaultMaxRootFields)
	def(&o.MaxFields, DefaultMaxFields)
	def(&o.MaxComplexity, DefaultMaxComplexity)
	def(&o.MaxSubscriptions, DefaultMaxSubscriptions)
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.LoaderWait <= 0 {
		o.LoaderWait = DefaultLoaderWait
	}
}

// NewHandler returns the /graphql endpoint:
//   - POST with Content-Type application/json: queries and mutations.
//   - POST with Content-Type multipart/form-data (the GraphQL multipart
//     request spec, for uploadArtifact) only with a GraphQL-Require-Preflight
//     or Apollo-Require-Preflight header and a Content-Length: multipart is
//     a content type a web page may post cross-origin without a CORS
//     preflight, a custom header is not. 400 without the header.
//   - Other content types get 415: no form or text/plain transport, so a
//     web page cannot post a mutation without a CORS preflight.
//   - GET with query parameters: queries only.
//   - GET with a websocket upgrade (graphql-transport-ws): subscriptions
//     only, from allowed origins.
//
// No JSON-array batching; the limits of Options apply to every operation.
func NewHandler(svc *lineage.Service, opts Options) http.Handler {
	return newHandler(svc, opts)
}

type gqlHandler struct {
	opts    Options
	srv     *handler.Server
	origins map[string]bool
}

func newHandler(svc service, opts Options) http.Handler {
	opts.defaults()
	r := &Resolver{svc: svc, hooks: opts.Webhooks, loaderWait: opts.LoaderWait, maxSubscriptions: opts.MaxSubscriptions,
		blobs: opts.Artifacts, maxUploadBytes: opts.MaxUploadBytes}
	es := graph.NewExecutableSchema(graph.Config{Resolvers: r})
	es = graph.NewExecutableSchema(graph.Config{Resolvers: r, Complexity: complexityRoot(es.Schema())})

	srv := handler.New(es)
	// The handler has already chosen the transport by method and headers
	// (see ServeHTTP); each request matches exactly one of these.
	srv.AddTransport(postMultipart{maxOperations: opts.MaxBodyBytes, memory: opts.UploadMemory, timeout: opts.Timeout})
	srv.AddTransport(postJSON{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: wsKeepAlive,
		InitTimeout:           10 * time.Second,
		PayloadReadLimit:      &opts.MaxBodyBytes,
		// The handler checks Origin before the upgrade (see allowOrigin);
		// coder/websocket checks again against the same hosts.
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: coderws.AcceptOptions{OriginPatterns: originHosts(opts.AllowedOrigins)},
		},
		ErrorFunc: func(ctx context.Context, err error) {
			opts.Logger.Debug("websocket", "request_id", RequestID(ctx), "err", err)
		},
	})
	srv.SetQueryCache(smallQueries{lru.New[*ast.QueryDocument](DefaultQueryCacheSize)})
	srv.SetParserTokenLimit(opts.ParserTokenLimit)
	srv.SetDisableSuggestion(true)
	srv.SetErrorPresenter(errorPresenter(opts.Logger))
	srv.SetRecoverFunc(recoverFunc)
	if !opts.DisableIntrospection {
		srv.Use(extension.Introspection{})
	}
	// Shape limits run before complexity, whose walk expands fragments.
	srv.Use(operationLimits{maxDepth: opts.MaxDepth, maxAliases: opts.MaxAliases,
		maxRootFields: opts.MaxRootFields, maxFields: opts.MaxFields})
	srv.Use(extension.FixedComplexityLimit(opts.MaxComplexity))
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		// Fresh loaders per response: per request, and per subscription
		// event so that events never see stale cached data.
		ctx = withLoaders(ctx, newLoaders(svc, opts.LoaderWait))
		resp := next(ctx)
		if st := stateFrom(ctx); st != nil && resp != nil {
			st.noteErrors(resp.Errors)
		}
		return resp
	})

	h := &gqlHandler{opts: opts, srv: srv, origins: map[string]bool{}}
	for _, o := range opts.AllowedOrigins {
		h.origins[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	if len(opts.AllowedOrigins) == 0 {
		return h
	}
	// An explicit allowlist, never a reflected origin; bearer tokens need
	// no credentials mode.
	return cors.New(cors.Options{
		AllowedOrigins: opts.AllowedOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Content-Type", "Authorization", "X-Request-Id", headerPreflight, headerApolloPreflight},
		MaxAge:         600,
	}).Handler(h)
}

func (h *gqlHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	if RequestID(ctx) == "" {
		id := newRequestID()
		ctx = WithRequestID(ctx, id)
		w.Header().Set("X-Request-Id", id)
	}
	st := &requestState{}
	ctx = withState(ctx, st)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() { h.logRequest(ctx, st, rec.status, time.Since(start)) }()

	switch {
	case r.Method == http.MethodGet && isWebsocket(r):
		st.transport = viaWebsocket
		if !h.allowOrigin(r) {
			writeRequestError(rec, http.StatusForbidden, "origin not allowed")
			return
		}
		h.srv.ServeHTTP(rec, r.WithContext(ctx))
		return
	case r.Method == http.MethodGet:
		st.transport = viaGET
		r.Header.Del("Upgrade") // not a websocket: let no other upgrade reach gqlgen
		// Parse the query string here so that a malformed one is refused
		// without echoing any of it.
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			writeRequestError(rec, http.StatusBadRequest, "malformed query string")
			return
		}
	case r.Method == http.MethodPost:
		st.transport = viaPOST
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case err == nil && mt == "application/json":
			r.Body = http.MaxBytesReader(rec, r.Body, h.opts.MaxBodyBytes)
		case err == nil && mt == "multipart/form-data":
			st.transport = viaMultipart
			if r.Header.Get(headerPreflight) == "" && r.Header.Get(headerApolloPreflight) == "" {
				writeRequestError(rec, http.StatusBadRequest, "multipart requests must carry the header "+headerPreflight+": 1 (or "+headerApolloPreflight+"), which a web page cannot send without a CORS preflight")
				return
			}
			max := h.opts.MaxUploadBytes + multipartOverhead
			if r.ContentLength < 0 {
				writeRequestError(rec, http.StatusLengthRequired, "multipart requests must have a Content-Length")
				return
			}
			if r.ContentLength > max {
				writeRequestError(rec, http.StatusRequestEntityTooLarge, fmt.Sprintf("multipart request body exceeds %d bytes (files up to %d bytes; PUT larger ones to /artifacts/)", max, h.opts.MaxUploadBytes))
				return
			}
			r.Body = http.MaxBytesReader(rec, r.Body, max)
			// The multipart transport starts the execution timeout once the
			// body is read: a large file on a slow link is not an expensive query.
			r.Header.Del("Upgrade")
			h.srv.ServeHTTP(rec, r.WithContext(ctx))
			return
		default:
			writeRequestError(rec, http.StatusUnsupportedMediaType, "POST requests must have Content-Type application/json (multipart/form-data for uploads)")
			return
		}
		r.Header.Del("Upgrade")
	case r.Method == http.MethodOptions:
		rec.Header().Set("Allow", "GET, POST, OPTIONS")
		rec.WriteHeader(http.StatusNoContent)
		return
	default:
		rec.Header().Set("Allow", "GET, POST, OPTIONS")
		writeRequestError(rec, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	h.srv.ServeHTTP(rec, r.WithContext(ctx))
}

// logRequest writes the request's one info line: no variables, no headers.
func (h *gqlHandler) logRequest(ctx context.Context, st *requestState, status int, d time.Duration) {
	op, typ, codes := st.summary()
	attrs := []slog.Attr{
		slog.String("request_id", RequestID(ctx)),
		slog.String("transport", string(st.transport)),
		slog.String("operation", op),
		slog.String("type", typ),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	}
	if len(codes) > 0 {
		attrs = append(attrs, slog.String("code", codes[0]), slog.Int("errors", len(codes)))
	}
	h.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "graphql", attrs...)
}

func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// allowOrigin admits websocket upgrades from non-browser clients (no
// Origin), from the page's own origin and from the allowlist.
func (h *gqlHandler) allowOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return h.origins[strings.ToLower(strings.TrimSuffix(origin, "/"))]
}

// originHosts turns origins into the host patterns coder/websocket matches.
func originHosts(origins []string) []string {
	var out []string
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			out = append(out, u.Host)
		}
	}
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets coder/websocket and http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// writeRequestError answers a request refused before GraphQL sees it.
func writeRequestError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(graphql.Response{Errors: gqlerror.List{{Message: msg, Extensions: map[string]any{"code": CodeBadRequest}}}})
	_, _ = w.Write(b)
}

// postJSON is the POST transport: one JSON object per request, decoded
// strictly, errors that never echo the body (it may hold a token), and a
// response written without re-encoding the data gqlgen already encoded.
type postJSON struct{}

var _ graphql.Transport = postJSON{}

func (postJSON) Supports(r *http.Request) bool { return r.Method == http.MethodPost }

// execute runs one decoded operation and writes its response.
func execute(ctx context.Context, w http.ResponseWriter, exec graphql.GraphExecutor, params *graphql.RawParams) {
	w.Header().Set("Content-Type", "application/json")
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	writeResponse(w, responses(ctx))
}

func (postJSON) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeRequestError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
		} else {
			writeRequestError(w, http.StatusBadRequest, "could not read the request body")
		}
		return
	}
	params, msg := decodeParams(body)
	if msg != "" {
		writeRequestError(w, http.StatusBadRequest, msg)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(ctx, w, exec, params)
}

// decodeParams reads a GraphQL-over-HTTP request object. The message it
// returns on failure describes the problem, never the body.
func decodeParams(body []byte) (*graphql.RawParams, string) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return nil, "the request body is empty"
	case trimmed[0] == '[':
		return nil, "batched requests (a JSON array) are not supported: send one operation per request"
	case trimmed[0] != '{':
		return nil, "the request body must be a JSON object"
	}
	var p graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, fmt.Sprintf("the request body's %q has the wrong type", typeErr.Field)
		}
		return nil, "the request body is not valid JSON"
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, "the request body has data after the JSON object"
	}
	return &p, ""
}

// writeResponse encodes a response like json.Marshal(resp) would, but
// copies the data gqlgen already encoded instead of compacting it again.
func writeResponse(w io.Writer, resp *graphql.Response) {
	if resp == nil {
		resp = &graphql.Response{}
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.WriteByte('{')
	if len(resp.Errors) > 0 {
		buf.WriteString(`"errors":`)
		b, err := json.Marshal(resp.Errors)
		if err != nil {
			b = []byte(`[{"message":"internal error"}]`)
		}
		buf.Write(b)
		buf.WriteByte(',')
	}
	buf.WriteString(`"data":`)
	if len(resp.Data) == 0 {
		buf.WriteString("null")
	} else {
		buf.Write(resp.Data)
	}
	if len(resp.Extensions) > 0 {
		if b, err := json.Marshal(resp.Extensions); err == nil {
			buf.WriteString(`,"extensions":`)
			buf.Write(b)
		}
	}
	buf.WriteByte('}')
	_, _ = w.Write(buf.Bytes())
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// smallQueries caches parsed and validated documents, except large ones:
// the cache is bounded by count, so size is bounded by refusing big entries.
type smallQueries struct {
	graphql.Cache[*ast.QueryDocument]
}

func (c smallQueries) Add(ctx context.Context, query string, doc *ast.QueryDocument) {
	if len(query) <= maxCachedQuery {
		c.Cache.Add(ctx, query, doc)
	}
}
