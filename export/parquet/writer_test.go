package parquet_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// TestWriterBatchesAndRejectedRows writes every column type, with runs of
// nulls across the writer's batches and row groups, and rows rejected at
// every column and at the edges of batches, and reads the file back with
// Reader and with arrow-go: a rejected row must leave no trace.
func TestWriterBatchesAndRejectedRows(t *testing.T) {
	t.Parallel()
	const n = 5000
	var rows []export.Row
	for i := range n {
		row := allTypesRow(i)
		// All nulls across the first batch boundary and at the end;
		// none at all across the second.
		allNull := (i >= 1000 && i < 1050) || i >= n-30
		noNull := i >= 2000 && i < 2100
		for c, col := range allTypes {
			switch {
			case col.Nullable && allNull:
				row[c] = nil
			case noNull && row[c] == nil:
				row[c] = allTypesRow(i + 1)[c] // has no nulls when row i has
			}
		}
		rows = append(rows, row)
	}
	// badRow returns a row that fails at column c, after the values of
	// the columns before it (strings among them) were converted.
	badRow := func(i, c int) export.Row {
		row := allTypesRow(i)
		switch allTypes[c].Type {
		case export.TypeString:
			row[c] = []byte("bytes")
		case export.TypeDate:
			row[c] = ts0 // has a time of day
		case export.TypeTimestamp:
			row[c] = time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)
		default:
			row[c] = "not a " + allTypes[c].Type.String()
		}
		return row
	}
	// Before these rows (counted in accepted rows) come rejected ones.
	rejectAt := []int{0, 1, 63, 64, 65, 1023, 1024, 1025, 1499, 1500, 2047, 2048, 3000, n - 1, n}
	for _, maxRows := range []int64{0, 1500, 100} {
		t.Run(fmt.Sprint("MaxRows", maxRows), func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w, err := parquet.NewWriter(&buf, allTypes, parquet.Options{MaxRowsPerRowGroup: maxRows})
			if err != nil {
				t.Fatal(err)
			}
			rejected := 0
			reject := func(row export.Row) {
				t.Helper()
				if err := w.Write(row); err == nil {
					t.Fatalf("Write(%v) succeeded, want an error", row)
				}
				rejected++
			}
			for i := 0; i <= n; i++ {
				for k, at := range rejectAt {
					if at != i {
						continue
					}
					reject(badRow(i, k%len(allTypes)))
					reject(badRow(i, len(allTypes)-1))
					reject(allTypesRow(i)[:len(allTypes)-1])
					if i%2 == 0 {
						reject(export.Row{"s", nil, int64(1), nil, math.Pi, nil, true, nil, day0, nil, ts0, "x"})
					}
				}
				if i < n {
					if err := w.Write(rows[i]); err != nil {
						t.Fatalf("Write(row %d): %v", i, err)
					}
				}
			}
			if got := w.Rows(); got != n {
				t.Errorf("Rows() = %d after %d rejected rows, want %d", got, rejected, n)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()

			_, got := readFile(t, data)
			if diff := cmp.Diff(rows, got); diff != "" {
				t.Errorf("Reader: rows mismatch (-want +got):\n%s", diff)
			}

			perGroup := maxRows
			if perGroup == 0 {
				perGroup = parquet.DefaultMaxRowsPerRowGroup
			}
			meta := arrowMetadata(t, data)
			if got, want := int64(meta.NumRowGroups()), (n+perGroup-1)/perGroup; got != want {
				t.Errorf("row groups = %d, want %d", got, want)
			}
			for g := range meta.NumRowGroups() {
				if got, want := meta.RowGroup(g).NumRows(), min(perGroup, n-int64(g)*perGroup); got != want {
					t.Errorf("row group %d has %d rows, want %d", g, got, want)
				}
			}
			tbl := readArrowTable(t, data)
			arrowRows := make([]export.Row, tbl.NumRows())
			for i := range arrowRows {
				arrowRows[i] = make(export.Row, len(allTypes))
			}
			for c := range allTypes {
				row := 0
				for _, chunk := range tbl.Column(c).Data().Chunks() {
					for i := range chunk.Len() {
						arrowRows[row][c] = arrowValue(t, chunk, i)
						row++
					}
				}
			}
			if diff := cmp.Diff(rows, arrowRows); diff != "" {
				t.Errorf("arrow: rows mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
