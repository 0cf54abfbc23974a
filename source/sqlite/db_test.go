package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/internal/sourcetest"
)

// newDB returns a new, empty source database.
func newDB(t *testing.T) *DB {
	t.Helper()
	db, err := Create(context.Background(), filepath.Join(t.TempDir(), "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSource(t *testing.T) {
	t.Parallel()
	sourcetest.Run(t, func(t *testing.T) sourcetest.DB {
		db := newDB(t)
		return sourcetest.DB{Source: db, Load: sourcetest.Loader(db.Load)}
	})
}

func TestSchemaMatchesSourceTables(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	for _, tab := range export.SourceTables {
		rows, err := db.db.Query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid", tab.Name)
		if err != nil {
			t.Fatal(err)
		}
		type col struct {
			Name    string
			Type    string
			NotNull bool
			PK      int
		}
		var got, want []col
		for rows.Next() {
			var c col
			if err := rows.Scan(&c.Name, &c.Type, &c.NotNull, &c.PK); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		rows.Close()
		for _, c := range tab.Columns {
			pk := 0
			for i, k := range tab.Key {
				if k == c.Name {
					pk = i + 1
				}
			}
			typ := map[export.ColumnType]string{
				export.TypeString: "TEXT", export.TypeInt64: "INTEGER", export.TypeFloat64: "REAL",
				export.TypeBool: "INTEGER", export.TypeDate: "TEXT", export.TypeTimestamp: "TEXT",
			}[c.Type]
			want = append(want, col{c.Name, typ, !c.Nullable, pk})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("table %s mismatch (-want +got):\n%s", tab.Name, diff)
		}
	}
	// No tables beyond the schema.
	var n int
	if err := db.db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(export.SourceTables) {
		t.Errorf("got %d tables, want %d", n, len(export.SourceTables))
	}
	// Migrate is idempotent.
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
	path := filepath.Join(dir, "s.db")
	db, err := Create(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Create(context.Background(), path); err == nil {
		t.Error("Create over an existing file succeeded")
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestSchemaDocumented(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "source-schema.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, tab := range export.SourceTables {
		if !strings.Contains(doc, "### "+tab.Name+"\n") {
			t.Errorf("docs/source-schema.md has no section for table %s", tab.Name)
		}
		for _, c := range tab.Columns {
			if !strings.Contains(doc, "| `"+c.Name+"` | "+c.Type.String()+" |") {
				t.Errorf("docs/source-schema.md does not document %s.%s as %s", tab.Name, c.Name, c.Type)
			}
		}
	}
}
