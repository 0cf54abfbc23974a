package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/source/files"
	"github.com/rexport/rexport/source/importer"
	srcpostgres "github.com/rexport/rexport/source/postgres"
	srcsqlite "github.com/rexport/rexport/source/sqlite"
)

func newFixturesCmd() *cobra.Command {
	var (
		cfg    fixtures.Config
		start  string
		out    string
		format string
		force  bool
	)
	cmd := &cobra.Command{
		Use:   "fixtures --out source.db | --format csv|parquet --out DIR",
		Short: "Generate a synthetic source (with planted personal data and edge cases)",
		Long: `fixtures generates synthetic course data, the same for the same seed: partners,
courses, learners, enrollments, quiz answers, grades, forum posts and survey
answers, with personal data planted in free text and learners the export must
exclude (opted out, deleted, under 13). It writes a new SQLite source database,
or loads a PostgreSQL one (--out postgres://..., an existing database; the
schema is created), or with --format csv|parquet writes one <table>.<format>
file per table into DIR.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out is required")
			}
			if start != "" {
				t, err := time.Parse(export.DateLayout, start)
				if err != nil {
					return fmt.Errorf("--start: want YYYY-MM-DD: %w", err)
				}
				cfg.Start = t
			}
			bar := newRowsBar(cmd.ErrOrStderr(), "generating")
			counts := map[string]int64{}
			count := func(table string) {
				counts[table]++
				bar.Add(1)
			}
			var err error
			if format == "sqlite" {
				err = writeFixturesSQLite(cmd, cfg, out, force, count)
			} else {
				var f files.Format
				if f, err = files.ParseFormat(format); err == nil {
					err = writeFixturesFiles(cfg, out, f, force, count)
				}
			}
			bar.Finish()
			fmt.Fprintln(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			for _, name := range export.TableNames() {
				fmt.Fprintf(cmd.OutOrStdout(), "%-20s %9d rows\n", name, counts[name])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", redactURL(out))
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Learners, "learners", fixtures.DefaultLearners, "number of learner accounts")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", 1, "seed: the same seed gives the same data")
	cmd.Flags().StringVar(&start, "start", fixtures.DefaultStart.Format(export.DateLayout), "first day of course activity (YYYY-MM-DD)")
	cmd.Flags().IntVar(&cfg.Days, "days", fixtures.DefaultDays, "length of the activity period in days")
	cmd.Flags().StringVar(&out, "out", "", "SQLite file to create, postgres:// URL to load, or directory for --format csv|parquet")
	cmd.Flags().StringVar(&format, "format", "sqlite", "output: sqlite, csv or parquet")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing output")
	return cmd
}

// newRowsBar is a progress counter of rows on w (the total is not known in
// advance).
func newRowsBar(w io.Writer, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionThrottle(200*time.Millisecond),
		// No ticker: the library's ticker goroutine reads the bar's state
		// without its lock (a data race the race detector reports); the
		// spinner turns as rows are added instead.
		progressbar.OptionSetSpinnerChangeInterval(0),
	)
}

// writeFixturesSQLite writes a new source database, replacing an existing
// one only with force; on error nothing is left at path.
func writeFixturesSQLite(cmd *cobra.Command, cfg fixtures.Config, path string, force bool, count func(string)) error {
	if importer.IsPostgresURL(path) {
		return writeFixturesPostgres(cmd.Context(), cfg, path, count)
	}
	if _, err := os.Stat(path); err == nil {
		if !force {
			return fmt.Errorf("%s exists; use --force to replace it", path)
		}
		if err := srcsqlite.RemoveFiles(path); err != nil {
			return err
		}
	}
	return writeFixturesDB(cmd.Context(), cfg, path, count)
}

// writeFixturesDB writes generated data into a new SQLite source database
// at path (which must not exist), calling count, if not nil, per row. On
// error the half-written database is removed.
func writeFixturesDB(ctx context.Context, cfg fixtures.Config, path string, count func(string)) (err error) {
	db, err := srcsqlite.Create(ctx, path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			srcsqlite.RemoveFiles(path)
		}
	}()
	return db.Load(ctx, func(ins *srcsqlite.Inserter) error {
		return generateInto(ctx, cfg, ins.Insert, count)
	})
}

// writeFixturesPostgres loads generated data into the PostgreSQL source
// database at url (created beforehand, e.g. with createdb), creating the
// source schema, in one transaction: all or nothing.
func writeFixturesPostgres(ctx context.Context, cfg fixtures.Config, url string, count func(string)) error {
	db, err := srcpostgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	return db.Load(ctx, func(ins *srcpostgres.Inserter) error {
		return generateInto(ctx, cfg, ins.Insert, count)
	})
}

// generateInto generates the fixtures into insert, calling count, if not
// nil, per row.
func generateInto(ctx context.Context, cfg fixtures.Config, insert func(string, export.Row) error, count func(string)) error {
	return fixtures.Generate(cfg, func(table string, row export.Row) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if count != nil {
			count(table)
		}
		return insert(table, row)
	})
}

// writeFixturesFiles writes one <table>.<format> file per table into dir;
// on error the files written are removed.
func writeFixturesFiles(cfg fixtures.Config, dir string, format files.Format, force bool, count func(string)) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var paths []string
	for _, name := range export.TableNames() {
		for _, f := range []files.Format{files.CSV, files.Parquet} {
			p := filepath.Join(dir, name+"."+string(f))
			if _, err := os.Stat(p); err == nil {
				if !force {
					return fmt.Errorf("%s exists; use --force to replace the table files in %s", p, dir)
				}
				if err := os.Remove(p); err != nil {
					return err
				}
			}
		}
		paths = append(paths, filepath.Join(dir, name+"."+string(format)))
	}
	var (
		w       files.TableWriter
		current string
	)
	defer func() {
		if w != nil {
			err = errors.Join(err, w.Close())
		}
		if err != nil {
			for _, p := range paths {
				os.Remove(p)
			}
		}
	}()
	return fixtures.Generate(cfg, func(table string, row export.Row) error {
		if table != current {
			if w != nil {
				if err := w.Close(); err != nil {
					w = nil
					return err
				}
				w = nil
			}
			t, _ := export.SourceTable(table)
			var err error
			if w, err = files.Create(dir, t, format); err != nil {
				return err
			}
			current = table
		}
		count(table)
		return w.Write(row)
	})
}
