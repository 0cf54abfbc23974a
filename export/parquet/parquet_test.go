package parquet_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// allTypes has every column type, required and nullable.
var allTypes = []export.Column{
	{Name: "s", Type: export.TypeString},
	{Name: "s_null", Type: export.TypeString, Nullable: true},
	{Name: "i", Type: export.TypeInt64},
	{Name: "i_null", Type: export.TypeInt64, Nullable: true},
	{Name: "f", Type: export.TypeFloat64},
	{Name: "f_null", Type: export.TypeFloat64, Nullable: true},
	{Name: "b", Type: export.TypeBool},
	{Name: "b_null", Type: export.TypeBool, Nullable: true},
	{Name: "d", Type: export.TypeDate},
	{Name: "d_null", Type: export.TypeDate, Nullable: true},
	{Name: "ts", Type: export.TypeTimestamp},
	{Name: "ts_null", Type: export.TypeTimestamp, Nullable: true},
}

var (
	day0 = time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	ts0  = time.Date(2024, 2, 29, 13, 45, 6, 123456000, time.UTC)
)

// allTypesRow returns row i of a table of allTypes: values vary with i,
// and every third row has nulls in the nullable columns.
func allTypesRow(i int) export.Row {
	strs := []string{"", "plain", "ünïcödé 日本語 🎓", "line\nbreak", "\x00nul"}
	row := export.Row{
		strs[i%len(strs)], strs[(i+1)%len(strs)],
		int64(i) - 3, int64(i) * -1 << 40,
		float64(i) / 7, -float64(i) * 1e300,
		i%2 == 0, i%2 == 1,
		day0.AddDate(0, 0, i-2), time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC).AddDate(i, 0, 0),
		ts0.Add(time.Duration(i) * time.Hour), time.Unix(-int64(i)*86400*1000, 999000).UTC(),
	}
	if i%3 == 1 {
		for c, col := range allTypes {
			if col.Nullable {
				row[c] = nil
			}
		}
	}
	return row
}

func writeFile(t testing.TB, cols []export.Column, rows []export.Row, opts parquet.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := parquet.NewWriter(&buf, cols, opts)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if got, want := w.Rows(), int64(len(rows)); got != want {
		t.Errorf("Rows() = %d, want %d", got, want)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func readFile(t testing.TB, data []byte) ([]export.Column, []export.Row) {
	t.Helper()
	r, err := parquet.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	defer r.Close()
	var rows []export.Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, row)
	}
	if got := r.NumRows(); got != int64(len(rows)) {
		t.Errorf("NumRows() = %d, read %d rows", got, len(rows))
	}
	checkColumnar(t, r, rows)
	return r.Columns(), rows
}

// checkColumnar checks that the column-at-a-time API reads the rows Next
// read: every row, and every other row (a filter's selection), of every
// column; and the raw bytes of string columns.
func checkColumnar(t testing.TB, r *parquet.Reader, want []export.Row) {
	t.Helper()
	cols := r.Columns()
	base := 0
	for g := range r.NumRowGroups() {
		n := r.RowGroupRows(g)
		all, odd := make([]int32, n), []int32(nil)
		for i := range all {
			all[i] = int32(i)
			if i%2 == 1 {
				odd = append(odd, int32(i))
			}
		}
		for c, col := range cols {
			for _, sel := range [][]int32{all, odd} {
				got := make([]any, len(sel))
				seen := 0
				err := r.ReadValues(g, c, sel, func(k int, v any) error {
					got[k] = v
					seen++
					return nil
				})
				if err != nil {
					t.Fatalf("ReadValues(%d, %q): %v", g, col.Name, err)
				}
				if seen != len(sel) {
					t.Errorf("ReadValues(%d, %q) gave %d values for %d rows", g, col.Name, seen, len(sel))
				}
				for k, i := range sel {
					if diff := cmp.Diff(want[base+int(i)][c], got[k]); diff != "" {
						t.Errorf("row %d column %q (-Next +ReadValues):\n%s", base+int(i), col.Name, diff)
					}
				}
			}
			if col.Type != export.TypeString {
				continue
			}
			seen := 0
			err := r.ReadBytes(g, c, func(i int, b []byte, _ int32, null bool) {
				if i != seen {
					t.Errorf("ReadBytes(%d, %q): row %d after %d rows", g, col.Name, i, seen)
				}
				seen++
				var v any
				if !null {
					v = string(b)
				}
				if diff := cmp.Diff(want[base+i][c], v); diff != "" {
					t.Errorf("row %d column %q (-Next +ReadBytes):\n%s", base+i, col.Name, diff)
				}
			})
			if err != nil {
				t.Fatalf("ReadBytes(%d, %q): %v", g, col.Name, err)
			}
			if seen != n {
				t.Errorf("ReadBytes(%d, %q) gave %d rows of %d", g, col.Name, seen, n)
			}
		}
		base += n
	}
	if base != len(want) {
		t.Errorf("row groups hold %d rows, Next read %d", base, len(want))
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rows    int
		maxRows int64
	}{
		{"ZeroRows", 0, 0},
		{"OneRow", 1, 0},
		{"SomeRows", 100, 0},
		{"SeveralRowGroups", 2500, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rows []export.Row
			for i := range tt.rows {
				rows = append(rows, allTypesRow(i))
			}
			data := writeFile(t, allTypes, rows, parquet.Options{MaxRowsPerRowGroup: tt.maxRows})
			cols, got := readFile(t, data)
			wantCols := make([]export.Column, len(allTypes))
			for i, c := range allTypes {
				wantCols[i] = export.Column{Name: c.Name, Type: c.Type, Nullable: c.Nullable}
			}
			if diff := cmp.Diff(wantCols, cols); diff != "" {
				t.Errorf("Columns() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(rows, got); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoundTripRowGroups(t *testing.T) {
	t.Parallel()
	const n, perGroup = 1000, 128
	var rows []export.Row
	for i := range n {
		rows = append(rows, allTypesRow(i))
	}
	data := writeFile(t, allTypes, rows, parquet.Options{MaxRowsPerRowGroup: perGroup})
	meta := arrowMetadata(t, data)
	if got, want := meta.NumRowGroups(), (n+perGroup-1)/perGroup; got != want {
		t.Errorf("row groups = %d, want %d", got, want)
	}
	for g := range meta.NumRowGroups() {
		if got := meta.RowGroup(g).NumRows(); got > perGroup {
			t.Errorf("row group %d has %d rows, want at most %d", g, got, perGroup)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	t.Parallel()
	cols := []export.Column{
		{Name: "name", Type: export.TypeString},
		{Name: "score", Type: export.TypeFloat64},
		{Name: "day", Type: export.TypeDate, Nullable: true},
	}
	good := export.Row{"a", 1.5, day0}
	tests := []struct {
		name string
		row  export.Row
		want string
	}{
		{"TooFewValues", export.Row{"a", 1.5}, "row 2: got 2 values, want 3"},
		{"TooManyValues", export.Row{"a", 1.5, nil, "x"}, "row 2: got 4 values, want 3"},
		{"WrongType", export.Row{"a", "1.5", nil}, `row 2: column "score": got string, want float64`},
		{"IntForFloat", export.Row{"a", 1, nil}, `column "score": got int, want float64`},
		{"NilInRequired", export.Row{nil, 1.5, nil}, `column "name": got nil, column is not nullable`},
		{"StringForDate", export.Row{"a", 1.5, "2024-01-01"}, `column "day": got string, want time.Time`},
		{"DateWithTime", export.Row{"a", 1.5, ts0}, `column "day": date 2024-02-29 13:45:06.123456 +0000 UTC has a time of day`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w, err := parquet.NewWriter(&buf, cols, parquet.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(good); err != nil {
				t.Fatal(err)
			}
			err = w.Write(tt.row)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write() error = %v, want one containing %q", err, tt.want)
			}
			// The bad row changed nothing: the writer goes on.
			if err := w.Write(good); err != nil {
				t.Fatalf("Write after rejected row: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			_, rows := readFile(t, buf.Bytes())
			if diff := cmp.Diff([]export.Row{good, good}, rows); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewWriterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cols []export.Column
		want string
	}{
		{"NoColumns", nil, "no columns"},
		{"EmptyName", []export.Column{{Name: "", Type: export.TypeBool}}, "column 1: empty name"},
		{"Duplicate", []export.Column{{Name: "a", Type: export.TypeBool}, {Name: "a", Type: export.TypeInt64}}, `column "a": duplicate name`},
		{"UnknownType", []export.Column{{Name: "a", Type: 99}}, `column "a": unsupported type ColumnType(99)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parquet.NewWriter(io.Discard, tt.cols, parquet.Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewWriter() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	t.Parallel()
	w, err := parquet.NewWriter(io.Discard, allTypes[:1], parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(export.Row{"x"}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestReaderRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, data := range [][]byte{nil, []byte("PAR1"), []byte("not a parquet file at all")} {
		if _, err := parquet.NewReader(bytes.NewReader(data), int64(len(data))); err == nil {
			t.Errorf("NewReader(%q) succeeded", data)
		}
	}
}

// mixedColumns is a 9-column table like quiz_submissions after
// de-identification.
var mixedColumns = []export.Column{
	{Name: "submission_id", Type: export.TypeString},
	{Name: "learner", Type: export.TypeString},
	{Name: "course_id", Type: export.TypeString},
	{Name: "attempt", Type: export.TypeInt64},
	{Name: "submitted_on", Type: export.TypeDate},
	{Name: "submitted_at", Type: export.TypeTimestamp},
	{Name: "response_text", Type: export.TypeString, Nullable: true},
	{Name: "score", Type: export.TypeFloat64},
	{Name: "passed", Type: export.TypeBool},
}

func mixedRow(i int) export.Row {
	at := ts0.Add(time.Duration(i) * time.Second)
	var text any
	if i%4 != 0 {
		text = fmt.Sprintf("answer %d to the question", i)
	}
	return export.Row{
		fmt.Sprintf("sub-%08d", i),
		fmt.Sprintf("lrn%026d", i%5000),
		fmt.Sprintf("course-%d", i%20),
		int64(i%3 + 1),
		time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC),
		at,
		text,
		float64(i%11) / 10,
		i%3 != 0,
	}
}

func BenchmarkWriter(b *testing.B) {
	const n = 1_000_000
	rows := make([]export.Row, 1000)
	for i := range rows {
		rows[i] = mixedRow(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		w, err := parquet.NewWriter(io.Discard, mixedColumns, parquet.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			if err := w.Write(rows[i%len(rows)]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
