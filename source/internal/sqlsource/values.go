package sqlsource

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rexport/rexport/export"
)

// Normalize checks that v is a value column c may hold and returns the one
// form every SQL source stores and gives back: a date is midnight UTC of
// its calendar day, a timestamp is UTC in whole seconds (SQLite keeps them
// as text of that precision), a float is never -0 (SQLite reads it back as
// 0), and a string is valid UTF-8 without NUL bytes (PostgreSQL text holds
// nothing else). Years lie in 1 to 9999, the range both databases hold and
// the text form can order.
func Normalize(c export.Column, v any) (any, error) {
	if v == nil {
		if !c.Nullable {
			return nil, fmt.Errorf("missing value for required %s column", c.Type)
		}
		return nil, nil
	}
	switch c.Type {
	case export.TypeString:
		if s, ok := v.(string); ok {
			if !utf8.ValidString(s) {
				return nil, fmt.Errorf("text is not valid UTF-8")
			}
			if strings.IndexByte(s, 0) >= 0 {
				return nil, fmt.Errorf("text contains a NUL byte")
			}
			return s, nil
		}
	case export.TypeInt64:
		if i, ok := v.(int64); ok {
			return i, nil
		}
	case export.TypeFloat64:
		if f, ok := v.(float64); ok {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%v is not a finite number", f)
			}
			if f == 0 {
				f = 0 // -0 too
			}
			return f, nil
		}
	case export.TypeBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case export.TypeDate:
		if t, ok := v.(time.Time); ok {
			return checkYear(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC))
		}
	case export.TypeTimestamp:
		if t, ok := v.(time.Time); ok {
			return checkYear(t.UTC().Truncate(time.Second))
		}
	}
	return nil, fmt.Errorf("value of Go type %T for %s column", v, c.Type)
}

func checkYear(t time.Time) (any, error) {
	if y := t.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("year %d is outside 1 to 9999", y)
	}
	return t, nil
}

// RowValues checks row against the source table named table and returns
// the table and the row's values, each normalised and then converted by
// encode (nil keeps the normalised value), appended to dst. n is the row's
// number in the load (see InsertError.Row).
func RowValues(table string, row export.Row, n int64, dst []any, encode func(export.Column, any) any) (export.Table, []any, error) {
	t, ok := export.SourceTable(table)
	if !ok {
		return t, dst, fmt.Errorf("insert: unknown table %q", table)
	}
	if len(row) != len(t.Columns) {
		return t, dst, &InsertError{Table: table, Row: n, Err: fmt.Errorf("row has %d values, table has %d columns", len(row), len(t.Columns))}
	}
	for i, c := range t.Columns {
		v, err := Normalize(c, row[i])
		if err != nil {
			return t, dst, &InsertError{Table: table, Column: c.Name, Row: n, Err: err}
		}
		if encode != nil && v != nil {
			v = encode(c, v)
		}
		dst = append(dst, v)
	}
	return t, dst, nil
}

// Decode converts a value read from column c, as either database driver
// gives it, to its Row representation: the same Go value whichever
// database stored it.
func Decode(c export.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.Type {
	case export.TypeString:
		switch s := v.(type) {
		case string:
			return s, nil
		case []byte:
			return string(s), nil
		}
	case export.TypeInt64:
		if i, ok := v.(int64); ok {
			return i, nil
		}
	case export.TypeFloat64:
		switch f := v.(type) {
		case float64:
			return f, nil
		case int64:
			return float64(f), nil
		}
	case export.TypeBool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case int64:
			return b != 0, nil
		}
	case export.TypeDate:
		switch d := v.(type) {
		case string:
			return time.Parse(export.DateLayout, d)
		case time.Time:
			return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), nil
		}
	case export.TypeTimestamp:
		switch ts := v.(type) {
		case string:
			t, err := time.Parse(time.RFC3339, ts)
			return t.UTC(), err
		case time.Time:
			return ts.UTC(), nil
		}
	}
	return nil, fmt.Errorf("column %s: unexpected stored value of Go type %T", c.Name, v)
}
