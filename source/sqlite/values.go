package sqlite

import (
	"encoding/json"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/internal/sqlsource"
)

// dialect spells the export queries for SQLite: "?" parameters, a list as
// one JSON array parameter (one parameter whatever the number of courses).
var dialect = sqlsource.Dialect{
	Param:  func(int) string { return "?" },
	InList: func(p string) string { return "IN (SELECT value FROM json_each(" + p + "))" },
	List: func(ids []string) (any, error) {
		js, err := json.Marshal(ids)
		return string(js), err
	},
	Encode: encode,
}

// encode converts a normalised Row value (sqlsource.Normalize) to what the
// database stores for column c.
func encode(c export.Column, v any) any {
	switch c.Type {
	case export.TypeBool:
		if v.(bool) {
			return int64(1)
		}
		return int64(0)
	case export.TypeDate:
		return v.(time.Time).Format(export.DateLayout)
	case export.TypeTimestamp:
		return v.(time.Time).Format(timestampLayout)
	}
	return v
}
