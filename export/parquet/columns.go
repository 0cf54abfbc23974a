package parquet

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/rexport/rexport/export"
)

// The column-at-a-time API below reads one column of one row group
// without building rows: a filter reads the few columns it tests for every
// row, and only the rows it keeps are then read from the other columns.
// Values are decoded straight from the page buffers; a page's values are
// converted only for the rows asked for.

// NumRowGroups returns the number of row groups in the file.
func (r *Reader) NumRowGroups() int { return len(r.file.RowGroups()) }

// RowGroupRows returns the number of rows in row group g.
func (r *Reader) RowGroupRows(g int) int { return int(r.file.RowGroups()[g].NumRows()) }

// ReadBytes calls fn for every row of row group g with the raw bytes of
// column col, which must be a string column; null is true (and b nil) for
// a null. b is only valid during the call. For a dictionary-encoded page,
// entry is the dictionary entry's index within the column chunk (the same
// b for the same entry), else -1: a caller can remember what it decided
// for an entry until the next row group.
func (r *Reader) ReadBytes(g, col int, fn func(row int, b []byte, entry int32, null bool)) (err error) {
	if r.cols[col].Type != export.TypeString {
		return fmt.Errorf("parquet: column %q is not a string column", r.cols[col].Name)
	}
	c, err := r.OpenColumn(g, col)
	if err != nil {
		return err
	}
	defer c.Close()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed file: %v", p)
		}
		if err != nil {
			err = fmt.Errorf("parquet: row group %d: column %q: %w", g, r.cols[col].Name, err)
		}
	}()
	// nextPage has checked the definition levels, the dictionary indexes
	// and that the page holds the values it says.
	for rows := r.RowGroupRows(g); c.first+c.n < rows; {
		if err := c.nextPage(); err != nil {
			return err
		}
		var dbytes []byte
		var offs []uint32
		if c.idx != nil {
			dv := c.dict.Page().Data()
			dbytes, offs = dv.ByteArray()
			if len(offs) < c.dict.Len()+1 {
				return errShortPage
			}
		} else {
			data := c.page.Data()
			dbytes, offs = data.ByteArray()
		}
		j := 0
		for i := range c.n {
			if c.defs != nil && c.defs[i] == 0 {
				fn(c.first+i, nil, -1, true)
				continue
			}
			e, entry := int32(j), int32(-1)
			if c.idx != nil {
				e = c.idx[j]
				entry = e
			}
			j++
			fn(c.first+i, dbytes[offs[e]:offs[e+1]:offs[e+1]], entry, false)
		}
	}
	return nil
}

// ReadValues calls fn(k, v) with the Go value of column col (nil for a
// null) in row rows[k] of row group g, for every k. rows must be in
// increasing order. A null in a column the file marks required is an
// error; whether a null is allowed otherwise is the caller's to judge.
func (r *Reader) ReadValues(g, col int, rows []int32, fn func(k int, v any) error) error {
	c, err := r.OpenColumn(g, col)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Values(rows, fn)
}

// ColumnCursor reads the values of one column of one row group, page by
// page, holding one page at a time: several cursors over the columns of a
// row group, advanced together, read its rows in windows. It is not safe
// for concurrent use.
type ColumnCursor struct {
	r     *Reader
	g     int
	col   int
	pages pq.Pages

	page    pq.Page // current page, nil before the first and after the last
	first   int     // row of the group that starts page
	n       int     // rows in page
	defs    []byte  // definition levels of page, nil if it has no nulls
	valueAt func(j int) pq.Value
	// Position within page: value index j of row i.
	i, j int

	last     int // the last row asked for, to check the order
	fallback []pq.Value
	err      error

	// For a dictionary-encoded page: its indexes, and the values of the
	// dictionary's entries converted so far, so that a value repeated
	// row after row (a course, a learner) is converted and boxed once.
	idx      []int32
	dict     pq.Dictionary
	dictVals []any
	dictDone []bool

	// strs holds the bytes of the strings read from plain pages: a value
	// is a string pointing into it, one allocation per up to hundreds of
	// values rather than one each. Bytes once written are never changed;
	// a new chunk starts when one is full.
	strs []byte
}

// strsFirstChunk and strsChunk are the sizes of a ColumnCursor's first
// and largest chunks of string bytes.
const strsFirstChunk, strsChunk = 256, 16 << 10

// str returns a string of the bytes b, kept in c.strs.
func (c *ColumnCursor) str(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", errors.New("invalid UTF-8")
	}
	if len(b) == 0 {
		return "", nil
	}
	if len(b) > cap(c.strs)-len(c.strs) {
		// Chunks start small and double: a string kept long (a roster
		// name, a cache key) keeps its whole chunk, and a cursor that
		// reads few strings should not hold 16 KiB for each.
		c.strs = make([]byte, 0, max(min(2*cap(c.strs), strsChunk), strsFirstChunk, len(b)))
	}
	start := len(c.strs)
	c.strs = append(c.strs, b...)
	return unsafe.String(&c.strs[start], len(b)), nil
}

// OpenColumn returns a cursor at the start of column col of row group g.
func (r *Reader) OpenColumn(g, col int) (c *ColumnCursor, err error) {
	defer recoverError(&err)
	if err := r.checkColumnPages(g, col); err != nil {
		return nil, fmt.Errorf("parquet: row group %d: %w", g, err)
	}
	pages := r.file.RowGroups()[g].ColumnChunks()[col].Pages()
	return &ColumnCursor{r: r, g: g, col: col, pages: pages, last: -1}, nil
}

// Close releases the cursor's page.
func (c *ColumnCursor) Close() {
	if c.page != nil {
		pq.Release(c.page)
		c.page = nil
	}
	if c.pages != nil {
		c.pages.Close()
		c.pages = nil
	}
}

// Values calls fn(k, v) with the value of row rows[k], as
// Reader.ReadValues does. rows must be increasing, and above the rows of
// earlier calls.
func (c *ColumnCursor) Values(rows []int32, fn func(k int, v any) error) (err error) {
	if c.err != nil {
		return c.err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed file: %v", p)
		}
		if err != nil {
			err = fmt.Errorf("parquet: row group %d: column %q: %w", c.g, c.r.cols[c.col].Name, err)
			c.err = err
		}
	}()
	conv := c.r.convs[c.col]
	nullable := c.r.cols[c.col].Nullable
	stringCol := c.r.cols[c.col].Type == export.TypeString // conv is convertString
	for k, row32 := range rows {
		row := int(row32)
		if row <= c.last {
			return errors.New("rows asked for out of order")
		}
		c.last = row
		for c.page == nil || row >= c.first+c.n {
			if err := c.nextPage(); err != nil {
				return err
			}
		}
		if c.defs != nil {
			for ; c.i < row; c.i++ {
				if c.defs[c.i-c.first] != 0 {
					c.j++
				}
			}
		} else {
			c.i, c.j = row, row-c.first
		}
		present := c.defs == nil || c.defs[row-c.first] != 0
		if present && c.idx != nil {
			e := c.idx[c.j]
			if int(e) >= len(c.dictDone) {
				c.dictVals = append(c.dictVals, make([]any, int(e)+1-len(c.dictVals))...)
				c.dictDone = append(c.dictDone, make([]bool, int(e)+1-len(c.dictDone))...)
			}
			if !c.dictDone[e] {
				x, err := conv(c.dict.Index(e))
				if err != nil {
					return fmt.Errorf("row %d: %w", row+1, err)
				}
				c.dictVals[e], c.dictDone[e] = x, true
			}
			if err := fn(k, c.dictVals[e]); err != nil {
				return err
			}
			continue
		}
		var v pq.Value
		if present {
			v = c.valueAt(c.j)
		}
		if v.IsNull() {
			if !nullable {
				return fmt.Errorf("row %d: null in a required column", row+1)
			}
			if err := fn(k, nil); err != nil {
				return err
			}
			continue
		}
		var x any
		if stringCol {
			x, err = c.str(v.ByteArray())
		} else {
			x, err = conv(v)
		}
		if err != nil {
			return fmt.Errorf("row %d: %w", row+1, err)
		}
		if err := fn(k, x); err != nil {
			return err
		}
	}
	return nil
}

// nextPage moves to the next page and prepares the access to its values.
func (c *ColumnCursor) nextPage() error {
	if c.page != nil {
		c.first += c.n
		pq.Release(c.page)
		c.page = nil
	}
	p, err := c.pages.ReadPage()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("row %d asked for, the row group has %d", c.last+1, c.first)
	}
	if err != nil {
		return err
	}
	c.page, c.n = p, int(p.NumRows())
	if len(p.RepetitionLevels()) > 0 {
		return errors.New("repeated values in a flat column")
	}
	defs := p.DefinitionLevels()
	if defs != nil && len(defs) < c.n {
		return errShortPage
	}
	data := p.Data()
	dict := p.Dictionary()
	have := c.n // values the page holds
	c.idx = nil
	switch kind := p.Type().Kind(); {
	case dict != nil:
		idx := data.Int32()
		for _, e := range idx {
			if e < 0 || int(e) >= dict.Len() {
				return errors.New("dictionary index out of range")
			}
		}
		if dict != c.dict {
			// Grown as entries are met, not sized by the dictionary: a
			// file's dictionary may be far larger than what is read.
			c.dict, c.dictVals, c.dictDone = dict, c.dictVals[:0], c.dictDone[:0]
		}
		c.idx = idx
		have, c.valueAt = len(idx), func(j int) pq.Value { return dict.Index(idx[j]) }
	case kind == pq.ByteArray:
		b, offs := data.ByteArray()
		have, c.valueAt = len(offs)-1, func(j int) pq.Value { return pq.ByteArrayValue(b[offs[j]:offs[j+1]:offs[j+1]]) }
	case kind == pq.Int64:
		xs := data.Int64()
		have, c.valueAt = len(xs), func(j int) pq.Value { return pq.Int64Value(xs[j]) }
	case kind == pq.Int32:
		xs := data.Int32()
		have, c.valueAt = len(xs), func(j int) pq.Value { return pq.Int32Value(xs[j]) }
	case kind == pq.Double:
		xs := data.Double()
		have, c.valueAt = len(xs), func(j int) pq.Value { return pq.DoubleValue(xs[j]) }
	default:
		// Booleans and the rarer types: parquet-go's own value reader,
		// which gives one value per row, nulls included.
		if cap(c.fallback) < c.n {
			c.fallback = make([]pq.Value, c.n)
		}
		fb := c.fallback[:c.n]
		m, err := readFull(p.Values(), fb)
		if err != nil {
			return err
		}
		defs, have = nil, m
		c.valueAt = func(j int) pq.Value { return fb[j] }
	}
	values := c.n
	if defs != nil {
		values = 0
		for _, d := range defs[:c.n] {
			if d != 0 {
				values++
			}
		}
	}
	if have < values {
		return errShortPage
	}
	c.defs, c.i, c.j = defs, c.first, 0
	return nil
}

var errShortPage = errors.New("page holds fewer values than it says")

func readFull(r pq.ValueReader, buf []pq.Value) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.ReadValues(buf[n:])
		n += m
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		if m == 0 {
			return n, nil
		}
	}
	return n, nil
}

// WrittenByRexport reports whether the file says rexport's Writer wrote
// it (its created_by): a Writer checks the order it declares (see
// Options.SortedBy), which another writer may not.
func (r *Reader) WrittenByRexport() bool {
	return strings.HasPrefix(r.file.Metadata().CreatedBy, createdByPrefix)
}

// SortedBy returns the names of the columns the file's row groups declare
// their rows sorted by (sorting_columns), in order, as far as every row
// group declares the same, ascending, with nulls first in a nullable
// column: nil if a row group declares none. A declaration is the
// writer's claim, and says nothing of the order across row groups: see
// StringBounds.
func (r *Reader) SortedBy() []string {
	groups := r.file.Metadata().RowGroups
	if len(groups) == 0 {
		return nil
	}
	var names []string
	for i, sc := range groups[0].SortingColumns {
		c := int(sc.ColumnIdx)
		if sc.Descending || c < 0 || c >= len(r.cols) || r.cols[c].Nullable && !sc.NullsFirst {
			break
		}
		for _, rg := range groups[1:] {
			if i >= len(rg.SortingColumns) || rg.SortingColumns[i] != sc {
				return names
			}
		}
		names = append(names, r.cols[c].Name)
	}
	return names
}

// StringBounds returns bounds of the values of string column col in row
// group g from its statistics: every value v has lo <= v <= hi, in byte
// order. ok is false if the chunk has no such statistics (min_value and
// max_value, under the column's type-defined order), or the column may
// hold nulls, which the statistics leave out.
func (r *Reader) StringBounds(g, col int) (lo, hi []byte, ok bool) {
	md := r.file.Metadata()
	if col < 0 || col >= len(r.cols) || r.cols[col].Type != export.TypeString || r.cols[col].Nullable ||
		col >= len(md.ColumnOrders) || md.ColumnOrders[col].Value == nil {
		return nil, nil, false
	}
	if _, typeOrder := md.ColumnOrders[col].Value.(*format.TypeDefinedOrder); !typeOrder {
		return nil, nil, false
	}
	st := &md.RowGroups[g].Columns[col].MetaData.Statistics
	if st.MinValue == nil || st.MaxValue == nil {
		return nil, nil, false
	}
	return st.MinValue, st.MaxValue, true
}
