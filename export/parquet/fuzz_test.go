package parquet_test

import (
	"bytes"
	"testing"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// FuzzReader checks that Reader returns errors, not panics, on any input.
// Seeds are under testdata/fuzz/FuzzReader.
func FuzzReader(f *testing.F) {
	f.Add(writeFile(f, allTypes[:4], nil, parquet.Options{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parquet.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		defer r.Close()
		cols := r.Columns()
		// The column-at-a-time API must fail as cleanly.
		for g := range min(r.NumRowGroups(), 4) {
			rows := make([]int32, min(r.RowGroupRows(g), 1000))
			for i := range rows {
				rows[i] = int32(i)
			}
			for c := range cols {
				_ = r.ReadValues(g, c, rows, func(int, any) error { return nil })
				if cols[c].Type == export.TypeString {
					_ = r.ReadBytes(g, c, func(int, []byte, int32, bool) {})
				}
			}
		}
		for range 10_000 {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}
