// Package importer loads a directory of table files (<table>.csv or
// <table>.parquet) into a SQLite source database, all or nothing.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/files"
	"github.com/rexport/rexport/source/sqlite"
)

// Options configures an import.
type Options struct {
	// Progress, if not nil, receives a line per table loaded and a line
	// every ProgressEvery rows of a large table.
	Progress io.Writer
	// ProgressEvery is the number of rows between progress lines within a
	// table; zero means 100,000.
	ProgressEvery int64
}

// Result counts the rows loaded per table.
type Result map[string]int64

// Import loads every table file in dir into the source database at dbPath,
// in one transaction. The database is created if it does not exist. Any
// bad input (unknown file or column, value of the wrong type, missing
// required value, duplicate key, unknown learner or course, malformed CSV)
// refuses the whole import with an error that names the file, line or row
// and column: nothing is stored, and a database the import created is
// removed.
func Import(ctx context.Context, dir, dbPath string, opts Options) (Result, error) {
	fs, err := files.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	every := opts.ProgressEvery
	if every <= 0 {
		every = 100_000
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}

	var db *sqlite.DB
	created := false
	if _, statErr := os.Stat(dbPath); errors.Is(statErr, os.ErrNotExist) {
		db, err = sqlite.Create(ctx, dbPath)
		created = true
	} else if db, err = sqlite.Open(dbPath); err == nil {
		err = db.Migrate(ctx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, err
	}

	res := Result{}
	err = db.Load(ctx, func(ins *sqlite.Inserter) error {
		for _, f := range fs {
			var n int64
			err := files.Read(ctx, f, func(pos files.Pos, row export.Row) error {
				if err := ins.Insert(f.Table.Name, row); err != nil {
					var ie *sqlite.InsertError
					if errors.As(err, &ie) {
						return f.ErrorAt(pos, ie.Column, ie.Err)
					}
					return f.ErrorAt(pos, "", err)
				}
				if n++; n%every == 0 {
					fmt.Fprintf(progress, "%s: %d rows\n", f.Name(), n)
				}
				return nil
			})
			if err != nil {
				return err
			}
			res[f.Table.Name] = n
			fmt.Fprintf(progress, "%s: %d rows loaded into %s\n", f.Name(), n, f.Table.Name)
		}
		return nil
	})
	closeErr := db.Close()
	if err == nil {
		err = closeErr
	}
	if err != nil {
		if created {
			sqlite.RemoveFiles(dbPath)
		}
		return nil, fmt.Errorf("import refused, nothing imported: %w", err)
	}
	return res, nil
}
