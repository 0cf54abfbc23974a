package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/rexport/rexport/export"
)

// Reader reads the rows of a Parquet file with a flat schema, one row
// group at a time. It reads files written by Writer and by other tools.
// A Reader is not safe for concurrent use.
type Reader struct {
	file  *pq.File
	input io.ReaderAt
	size  int64
	cols  []export.Column
	convs []convertFunc

	group int     // index of the next row group to open
	rows  pq.Rows // rows of the current row group, nil before the first
	buf   []pq.Row
	next  int   // index of the next row in buf
	read  int64 // rows returned by Next
	err   error // sticky

	checked map[[2]int]bool // (row group, column) whose page headers were checked
}

// convertFunc converts a non-null Parquet value to its Go value.
type convertFunc func(pq.Value) (any, error)

// readBatchRows is how many rows Reader asks parquet-go for at a time.
const readBatchRows = 256

// NewReader opens the Parquet file of the given size read from r. It
// returns an error naming the column if the file has a column of a type
// rexport cannot represent (nested, repeated, or of an unsupported
// physical or logical type).
func NewReader(r io.ReaderAt, size int64) (rd *Reader, err error) {
	// parquet-go panics on some malformed files; a user's file must
	// give an error, not take the process down.
	defer recoverError(&err)
	if err := checkFooter(r, size); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	f, err := pq.OpenFile(r, size, pq.SkipPageIndex(true), pq.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("parquet: opening file: %w", err)
	}
	fields := f.Root().Columns()
	if len(fields) == 0 {
		return nil, errors.New("parquet: file has no columns")
	}
	rd = &Reader{file: f, input: r, size: size}
	seen := make(map[string]bool, len(fields))
	for i, c := range fields {
		if seen[c.Name()] {
			return nil, fmt.Errorf("parquet: column %q: duplicate name", c.Name())
		}
		seen[c.Name()] = true
		col, conv, err := columnOf(c)
		if err != nil {
			return nil, fmt.Errorf("parquet: column %q: %w", c.Name(), err)
		}
		if int(c.Index()) != i {
			// Column indexes of leaves follow field order in a flat schema;
			// anything else means the schema is not flat.
			return nil, fmt.Errorf("parquet: column %q: unexpected leaf index %d", c.Name(), c.Index())
		}
		rd.cols = append(rd.cols, col)
		rd.convs = append(rd.convs, conv)
	}
	var total int64
	for _, g := range f.RowGroups() {
		total += g.NumRows()
	}
	if total != f.NumRows() {
		return nil, fmt.Errorf("parquet: file says %d rows, its row groups hold %d", f.NumRows(), total)
	}
	// The column-at-a-time API sizes its buffers by the row count of a
	// row group: the count must be what the pages hold, not just what the
	// footer claims.
	for g := range f.RowGroups() {
		if err := rd.checkRowGroupRows(g); err != nil {
			return nil, fmt.Errorf("parquet: row group %d: %w", g, err)
		}
	}
	return rd, nil
}

// checkRowGroupRows checks the row count of row group g against the
// values its first column's data pages say they hold (a flat column has
// one value per row).
func (r *Reader) checkRowGroupRows(g int) error {
	rg := &r.file.Metadata().RowGroups[g]
	if rg.NumRows < 0 || rg.NumRows > maxRowGroupRows {
		return fmt.Errorf("claims %d rows", rg.NumRows)
	}
	if len(rg.Columns) != len(r.cols) {
		return fmt.Errorf("has %d columns, the file %d", len(rg.Columns), len(r.cols))
	}
	var values int64
	err := r.pageHeaders(g, 0, func(h *format.PageHeader) error {
		switch {
		case h.DataPageHeader.Valid:
			values += int64(h.DataPageHeader.V.NumValues)
		case h.DataPageHeaderV2.Valid:
			values += int64(h.DataPageHeaderV2.V.NumValues)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if values != rg.NumRows {
		return fmt.Errorf("claims %d rows, its pages hold %d values", rg.NumRows, values)
	}
	return nil
}

// maxRowGroupRows bounds the rows of one row group (Parquet's own page
// and row counts are 32-bit).
const maxRowGroupRows = 1<<31 - 1

// checkFooter checks the magic bytes and the footer length of the file
// before parquet-go reads it: parquet-go allocates the footer length it
// reads, before comparing it with the file size.
func checkFooter(r io.ReaderAt, size int64) error {
	const magic = "PAR1"
	if size < 12 {
		return errors.New("not a Parquet file: too short")
	}
	var head [4]byte
	var tail [8]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("reading header: %w", err)
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("reading footer: %w", err)
	}
	if string(head[:]) != magic || string(tail[4:]) != magic {
		return errors.New("not a Parquet file: no PAR1 magic bytes")
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return fmt.Errorf("malformed file: footer of %d bytes in a file of %d", n, size)
	}
	return nil
}

func recoverError(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("parquet: malformed file: %v", p)
	}
}

// columnOf maps a top-level column of a file to an export.Column and the
// conversion of its values.
func columnOf(c *pq.Column) (export.Column, convertFunc, error) {
	col := export.Column{Name: c.Name()}
	switch {
	case !c.Leaf():
		return col, nil, errors.New("nested columns are not supported")
	case c.Repeated():
		return col, nil, errors.New("repeated columns are not supported")
	}
	col.Nullable = c.Optional()

	typ := c.Type()
	var lt format.LogicalTypeValue
	if l := typ.LogicalType(); l != nil {
		lt = l.Value
	}
	unsupported := func() (export.Column, convertFunc, error) {
		name := typ.Kind().String()
		if lt != nil {
			name += " " + lt.String()
		}
		return col, nil, fmt.Errorf("unsupported type %s", name)
	}

	switch typ.Kind() {
	case pq.ByteArray:
		switch lt.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			col.Type = export.TypeString
			return col, convertString, nil
		}
	case pq.Boolean:
		if lt == nil {
			col.Type = export.TypeBool
			return col, func(v pq.Value) (any, error) { return v.Boolean(), nil }, nil
		}
	case pq.Float:
		if lt == nil {
			col.Type = export.TypeFloat64
			return col, func(v pq.Value) (any, error) { return float64(v.Float()), nil }, nil
		}
	case pq.Double:
		if lt == nil {
			col.Type = export.TypeFloat64
			return col, func(v pq.Value) (any, error) { return v.Double(), nil }, nil
		}
	case pq.Int32:
		switch lt := lt.(type) {
		case nil:
			col.Type = export.TypeInt64
			return col, convertInt32, nil
		case *format.IntType:
			col.Type = export.TypeInt64
			if lt.IsSigned {
				return col, convertInt32, nil
			}
			return col, func(v pq.Value) (any, error) { return int64(v.Uint32()), nil }, nil
		case *format.DateType:
			col.Type = export.TypeDate
			return col, func(v pq.Value) (any, error) {
				return time.Unix(int64(v.Int32())*secondsPerDay, 0).UTC(), nil
			}, nil
		}
	case pq.Int64:
		switch lt := lt.(type) {
		case nil:
			col.Type = export.TypeInt64
			return col, convertInt64, nil
		case *format.IntType:
			if lt.IsSigned {
				col.Type = export.TypeInt64
				return col, convertInt64, nil
			}
		case *format.TimestampType:
			col.Type = export.TypeTimestamp
			// A timestamp not adjusted to UTC is local wall-clock time of
			// unknown zone; it is read as if it were UTC.
			switch lt.Unit.Value.(type) {
			case *format.MilliSeconds:
				return col, func(v pq.Value) (any, error) { return time.UnixMilli(v.Int64()).UTC(), nil }, nil
			case *format.MicroSeconds:
				return col, func(v pq.Value) (any, error) { return time.UnixMicro(v.Int64()).UTC(), nil }, nil
			case *format.NanoSeconds:
				return col, func(v pq.Value) (any, error) { return time.Unix(0, v.Int64()).UTC(), nil }, nil
			}
		}
	case pq.Int96:
		// Legacy timestamps of Impala, Hive and Spark.
		if lt == nil {
			col.Type = export.TypeTimestamp
			return col, convertInt96, nil
		}
	}
	return unsupported()
}

func convertString(v pq.Value) (any, error) {
	b := v.ByteArray()
	if !utf8.Valid(b) {
		return nil, errors.New("invalid UTF-8")
	}
	return string(b), nil
}

func convertInt32(v pq.Value) (any, error) { return int64(v.Int32()), nil }
func convertInt64(v pq.Value) (any, error) { return v.Int64(), nil }

// Julian day number of 1970-01-01.
const julianUnixEpoch = 2440588

// convertInt96 reads an INT96 timestamp: nanoseconds within the day in the
// low 64 bits, Julian day number in the high 32.
func convertInt96(v pq.Value) (any, error) {
	i := v.Int96()
	nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
	if nanos < 0 || nanos >= secondsPerDay*1e9 {
		return nil, fmt.Errorf("INT96 timestamp has %d nanoseconds in a day", nanos)
	}
	days := int64(i[2]) - julianUnixEpoch
	return time.Unix(days*secondsPerDay, nanos).UTC(), nil
}

// Limits on what one page may claim. parquet-go allocates the sizes and
// counts a page header gives before it reads the page, so a few corrupt
// bytes could make it allocate gigabytes; the headers are checked first.
// Writers make pages of about a megabyte.
const (
	maxPageHeaderBytes = 1 << 20
	maxPageBytes       = 256 << 20
	maxPageValues      = 1 << 26
)

// checkPages checks the page headers of every column chunk of row group g
// against the limits above and the bounds of the chunk.
func (r *Reader) checkPages(g int) error {
	for i := range r.cols {
		if err := r.checkColumnPages(g, i); err != nil {
			return err
		}
	}
	return nil
}

// checkColumnPages checks the page headers of column col of row group g,
// once per Reader.
func (r *Reader) checkColumnPages(g, col int) error {
	rg := &r.file.Metadata().RowGroups[g]
	if col >= len(rg.Columns) {
		return fmt.Errorf("row group %d has %d columns", g, len(rg.Columns))
	}
	if r.checked[[2]int{g, col}] {
		return nil
	}
	err := r.pageHeaders(g, col, func(h *format.PageHeader) error { return checkPageHeader(h, rg.NumRows) })
	if err != nil {
		return fmt.Errorf("column %q: %w", r.cols[col].Name, err)
	}
	if r.checked == nil {
		r.checked = map[[2]int]bool{}
	}
	r.checked[[2]int{g, col}] = true
	return nil
}

// pageHeaders calls fn with each page header of column col of row group
// g, checking that the chunk and its pages lie within the file.
func (r *Reader) pageHeaders(g, col int, fn func(*format.PageHeader) error) error {
	md := &r.file.Metadata().RowGroups[g].Columns[col].MetaData
	start := md.DataPageOffset
	if md.DictionaryPageOffset != 0 {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 4 || md.TotalCompressedSize < 0 || end > r.size || end < start {
		return errors.New("column chunk out of file bounds")
	}
	var buf []byte
	for pos := start; pos < end; {
		var h format.PageHeader
		n, err := readPageHeader(r.input, pos, end, &buf, &h)
		if err != nil {
			return fmt.Errorf("page header at offset %d: %w", pos, err)
		}
		if h.CompressedPageSize < 0 {
			return fmt.Errorf("page at offset %d: negative size", pos)
		}
		if err := fn(&h); err != nil {
			return fmt.Errorf("page at offset %d: %w", pos, err)
		}
		pos += n + int64(h.CompressedPageSize)
		if pos > end {
			return fmt.Errorf("page at offset %d overruns its column chunk", pos)
		}
	}
	return nil
}

// readPageHeader decodes the page header at pos, reading no further than
// end, and returns its length. It reads a little first and more only if
// the header is longer, as it rarely is.
func readPageHeader(r io.ReaderAt, pos, end int64, buf *[]byte, h *format.PageHeader) (int64, error) {
	for want := int64(4 << 10); ; want *= 16 {
		n := min(want, end-pos, maxPageHeaderBytes)
		if int64(cap(*buf)) < n {
			*buf = make([]byte, n)
		}
		b := (*buf)[:n]
		if m, err := r.ReadAt(b, pos); m < len(b) {
			return 0, err
		}
		*h = format.PageHeader{}
		rd := new(thrift.CompactProtocol).NewReaderFromBytes(b)
		err := thrift.NewDecoder(rd).Decode(h)
		if err == nil {
			return int64(rd.BytesRead()), nil
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) || n == end-pos || n == maxPageHeaderBytes {
			return 0, err
		}
	}
}

func checkPageHeader(h *format.PageHeader, rows int64) error {
	if h.CompressedPageSize < 0 || h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageBytes {
		return fmt.Errorf("page sizes %d (compressed), %d (uncompressed) out of range", h.CompressedPageSize, h.UncompressedPageSize)
	}
	var values int32
	switch {
	case h.DataPageHeader.Valid:
		values = h.DataPageHeader.V.NumValues
	case h.DataPageHeaderV2.Valid:
		values = h.DataPageHeaderV2.V.NumValues
	case h.DictionaryPageHeader.Valid:
		values = h.DictionaryPageHeader.V.NumValues
		rows = maxPageValues // a dictionary may hold more values than rows
	}
	if values < 0 || int64(values) > min(rows, maxPageValues) {
		return fmt.Errorf("page of %d values in a row group of %d rows", values, rows)
	}
	return nil
}

// Columns returns the columns of the file, in file order.
func (r *Reader) Columns() []export.Column {
	return append([]export.Column(nil), r.cols...)
}

// NumRows returns the number of rows in the file, from its footer.
func (r *Reader) NumRows() int64 { return r.file.NumRows() }

// Next returns the next row, or io.EOF after the last one. An error names
// the row (counting from 1) and, where it concerns one value, the column.
// After an error other than io.EOF the Reader is of no further use.
func (r *Reader) Next() (row export.Row, err error) {
	if r.err != nil {
		return nil, r.err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet: row %d: malformed file: %v", r.read+1, p)
		}
		if err != nil {
			r.err = err
		}
	}()
	for r.next >= len(r.buf) {
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
	prow := r.buf[r.next]
	r.next++
	r.read++
	return r.convert(prow)
}

// fill reads the next rows into buf, opening the next row group if the
// current one is done.
func (r *Reader) fill() error {
	if r.rows == nil {
		if r.group >= len(r.file.RowGroups()) {
			if r.read != r.file.NumRows() {
				return fmt.Errorf("parquet: file says %d rows, found %d", r.file.NumRows(), r.read)
			}
			return io.EOF
		}
		if err := r.checkPages(r.group); err != nil {
			return fmt.Errorf("parquet: row %d: %w", r.read+1, err)
		}
		r.rows = r.file.RowGroups()[r.group].Rows()
		r.group++
	}
	if r.buf == nil {
		r.buf = make([]pq.Row, readBatchRows)
	}
	r.buf = r.buf[:cap(r.buf)]
	n, err := r.rows.ReadRows(r.buf)
	r.buf, r.next = r.buf[:n], 0
	if errors.Is(err, io.EOF) {
		closeErr := r.rows.Close()
		r.rows = nil
		if closeErr != nil {
			return fmt.Errorf("parquet: row group %d: %w", r.group, closeErr)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("parquet: row %d: %w", r.read+1, err)
	}
	if n == 0 {
		return fmt.Errorf("parquet: row %d: no progress reading row group %d", r.read+1, r.group)
	}
	return nil
}

// convert converts one row read from the file; it must run before the
// next ReadRows, which may reuse the memory the row's values point to.
func (r *Reader) convert(prow pq.Row) (export.Row, error) {
	row := make(export.Row, len(r.cols))
	err := r.walk(prow, func(i int, v pq.Value) error {
		if v.IsNull() {
			return nil
		}
		x, err := r.convs[i](v)
		row[i] = x
		return err
	})
	if err != nil {
		return nil, err
	}
	return row, nil
}

// walk checks one row read from the file, value by value, and calls f
// with the column index of each value, null or not; an error of f is
// returned naming the row and column.
func (r *Reader) walk(prow pq.Row, f func(int, pq.Value) error) error {
	seen := 0
	for _, v := range prow {
		// parquet-go gives the values of a flat row in column order.
		i := v.Column()
		if i != seen || i >= len(r.cols) || v.RepetitionLevel() != 0 {
			return fmt.Errorf("parquet: row %d: unexpected value for column index %d", r.read, i)
		}
		c := r.cols[i]
		seen++
		if v.IsNull() && !c.Nullable {
			return fmt.Errorf("parquet: row %d: column %q: null in a required column", r.read, c.Name)
		}
		if err := f(i, v); err != nil {
			return fmt.Errorf("parquet: row %d: column %q: %w", r.read, c.Name, err)
		}
	}
	if seen != len(r.cols) {
		return fmt.Errorf("parquet: row %d: got %d values, want %d", r.read, seen, len(r.cols))
	}
	return nil
}

// Close releases the row group being read. It does not close the
// io.ReaderAt.
func (r *Reader) Close() error {
	if r.rows != nil {
		err := r.rows.Close()
		r.rows = nil
		return err
	}
	return nil
}
