package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/rexport/rexport/internal/pgtest"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		name, query string
		args        []any
		want        string
	}{
		{"Placeholders", `SELECT a FROM t WHERE b = ? AND (? OR c = ?)`, []any{1, true, "x"}, `SELECT a FROM t WHERE b = $1 AND ($2 OR c = $3)`},
		{"QuotedQuestionMarksStay", `SELECT '?', "a?b", 'it''s ?' FROM t WHERE id = ?`, []any{1}, `SELECT '?', "a?b", 'it''s ?' FROM t WHERE id = $1`},
		{"NoArgumentsLeftAsIs", `SELECT '{"a":1}'::jsonb ? 'a'; SELECT 1`, nil, `SELECT '{"a":1}'::jsonb ? 'a'; SELECT 1`},
		{"NoPlaceholders", `SELECT count(*) FROM t`, []any{}, `SELECT count(*) FROM t`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rebind(tt.query, tt.args); got != tt.want {
				t.Errorf("rebind(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

// TestStartTogether starts several processes against one new database at
// once, each migrating it and River's tables: they take turns, so every
// one starts and the schema is applied once.
func TestStartTogether(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	const processes = 4
	var wg sync.WaitGroup
	dbs := make([]*DB, processes)
	errs := make([]error, processes)
	for i := range processes {
		wg.Go(func() {
			db, err := Open(ctx, url)
			if err == nil {
				dbs[i] = db
				_, err = NewQueue(ctx, db, QueueConfig{})
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if dbs[i] != nil {
			defer dbs[i].Close()
		}
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	if t.Failed() {
		return
	}
	if err := dbs[0].Ready(ctx); err != nil {
		t.Error(err)
	}
	var versions, keys int
	if err := dbs[0].Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM key_versions), (SELECT count(*) FROM river_migration)`).Scan(&keys, &versions); err != nil {
		t.Fatal(err)
	}
	if keys != 1 || versions == 0 {
		t.Errorf("%d key versions (want 1), %d River migrations", keys, versions)
	}
}
