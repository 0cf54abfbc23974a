package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rexport/rexport/fixtures"
)

func newServeCmd(g *globalFlags) *cobra.Command {
	var addr, source string
	var fixtureLearners, workers int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API and the build worker on the embedded default (SQLite)",
		Long: `Run the HTTP API and the export build worker.

The data directory (--data, env REXPORT_DATA) holds the metadata database
(rexport.db), the built exports (exports/) and the master key (master.key,
created with mode 0600 on first start; or set REXPORT_MASTER_KEY). The first
start prints a one-time admin token: keep it, it is not shown again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.logger()
			if source == "" {
				source = filepath.Join(g.dataDir, "source.db")
			}
			if fixtureLearners > 0 {
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
			a, err := openApp(ctx, appOptions{DataDir: g.dataDir, SourcePath: source, Workers: workers, Log: log})
			if err != nil {
				return err
			}
			defer a.Close()
			token, err := a.ensureAdmin(ctx)
			if err != nil {
				return err
			}
			if token != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "First start: admin token (shown once, keep it safe):\n  %s\n", token)
			}
			s, err := a.serve(ctx, addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rexport listening on %s (data %s, %d build workers)\n", s.URL, g.dataDir, workers)
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
	cmd.Flags().StringVar(&source, "source", "", "source database (default <data>/source.db)")
	cmd.Flags().IntVar(&fixtureLearners, "fixtures", 0, "if the source database does not exist, fill it with N generated learners")
	cmd.Flags().IntVar(&workers, "workers", 1, "concurrent builds (0: API only)")
	return cmd
}
