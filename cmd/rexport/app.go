package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/console"
	"github.com/rexport/rexport/deidentify"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/blobstore"
	"github.com/rexport/rexport/export/parquet"
	"github.com/rexport/rexport/export/riverqueue"
	"github.com/rexport/rexport/metrics"
	"github.com/rexport/rexport/source/importer"
)

// app is the wired service on the embedded default: metadata DB, source
// DB, master key, job queue, build runner and HTTP handler.
type app struct {
	dataDir string
	log     *slog.Logger
	meta    metaStore
	source  sourceCloser
	master  deidentify.MasterKey
	queue   jobQueue
	files   *blobstore.Store
	runner  *export.Runner
	svc     *export.Service
	opts    appOptions
	metrics *metrics.Metrics
	sample  *sampleSet
	// stopWatch stops the worker's watch for interrupted builds.
	stopWatch context.CancelFunc
}

type appOptions struct {
	DataDir string
	// DB is the metadata database: a postgres:// URL or a SQLite file; ""
	// = <data>/rexport.db.
	DB         string
	SourcePath string // SQLite file or directory of <table>.parquet; "" = <data>/source.db
	// Files is the URL of the files store (a directory, file:// or
	// s3://); "" = the directory <data>/exports.
	Files string
	// Workers is the number of concurrent builds; 0 serves the API only.
	Workers      int
	PollInterval time.Duration
	// OpsOnly serves only /healthz, /readyz and /metrics (a worker).
	OpsOnly bool
	// BuildTimeout, LeaseTTL: see serve's --build-timeout, --build-lease
	// (0: the defaults).
	BuildTimeout time.Duration
	LeaseTTL     time.Duration
	Log          *slog.Logger
	// Limits (zero values: the defaults).
	RateLimit           api.RateLimit
	MaxBuildsPerPartner int
	DailyRequests       int
	TrustedProxies      []*net.IPNet
	// SecureCookies marks console cookies Secure (behind HTTPS).
	SecureCookies bool
	// ResponseCheck, if set, is told of every API response that breaks the
	// OpenAPI contract (tests).
	ResponseCheck func(r *http.Request, status int, err error)
}

// linkKeyID names the key that signs download links; a new id (and so a
// new derived key) invalidates every link issued under the old one.
const linkKeyID = "l1"

// localAdmin is the principal id recorded for actions taken on the
// command line by whoever holds the data directory.
var localAdmin = export.Principal{ID: "local-admin", Name: "local administrator", Role: export.RoleAdmin}

func openApp(ctx context.Context, o appOptions) (_ *app, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, err
	}
	a := &app{dataDir: o.DataDir, log: o.Log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	// Processes that share a PostgreSQL metadata database must share one
	// key: none is made up on a machine that has none.
	if a.master, err = loadOrCreateMasterKey(o.DataDir, !importer.IsPostgresURL(o.DB)); err != nil {
		return nil, err
	}
	if a.meta, err = openMeta(ctx, o.DataDir, o.DB); err != nil {
		return nil, err
	}
	srcPath := o.SourcePath
	if srcPath == "" {
		srcPath = filepath.Join(o.DataDir, "source.db")
	}
	if _, err := os.Stat(srcPath); err != nil && !importer.IsPostgresURL(srcPath) {
		return nil, fmt.Errorf("no source database at %s: create one with `rexport fixtures --out %s`, `rexport source import`, or `rexport serve --fixtures N`", srcPath, srcPath)
	}
	if a.source, err = openSource(ctx, srcPath); err != nil {
		return nil, err
	}
	filesURL := o.Files
	if filesURL == "" {
		filesURL = filepath.Join(o.DataDir, "exports")
	}
	if a.files, err = blobstore.Open(ctx, filesURL); err != nil {
		return nil, err
	}
	a.runner = &export.Runner{
		Store: a.meta,
		Builder: &export.Builder{
			Source:  a.source,
			Master:  a.master,
			Encoder: parquetEncoder,
			FileExt: ".parquet",
			Log:     o.Log,
		},
		Files: a.files,
		// Builds write here, then upload to the files store.
		WorkDir: filepath.Join(o.DataDir, "work"),
		Log:     o.Log,
	}
	a.runner.MaxBuildsPerPartner = o.MaxBuildsPerPartner
	a.runner.LeaseTTL = o.LeaseTTL
	a.metrics = metrics.New(func() float64 {
		n, err := a.meta.QueueDepth(context.Background())
		if err != nil {
			return -1
		}
		return float64(n)
	})
	a.runner.Observer = a.metrics
	a.svc = &export.Service{Store: a.meta, Source: a.source, NewID: func() string { return export.NewID(export.ExportIDPrefix) },
		Links:         export.LinkSigner{KeyID: linkKeyID, Key: a.master.DeriveKey("download links " + linkKeyID)},
		DailyRequests: o.DailyRequests}
	a.opts = o
	a.sample = &sampleSet{dir: filepath.Join(o.DataDir, "sample")}
	a.queue, err = newQueue(ctx, a.meta, riverqueue.Config{
		Workers: o.Workers,
		Build:   a.runner.Run,
		// The hourly maintenance job: retention, then the runs of
		// recurring requests that are due.
		Sweep: func(ctx context.Context) error {
			n, err := a.runner.Sweep(ctx, time.Now())
			if n > 0 {
				o.Log.Info("retention: removed expired export files", "exports", n)
			}
			if err != nil {
				return err
			}
			runs, err := a.runner.Recur(ctx, time.Now(), a.svc.NewID)
			for _, e := range runs {
				o.Log.Info("recurring request: run filed", "series", e.SeriesID, "run", e.Run, "export", e.ID)
			}
			return err
		},
		Logger:       o.Log,
		PollInterval: o.PollInterval,
		BuildTimeout: o.BuildTimeout,
		// A build that finds its export held by a live build on another
		// worker looks again within half a lease.
		BusySnooze: min(riverqueue.BusySnooze, cmp.Or(o.LeaseTTL, export.DefaultLeaseTTL)/2),
	})
	if err != nil {
		return nil, err
	}
	a.runner.Jobs = a.queue
	return a, nil
}

func parquetEncoder(w io.Writer, cols []export.Column, meta map[string]string) (export.RowWriter, error) {
	return parquet.NewWriter(w, cols, parquet.Options{KeyValueMetadata: meta})
}

// handler is everything the server serves: the API, the review console
// under /console/ and the metrics at /metrics; on a worker (OpsOnly) only
// the health and readiness probes and the metrics.
func (a *app) handler() (http.Handler, error) {
	if a.opts.OpsOnly {
		return a.opsHandler(), nil
	}
	apiHandler, err := api.NewHandler(api.Config{
		Service:        a.svc,
		Store:          a.meta,
		Files:          a.runner,
		Erasures:       a.runner,
		Log:            a.log,
		RateLimit:      a.opts.RateLimit,
		TrustedProxies: a.opts.TrustedProxies,
		Metrics:        a.metrics,
		Ready:          a.ready,
		Sample:         a.sample.get,
	})
	if err != nil {
		return nil, err
	}
	if a.opts.ResponseCheck != nil {
		if apiHandler, err = api.CheckResponses(apiHandler, a.opts.ResponseCheck); err != nil {
			return nil, err
		}
	}
	consoleHandler, err := console.New(console.Config{Service: a.svc, Store: a.meta, Preview: a.runner, Log: a.log,
		SecureCookies: a.opts.SecureCookies})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", apiHandler)
	mux.Handle("/console/", consoleHandler)
	mux.Handle("GET /metrics", a.metrics.Handler())
	return mux, nil
}

// opsHandler serves a worker's probes and metrics, with the same bodies as
// the API's /healthz and /readyz.
func (a *app) opsHandler() http.Handler {
	status := func(w http.ResponseWriter, code int, s string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		fmt.Fprintf(w, "{\"status\":%q}\n", s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { status(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := a.ready(ctx); err != nil {
			a.log.Warn("not ready", "err", err) // the cause goes to the log only
			status(w, http.StatusServiceUnavailable, "unavailable")
			return
		}
		status(w, http.StatusOK, "ready")
	})
	mux.Handle("GET /metrics", a.metrics.Handler())
	return mux
}

// ready checks the metadata database and that the files store takes
// writes.
func (a *app) ready(ctx context.Context) error {
	if err := a.meta.Ready(ctx); err != nil {
		return err
	}
	if err := a.runner.CheckFiles(ctx); err != nil {
		return fmt.Errorf("files store: %w", err)
	}
	return nil
}

// ensureAdmin creates the first admin principal if there is none and
// returns its token (shown once); "" if an admin already exists.
func (a *app) ensureAdmin(ctx context.Context) (string, error) {
	n, err := a.meta.CountPrincipals(ctx, export.RoleAdmin)
	if err != nil || n > 0 {
		return "", err
	}
	_, token, err := a.svc.CreatePrincipal(ctx, localAdmin, "bootstrap admin", export.RoleAdmin, "", 0)
	return token, err
}

// server is a running HTTP server.
type server struct {
	URL  string
	srv  *http.Server
	done chan error
}

func (a *app) serve(ctx context.Context, addr string) (*server, error) {
	h, err := a.handler()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := a.queue.Start(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	if a.opts.Workers > 0 {
		// Requeue the builds of workers that died (stale leases).
		watch, stop := context.WithCancel(context.WithoutCancel(ctx))
		a.stopWatch = stop
		go a.runner.Watch(watch)
	}
	s := &server{
		URL:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		done: make(chan error, 1),
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// shutdown stops accepting requests, lets running ones and running builds
// finish (up to a deadline), and stops the queue.
func (a *app) shutdown(s *server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if a.stopWatch != nil {
		a.stopWatch()
	}
	if qerr := a.queue.Stop(ctx); qerr != nil && err == nil {
		err = qerr
	}
	return err
}

func (a *app) Close() {
	if a.files != nil {
		a.files.Close()
	}
	if a.source != nil {
		a.source.Close()
	}
	if a.meta != nil {
		a.meta.Close()
	}
}

const masterKeyEnv = "REXPORT_MASTER_KEY"

// loadOrCreateMasterKey reads the master key from REXPORT_MASTER_KEY or
// <data>/master.key, generating the file (mode 0600) on first start. A key
// file readable by others is refused: fail closed.
func loadOrCreateMasterKey(dataDir string, create bool) (deidentify.MasterKey, error) {
	if v := os.Getenv(masterKeyEnv); v != "" {
		k, err := deidentify.ParseMasterKey(v)
		if err != nil {
			return k, fmt.Errorf("%s: %w", masterKeyEnv, err)
		}
		return k, nil
	}
	path := filepath.Join(dataDir, "master.key")
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !create:
		return deidentify.MasterKey{}, fmt.Errorf("no master key: set %s (or put master.key in %s); every process on a shared database must use the same key, so none is generated", masterKeyEnv, dataDir)
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return deidentify.MasterKey{}, err
		}
		k, err := deidentify.GenerateMasterKey(rand.Reader)
		if err != nil {
			return k, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return k, err
		}
		if _, err := f.WriteString(k.Encode() + "\n"); err != nil {
			f.Close()
			return k, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return k, err
		}
		return k, f.Close()
	case err != nil:
		return deidentify.MasterKey{}, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return deidentify.MasterKey{}, fmt.Errorf("master key file %s has mode %#o: it must be readable by its owner only (chmod 600)", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return deidentify.MasterKey{}, err
	}
	k, err := deidentify.ParseMasterKey(strings.TrimSpace(string(b)))
	if err != nil {
		return k, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}
