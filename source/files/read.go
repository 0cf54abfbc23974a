package files

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// Read calls fn for every row of f, converted to the Go types of its table
// and in its column order. It stops at the first error. Bad input returns an
// *Error; an error of fn is returned as it is.
func Read(ctx context.Context, f File, fn func(Pos, export.Row) error) error {
	in, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer in.Close()
	switch f.Format {
	case CSV:
		return readCSV(ctx, f, in, fn)
	case Parquet:
		st, err := in.Stat()
		if err != nil {
			return err
		}
		return readParquet(ctx, f, in, st.Size(), fn)
	}
	return fmt.Errorf("%s: unknown format %q", f.Name(), f.Format)
}

// ReadCSV reads CSV from r as the file f (f.Path is not opened).
func ReadCSV(ctx context.Context, f File, r io.Reader, fn func(Pos, export.Row) error) error {
	return readCSV(ctx, f, r, fn)
}

// checkEvery is how many rows are read between checks of the context.
const checkEvery = 1024

func readCSV(ctx context.Context, f File, in io.Reader, fn func(Pos, export.Row) error) error {
	t := f.Table
	cr := csv.NewReader(bufio.NewReaderSize(in, 1<<16))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return f.ErrorAt(Pos{Line: 1}, "", errors.New("missing header row"))
	}
	if err != nil {
		return csvError(f, err)
	}
	// fieldOf[i] is the position in a record of table column i, or -1.
	fieldOf := make([]int, len(t.Columns))
	for i := range fieldOf {
		fieldOf[i] = -1
	}
	for j, name := range header {
		if j == 0 {
			name = strings.TrimPrefix(name, "\ufeff")
		}
		i := t.ColumnIndex(name)
		if i < 0 {
			return f.ErrorAt(Pos{Line: 1}, name, fmt.Errorf("unknown column (table %s has %s)", t.Name, columnNames(t)))
		}
		if fieldOf[i] >= 0 {
			return f.ErrorAt(Pos{Line: 1}, name, errors.New("column given twice"))
		}
		fieldOf[i] = j
	}
	// Every column must be present, nullable ones too: a file without
	// deleted_at or birth_date would silently switch off the exclusion of
	// deleted accounts and children.
	for i, c := range t.Columns {
		if fieldOf[i] < 0 {
			return f.ErrorAt(Pos{Line: 1}, c.Name, errors.New("missing column (every column must be in the header; leave a value empty for NULL)"))
		}
	}
	var n int64
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			return f.ErrorAt(Pos{Line: int64(pe.StartLine)}, "", fmt.Errorf("wrong number of fields: %d, the header has %d", len(rec), len(header)))
		}
		if err != nil {
			return csvError(f, err)
		}
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line, _ := cr.FieldPos(0)
		row := make(export.Row, len(t.Columns))
		for i, c := range t.Columns {
			j := fieldOf[i]
			if j < 0 {
				continue
			}
			v, err := ParseValue(c, rec[j])
			if err != nil {
				l, _ := cr.FieldPos(j)
				return f.ErrorAt(Pos{Line: int64(l)}, c.Name, err)
			}
			row[i] = v
		}
		if err := fn(Pos{Line: int64(line)}, row); err != nil {
			return err
		}
	}
}

func csvError(f File, err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	return f.ErrorAt(Pos{Line: int64(pe.Line)}, "", fmt.Errorf("malformed CSV at byte %d of the line: %w", pe.Column, pe.Err))
}

func columnNames(t export.Table) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// ParseValue converts the text of a CSV cell to the Go value of column c.
// An empty cell is NULL, which a required column refuses.
//
// Errors never quote the value: it may be personal data.
func ParseValue(c export.Column, s string) (any, error) {
	if s == "" {
		if !c.Nullable {
			return nil, errors.New("missing value for required column")
		}
		return nil, nil
	}
	switch c.Type {
	case export.TypeString:
		return s, nil
	case export.TypeInt64:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errors.New("not an integer")
		}
		return i, nil
	case export.TypeFloat64:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("not a finite number")
		}
		return v, nil
	case export.TypeBool:
		switch strings.ToLower(s) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return nil, errors.New("not a boolean (true, false, 1 or 0)")
	case export.TypeDate:
		d, err := time.Parse(export.DateLayout, s)
		if err != nil {
			return nil, errors.New("not a date (YYYY-MM-DD)")
		}
		return d, nil
	case export.TypeTimestamp:
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, errors.New("not an RFC 3339 timestamp (e.g. 2025-01-06T09:30:00Z)")
		}
		return ts.UTC(), nil
	}
	return nil, fmt.Errorf("unsupported column type %s", c.Type)
}

func readParquet(ctx context.Context, f File, in io.ReaderAt, size int64, fn func(Pos, export.Row) error) error {
	t := f.Table
	pr, err := parquet.NewReader(in, size)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	defer pr.Close()
	fileCol, err := mapColumns(f, pr)
	if err != nil {
		return err
	}
	// tableIndex[j] is the table column of file column j.
	tableIndex := make([]int, len(fileCol))
	for i, j := range fileCol {
		tableIndex[j] = i
	}
	for n := int64(1); ; n++ {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		prow, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
		row := make(export.Row, len(t.Columns))
		for j, v := range prow {
			i := tableIndex[j]
			if v == nil && !t.Columns[i].Nullable {
				return f.ErrorAt(Pos{Row: n}, t.Columns[i].Name, errors.New("missing value for required column"))
			}
			row[i] = v
		}
		if err := fn(Pos{Row: n}, row); err != nil {
			return err
		}
	}
}

// mapColumns checks that the columns of the Parquet file pr are those of
// f's table, in any order and of the table's types, and returns the file
// column of each table column.
func mapColumns(f File, pr *parquet.Reader) ([]int, error) {
	t := f.Table
	fileCols := pr.Columns()
	fileCol := make([]int, len(t.Columns))
	for i := range fileCol {
		fileCol[i] = -1
	}
	for j, fc := range fileCols {
		i := t.ColumnIndex(fc.Name)
		if i < 0 {
			return nil, f.ErrorAt(Pos{}, fc.Name, fmt.Errorf("unknown column (table %s has %s)", t.Name, columnNames(t)))
		}
		if fileCol[i] >= 0 {
			return nil, f.ErrorAt(Pos{}, fc.Name, errors.New("column given twice"))
		}
		if want := t.Columns[i].Type; fc.Type != want {
			return nil, f.ErrorAt(Pos{}, fc.Name, fmt.Errorf("column type is %s, want %s", fc.Type, want))
		}
		fileCol[i] = j
	}
	for i, c := range t.Columns {
		if fileCol[i] < 0 {
			return nil, f.ErrorAt(Pos{}, c.Name, errors.New("missing column (every column must be in the file; write nulls for unknown values)"))
		}
	}
	return fileCol, nil
}

// ParquetFile is a Parquet table file open for reading a column at a time
// (see parquet.Reader's NumRowGroups, ReadBytes and ReadValues). It is not
// safe for concurrent use: open one per goroutine.
type ParquetFile struct {
	*parquet.Reader
	File File
	// Col holds the file column of each table column.
	Col []int
	in  *os.File
}

// OpenParquet opens the Parquet file f and checks its columns against its
// table, as Read does.
func OpenParquet(f File) (*ParquetFile, error) {
	if f.Format != Parquet {
		return nil, fmt.Errorf("%s: not a Parquet file", f.Name())
	}
	in, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	st, err := in.Stat()
	if err != nil {
		in.Close()
		return nil, err
	}
	pr, err := parquet.NewReader(in, st.Size())
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	cols, err := mapColumns(f, pr)
	if err != nil {
		in.Close()
		return nil, err
	}
	return &ParquetFile{Reader: pr, File: f, Col: cols, in: in}, nil
}

// Close closes the file.
func (p *ParquetFile) Close() error {
	p.Reader.Close()
	return p.in.Close()
}
