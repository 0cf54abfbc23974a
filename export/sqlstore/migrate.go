package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"time"
)

// Migrate applies the migrations of fsys (migrations/*.sql, in name order)
// that db has not applied yet, each in its own transaction with its record
// in schema_migrations. A migration file may hold several statements. It
// does not keep two processes from migrating at once: a backend whose
// database several processes share serialises the calls.
func Migrate[TTx any](ctx context.Context, db DB[TTx], fsys fs.FS) error {
	if err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	names, err := migrationNames(fsys)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := db.InTx(ctx, func(tx Tx[TTx]) error { return applyMigration(ctx, tx, fsys, name) }); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func migrationNames(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	sort.Strings(names)
	return names, err
}

func applyMigration(ctx context.Context, tx Querier, fsys fs.FS, name string) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	// Without arguments, the statement is the whole file: the drivers run
	// every statement of it (triggers and functions hold ";").
	if err := tx.Exec(ctx, string(body)); err != nil {
		return err
	}
	now := formatTime(time.Now())
	if name == "migrations/0001_init.sql" {
		if err := tx.Exec(ctx, `INSERT INTO key_versions (version, created_at) VALUES (1, ?)`, now); err != nil {
			return err
		}
	}
	return tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, now)
}
