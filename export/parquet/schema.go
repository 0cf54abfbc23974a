// Package parquet writes and reads rexport tables as Parquet files. It is
// the one package that imports parquet-go: the build pipeline writes its
// datasets through Writer, and `rexport source import` loads files made by
// other tools through Reader.
//
// Files use a flat schema, one leaf column per export.Column, in the order
// of the columns given, zstd compression, and dictionary encoding on the
// string columns whose values repeat (see Writer).
package parquet

import (
	"fmt"
	"reflect"
	"strings"

	pq "github.com/parquet-go/parquet-go"

	"github.com/rexport/rexport/export"
)

// nodeOf returns the Parquet node of one column; a string column is
// dictionary-encoded unless plain.
func nodeOf(c export.Column, plain bool) (pq.Node, error) {
	var n pq.Node
	switch c.Type {
	case export.TypeString:
		n = pq.Encoded(pq.String(), &pq.Plain)
		if !plain {
			n = pq.Encoded(pq.String(), &pq.RLEDictionary)
		}
	case export.TypeInt64:
		n = pq.Leaf(pq.Int64Type)
	case export.TypeFloat64:
		n = pq.Leaf(pq.DoubleType)
	case export.TypeBool:
		n = pq.Leaf(pq.BooleanType)
	case export.TypeDate:
		n = pq.Date()
	case export.TypeTimestamp:
		n = pq.Timestamp(pq.Microsecond) // isAdjustedToUTC=true
	default:
		return nil, fmt.Errorf("column %q: unsupported type %v", c.Name, c.Type)
	}
	if c.Nullable {
		return pq.Optional(n), nil
	}
	return pq.Required(n), nil
}

// schemaOf builds the file schema of cols. It does not use pq.Group, whose
// Fields method sorts by name: the file must keep the order of cols, and
// Writer hands column i's values to parquet-go's column writer i.
// plain[i] (if plain is not nil) leaves string column i without a
// dictionary.
func schemaOf(cols []export.Column, plain []bool) (*pq.Schema, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("no columns")
	}
	seen := make(map[string]bool, len(cols))
	g := orderedGroup{fields: make([]pq.Field, len(cols))}
	for i, c := range cols {
		if c.Name == "" {
			return nil, fmt.Errorf("column %d: empty name", i+1)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("column %q: duplicate name", c.Name)
		}
		seen[c.Name] = true
		n, err := nodeOf(c, plain != nil && plain[i])
		if err != nil {
			return nil, err
		}
		g.fields[i] = field{Node: n, name: c.Name}
	}
	return pq.NewSchema("rexport", g), nil
}

// orderedGroup is a required group node whose fields keep the order they
// were given in.
type orderedGroup struct {
	pq.Group // for Type and GoType; its map is left empty
	fields   []pq.Field
}

func (g orderedGroup) Fields() []pq.Field { return g.fields }

func (g orderedGroup) String() string {
	var b strings.Builder
	_ = pq.PrintSchema(&b, "", g)
	return b.String()
}

// field names a node in orderedGroup.
type field struct {
	pq.Node
	name string
}

func (f field) Name() string { return f.name }

// Value is only used to deconstruct Go structs, which this package never
// hands to parquet-go: Writer builds pq.Value values.
func (f field) Value(reflect.Value) reflect.Value { return reflect.Value{} }
