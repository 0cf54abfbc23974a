package parquet

import (
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/rexport/rexport/export"
)

// The conversion to Arrow is done here, over parquet-go, rather than with
// arrow-go's pqarrow: pqarrow links grpc into whatever imports it, and the
// server must stay small.

// DefaultArrowBatchRows is the largest record batch ArrowReader returns
// when ArrowOptions.BatchRows is zero.
const DefaultArrowBatchRows = 16384

// ArrowOptions configures an ArrowReader.
type ArrowOptions struct {
	// BatchRows bounds the rows of one record batch; zero means
	// DefaultArrowBatchRows. A batch never spans two row groups.
	BatchRows int
	// Allocator allocates the batches; nil means memory.DefaultAllocator.
	Allocator memory.Allocator
}

// ArrowSchema returns the Arrow schema of a table with the columns cols,
// the types those pqarrow reads the files of Writer as: string is utf8,
// int64 int64, float64 float64, bool bool, date date32 and timestamp
// timestamp[us, tz=UTC]. meta, if not empty, becomes the schema metadata.
func ArrowSchema(cols []export.Column, meta arrow.Metadata) (*arrow.Schema, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		t, err := arrowType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("parquet: column %q: %w", c.Name, err)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: t, Nullable: c.Nullable}
	}
	if meta.Len() == 0 {
		return arrow.NewSchema(fields, nil), nil
	}
	return arrow.NewSchema(fields, &meta), nil
}

func arrowType(t export.ColumnType) (arrow.DataType, error) {
	switch t {
	case export.TypeString:
		return arrow.BinaryTypes.String, nil
	case export.TypeInt64:
		return arrow.PrimitiveTypes.Int64, nil
	case export.TypeFloat64:
		return arrow.PrimitiveTypes.Float64, nil
	case export.TypeBool:
		return arrow.FixedWidthTypes.Boolean, nil
	case export.TypeDate:
		return arrow.FixedWidthTypes.Date32, nil
	case export.TypeTimestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	}
	return nil, fmt.Errorf("unsupported type %v", t)
}

// ArrowReader reads a Parquet file that Reader can read as Arrow record
// batches. It holds one batch and the row group being read in memory, so
// a file of any size streams in bounded memory. It is not safe for
// concurrent use.
type ArrowReader struct {
	r       *Reader
	schema  *arrow.Schema
	mem     memory.Allocator
	b       *array.RecordBuilder
	appends []appendFunc
	max     int
	done    bool
}

// appendFunc appends one non-null value to a column's builder.
type appendFunc func(pq.Value) error

// NewArrowReader opens the Parquet file of the given size read from r.
// The schema is that of ArrowSchema for the file's columns, with the
// file's key/value metadata. It fails, naming the column, on a file Reader
// cannot read.
func NewArrowReader(r io.ReaderAt, size int64, opts ArrowOptions) (ar *ArrowReader, err error) {
	rd, err := NewReader(r, size)
	if err != nil {
		return nil, err
	}
	var keys, values []string
	for _, kv := range rd.file.Metadata().KeyValueMetadata {
		// pqarrow's serialised schema describes another writer's Arrow
		// types, not the ones this reader gives.
		if kv.Key != "ARROW:schema" {
			keys, values = append(keys, kv.Key), append(values, kv.Value)
		}
	}
	schema, err := ArrowSchema(rd.cols, arrow.NewMetadata(keys, values))
	if err != nil {
		return nil, err
	}
	mem := opts.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	batch := opts.BatchRows
	if batch == 0 {
		batch = DefaultArrowBatchRows
	}
	if batch < 0 {
		return nil, fmt.Errorf("parquet: BatchRows %d is negative", batch)
	}
	ar = &ArrowReader{r: rd, schema: schema, mem: mem, b: array.NewRecordBuilder(mem, schema), max: batch}
	leaves := rd.file.Root().Columns()
	for i := range rd.cols {
		ar.appends = append(ar.appends, arrowAppender(leaves[i], rd.cols[i], rd.convs[i], ar.b.Field(i)))
	}
	return ar, nil
}

// arrowAppender returns the appendFunc of one column. The physical types
// Writer uses are appended directly; others (a file of another tool) go
// through the Reader's conversion to a Go value.
func arrowAppender(c *pq.Column, col export.Column, conv convertFunc, b array.Builder) appendFunc {
	kind := c.Type().Kind()
	var lt format.LogicalTypeValue
	if l := c.Type().LogicalType(); l != nil {
		lt = l.Value
	}
	switch col.Type {
	case export.TypeString:
		sb := b.(*array.StringBuilder)
		return func(v pq.Value) error {
			s := v.ByteArray()
			if !utf8.Valid(s) {
				return errors.New("invalid UTF-8")
			}
			sb.BinaryBuilder.Append(s)
			return nil
		}
	case export.TypeInt64:
		ib := b.(*array.Int64Builder)
		if kind == pq.Int64 {
			return func(v pq.Value) error { ib.Append(v.Int64()); return nil }
		}
		return func(v pq.Value) error {
			x, err := conv(v)
			if err == nil {
				ib.Append(x.(int64))
			}
			return err
		}
	case export.TypeFloat64:
		fb := b.(*array.Float64Builder)
		if kind == pq.Double {
			return func(v pq.Value) error { fb.Append(v.Double()); return nil }
		}
		return func(v pq.Value) error { fb.Append(float64(v.Float())); return nil }
	case export.TypeBool:
		bb := b.(*array.BooleanBuilder)
		return func(v pq.Value) error { bb.Append(v.Boolean()); return nil }
	case export.TypeDate:
		db := b.(*array.Date32Builder)
		return func(v pq.Value) error { db.Append(arrow.Date32(v.Int32())); return nil }
	case export.TypeTimestamp:
		tb := b.(*array.TimestampBuilder)
		if ts, ok := lt.(*format.TimestampType); ok && kind == pq.Int64 {
			if _, micros := ts.Unit.Value.(*format.MicroSeconds); micros {
				return func(v pq.Value) error { tb.Append(arrow.Timestamp(v.Int64())); return nil }
			}
		}
		// Milliseconds, nanoseconds (truncated) and INT96.
		return func(v pq.Value) error {
			x, err := conv(v)
			if err == nil {
				tb.Append(arrow.Timestamp(x.(time.Time).UnixMicro()))
			}
			return err
		}
	}
	// NewReader only gives the types above.
	panic(fmt.Sprintf("parquet: column %q: no Arrow appender for %v", col.Name, col.Type))
}

// Schema returns the Arrow schema of the batches.
func (a *ArrowReader) Schema() *arrow.Schema { return a.schema }

// NumRows returns the number of rows in the file, from its footer.
func (a *ArrowReader) NumRows() int64 { return a.r.NumRows() }

// Next returns the next record batch, which the caller must Release, or
// io.EOF after the last one. A batch holds the rows of one row group, at
// most BatchRows of them. An error names the row and, where it concerns
// one value, the column; after it the ArrowReader is of no further use.
func (a *ArrowReader) Next() (rec arrow.RecordBatch, err error) {
	r := a.r
	if r.err != nil {
		return nil, r.err
	}
	if a.done {
		return nil, io.EOF
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet: row %d: malformed file: %v", r.read+1, p)
		}
		if err != nil && err != io.EOF {
			r.err = err
			// Drop what the failed batch had appended; a row cut short
			// leaves the columns of unequal length, so not as a batch.
			for _, f := range a.b.Fields() {
				f.NewArray().Release()
			}
		}
	}()
	n := 0
	for n < a.max {
		if r.next >= len(r.buf) {
			if n > 0 && r.rows == nil {
				break // the row group ended; its rows make this batch
			}
			if err := r.fill(); errors.Is(err, io.EOF) {
				a.done = true
				break
			} else if err != nil {
				return nil, err
			}
			continue
		}
		prow := r.buf[r.next]
		r.next++
		r.read++
		if err := r.walk(prow, a.appendValue); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, io.EOF
	}
	return a.b.NewRecordBatch(), nil
}

func (a *ArrowReader) appendValue(i int, v pq.Value) error {
	if v.IsNull() {
		a.b.Field(i).AppendNull()
		return nil
	}
	return a.appends[i](v)
}

// WriteStream writes the remaining rows as an Arrow IPC stream to w and
// returns how many it wrote. Nothing is written before the first batch is
// read, so an error then leaves w untouched. On a later error the stream
// is left without its end-of-stream marker, for the caller to discard. If
// w has a Flush() error method, it is called after each batch, so that a
// reader at the other end of a connection gets each batch as it is made.
func (a *ArrowReader) WriteStream(w io.Writer) (rows int64, err error) {
	flusher, _ := w.(interface{ Flush() error })
	iw := ipc.NewWriter(w, ipc.WithSchema(a.schema), ipc.WithAllocator(a.mem))
	for {
		rec, err := a.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rows, err
		}
		err = iw.Write(rec)
		n := rec.NumRows()
		rec.Release()
		if err != nil {
			return rows, err
		}
		rows += n
		if flusher != nil {
			if err := flusher.Flush(); err != nil {
				return rows, err
			}
		}
	}
	return rows, iw.Close()
}

// Close releases the builders and the row group being read. It does not
// close the io.ReaderAt.
func (a *ArrowReader) Close() error {
	a.b.Release()
	return a.r.Close()
}
