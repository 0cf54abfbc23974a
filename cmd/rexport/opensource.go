package main

import (
	"fmt"
	"io"
	"os"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/parquetdir"
	srcsqlite "github.com/rexport/rexport/source/sqlite"
)

// sourceCloser is a source that holds files or connections open.
type sourceCloser interface {
	export.Source
	io.Closer
}

// openSource opens the source at path: a directory of <table>.parquet
// files (source/parquetdir), or else a SQLite source database.
func openSource(path string) (sourceCloser, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open source: %w", err)
	}
	if st.IsDir() {
		return parquetdir.Open(path)
	}
	return srcsqlite.Open(path)
}
