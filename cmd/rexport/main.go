// Command rexport builds de-identified research datasets from course data
// and serves them to content partners: the server (serve), the local demo,
// offline builds, fixtures and source import, and admin subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rexport/rexport/export"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rexport:", userMessage(err))
		os.Exit(1)
	}
}

// userMessage shows a domain error's message and any other error in full:
// the command line is an operator's tool, but it still never prints keys.
func userMessage(err error) string {
	var e *export.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

type globalFlags struct {
	dataDir  string
	db       string
	logLevel string
	// logFormat is json (structured, the default) or text.
	logFormat string
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "rexport",
		Short:         "De-identified research datasets from online-course data",
		Long:          "rexport builds de-identified research datasets (Parquet) from course data for the content partners that teach the courses, and serves them over an HTTP API.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.dataDir, "data", envOr("REXPORT_DATA", "./rexport-data"), "data directory: metadata DB, export files, master key (env REXPORT_DATA)")
	root.PersistentFlags().StringVar(&g.db, "db", envOr("REXPORT_DB", ""), dbFlagUsage)
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", envOr("REXPORT_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env REXPORT_LOG_LEVEL)")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", envOr("REXPORT_LOG_FORMAT", "json"), "log format: json or text (env REXPORT_LOG_FORMAT)")
	root.AddCommand(
		newServeCmd(g),
		newDemoCmd(g),
		newBuildCmd(g),
		newFixturesCmd(),
		newSourceCmd(),
		newPartnerCmd(g),
		newTokenCmd(g),
		newKeysCmd(g),
		newAuditCmd(g),
		newScrubCmd(),
		newRequestCmd(),
		newReviewCmd(),
		newPullCmd(),
	)
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func (g *globalFlags) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if g.logFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
