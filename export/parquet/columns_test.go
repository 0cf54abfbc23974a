package parquet_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// cursorCols cover the ways a page gives its values: plain strings with
// long runs of nulls, dictionary strings with nulls, nullable int64,
// booleans (parquet-go's value reader) and a required column.
var cursorCols = []export.Column{
	{Name: "unique", Type: export.TypeString, Nullable: true},
	{Name: "repeated", Type: export.TypeString, Nullable: true},
	{Name: "int", Type: export.TypeInt64, Nullable: true},
	{Name: "bool", Type: export.TypeBool, Nullable: true},
	{Name: "required", Type: export.TypeString},
}

func cursorRow(i int) export.Row {
	r := export.Row{
		fmt.Sprintf("%06d-%s", i, strings.Repeat("x", 20)),
		fmt.Sprintf("c%d", i%7),
		int64(i),
		i%2 == 0,
		fmt.Sprintf("%08d%s", i, strings.Repeat("y", 5)),
	}
	if i%5 == 2 || i > 3000 && i < 40000 {
		r[0] = nil
	}
	if i%3 == 1 {
		r[1], r[2], r[3] = nil, nil, nil
	}
	return r
}

// TestColumnCursorAcrossPages reads column chunks of several pages
// through a cursor, in windows of rows that start and end anywhere within
// and across pages, and compares every value with the rows written.
func TestColumnCursorAcrossPages(t *testing.T) {
	t.Parallel()
	rows := make([]export.Row, 100000)
	for i := range rows {
		rows[i] = cursorRow(i)
	}
	data := writeFile(t, cursorCols, rows, parquet.Options{MaxRowsPerRowGroup: 70000})
	r, err := parquet.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.NumRowGroups() != 2 {
		t.Fatalf("%d row groups, want 2", r.NumRowGroups())
	}
	base := 0
	for g := range r.NumRowGroups() {
		n := r.RowGroupRows(g)
		for _, step := range []int{1, 3, 997, 25000} {
			var sel []int32
			for i := 0; i < n; i += step {
				sel = append(sel, int32(i))
			}
			for _, win := range []int{1, 5, 1024} {
				for c := range cursorCols {
					cur, err := r.OpenColumn(g, c)
					if err != nil {
						t.Fatal(err)
					}
					for s := 0; s < len(sel); s += win {
						w := sel[s:min(s+win, len(sel))]
						err := cur.Values(w, func(k int, v any) error {
							if d := cmp.Diff(rows[base+int(w[k])][c], v); d != "" {
								return fmt.Errorf("row %d: %s", base+int(w[k]), d)
							}
							return nil
						})
						if err != nil {
							t.Fatalf("group %d column %s, every %d rows in windows of %d: %v", g, cursorCols[c].Name, step, win, err)
						}
					}
					if err := cur.Values([]int32{0}, func(int, any) error { return nil }); err == nil {
						t.Errorf("column %s: a row before the cursor was read", cursorCols[c].Name)
					}
					cur.Close()
				}
			}
		}
		base += n
	}
}

// withRowGroupRows rewrites the footer of a Parquet file so that every
// row group (and the file) claims rows rows.
func withRowGroupRows(t *testing.T, data []byte, rows int64) []byte {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	var md format.FileMetaData
	p := new(thrift.CompactProtocol)
	if err := thrift.Unmarshal(p, data[len(data)-8-n:len(data)-8], &md); err != nil {
		t.Fatal(err)
	}
	md.NumRows = 0
	for i := range md.RowGroups {
		md.RowGroups[i].NumRows = rows
		md.NumRows += rows
	}
	b, err := thrift.Marshal(p, &md)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), data[:len(data)-8-n]...)
	out = append(out, b...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
	return append(out, "PAR1"...)
}

// TestReaderRejectsFalseRowCounts checks that a footer claiming more (or
// fewer) rows than the pages hold is an error when the file is opened:
// the column-at-a-time API sizes its buffers by the claim.
func TestReaderRejectsFalseRowCounts(t *testing.T) {
	t.Parallel()
	rows := []export.Row{{"a", "b", int64(1), true, "c"}, {"d", nil, nil, nil, "e"}}
	data := writeFile(t, cursorCols, rows, parquet.Options{})
	if _, err := parquet.NewReader(bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("the file as written: %v", err)
	}
	for _, claim := range []int64{1, 3, 1 << 30, 1 << 47, -1} {
		bad := withRowGroupRows(t, data, claim)
		if _, err := parquet.NewReader(bytes.NewReader(bad), int64(len(bad))); err == nil {
			t.Errorf("a row group claiming %d rows of 2 was accepted", claim)
		}
	}
}
