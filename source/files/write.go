package files

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// TableWriter writes the rows of one table, in its column order.
type TableWriter interface {
	Write(export.Row) error
	// Close flushes the rows and closes the file.
	Close() error
}

// Create creates <dir>/<table>.<format> (it must not exist) and returns a
// writer for the rows of t, which must come in the order of t's key: a
// Parquet file declares it (its row groups' sorting_columns), and a row
// out of order is an error.
func Create(dir string, t export.Table, format Format) (TableWriter, error) {
	path := filepath.Join(dir, t.Name+"."+string(format))
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	var w rowWriter
	switch format {
	case CSV:
		w, err = NewCSVWriter(out, t)
	case Parquet:
		w, err = parquet.NewWriter(out, t.Columns, parquet.Options{SortedBy: t.Key})
	default:
		err = fmt.Errorf("unknown format %q", format)
	}
	if err != nil {
		out.Close()
		os.Remove(path)
		return nil, err
	}
	return &fileWriter{w: w, f: out}, nil
}

type rowWriter interface {
	Write(export.Row) error
	Close() error
}

// fileWriter closes the file after the format's writer.
type fileWriter struct {
	w rowWriter
	f *os.File
}

func (fw *fileWriter) Write(row export.Row) error { return fw.w.Write(row) }

func (fw *fileWriter) Close() error {
	err := fw.w.Close()
	if err == nil {
		err = fw.f.Sync()
	}
	return errors.Join(err, fw.f.Close())
}

// CSVWriter writes the rows of one table as CSV with a header row, in the
// form ReadCSV reads.
type CSVWriter struct {
	t   export.Table
	cw  *csv.Writer
	bw  *bufio.Writer
	rec []string
}

// NewCSVWriter writes the header of t to w and returns a writer for its
// rows. Close flushes but does not close w.
func NewCSVWriter(w io.Writer, t export.Table) (*CSVWriter, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	header := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = c.Name
	}
	if err := cw.Write(header); err != nil {
		return nil, err
	}
	return &CSVWriter{t: t, cw: cw, bw: bw, rec: make([]string, len(t.Columns))}, nil
}

// Write writes one row. It refuses values that would not read back as
// they are: a wrong Go type, NULL in a required column, and the empty
// string (an empty cell reads as NULL).
func (w *CSVWriter) Write(row export.Row) error {
	if len(row) != len(w.t.Columns) {
		return fmt.Errorf("%s: row has %d values, table has %d columns", w.t.Name, len(row), len(w.t.Columns))
	}
	for i, c := range w.t.Columns {
		s, err := FormatValue(c, row[i])
		if err != nil {
			return fmt.Errorf("%s: column %s: %w", w.t.Name, c.Name, err)
		}
		w.rec[i] = s
	}
	return w.cw.Write(w.rec)
}

// Close flushes the rows written.
func (w *CSVWriter) Close() error {
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		return err
	}
	return w.bw.Flush()
}

// FormatValue returns the CSV text of value v of column c.
func FormatValue(c export.Column, v any) (string, error) {
	if v == nil {
		if !c.Nullable {
			return "", errors.New("missing value for required column")
		}
		return "", nil
	}
	switch c.Type {
	case export.TypeString:
		if s, ok := v.(string); ok {
			if s == "" {
				return "", errors.New("empty string cannot be written: an empty cell reads as NULL")
			}
			return s, nil
		}
	case export.TypeInt64:
		if i, ok := v.(int64); ok {
			return strconv.FormatInt(i, 10), nil
		}
	case export.TypeFloat64:
		if f, ok := v.(float64); ok {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return "", fmt.Errorf("%v is not a finite number", f)
			}
			return strconv.FormatFloat(f, 'g', -1, 64), nil
		}
	case export.TypeBool:
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
	case export.TypeDate:
		if t, ok := v.(time.Time); ok {
			return t.Format(export.DateLayout), nil
		}
	case export.TypeTimestamp:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format(time.RFC3339), nil
		}
	}
	return "", fmt.Errorf("value of Go type %T for %s column", v, c.Type)
}
