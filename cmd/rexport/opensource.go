package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/importer"
	"github.com/rexport/rexport/source/parquetdir"
	srcpostgres "github.com/rexport/rexport/source/postgres"
	srcsqlite "github.com/rexport/rexport/source/sqlite"
)

// sourceCloser is a source that holds files or connections open.
type sourceCloser interface {
	export.Source
	io.Closer
}

// openSource opens the source at path: a postgres:// URL (a warehouse
// replica, source/postgres), a directory of <table>.parquet files
// (source/parquetdir), or else a SQLite source database.
func openSource(ctx context.Context, path string) (sourceCloser, error) {
	if importer.IsPostgresURL(path) {
		return srcpostgres.Open(ctx, path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open source: %w", err)
	}
	if st.IsDir() {
		return parquetdir.Open(path)
	}
	return srcsqlite.Open(path)
}
