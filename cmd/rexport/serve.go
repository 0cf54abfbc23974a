package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/riverqueue"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/source/importer"
)

func newServeCmd(g *globalFlags) *cobra.Command {
	var addr, source, files string
	var fixtureLearners, workers int
	var memLimit string
	var apiRole, workerRole bool
	var lim limitFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API, the build worker, or both (the default)",
		Long: `Run the HTTP API and the export build worker.

The data directory (--data, env REXPORT_DATA) holds the metadata database
(rexport.db), the built exports (exports/) and the master key (master.key,
created with mode 0600 on first start; or set REXPORT_MASTER_KEY). The first
start prints a one-time admin token: keep it, it is not shown again.

--files (env REXPORT_FILES) puts the built exports' files elsewhere: a
directory, or S3-compatible object storage that several servers share,
s3://bucket/prefix?endpoint=URL&region=R with the credentials in the
usual AWS environment variables. Builds write into <data>/work and upload
the files before the export is ready.

Roles: --api serves the HTTP API and review console and builds nothing;
--worker builds exports and serves only /healthz, /readyz and /metrics;
neither (or both) does both. Any number of API and worker processes, on any
machines, share one PostgreSQL metadata database (--db postgres://...), one
source (--source postgres://... or a Parquet directory) and one files store
(--files s3://...): River hands each build job to one worker. A worker that
dies mid-build stops renewing its build lease (--build-lease); once the
lease is stale another worker requeues the export under a new build
generation and rebuilds it from scratch (after 5 interruptions it fails
instead). All processes need the same master key (REXPORT_MASTER_KEY). See
"Running at scale" in the README.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.logger()
			if source == "" {
				source = filepath.Join(g.dataDir, "source.db")
			}
			if fixtureLearners > 0 && !importer.IsPostgresURL(source) {
				if err := os.MkdirAll(g.dataDir, 0o750); err != nil {
					return err
				}
				if _, err := os.Stat(source); errors.Is(err, fs.ErrNotExist) {
					fmt.Fprintf(cmd.ErrOrStderr(), "generating fixtures: %d learners into %s\n", fixtureLearners, source)
					if err := writeFixturesDB(ctx, fixtures.Config{Learners: fixtureLearners, Seed: 1}, source, nil); err != nil {
						return err
					}
				}
			}
			if !apiRole && !workerRole {
				apiRole, workerRole = true, workers > 0 // --workers 0: the API only
			}
			if workerRole && workers < 1 {
				return errors.New("--workers must be at least 1 on a worker (use --api for a process that builds nothing)")
			}
			if !workerRole {
				workers = 0
			}
			if limit, auto, err := applyMemoryLimit(memLimit, workers); err != nil {
				return err
			} else if auto {
				wctx, stopWatch := context.WithCancel(ctx)
				defer stopWatch()
				go watchMemoryLimit(wctx, limit)
			}
			lim.opts.DataDir, lim.opts.SourcePath, lim.opts.Workers, lim.opts.Log = g.dataDir, source, workers, log
			lim.opts.Files, lim.opts.DB, lim.opts.OpsOnly = files, g.db, !apiRole
			if err := lim.parse(); err != nil {
				return err
			}
			a, err := openApp(ctx, lim.opts)
			if err != nil {
				return err
			}
			defer a.Close()
			if apiRole {
				token, err := a.ensureAdmin(ctx)
				if err != nil {
					return err
				}
				if token != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "First start: admin token (shown once, keep it safe):\n  %s\n", token)
				}
			}
			s, err := a.serve(ctx, addr)
			if err != nil {
				return err
			}
			role := map[[2]bool]string{{true, true}: "API and worker", {true, false}: "API", {false, true}: "worker"}[[2]bool{apiRole, workerRole}]
			// Scripts read the URL from this line: keep its start stable.
			fmt.Fprintf(cmd.OutOrStdout(), "rexport listening on %s (%s; data %s, %d build workers)\n", s.URL, role, g.dataDir, workers)
			select {
			case <-ctx.Done():
				fmt.Fprintln(cmd.ErrOrStderr(), "shutting down")
			case err := <-s.done:
				if err != nil {
					return err
				}
			}
			return a.shutdown(s)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", envOr("REXPORT_ADDR", "127.0.0.1:8080"), "listen address (env REXPORT_ADDR)")
	cmd.Flags().StringVar(&source, "source", "", "source: SQLite database (default <data>/source.db), postgres:// URL, or directory of <table>.parquet files")
	cmd.Flags().IntVar(&fixtureLearners, "fixtures", 0, "if the source database does not exist, fill it with N generated learners")
	cmd.Flags().IntVar(&workers, "workers", 1, "builds this process runs at once (0: API only, like --api)")
	cmd.Flags().StringVar(&memLimit, "memory-limit", "auto", memoryLimitUsage)
	cmd.Flags().BoolVar(&apiRole, "api", false, "serve the HTTP API and review console (with --worker too: both, the default)")
	cmd.Flags().BoolVar(&workerRole, "worker", false, "build exports; serve only /healthz, /readyz and /metrics (with --api too: both, the default)")
	cmd.Flags().DurationVar(&lim.opts.BuildTimeout, "build-timeout", riverqueue.DefaultBuildTimeout, "how long a build may run before it is cancelled and tried again")
	cmd.Flags().DurationVar(&lim.opts.LeaseTTL, "build-lease", export.DefaultLeaseTTL, "how long a build's lease lasts without renewal before another worker may take its export over (renewed 4 times per period; keep it well above the workers' clock skew)")
	cmd.Flags().StringVar(&files, "files", envOr("REXPORT_FILES", ""), filesFlagUsage)
	lim.flags(cmd)
	return cmd
}

// filesFlagUsage describes --files, the files store's URL.
const filesFlagUsage = "files store of the built exports: a directory, file:///dir, or s3://bucket/prefix?endpoint=URL&region=R (credentials from the AWS environment variables) (env REXPORT_FILES; default <data>/exports)"

// limitFlags are serve's abuse limits and proxy trust.
type limitFlags struct {
	opts    appOptions
	proxies []string
}

func (l *limitFlags) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Float64Var(&l.opts.RateLimit.PerSecond, "rate", api.DefaultRateLimit.PerSecond, "requests per second each token (or client address, without one) may make")
	f.IntVar(&l.opts.RateLimit.Burst, "burst", api.DefaultRateLimit.Burst, "requests a token may make at once before --rate applies")
	f.IntVar(&l.opts.MaxBuildsPerPartner, "max-builds-per-partner", 2, "builds one partner may have running at once (0: no cap)")
	f.IntVar(&l.opts.DailyRequests, "daily-requests", export.DefaultDailyRequests, "requests one partner may file in 24 hours")
	f.BoolVar(&l.opts.SecureCookies, "secure-cookies", false, "mark the review console's cookies Secure (set it when served over HTTPS)")
	f.StringSliceVar(&l.proxies, "trusted-proxies", nil, "CIDR ranges of reverse proxies whose X-Forwarded-For names the client (default: none; the connection's address is the client's)")
}

func (l *limitFlags) parse() error {
	for _, c := range l.proxies {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			return fmt.Errorf("--trusted-proxies: %q is not a CIDR range", c)
		}
		l.opts.TrustedProxies = append(l.opts.TrustedProxies, n)
	}
	if l.opts.RateLimit.PerSecond <= 0 || l.opts.RateLimit.Burst < 1 {
		return fmt.Errorf("--rate and --burst must be positive")
	}
	return nil
}
