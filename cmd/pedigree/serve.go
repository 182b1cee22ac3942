package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"gocloud.dev/blob"
	"gocloud.dev/pubsub"

	"github.com/pedigree-ml/pedigree/artifact"
	"github.com/pedigree-ml/pedigree/demo"
	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/neo4j"
	"github.com/pedigree-ml/pedigree/lineage/sqlite"
	"github.com/pedigree-ml/pedigree/outbox"
	"github.com/pedigree-ml/pedigree/resolvers"
	"github.com/pedigree-ml/pedigree/server"
	"github.com/pedigree-ml/pedigree/webhook"
)

// Main is `pedigree serve`: configuration, the running store and server.
// End-to-end tests use it directly with Addr ":0" and a temp directory.
type Main struct {
	DataDir              string
	Addr                 string
	StoreURL             string
	Demo                 bool
	AllowedHosts         []string
	AllowedOrigins       []string
	AllowUnauthenticated bool
	LogLevel             string
	Neo4j                neo4j.Options // for a neo4j:// store; Timeout and Now keep their defaults
	Events               eventConfig
	BlobURL              string
	MaxUploadBytes       int64
	GCInterval           time.Duration
	GCGrace              time.Duration

	Logger    *slog.Logger
	Store     lineage.Store
	Service   *lineage.Service
	Webhooks  *webhook.Dispatcher
	Bucket    *blob.Bucket
	Artifacts *artifact.Store

	stopWorkers context.CancelFunc // stops the event workers
	workers     *sync.WaitGroup
	topic       *pubsub.Topic

	listener net.Listener
	server   *http.Server
	served   chan error
}

// NewMain returns a Main with defaults from PEDIGREE_* variables.
func NewMain() *Main {
	return &Main{
		DataDir:              env("PEDIGREE_DATA_DIR", "./pedigree-data"),
		Addr:                 env("PEDIGREE_ADDR", "127.0.0.1:8080"),
		StoreURL:             env("PEDIGREE_STORE", ""),
		Demo:                 envBool("PEDIGREE_DEMO"),
		AllowedHosts:         envList("PEDIGREE_ALLOWED_HOSTS"),
		AllowedOrigins:       envList("PEDIGREE_ALLOWED_ORIGINS"),
		AllowUnauthenticated: envBool("PEDIGREE_ALLOW_UNAUTHENTICATED"),
		LogLevel:             env("PEDIGREE_LOG_LEVEL", "info"),
		Neo4j:                neo4jOptions(),
		Events:               eventConfigFromEnv(),
		BlobURL:              env("PEDIGREE_BLOB_URL", ""),
		MaxUploadBytes:       envInt("PEDIGREE_MAX_UPLOAD_BYTES", 0),
		GCInterval:           envDuration("PEDIGREE_GC_INTERVAL", time.Hour),
		GCGrace:              envDuration("PEDIGREE_GC_GRACE", 24*time.Hour),
	}
}

// neo4jOptions returns the Neo4j credentials from PEDIGREE_NEO4J_*.
func neo4jOptions() neo4j.Options {
	return neo4j.Options{
		User:     env("PEDIGREE_NEO4J_USER", "neo4j"),
		Password: env("PEDIGREE_NEO4J_PASSWORD", ""),
		Database: env("PEDIGREE_NEO4J_DATABASE", ""),
	}
}

// bindNeo4jFlags declares the Neo4j credential flags, for every command
// that opens a store.
func bindNeo4jFlags(fs *pflag.FlagSet, o *neo4j.Options) {
	fs.StringVar(&o.User, "neo4j-user", o.User, "Neo4j user, for a neo4j:// store (PEDIGREE_NEO4J_USER)")
	fs.StringVar(&o.Password, "neo4j-password", o.Password, "Neo4j password (PEDIGREE_NEO4J_PASSWORD; prefer the variable: flags show in ps)")
	fs.Lookup("neo4j-password").DefValue = "" // --help must not print the password from the environment
	fs.StringVar(&o.Database, "neo4j-database", o.Database, "Neo4j database; default: the server's default (PEDIGREE_NEO4J_DATABASE)")
}

// BindFlags declares serve's flags on fs, defaulting to m's values.
func (m *Main) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&m.DataDir, "data-dir", m.DataDir, "directory for the embedded store and local blobs (PEDIGREE_DATA_DIR)")
	fs.StringVar(&m.Addr, "addr", m.Addr, "address to listen on (PEDIGREE_ADDR)")
	fs.StringVar(&m.StoreURL, "store", m.StoreURL, "store URL: sqlite:///path/to/file.db or neo4j://host:7687; default: pedigree.db in --data-dir (PEDIGREE_STORE)")
	fs.BoolVar(&m.Demo, "demo", m.Demo, "load the churn demo into an empty store (PEDIGREE_DEMO)")
	fs.StringSliceVar(&m.AllowedHosts, "allowed-hosts", m.AllowedHosts, "Host headers accepted besides loopback names when bound to loopback (PEDIGREE_ALLOWED_HOSTS)")
	fs.StringSliceVar(&m.AllowedOrigins, "allowed-origins", m.AllowedOrigins, "browser origins allowed to call the API (PEDIGREE_ALLOWED_ORIGINS)")
	fs.BoolVar(&m.AllowUnauthenticated, "allow-unauthenticated", m.AllowUnauthenticated, "serve on a non-loopback address without authentication (PEDIGREE_ALLOW_UNAUTHENTICATED)")
	fs.StringVar(&m.LogLevel, "log-level", m.LogLevel, "debug, info, warn or error (PEDIGREE_LOG_LEVEL)")
	bindNeo4jFlags(fs, &m.Neo4j)
	m.Events.bindFlags(fs)
	fs.StringVar(&m.BlobURL, "blob-url", m.BlobURL, "artifact bucket: file:///dir, mem://, s3://bucket?region=…, gs://bucket, azblob://container; default: artifacts/ in --data-dir (PEDIGREE_BLOB_URL)")
	fs.DurationVar(&m.GCInterval, "gc-interval", m.GCInterval, "how often unreferenced artifacts are collected; 0: never (PEDIGREE_GC_INTERVAL)")
	fs.DurationVar(&m.GCGrace, "gc-grace", m.GCGrace, "age below which an unreferenced artifact is kept, to give its upload time to be registered (PEDIGREE_GC_GRACE)")
	fs.Int64Var(&m.MaxUploadBytes, "max-upload-bytes", m.MaxUploadBytes, "largest artifact upload accepted; 0: no limit (PEDIGREE_MAX_UPLOAD_BYTES)")
}

// ParseFlags parses serve's command-line arguments into m.
func (m *Main) ParseFlags(args []string) error {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	m.BindFlags(fs)
	return fs.Parse(args)
}

// Run opens the store, loads the demo if asked, and starts serving. It
// returns once the server is listening.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Logger == nil {
		var level slog.Level
		if err := level.UnmarshalText([]byte(m.LogLevel)); err != nil {
			return fmt.Errorf("--log-level: %w", err)
		}
		m.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	loopback, err := isLoopback(m.Addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if !loopback && !m.AllowUnauthenticated {
		return errors.New("--addr: refusing to serve on a non-loopback address without authentication; pass --allow-unauthenticated (PEDIGREE_ALLOW_UNAUTHENTICATED=1) if a proxy in front authenticates")
	}
	defer func() {
		if err != nil {
			_ = m.Close()
		}
	}()
	if m.Store, err = openStore(ctx, m.storeURL(), m.Neo4j); err != nil {
		return err
	}
	m.Service = lineage.NewService(m.Store)
	if m.Demo {
		if err := demo.Load(ctx, m.Service); err != nil {
			return err
		}
	}
	workers, stop := context.WithCancel(context.Background())
	m.stopWorkers = stop
	if err := m.startEvents(workers); err != nil {
		return err
	}
	if m.MaxUploadBytes < 0 {
		return errors.New("--max-upload-bytes: must be a number of bytes, 0 for no limit")
	}
	if m.GCInterval < 0 || m.GCGrace < 0 {
		return errors.New("--gc-interval, --gc-grace: must be durations such as 1h (0 turns collection off)")
	}
	if m.Bucket, err = openBucket(ctx, m.BlobURL, m.DataDir); err != nil {
		return err
	}
	m.Artifacts = artifact.New(m.Bucket, artifact.Options{Logger: m.Logger, MaxUploadBytes: m.MaxUploadBytes})
	if m.GCInterval > 0 {
		m.goWorker(func() { outbox.Lead(workers, m.Store, "artifact-gc", leaseTTL, m.collectGarbage) })
	}
	opts := server.Options{AllowedOrigins: m.AllowedOrigins, Logger: m.Logger, Webhooks: m.Webhooks,
		Artifacts: m.Artifacts.Handler(artifact.HandlerOptions{RequestID: resolvers.RequestID}), ArtifactStore: m.Artifacts}
	if loopback {
		opts.AllowedHosts = append([]string{"localhost"}, m.AllowedHosts...)
	}
	// Listen first: Close waits for a server only once it serves.
	if m.listener, err = net.Listen("tcp", m.Addr); err != nil {
		return err
	}
	m.server = &http.Server{
		Handler:           server.New(m.Service, opts),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(m.listener) }()
	m.Logger.Info("listening", "url", m.URL(), "store", m.storeURL())
	return nil
}

// URL is the base URL the server answers on.
func (m *Main) URL() string { return "http://" + m.listener.Addr().String() }

// Close stops serving, letting requests in flight finish, and closes the store.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errs = append(errs, m.server.Shutdown(ctx))
		if err := <-m.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		m.server = nil
	}
	errs = append(errs, m.stopEvents())
	if m.Bucket != nil {
		errs = append(errs, m.Bucket.Close())
		m.Bucket = nil
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
		m.Store = nil
	}
	return errors.Join(errs...)
}

func (m *Main) storeURL() string { return storeURL(m.StoreURL, m.DataDir) }

// storeURL is the store a command opens: the URL given (--store or
// PEDIGREE_STORE), else the embedded store in dataDir.
func storeURL(rawURL, dataDir string) string {
	if rawURL != "" {
		return rawURL
	}
	return "sqlite://" + filepath.Join(dataDir, "pedigree.db")
}

// openStore is the one place a backend is chosen, by URL scheme.
func openStore(ctx context.Context, rawURL string, n4j neo4j.Options) (lineage.Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	switch u.Scheme {
	case "sqlite":
		path := sqlitePath(u)
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("--store: %w", err)
		}
		return sqlite.Open(ctx, path, sqlite.Options{})
	case "neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc":
		return neo4j.Open(ctx, rawURL, n4j)
	default:
		return nil, fmt.Errorf("--store: unsupported scheme %q (want sqlite:// or neo4j://)", u.Scheme)
	}
}

// sqlitePath is the file a sqlite:// URL names: sqlite://relative/file.db
// and sqlite:///abs/file.db.
func sqlitePath(u *url.URL) string { return u.Host + u.Path }

func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envBool(key string) bool {
	b, _ := strconv.ParseBool(os.Getenv(key))
	return b
}

// envInt reads an integer variable; an unparsable one gives -1, which the
// flag's user sees refused.
func envInt(key string, def int64) int64 {
	v, ok := os.LookupEnv(key)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func envList(key string) []string {
	if v := os.Getenv(key); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}
