// Package sqlite is the source database on SQLite (modernc.org/sqlite): the
// schema derived from export.SourceTables, a bulk loader that commits all or
// nothing, and an export.Source that streams rows with the filters of a
// request pushed down into SQL.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// dsnParams are the connection settings of every connection: WAL so readers
// never block the loader, a busy timeout instead of immediate SQLITE_BUSY,
// enforced foreign keys, a 64 MiB page cache (bulk loads into tables with
// random-key indexes are I/O bound with the 2 MiB default), and write
// transactions that take the write lock at BEGIN so two writers cannot
// deadlock on lock upgrade.
const dsnParams = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=cache_size(-65536)&_txlock=immediate"

// DB is a source database in one SQLite file. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	path string
}

// Open opens the existing source database at path. It returns an error if
// the file does not exist; use Create for a new one.
func Open(path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open source db: %w", err)
	}
	return open(path)
}

// Create creates a new source database at path with the source schema. It
// returns an error if the file already exists.
func Create(ctx context.Context, path string) (*DB, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create source db: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create source db: %w", err)
	}
	db, err := open(path)
	if err == nil {
		err = db.Migrate(ctx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		RemoveFiles(path)
		return nil, err
	}
	return db, nil
}

func open(path string) (*DB, error) {
	sdb, err := sql.Open("sqlite", path+"?"+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("open source db: %w", err)
	}
	if err := sdb.Ping(); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open source db: %w", err)
	}
	return &DB{db: sdb, path: path}, nil
}

// RemoveFiles removes a database file and its WAL and shared-memory files,
// ignoring files that do not exist.
func RemoveFiles(path string) error {
	var errs []error
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Migrate creates the tables and indexes of the source schema that do not
// exist yet, in one transaction.
func (db *DB) Migrate(ctx context.Context) (err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate source db: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	for _, stmt := range Schema() {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate source db: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate source db: %w", err)
	}
	return nil
}

// Path returns the file the database is in.
func (db *DB) Path() string { return db.path }

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }
