package sqlite

import (
	"fmt"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/internal/sqlsource"
)

// timestampLayout is the one text form of a timestamp in the database: UTC,
// whole seconds, so that text order is time order and the request window
// can be compared as text.
const timestampLayout = "2006-01-02T15:04:05Z"

// schema is the source schema in SQLite: STRICT tables, booleans as 0 or 1,
// dates and timestamps as text whose form a CHECK keeps.
var schema = sqlsource.Schema{
	ColumnType: func(c export.Column) string {
		switch c.Type {
		case export.TypeInt64, export.TypeBool:
			return "INTEGER"
		case export.TypeFloat64:
			return "REAL"
		default: // string, date, timestamp
			return "TEXT"
		}
	},
	FormatCheck: func(c export.Column) string {
		switch c.Type {
		case export.TypeBool:
			return fmt.Sprintf("%s IN (0, 1)", c.Name)
		case export.TypeDate:
			return fmt.Sprintf("%s GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'", c.Name)
		case export.TypeTimestamp:
			return fmt.Sprintf("%s GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z'", c.Name)
		}
		return ""
	},
	TableOptions: " STRICT",
}

// Schema returns the DDL of the source schema, derived from
// export.SourceTables so that the two cannot drift: one CREATE TABLE per
// table and the indexes the export queries use.
func Schema() []string { return schema.Statements() }
