package parquet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unsafe"

	pq "github.com/parquet-go/parquet-go"

	"github.com/rexport/rexport/export"
)

// DefaultMaxRowsPerRowGroup is the row group size used when
// Options.MaxRowsPerRowGroup is zero.
const DefaultMaxRowsPerRowGroup = 65536

// Rows are handed to parquet-go in batches of this many; the first batch
// also decides which string columns get a dictionary (see start).
const batchRows = 1024

// rowsPerWrite is how many rows of a column are handed to parquet-go at
// once. parquet-go checks a column's page size after each write, so this
// bounds how far a page can outgrow pageBufferBytes; it is the chunk size
// of parquet-go's own (*Writer).WriteRows, which the Writer used before it
// wrote by column, and so keeps the pages where they were.
const rowsPerWrite = 64

// A string column's dictionary that outgrows this many bytes in a row group
// falls back to plain encoding, which bounds the writer's memory.
const dictionaryMaxBytes = 1 << 20

// pageBufferBytes bounds the values of one page, and so what a reader
// must decode at once.
const pageBufferBytes = 256 << 10

// Options configures a Writer.
type Options struct {
	// MaxRowsPerRowGroup bounds the rows in one row group, and so the
	// writer's memory; zero means DefaultMaxRowsPerRowGroup.
	MaxRowsPerRowGroup int64
	// KeyValueMetadata is written to the file footer.
	KeyValueMetadata map[string]string
	// SortedBy names columns (of type string, int64, date or timestamp)
	// the rows come sorted by, ascending, nulls first: the file declares
	// it (the row groups' sorting_columns), so that a reader can skip
	// checking the order. The Writer checks it: a row out of order is
	// rejected with an error.
	SortedBy []string
}

// Writer writes rows of a fixed set of columns to a Parquet file. It holds
// at most one row group in memory. A Writer is not safe for concurrent use.
type Writer struct {
	cols []export.Column
	w    io.Writer
	opts []pq.WriterOption // all but the schema
	pw   *pq.Writer        // made at the first flush, see start

	// The batch is held by column, as parquet-go's column writers take
	// it: values[c][r] is the value of column c in row r of the batch.
	// Handing each column its values directly saves parquet-go taking
	// rows apart into columns.
	values [][]pq.Value
	n      int // rows in batch

	maxRows   int64 // rows per row group
	groupRows int64 // rows in the row group parquet-go is writing

	sortCols []int // Options.SortedBy, as column indexes
	lastKey  []any // their values in the last row written, nil before

	rows   int64
	err    error // sticky error from parquet-go
	closed bool
}

// NewWriter returns a Writer that writes a Parquet file with the columns
// cols, in that order, to w. The caller must call Close to complete the
// file; Close does not close w.
func NewWriter(w io.Writer, cols []export.Column, opts Options) (*Writer, error) {
	schema, err := schemaOf(cols, nil)
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	maxRows := opts.MaxRowsPerRowGroup
	if maxRows == 0 {
		maxRows = DefaultMaxRowsPerRowGroup
	}
	if maxRows < 0 {
		return nil, fmt.Errorf("parquet: MaxRowsPerRowGroup %d is negative", maxRows)
	}
	options := []pq.WriterOption{
		// parquet-go's CreatedBy option omits the space before "(build",
		// so the string is set whole.
		&pq.WriterConfig{CreatedBy: createdBy()},
		pq.Compression(pageCodec),
		pq.MaxRowsPerRowGroup(maxRows),
		pq.DictionaryMaxBytes(dictionaryMaxBytes),
		pq.PageBufferSize(pageBufferBytes),
	}
	for k, v := range opts.KeyValueMetadata {
		options = append(options, pq.KeyValueMetadata(k, v))
	}
	var sortCols []int
	if len(opts.SortedBy) > 0 {
		var sorting []pq.SortingColumn
		for _, name := range opts.SortedBy {
			i := slices.IndexFunc(cols, func(c export.Column) bool { return c.Name == name })
			if i < 0 {
				return nil, fmt.Errorf("parquet: sorted by %q: no such column", name)
			}
			switch cols[i].Type {
			case export.TypeString, export.TypeInt64, export.TypeDate, export.TypeTimestamp:
			default:
				return nil, fmt.Errorf("parquet: sorted by %q: cannot sort a %s column", name, cols[i].Type)
			}
			sortCols = append(sortCols, i)
			sc := pq.Ascending(name)
			if cols[i].Nullable {
				sc = pq.NullsFirst(sc)
			}
			sorting = append(sorting, sc)
		}
		options = append(options, pq.SortingWriterConfig(pq.SortingColumns(sorting...)))
	}
	if _, err := pq.NewWriterConfig(append(options, schema)...); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}

	size := int(min(maxRows, batchRows))
	wr := &Writer{
		cols:     cols,
		w:        w,
		opts:     options,
		values:   make([][]pq.Value, len(cols)),
		maxRows:  maxRows,
		sortCols: sortCols,
	}
	backing := make([]pq.Value, size*len(cols))
	for c := range wr.values {
		wr.values[c] = backing[c*size : (c+1)*size : (c+1)*size]
	}
	return wr, nil
}

// start makes the parquet-go writer, once the first batch is in: a string
// column gets a dictionary if its values in that batch repeat (fewer
// distinct values than half the non-null ones), as ids of learners or
// courses do. Free text and unique ids are written plain: a dictionary
// would hold every value of the row group in memory, on both sides, for
// nothing.
func (w *Writer) start() error {
	plain := make([]bool, len(w.cols))
	var strs [][]byte
	for i, c := range w.cols {
		if c.Type != export.TypeString {
			continue
		}
		// The distinct values are counted by sorting, not in a map,
		// which would copy each one to a string key.
		strs = strs[:0]
		for _, v := range w.values[i][:w.n] {
			if !v.IsNull() {
				strs = append(strs, v.ByteArray())
			}
		}
		slices.SortFunc(strs, bytes.Compare)
		distinct := 0
		for k, s := range strs {
			if k == 0 || !bytes.Equal(s, strs[k-1]) {
				distinct++
			}
		}
		plain[i] = 2*distinct > len(strs)
	}
	schema, err := schemaOf(w.cols, plain)
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	config, err := pq.NewWriterConfig(append(w.opts, schema)...)
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	w.pw = pq.NewWriter(w.w, config)
	return nil
}

// createdBy returns the created_by of the files rexport writes, in the
// form the Parquet spec suggests.
func createdBy() string {
	version, build := "devel", "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := strings.TrimPrefix(info.Main.Version, "v"); v != "" && v != "(devel)" {
			version = v
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				build = s.Value
			}
		}
	}
	return createdByPrefix + version + " (build " + build + ")"
}

// createdByPrefix starts the created_by of the files rexport writes.
const createdByPrefix = "rexport version "

// Write adds one row. The row must have one value per column, of the Go
// type of the column's type (see export.ColumnType), or nil for a nullable
// column. A row that does not fit is rejected with an error naming the
// column, and the writer can go on with the next row. Dates are written as
// their calendar day and must have no time of day; timestamps are written
// in microseconds, finer precision is dropped.
func (w *Writer) Write(row export.Row) error {
	if w.closed {
		return errors.New("parquet: write after close")
	}
	if w.err != nil {
		return w.err
	}
	rowNum := w.rows + 1
	if len(row) != len(w.cols) {
		return fmt.Errorf("parquet: row %d: got %d values, want %d", rowNum, len(row), len(w.cols))
	}
	// A rejected row leaves values in the batch's row w.n, which the next
	// row overwrites.
	for i, v := range row {
		if err := w.setValue(&w.values[i][w.n], i, v); err != nil {
			return fmt.Errorf("parquet: row %d: column %q: %w", rowNum, w.cols[i].Name, err)
		}
	}
	// After setValue has checked the values' types.
	if w.lastKey != nil && w.compareKey(row) < 0 {
		return fmt.Errorf("parquet: row %d: not sorted by %v as declared", rowNum, w.sortedBy())
	}
	if len(w.sortCols) > 0 {
		if w.lastKey == nil {
			w.lastKey = make([]any, len(w.sortCols))
		}
		for j, c := range w.sortCols {
			w.lastKey[j] = row[c]
		}
	}
	w.n++
	w.rows++
	if w.n == len(w.values[0]) { // the batch is full
		return w.flushBatch()
	}
	return nil
}

// compareKey compares row's values of the sorting columns with the last
// row's, in the order of a table's key (export.CompareValues).
func (w *Writer) compareKey(row export.Row) int {
	for j, c := range w.sortCols {
		if r := export.CompareValues(row[c], w.lastKey[j]); r != 0 {
			return r
		}
	}
	return 0
}

func (w *Writer) sortedBy() []string {
	var names []string
	for _, c := range w.sortCols {
		names = append(names, w.cols[c].Name)
	}
	return names
}

// setValue converts v, the value of column i, to a Parquet value and
// stores it in *dst. The value carries the levels the column's writer
// reads: a definition level of 1 if the column is nullable and v is not
// nil. Its column index is left unset: values go to their column's
// writer, which does not read it. On error, *dst is left as it was.
func (w *Writer) setValue(dst *pq.Value, i int, v any) error {
	c := &w.cols[i]
	if v == nil {
		if !c.Nullable {
			return errors.New("got nil, column is not nullable")
		}
		*dst = pq.NullValue()
		return nil
	}
	var val pq.Value
	switch c.Type {
	case export.TypeString:
		s, ok := v.(string)
		if !ok {
			return typeError(v, "string")
		}
		// The value points at the string's bytes, which parquet-go only
		// reads, and copies on WriteRowValues: a Go string's bytes do not
		// change, and the value keeps them alive until then.
		val = pq.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
	case export.TypeInt64:
		x, ok := v.(int64)
		if !ok {
			return typeError(v, "int64")
		}
		val = pq.Int64Value(x)
	case export.TypeFloat64:
		x, ok := v.(float64)
		if !ok {
			return typeError(v, "float64")
		}
		val = pq.DoubleValue(x)
	case export.TypeBool:
		x, ok := v.(bool)
		if !ok {
			return typeError(v, "bool")
		}
		val = pq.BooleanValue(x)
	case export.TypeDate:
		t, ok := v.(time.Time)
		if !ok {
			return typeError(v, "time.Time")
		}
		days, err := daysOf(t)
		if err != nil {
			return err
		}
		val = pq.Int32Value(days)
	case export.TypeTimestamp:
		t, ok := v.(time.Time)
		if !ok {
			return typeError(v, "time.Time")
		}
		if y := t.Year(); y < -290000 || y > 290000 {
			return fmt.Errorf("timestamp %v out of range", t)
		}
		val = pq.Int64Value(t.UnixMicro())
	}
	if c.Nullable {
		val.SetDefinitionLevel(1)
	}
	*dst = val
	return nil
}

func typeError(v any, want string) error {
	return fmt.Errorf("got %T, want %s", v, want)
}

// daysOf returns the days since 1970-01-01 of the calendar day of t.
func daysOf(t time.Time) (int32, error) {
	if h, m, s := t.Clock(); h != 0 || m != 0 || s != 0 || t.Nanosecond() != 0 {
		return 0, fmt.Errorf("date %v has a time of day", t)
	}
	y, mo, d := t.Date()
	days := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay
	if days < -1<<31 || days > 1<<31-1 {
		return 0, fmt.Errorf("date %v out of range", t)
	}
	return int32(days), nil
}

const secondsPerDay = 24 * 60 * 60

func (w *Writer) flushBatch() error {
	if w.pw == nil {
		if w.err = w.start(); w.err != nil {
			return w.err
		}
	}
	// Rows go to parquet-go's column writers, which are in the order of
	// w.cols (see schemaOf), rowsPerWrite at a time and as many as fit in
	// the row group; a full row group is written out before the next row
	// goes in.
	for start := 0; start < w.n; {
		if w.groupRows == w.maxRows {
			if err := w.pw.Flush(); err != nil {
				w.err = fmt.Errorf("parquet: writing rows: %w", err)
				return w.err
			}
			w.groupRows = 0
		}
		end := start + int(min(int64(w.n-start), w.maxRows-w.groupRows, rowsPerWrite))
		for c, cw := range w.pw.ColumnWriters() {
			if _, err := cw.WriteRowValues(w.values[c][start:end]); err != nil {
				w.err = fmt.Errorf("parquet: writing rows: %w", err)
				return w.err
			}
		}
		w.groupRows += int64(end - start)
		start = end
	}
	w.n = 0
	return nil
}

// Rows returns the number of rows accepted by Write.
func (w *Writer) Rows() int64 { return w.rows }

// Close writes the buffered rows and the file footer. It does not close
// the underlying io.Writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if err := w.flushBatch(); err != nil {
		return err
	}
	if err := w.pw.Close(); err != nil {
		w.err = fmt.Errorf("parquet: closing file: %w", err)
	}
	return w.err
}
