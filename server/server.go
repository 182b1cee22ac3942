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
	"strings"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/resolvers"
	"github.com/pedigree-ml/pedigree/web"
)

// Options configure the HTTP surface.
type Options struct {
	// AllowedHosts are accepted Host headers besides loopback names; empty
	// accepts any Host. Set when bound to loopback to stop DNS rebinding.
	AllowedHosts []string
	// AllowedOrigins may call the API from a browser (CORS, websockets).
	AllowedOrigins []string
	Logger         *slog.Logger
}

// New returns the handler serving every route.
func New(svc *lineage.Service, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle("/graphql", resolvers.NewHandler(svc, resolvers.Options{AllowedOrigins: opts.AllowedOrigins, Logger: opts.Logger}))
	ui := web.Handler()
	mux.Handle("/graphiql", ui)
	mux.Handle("/graphiql/", ui)
	mux.Handle("/assets/", ui)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := svc.Store().Ping(ctx); err != nil {
			opts.Logger.Warn("not ready", "err", err)
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/graphiql", http.StatusFound)
	})
	return withRequest(opts.Logger, checkHost(opts.Logger, opts.AllowedHosts, mux))
}

// withRequest gives each request an id, recovers panics, sets the headers
// every response carries and logs one line when it ends — except for
// /graphql, whose handler logs a richer line (operation, error codes) itself.
func withRequest(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		ctx := resolvers.WithRequestID(r.Context(), id)
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				log.Error("panic", "request_id", id, "panic", p)
				http.Error(rec, "internal error (request id "+id+")", http.StatusInternalServerError)
			}
			if r.URL.Path == "/graphql" && rec.status != http.StatusInternalServerError {
				return
			}
			// The path only: query strings may carry secrets.
			log.Info("request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
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
		if host == "localhost" || host == "127.0.0.1" || host == "::1" || containsFold(allowed, host) {
			next.ServeHTTP(w, r)
			return
		}
		log.Warn("host not allowed", "request_id", resolvers.RequestID(r.Context()), "host", host)
		http.Error(w, "host not allowed", http.StatusMisdirectedRequest)
	})
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
