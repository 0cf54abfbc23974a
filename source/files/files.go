// Package files reads and writes source tables as files: <table>.csv
// (header row, columns matched by name) and <table>.parquet. The import
// reads a directory of them; the fixtures generator writes them.
package files

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rexport/rexport/export"
)

// Format is the file format of a table file, named by its extension.
type Format string

// The formats of table files.
const (
	CSV     Format = "csv"
	Parquet Format = "parquet"
)

// ParseFormat returns the format named s ("csv" or "parquet").
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case CSV, Parquet:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (want csv or parquet)", s)
}

// File is one table file: <table>.<format>.
type File struct {
	Table  export.Table
	Path   string
	Format Format
}

// Name returns the file's base name, used in errors.
func (f File) Name() string { return filepath.Base(f.Path) }

// Pos is the position of a row in its file: the physical line where a CSV
// record starts (1-based; the header is line 1) or the row number in a
// Parquet file (1-based).
type Pos struct {
	Line int64
	Row  int64
}

// Error is bad input in a table file. It names the file, the line or row,
// and the column where it can.
type Error struct {
	File   string
	Pos    Pos
	Column string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Pos.Line)
	}
	if e.Pos.Row > 0 {
		fmt.Fprintf(&b, ": row %d", e.Pos.Row)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %s", e.Column)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorAt returns an *Error for the row at pos of f.
func (f File) ErrorAt(pos Pos, column string, err error) *Error {
	return &Error{File: f.Name(), Pos: pos, Column: column, Err: err}
}

// ReadDir returns the table files in dir, in the load order of
// export.SourceTables. Every entry must be <table>.csv or <table>.parquet
// for a source table (names starting with "." are ignored); a table given in
// both formats, or a directory without any table file, is an error.
func ReadDir(dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	byTable := map[string]File{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		ext := filepath.Ext(name)
		t, ok := export.SourceTable(strings.TrimSuffix(name, ext))
		format, ferr := ParseFormat(strings.TrimPrefix(ext, "."))
		if !ok || ferr != nil || !e.Type().IsRegular() && e.Type()&os.ModeSymlink == 0 {
			return nil, fmt.Errorf("%s: unknown file: want <table>.csv or <table>.parquet with a table of %s", name, strings.Join(export.TableNames(), ", "))
		}
		if prev, dup := byTable[t.Name]; dup {
			return nil, fmt.Errorf("%s: table %s is also given as %s", name, t.Name, prev.Name())
		}
		byTable[t.Name] = File{Table: t, Path: filepath.Join(dir, name), Format: format}
	}
	var out []File
	for _, t := range export.SourceTables {
		if f, ok := byTable[t.Name]; ok {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, errors.New(dir + ": no table files (<table>.csv or <table>.parquet)")
	}
	return out, nil
}
