package parquet

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	pq "github.com/parquet-go/parquet-go"

	"github.com/rexport/rexport/export"
)

// DefaultMaxRowsPerRowGroup is the row group size used when
// Options.MaxRowsPerRowGroup is zero.
const DefaultMaxRowsPerRowGroup = 65536

// Rows are handed to parquet-go in batches of this many.
const batchRows = 1024

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
}

// Writer writes rows of a fixed set of columns to a Parquet file. It holds
// at most one row group in memory. A Writer is not safe for concurrent use.
type Writer struct {
	cols []export.Column
	w    io.Writer
	opts []pq.WriterOption // all but the schema
	pw   *pq.Writer        // made at the first flush, see start

	batch  []pq.Row
	values []pq.Value // backing array of batch
	arena  []byte     // bytes of the batch's strings
	n      int        // rows in batch

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
	if _, err := pq.NewWriterConfig(append(options, schema)...); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}

	size := int(min(maxRows, batchRows))
	wr := &Writer{
		cols:   cols,
		w:      w,
		opts:   options,
		batch:  make([]pq.Row, size),
		values: make([]pq.Value, size*len(cols)),
	}
	for i := range wr.batch {
		wr.batch[i] = wr.values[i*len(cols) : (i+1)*len(cols) : (i+1)*len(cols)]
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
	for i, c := range w.cols {
		if c.Type != export.TypeString {
			continue
		}
		seen := map[string]struct{}{}
		nonNull := 0
		for _, row := range w.batch[:w.n] {
			if v := row[i]; !v.IsNull() {
				nonNull++
				seen[string(v.ByteArray())] = struct{}{}
			}
		}
		plain[i] = 2*len(seen) > nonNull
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
	return "rexport version " + version + " (build " + build + ")"
}

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
	arenaLen := len(w.arena)
	out := w.batch[w.n]
	for i, v := range row {
		val, err := w.value(i, v)
		if err != nil {
			w.arena = w.arena[:arenaLen]
			return fmt.Errorf("parquet: row %d: column %q: %w", rowNum, w.cols[i].Name, err)
		}
		out[i] = val
	}
	w.n++
	w.rows++
	if w.n == len(w.batch) {
		return w.flushBatch()
	}
	return nil
}

// value converts v, the value of column i, to a Parquet value.
func (w *Writer) value(i int, v any) (pq.Value, error) {
	c := w.cols[i]
	if v == nil {
		if !c.Nullable {
			return pq.Value{}, errors.New("got nil, column is not nullable")
		}
		return pq.NullValue().Level(0, 0, i), nil
	}
	var val pq.Value
	switch c.Type {
	case export.TypeString:
		s, ok := v.(string)
		if !ok {
			return val, typeError(v, "string")
		}
		// Strings are copied into an arena that lives as long as the batch
		// (parquet-go copies them on WriteRows) rather than one allocation
		// each.
		start := len(w.arena)
		w.arena = append(w.arena, s...)
		val = pq.ByteArrayValue(w.arena[start:len(w.arena):len(w.arena)])
	case export.TypeInt64:
		x, ok := v.(int64)
		if !ok {
			return val, typeError(v, "int64")
		}
		val = pq.Int64Value(x)
	case export.TypeFloat64:
		x, ok := v.(float64)
		if !ok {
			return val, typeError(v, "float64")
		}
		val = pq.DoubleValue(x)
	case export.TypeBool:
		x, ok := v.(bool)
		if !ok {
			return val, typeError(v, "bool")
		}
		val = pq.BooleanValue(x)
	case export.TypeDate:
		t, ok := v.(time.Time)
		if !ok {
			return val, typeError(v, "time.Time")
		}
		days, err := daysOf(t)
		if err != nil {
			return val, err
		}
		val = pq.Int32Value(days)
	case export.TypeTimestamp:
		t, ok := v.(time.Time)
		if !ok {
			return val, typeError(v, "time.Time")
		}
		if y := t.Year(); y < -290000 || y > 290000 {
			return val, fmt.Errorf("timestamp %v out of range", t)
		}
		val = pq.Int64Value(t.UnixMicro())
	}
	def := 0
	if c.Nullable {
		def = 1
	}
	return val.Level(0, def, i), nil
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
	if w.n == 0 {
		return nil
	}
	if _, err := w.pw.WriteRows(w.batch[:w.n]); err != nil {
		w.err = fmt.Errorf("parquet: writing rows: %w", err)
		return w.err
	}
	w.n = 0
	w.arena = w.arena[:0]
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
