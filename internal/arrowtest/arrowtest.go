// Package arrowtest turns Arrow tables read back from Parquet files (by
// arrow-go, the tests' independent reader) into values tests can compare.
package arrowtest

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Read reads a Parquet file with arrow-go (pqarrow: only tests may link
// it) and releases the table when t ends.
func Read(t testing.TB, data []byte) arrow.Table {
	t.Helper()
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("arrow-go cannot open the Parquet file: %v", err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("arrow-go cannot read the Parquet file: %v", err)
	}
	t.Cleanup(tbl.Release)
	return tbl
}

// Null is how Rows spells a null value.
const Null = "<null>"

// Rows returns the table's rows in order, each value as text.
func Rows(tbl arrow.Table) [][]string {
	rows := make([][]string, tbl.NumRows())
	for c := range int(tbl.NumCols()) {
		r := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for i := range chunk.Len() {
				v := Null
				if !chunk.IsNull(i) {
					v = chunk.ValueStr(i)
				}
				rows[r] = append(rows[r], v)
				r++
			}
		}
	}
	return rows
}
