package parquet_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	arrowpq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// The tests in this file check ArrowReader against pqarrow, arrow-go's own
// Parquet reader, which the server may not link but tests may.

// rowsOf appends the rows of rec, as export values, to rows.
func rowsOf(t testing.TB, rows []export.Row, rec arrow.RecordBatch) []export.Row {
	t.Helper()
	for i := range int(rec.NumRows()) {
		row := make(export.Row, rec.NumCols())
		for c := range row {
			row[c] = arrowValue(t, rec.Column(c), i)
		}
		rows = append(rows, row)
	}
	return rows
}

// pqarrowRows reads a file with pqarrow.
func pqarrowRows(t testing.TB, data []byte) (*arrow.Schema, []export.Row) {
	t.Helper()
	tbl := readArrowTable(t, data)
	tr := array.NewTableReader(tbl, 1000)
	defer tr.Release()
	var rows []export.Row
	for tr.Next() {
		rows = rowsOf(t, rows, tr.RecordBatch())
	}
	if err := tr.Err(); err != nil {
		t.Fatal(err)
	}
	return tbl.Schema(), rows
}

// fieldsOf returns name, type and nullability of each field of s, what
// pqarrow and ArrowReader must agree on.
func fieldsOf(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		null := ""
		if f.Nullable {
			null = " null"
		}
		out = append(out, f.Name+" "+f.Type.String()+null)
	}
	return out
}

func TestArrowReader(t *testing.T) {
	t.Parallel()
	const n = 700
	var rows []export.Row
	for i := range n {
		rows = append(rows, allTypesRow(i))
	}
	meta := map[string]string{"rexport.table": "all_types", "rexport.export": "exp_1"}
	data := writeFile(t, allTypes, rows, parquet.Options{MaxRowsPerRowGroup: 256, KeyValueMetadata: meta})

	t.Run("MatchesPqarrow", func(t *testing.T) {
		t.Parallel()
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		defer mem.AssertSize(t, 0)
		ar, err := parquet.NewArrowReader(bytes.NewReader(data), int64(len(data)), parquet.ArrowOptions{BatchRows: 100, Allocator: mem})
		if err != nil {
			t.Fatal(err)
		}
		defer ar.Close()

		wantSchema, wantRows := pqarrowRows(t, data)
		if diff := cmp.Diff(fieldsOf(wantSchema), fieldsOf(ar.Schema())); diff != "" {
			t.Errorf("schema mismatch with pqarrow (-want +got):\n%s", diff)
		}
		for k, v := range meta {
			if got, ok := ar.Schema().Metadata().GetValue(k); !ok || got != v {
				t.Errorf("schema metadata %q = %q, %t; want %q", k, got, ok, v)
			}
		}

		var got []export.Row
		var sizes []int64
		for {
			rec, err := ar.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Schema().Equal(ar.Schema()) {
				t.Errorf("batch schema %v, want the reader's", rec.Schema())
			}
			sizes = append(sizes, rec.NumRows())
			got = rowsOf(t, got, rec)
			rec.Release()
		}
		if diff := cmp.Diff(wantRows, got); diff != "" {
			t.Errorf("rows mismatch with pqarrow (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(rows, got); diff != "" {
			t.Errorf("rows mismatch with those written (-want +got):\n%s", diff)
		}
		// Row groups of 256, 256 and 188 rows; no batch spans two.
		if diff := cmp.Diff([]int64{100, 100, 56, 100, 100, 56, 100, 88}, sizes); diff != "" {
			t.Errorf("batch sizes mismatch (-want +got):\n%s", diff)
		}
		if _, err := ar.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("Next after the last batch: %v, want io.EOF", err)
		}
	})

	t.Run("WriteStream", func(t *testing.T) {
		t.Parallel()
		ar, err := parquet.NewArrowReader(bytes.NewReader(data), int64(len(data)), parquet.ArrowOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer ar.Close()
		var buf bytes.Buffer
		wrote, err := ar.WriteStream(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if wrote != n {
			t.Errorf("WriteStream wrote %d rows, want %d", wrote, n)
		}
		schema, got := readStream(t, buf.Bytes())
		if diff := cmp.Diff(fieldsOf(ar.Schema()), fieldsOf(schema)); diff != "" {
			t.Errorf("stream schema mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(rows, got); diff != "" {
			t.Errorf("stream rows mismatch (-want +got):\n%s", diff)
		}
	})
}

// readStream decodes an Arrow IPC stream, which must end with its
// end-of-stream marker.
func readStream(t testing.TB, data []byte) (*arrow.Schema, []export.Row) {
	t.Helper()
	rd, err := ipc.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ipc.NewReader: %v", err)
	}
	defer rd.Release()
	var rows []export.Row
	for rd.Next() {
		rows = rowsOf(t, rows, rd.RecordBatch())
	}
	if err := rd.Err(); err != nil {
		t.Fatalf("reading stream: %v", err)
	}
	if !bytes.HasSuffix(data, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}) {
		t.Errorf("stream does not end with the end-of-stream marker")
	}
	return rd.Schema(), rows
}

func TestArrowReaderEmptyFile(t *testing.T) {
	t.Parallel()
	data := writeFile(t, allTypes, nil, parquet.Options{})
	ar, err := parquet.NewArrowReader(bytes.NewReader(data), int64(len(data)), parquet.ArrowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close()
	var buf bytes.Buffer
	if n, err := ar.WriteStream(&buf); err != nil || n != 0 {
		t.Fatalf("WriteStream() = %d, %v; want 0, nil", n, err)
	}
	schema, rows := readStream(t, buf.Bytes())
	if len(rows) != 0 {
		t.Errorf("got %d rows, want none", len(rows))
	}
	if got := len(schema.Fields()); got != len(allTypes) {
		t.Errorf("schema has %d fields, want %d", got, len(allTypes))
	}
}

// TestArrowReaderOtherWriters reads a file pqarrow wrote with the other
// physical types Reader accepts, converted to rexport's Arrow types.
func TestArrowReaderOtherWriters(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "ts_ms", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "ts_ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
	}, nil)
	at := time.Date(2023, 7, 1, 8, 30, 15, 123456789, time.UTC)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{-7, 0}, []bool{true, false})
	b.Field(1).(*array.Uint16Builder).AppendValues([]uint16{65535, 1}, nil)
	b.Field(2).(*array.Float32Builder).AppendValues([]float32{1.5, -0.25}, nil)
	b.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(at.UnixMilli()), 0}, nil)
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(at.UnixNano()), -1000}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(schema, &buf, arrowpq.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}

	ar, err := parquet.NewArrowReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), parquet.ArrowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close()
	want := []string{"i32 int64 null", "u16 int64", "f32 float64", "ts_ms timestamp[us, tz=UTC]", "ts_ns timestamp[us, tz=UTC]"}
	if diff := cmp.Diff(want, fieldsOf(ar.Schema())); diff != "" {
		t.Errorf("schema mismatch (-want +got):\n%s", diff)
	}
	if _, ok := ar.Schema().Metadata().GetValue("ARROW:schema"); ok {
		t.Errorf("schema metadata keeps pqarrow's ARROW:schema")
	}
	got, err := ar.Next()
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	wantRows := []export.Row{
		{int64(-7), int64(65535), 1.5, at.Truncate(time.Millisecond), at.Truncate(time.Microsecond)},
		{nil, int64(1), -0.25, time.Unix(0, 0).UTC(), time.Unix(0, -1000).UTC()},
	}
	if diff := cmp.Diff(wantRows, rowsOf(t, nil, got)); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}

// TestArrowReaderRejectsInvalidUTF8: an Arrow string must be UTF-8, and a
// failure before the first batch leaves the stream's writer untouched.
func TestArrowReaderRejectsInvalidUTF8(t *testing.T) {
	t.Parallel()
	cols := []export.Column{{Name: "id", Type: export.TypeInt64}, {Name: "body", Type: export.TypeString}}
	data := writeFile(t, cols, []export.Row{{int64(1), "ok"}, {int64(2), "bad \xff"}}, parquet.Options{})
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	ar, err := parquet.NewArrowReader(bytes.NewReader(data), int64(len(data)), parquet.ArrowOptions{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close()
	var buf bytes.Buffer
	_, err = ar.WriteStream(&buf)
	if want := `row 2: column "body": invalid UTF-8`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("WriteStream() error = %v, want one containing %q", err, want)
	}
	if buf.Len() != 0 {
		t.Errorf("WriteStream wrote %d bytes before failing on the first batch", buf.Len())
	}
	if _, again := ar.Next(); again == nil || errors.Is(again, io.EOF) {
		t.Errorf("Next after an error = %v, want the error again", again)
	}
}

// FuzzArrowReader checks that ArrowReader returns errors, not panics, on
// any input.
func FuzzArrowReader(f *testing.F) {
	f.Add(writeFile(f, allTypes, []export.Row{allTypesRow(0), allTypesRow(1)}, parquet.Options{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		ar, err := parquet.NewArrowReader(bytes.NewReader(data), int64(len(data)), parquet.ArrowOptions{BatchRows: 64})
		if err != nil {
			return
		}
		defer ar.Close()
		for range 1000 {
			rec, err := ar.Next()
			if err != nil {
				return
			}
			rec.Release()
		}
	})
}
