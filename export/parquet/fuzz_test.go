package parquet_test

import (
	"bytes"
	"testing"

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
		_ = r.Columns()
		for range 10_000 {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}
