// Package importer loads a directory of table files (<table>.csv or
// <table>.parquet) into a source database, SQLite or PostgreSQL, all or
// nothing.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/files"
	"github.com/rexport/rexport/source/internal/sqlsource"
	"github.com/rexport/rexport/source/postgres"
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

// IsPostgresURL reports whether target names a PostgreSQL database
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// Import loads every table file in dir into the source database target, in
// one transaction. target is a PostgreSQL URL (see IsPostgresURL) of an
// existing database, or else the path of a SQLite file, created if it does
// not exist. The source schema is created where it is missing.
//
// Any bad input (unknown file or column, value of the wrong type, missing
// required value, duplicate key, unknown learner or course, malformed CSV)
// refuses the whole import with an error that names the file, line or row
// and column: no row is stored, and a SQLite file the import created is
// removed. (A PostgreSQL database keeps the empty tables of a schema the
// import created, as an existing SQLite file does.)
func Import(ctx context.Context, dir, target string, opts Options) (Result, error) {
	fs, err := files.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	imp := &importer{ctx: ctx, files: fs, every: opts.ProgressEvery, progress: opts.Progress, result: Result{}}
	if imp.every <= 0 {
		imp.every = 100_000
	}
	if imp.progress == nil {
		imp.progress = io.Discard
	}
	if IsPostgresURL(target) {
		err = imp.intoPostgres(target)
	} else {
		err = imp.intoSQLite(target)
	}
	if err != nil {
		return nil, fmt.Errorf("import refused, nothing imported: %w", err)
	}
	return imp.result, nil
}

// importer is one import of files.
type importer struct {
	ctx      context.Context
	files    []files.File
	every    int64
	progress io.Writer
	result   Result
}

func (imp *importer) intoSQLite(path string) error {
	var db *sqlite.DB
	var err error
	created := false
	if _, statErr := os.Stat(path); errors.Is(statErr, os.ErrNotExist) {
		db, err = sqlite.Create(imp.ctx, path)
		created = true
	} else if db, err = sqlite.Open(path); err == nil {
		err = db.Migrate(imp.ctx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		return err
	}
	err = imp.locate(db.Load(imp.ctx, func(ins *sqlite.Inserter) error {
		return imp.insertFiles(ins.Insert)
	}))
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil && created {
		sqlite.RemoveFiles(path)
	}
	return err
}

func (imp *importer) intoPostgres(url string) error {
	db, err := postgres.Open(imp.ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(imp.ctx); err != nil {
		return err
	}
	return imp.locate(db.Load(imp.ctx, func(ins *postgres.Inserter) error {
		return imp.insertFiles(ins.Insert)
	}))
}

// insertFiles inserts the rows of every file with insert. A row refused
// at once is reported at its place in the file; a refusal of an earlier
// row (a loader that writes in batches) is left to locate.
func (imp *importer) insertFiles(insert func(string, export.Row) error) error {
	for _, f := range imp.files {
		var n int64
		err := files.Read(imp.ctx, f, func(pos files.Pos, row export.Row) error {
			if err := insert(f.Table.Name, row); err != nil {
				var ie *sqlsource.InsertError
				if !errors.As(err, &ie) {
					return f.ErrorAt(pos, "", err)
				}
				if ie.Table == f.Table.Name && ie.Row == n+1 {
					return f.ErrorAt(pos, ie.Column, ie.Err)
				}
				return err
			}
			if n++; n%imp.every == 0 {
				fmt.Fprintf(imp.progress, "%s: %d rows\n", f.Name(), n)
			}
			return nil
		})
		if err != nil {
			return err
		}
		imp.result[f.Table.Name] = n
		fmt.Fprintf(imp.progress, "%s: %d rows loaded into %s\n", f.Name(), n, f.Table.Name)
	}
	return nil
}

// locate turns the refusal of a row that was not the row being inserted
// into an error at that row's place in its file, reading the file again
// to find it.
func (imp *importer) locate(err error) error {
	var ie *sqlsource.InsertError
	if !errors.As(err, &ie) || ie.Row <= 0 {
		return err
	}
	for _, f := range imp.files {
		if f.Table.Name != ie.Table {
			continue
		}
		var n int64
		var at *files.Error
		errFound := errors.New("found")
		rerr := files.Read(imp.ctx, f, func(pos files.Pos, _ export.Row) error {
			if n++; n == ie.Row {
				at = f.ErrorAt(pos, ie.Column, ie.Err)
				return errFound
			}
			return nil
		})
		if at != nil {
			return at
		}
		if rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}
