package parquet_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	arrowpq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// The tests in this file read the files Writer makes with arrow-go, an
// implementation independent of parquet-go, and check that Reader reads
// files arrow-go makes.

func arrowMetadata(t testing.TB, data []byte) *metadata.FileMetaData {
	t.Helper()
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("arrow: opening file: %v", err)
	}
	t.Cleanup(func() { rdr.Close() })
	return rdr.MetaData()
}

func readArrowTable(t testing.TB, data []byte) arrow.Table {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data),
		arrowpq.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatalf("arrow: reading table: %v", err)
	}
	t.Cleanup(func() {
		tbl.Release()
		mem.AssertSize(t, 0)
	})
	return tbl
}

// arrowValue returns value i of arr as the Go value of the export column
// type it should hold.
func arrowValue(t testing.TB, arr arrow.Array, i int) any {
	t.Helper()
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Date32:
		return a.Value(i).ToTime()
	case *array.Timestamp:
		return a.Value(i).ToTime(arrow.Microsecond)
	}
	t.Fatalf("arrow: unexpected array type %s", arr.DataType())
	return nil
}

func TestArrowReadsWriterOutput(t *testing.T) {
	t.Parallel()
	const n = 700
	var rows []export.Row
	for i := range n {
		rows = append(rows, allTypesRow(i))
	}
	opts := parquet.Options{
		MaxRowsPerRowGroup: 256,
		KeyValueMetadata:   map[string]string{"rexport.table": "all_types", "rexport.request": "r-1"},
	}
	data := writeFile(t, allTypes, rows, opts)

	t.Run("Schema", func(t *testing.T) {
		tbl := readArrowTable(t, data)
		wantTypes := map[export.ColumnType]arrow.DataType{
			export.TypeString:    arrow.BinaryTypes.String,
			export.TypeInt64:     arrow.PrimitiveTypes.Int64,
			export.TypeFloat64:   arrow.PrimitiveTypes.Float64,
			export.TypeBool:      arrow.FixedWidthTypes.Boolean,
			export.TypeDate:      arrow.FixedWidthTypes.Date32,
			export.TypeTimestamp: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
		}
		fields := tbl.Schema().Fields()
		if len(fields) != len(allTypes) {
			t.Fatalf("arrow schema has %d fields, want %d", len(fields), len(allTypes))
		}
		for i, c := range allTypes {
			f := fields[i]
			if f.Name != c.Name {
				t.Errorf("field %d is %q, want %q", i, f.Name, c.Name)
			}
			if !arrow.TypeEqual(f.Type, wantTypes[c.Type]) {
				t.Errorf("field %q has type %s, want %s", c.Name, f.Type, wantTypes[c.Type])
			}
			if f.Nullable != c.Nullable {
				t.Errorf("field %q nullable = %t, want %t", c.Name, f.Nullable, c.Nullable)
			}
		}
	})

	t.Run("Values", func(t *testing.T) {
		tbl := readArrowTable(t, data)
		if got := tbl.NumRows(); got != n {
			t.Fatalf("arrow table has %d rows, want %d", got, n)
		}
		got := make([]export.Row, n)
		for i := range got {
			got[i] = make(export.Row, len(allTypes))
		}
		for c := range allTypes {
			row := 0
			for _, chunk := range tbl.Column(c).Data().Chunks() {
				for i := range chunk.Len() {
					got[row][c] = arrowValue(t, chunk, i)
					row++
				}
			}
		}
		if diff := cmp.Diff(rows, got); diff != "" {
			t.Errorf("rows mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("Metadata", func(t *testing.T) {
		meta := arrowMetadata(t, data)
		if got, want := meta.NumRowGroups(), 3; got != want {
			t.Errorf("row groups = %d, want %d", got, want)
		}
		for g := range meta.NumRowGroups() {
			rg := meta.RowGroup(g)
			for c := range rg.NumColumns() {
				cc, err := rg.ColumnChunk(c)
				if err != nil {
					t.Fatal(err)
				}
				if got := cc.Compression(); got != compress.Codecs.Zstd {
					t.Errorf("row group %d column %d: compression %s, want ZSTD", g, c, got)
				}
				if allTypes[c].Type == export.TypeString {
					if !hasDictionary(cc.Encodings()) {
						t.Errorf("row group %d column %q: encodings %v, want a dictionary", g, allTypes[c].Name, cc.Encodings())
					}
				}
			}
		}
		for k, want := range opts.KeyValueMetadata {
			if got := meta.KeyValueMetadata().FindValue(k); got == nil || *got != want {
				t.Errorf("key-value metadata %q = %v, want %q", k, got, want)
			}
		}
		if got := meta.GetCreatedBy(); !strings.HasPrefix(got, "rexport version ") {
			t.Errorf("created_by = %q, want rexport", got)
		}
	})
}

func hasDictionary(encs []arrowpq.Encoding) bool {
	for _, e := range encs {
		if e == arrowpq.Encodings.RLEDict || e == arrowpq.Encodings.PlainDict {
			return true
		}
	}
	return false
}

// TestReaderReadsArrowOutput checks Reader on a file of another writer, with
// the physical and logical types other tools use for rexport's types.
func TestReaderReadsArrowOutput(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ts_ms", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "ts_ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "ts_local", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
	}, nil)
	at := time.Date(2023, 7, 1, 8, 30, 15, 123456789, time.UTC)

	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"ä", ""}, nil)
	b.Field(1).(*array.Int32Builder).AppendValues([]int32{-7, 0}, []bool{true, false})
	b.Field(2).(*array.Uint16Builder).AppendValues([]uint16{65535, 1}, nil)
	b.Field(3).(*array.Float32Builder).AppendValues([]float32{1.5, -0.25}, nil)
	b.Field(4).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(day0), -1}, nil)
	b.Field(5).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(at.UnixMilli()), 0}, nil)
	b.Field(6).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(at.UnixNano()), 0}, []bool{true, false})
	b.Field(7).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(at.UnixMicro()), 1}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()

	var buf bytes.Buffer
	props := arrowpq.NewWriterProperties(arrowpq.WithVersion(arrowpq.V2_LATEST))
	fw, err := pqarrow.NewFileWriter(schema, &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}

	cols, rows := readFile(t, buf.Bytes())
	wantCols := []export.Column{
		{Name: "name", Type: export.TypeString},
		{Name: "i32", Type: export.TypeInt64, Nullable: true},
		{Name: "u16", Type: export.TypeInt64},
		{Name: "f32", Type: export.TypeFloat64},
		{Name: "day", Type: export.TypeDate},
		{Name: "ts_ms", Type: export.TypeTimestamp},
		{Name: "ts_ns", Type: export.TypeTimestamp, Nullable: true},
		{Name: "ts_local", Type: export.TypeTimestamp},
	}
	if diff := cmp.Diff(wantCols, cols); diff != "" {
		t.Errorf("Columns() mismatch (-want +got):\n%s", diff)
	}
	want := []export.Row{
		{"ä", int64(-7), int64(65535), 1.5, day0, at.Truncate(time.Millisecond), at, at.Truncate(time.Microsecond)},
		{"", nil, int64(1), -0.25, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), time.Unix(0, 0).UTC(), nil, time.UnixMicro(1).UTC()},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
	for _, row := range rows {
		for c, v := range row {
			if tm, ok := v.(time.Time); ok && tm.Location() != time.UTC {
				t.Errorf("column %q: time %v not in UTC", cols[c].Name, tm)
			}
		}
	}
}

func TestReaderReadsInt96Timestamps(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
	}, nil)
	times := []time.Time{
		time.Date(2023, 7, 1, 8, 30, 15, 123456789, time.UTC),
		time.Date(1950, 1, 1, 23, 59, 59, 0, time.UTC),
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for _, tm := range times {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(tm.UnixNano()))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()

	var buf bytes.Buffer
	arrProps := pqarrow.NewArrowWriterProperties(pqarrow.WithDeprecatedInt96Timestamps(true))
	fw, err := pqarrow.NewFileWriter(schema, &buf, arrowpq.NewWriterProperties(), arrProps)
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	cols, rows := readFile(t, buf.Bytes())
	if cols[0].Type != export.TypeTimestamp {
		t.Fatalf("column type %v, want timestamp", cols[0].Type)
	}
	want := []export.Row{{times[0]}, {times[1]}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}

func TestReaderRejectsUnsupportedColumns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field arrow.Field
		want  string
	}{
		{"List", arrow.Field{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)}, `column "tags": nested columns are not supported`},
		{"Binary", arrow.Field{Name: "blob", Type: arrow.BinaryTypes.Binary}, `column "blob": unsupported type BYTE_ARRAY`},
		{"Uint64", arrow.Field{Name: "big", Type: arrow.PrimitiveTypes.Uint64}, `column "big": unsupported type INT64`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			schema := arrow.NewSchema([]arrow.Field{tt.field}, nil)
			var buf bytes.Buffer
			fw, err := pqarrow.NewFileWriter(schema, &buf, arrowpq.NewWriterProperties(), pqarrow.DefaultWriterProps())
			if err != nil {
				t.Fatal(err)
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			_, err = parquet.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewReader() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestDictionaryOnlyWhereValuesRepeat checks the writer's choice of
// encoding per string column: a dictionary for values that repeat (ids of
// learners, courses), plain for values that do not (free text, unique
// ids), which would otherwise sit whole in a dictionary.
func TestDictionaryOnlyWhereValuesRepeat(t *testing.T) {
	t.Parallel()
	cols := []export.Column{{Name: "course", Type: export.TypeString}, {Name: "body", Type: export.TypeString, Nullable: true}}
	var rows []export.Row
	for i := range 3000 {
		var body any
		if i%3 != 0 {
			body = fmt.Sprintf("post %d: %s", i, strings.Repeat("text ", 40))
		}
		rows = append(rows, export.Row{fmt.Sprintf("course-%d", i%7), body})
	}
	data := writeFile(t, cols, rows, parquet.Options{})
	meta := arrowMetadata(t, data)
	for c, wantDict := range []bool{true, false} {
		cc, err := meta.RowGroup(0).ColumnChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := hasDictionary(cc.Encodings()); got != wantDict {
			t.Errorf("column %s: encodings %v, dictionary %v, want %v", cols[c].Name, cc.Encodings(), got, wantDict)
		}
		if !wantDict && !slices.Contains(cc.Encodings(), arrowpq.Encodings.Plain) {
			t.Errorf("column %s: encodings %v, want plain", cols[c].Name, cc.Encodings())
		}
	}
	_, got := readFile(t, data)
	if diff := cmp.Diff(rows, got); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}

// TestArrowReadsDictionaryFallback writes a string column whose values
// repeat in the first rows, so it gets a dictionary, and then stop
// repeating, so the dictionary outgrows its limit and the row group mixes
// dictionary and plain pages.
func TestArrowReadsDictionaryFallback(t *testing.T) {
	t.Parallel()
	cols := []export.Column{{Name: "body", Type: export.TypeString}}
	const n = 5000
	var rows []export.Row
	for i := range n {
		if i < 2000 {
			rows = append(rows, export.Row{fmt.Sprintf("repeated %d", i%10)})
			continue
		}
		rows = append(rows, export.Row{fmt.Sprintf("%05d %s", i, strings.Repeat("x", 500))})
	}
	data := writeFile(t, cols, rows, parquet.Options{})

	meta := arrowMetadata(t, data)
	cc, err := meta.RowGroup(0).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	if !hasDictionary(cc.Encodings()) || !slices.Contains(cc.Encodings(), arrowpq.Encodings.Plain) {
		t.Errorf("encodings %v, want dictionary and plain", cc.Encodings())
	}

	tbl := readArrowTable(t, data)
	row := 0
	for _, chunk := range tbl.Column(0).Data().Chunks() {
		for i := range chunk.Len() {
			if got, want := arrowValue(t, chunk, i), rows[row][0]; got != want {
				t.Fatalf("row %d = %.10q..., want %.10q...", row, got, want)
			}
			row++
		}
	}
	if row != n {
		t.Errorf("arrow read %d rows, want %d", row, n)
	}
	_, got := readFile(t, data)
	if diff := cmp.Diff(rows, got); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}
