package main

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/deidentify"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/internal/arrowtest"
	"github.com/rexport/rexport/internal/pgtest"
)

// TestSameExportOnSQLiteAndPostgres builds the same request from the same
// fixtures twice, under one master key: once on the embedded default
// (SQLite metadata and source) and once at scale (PostgreSQL metadata and
// source), and reads every Parquet file of both with arrow-go. Every table
// must have the same columns and the same rows, in the same order.
func TestSameExportOnSQLiteAndPostgres(t *testing.T) {
	metaPG, srcPG := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	ctx := context.Background()
	cfg := fixtures.Config{Learners: 300, Seed: 5}
	srcSQLite := filepath.Join(t.TempDir(), "source.db")
	if err := writeFixturesDB(ctx, cfg, srcSQLite, nil); err != nil {
		t.Fatal(err)
	}
	if err := writeFixturesPostgres(ctx, cfg, srcPG, nil); err != nil {
		t.Fatal(err)
	}
	key, err := deidentify.GenerateMasterKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	build := func(o appOptions) map[string][][]string {
		t.Helper()
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "data", "master.key"), []byte(key.Encode()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env, err := startService(ctx, dir, srcSQLite, o)
		t.Cleanup(env.stop)
		if err != nil {
			t.Fatal(err)
		}
		b := buildExport(t, env, env.partners[0], allAPITables(), true)
		out := map[string][][]string{}
		for name, tbl := range b.tables {
			// A header of column names, then the rows.
			var header []string
			for _, f := range tbl.Schema().Fields() {
				header = append(header, f.Name)
			}
			out[name] = append([][]string{header}, arrowtest.Rows(tbl)...)
		}
		return out
	}
	onSQLite := build(appOptions{})
	onPostgres := build(appOptions{DB: metaPG, SourcePath: srcPG})
	if len(onSQLite) != len(allAPITables()) {
		t.Fatalf("the export has %d tables, want %d", len(onSQLite), len(allAPITables()))
	}
	for name, rows := range onSQLite {
		if len(rows) < 2 {
			t.Errorf("%s: %d rows with the header: nothing to compare", name, len(rows))
		}
		if diff := cmp.Diff(rows, onPostgres[name]); diff != "" {
			t.Errorf("%s differs between SQLite and PostgreSQL (-sqlite +postgres):\n%s", name, diff)
		}
	}
}
