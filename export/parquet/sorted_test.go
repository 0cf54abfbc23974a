package parquet_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// TestSortedBy: a file written with Options.SortedBy declares it and
// reads it back, with string bounds per row group that hold its values;
// the writer rejects a row out of order and goes on.
func TestSortedBy(t *testing.T) {
	cols := []export.Column{
		{Name: "id", Type: export.TypeString},
		{Name: "n", Type: export.TypeInt64},
		{Name: "at", Type: export.TypeTimestamp, Nullable: true},
		{Name: "x", Type: export.TypeFloat64},
	}
	var buf bytes.Buffer
	w, err := parquet.NewWriter(&buf, cols, parquet.Options{MaxRowsPerRowGroup: 100, SortedBy: []string{"id", "n", "at"}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 350 {
		id := fmt.Sprintf("id-%04d", i/2) // pairs: n and at break the ties
		row := export.Row{id, int64(i % 2), nil, 1.5}
		if i%4 == 1 {
			row[2] = t0
		}
		if err := w.Write(row); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		ids = append(ids, id)
		if i == 201 { // the last row is (id-0100, 1, t0)
			for _, bad := range []export.Row{
				{"id-0099", int64(9), nil, 1.0}, // id goes back
				{id, int64(0), nil, 1.0},        // n goes back
				{id, int64(1), nil, 1.0},        // at goes back: nulls first
			} {
				if err := w.Write(bad); err == nil || !strings.Contains(err.Error(), "not sorted by [id n at]") {
					t.Fatalf("Write(%v) = %v, want an order error", bad, err)
				}
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := parquet.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.SortedBy(); !slices.Equal(got, []string{"id", "n", "at"}) {
		t.Errorf("SortedBy = %v", got)
	}
	if r.NumRows() != 350 {
		t.Fatalf("%d rows, want 350 (the rejected rows left out)", r.NumRows())
	}
	for g := range r.NumRowGroups() {
		lo, hi, ok := r.StringBounds(g, 0)
		first, last := ids[g*100], ids[min(g*100+99, len(ids)-1)]
		if !ok || string(lo) > first || string(hi) < last {
			t.Errorf("group %d: bounds %q..%q (ok %v), want around %s..%s", g, lo, hi, ok, first, last)
		}
		if _, _, ok := r.StringBounds(g, 1); ok {
			t.Errorf("group %d: bounds of an int64 column", g)
		}
	}
}

func TestSortedByRejects(t *testing.T) {
	cols := []export.Column{{Name: "id", Type: export.TypeString}, {Name: "x", Type: export.TypeFloat64}}
	for _, by := range [][]string{{"nope"}, {"x"}} {
		if _, err := parquet.NewWriter(&bytes.Buffer{}, cols, parquet.Options{SortedBy: by}); err == nil {
			t.Errorf("NewWriter sorted by %v: no error", by)
		}
	}
	// Undeclared: nothing read back.
	var buf bytes.Buffer
	w, err := parquet.NewWriter(&buf, cols, parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(export.Row{"b", 1.0}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(export.Row{"a", 1.0}); err != nil {
		t.Fatal(err) // no order declared, none checked
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := parquet.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.SortedBy(); got != nil {
		t.Errorf("SortedBy of an undeclared file = %v", got)
	}
}
