package sqlite

import (
	"fmt"
	"math"
	"time"

	"github.com/rexport/rexport/export"
)

// toSQL converts a Row value to what the database stores for column c.
func toSQL(c export.Column, v any) (any, error) {
	if v == nil {
		if !c.Nullable {
			return nil, fmt.Errorf("missing value for required %s column", c.Type)
		}
		return nil, nil
	}
	switch c.Type {
	case export.TypeString:
		if s, ok := v.(string); ok {
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
			return f, nil
		}
	case export.TypeBool:
		if b, ok := v.(bool); ok {
			if b {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case export.TypeDate:
		if t, ok := v.(time.Time); ok {
			return t.Format(export.DateLayout), nil
		}
	case export.TypeTimestamp:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format(timestampLayout), nil
		}
	}
	return nil, fmt.Errorf("value of Go type %T for %s column", v, c.Type)
}

// fromSQL converts a value read from column c to its Row representation.
func fromSQL(c export.Column, v any) (any, error) {
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
		if i, ok := v.(int64); ok {
			return i != 0, nil
		}
	case export.TypeDate:
		if s, ok := v.(string); ok {
			return time.Parse(export.DateLayout, s)
		}
	case export.TypeTimestamp:
		if s, ok := v.(string); ok {
			t, err := time.Parse(time.RFC3339, s)
			return t.UTC(), err
		}
	}
	return nil, fmt.Errorf("column %s: unexpected stored value of Go type %T", c.Name, v)
}
