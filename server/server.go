// Package server owns Pedigree's HTTP surface: the routes, the middleware
// every request passes through (request ids, logging, panic recovery, Host
// checks, security headers) and the health endpoints. It is given a ready
// Service; choosing a backend is cmd/'s job.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/resolvers"
	"github.com/pedigree-ml/pedigree/web"
	"github.com/pedigree-ml/pedigree/webhook"
)

// Options configure the HTTP surface.
type Options struct {
	// AllowedHosts are accepted Host headers besides loopback names; empty
	// accepts any Host. Set when bound to loopback to stop DNS rebinding.
	AllowedHosts []string
	// AllowedOrigins may call the API from a browser (CORS, websockets).
	AllowedOrigins []string
	Logger         *slog.Logger
	// Webhooks serves the webhook API; nil leaves it unavailable.
	Webhooks *webhook.Dispatcher
	// Artifacts serves /artifacts/ (uploads and downloads); nil: no route.
	Artifacts http.Handler
	// ArtifactStore backs the GraphQL upload mutations and the upload
	// argument of the register mutations; nil: they answer UNAVAILABLE.
	ArtifactStore *artifact.Store
}

// New returns the handler serving every route.
func New(svc *lineage.Service, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	// Every route but /graphql gets the access-log line here; the GraphQL
	// handler logs its own, richer one (operation, error codes).
	routes := http.NewServeMux()
	ui := web.Handler()
	routes.Handle("/graphiql", ui)
	routes.Handle("/graphiql/", ui)
	routes.Handle("/assets/", ui)
	routes.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	routes.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := svc.Store().Ping(ctx); err != nil {
			opts.Logger.Warn("not ready", "err", err)
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	routes.Handle("GET /{$}", ui)
	mux := http.NewServeMux()
	mux.Handle("/graphql", resolvers.NewHandler(svc, resolvers.Options{AllowedOrigins: opts.AllowedOrigins, Logger: opts.Logger, Webhooks: opts.Webhooks, Artifacts: opts.ArtifactStore}))
	mux.Handle("/", logRequests(opts.Logger, routes))
	var handler http.Handler = mux
	if opts.Artifacts != nil {
		handler = withArtifacts(logRequests(opts.Logger, opts.Artifacts), mux)
	}
	return withRequest(opts.Logger, checkHost(opts.Logger, opts.AllowedHosts, handler))
}

// withArtifacts sends /artifacts/ to its handler before the ServeMux,
// which would clean and redirect odd paths: the artifact handler refuses
// every path but its own key form, in whatever encoding it comes.
func withArtifacts(artifacts, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/artifacts/") || strings.HasPrefix(r.URL.RawPath, "/artifacts/") {
			artifacts.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withRequest gives each request an id, sets the headers every response
// carries, and recovers panics.
func withRequest(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler { // a handler cutting its response short on purpose
					panic(p)
				}
				log.Error("panic", "request_id", id, "path", r.URL.Path, "panic", p)
				http.Error(w, "internal error (request id "+id+")", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r.WithContext(resolvers.WithRequestID(r.Context(), id)))
	})
}

// logRequests logs one line per request when it ends: the path only, as
// query strings may carry secrets.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Info("request", "request_id", resolvers.RequestID(r.Context()), "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration_ms", time.Since(start).Milliseconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (websockets, flushes).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// checkHost refuses Host headers outside the allowlist (loopback names are
// always allowed), so a DNS-rebound page cannot reach a localhost server.
func checkHost(log *slog.Logger, allowed []string, next http.Handler) http.Handler {
	if len(allowed) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(strings.ToLower(host), "[]")
		if host == "localhost" || host == "127.0.0.1" || host == "::1" || slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, host) }) {
			next.ServeHTTP(w, r)
			return
		}
		log.Warn("host not allowed", "request_id", resolvers.RequestID(r.Context()), "host", host)
		http.Error(w, "host not allowed", http.StatusMisdirectedRequest)
	})
}
