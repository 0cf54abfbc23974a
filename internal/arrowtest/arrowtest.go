// Package arrowtest turns Arrow tables read back from Parquet files (by
// arrow-go, the tests' independent reader) into values tests can compare.
package arrowtest

import "github.com/apache/arrow-go/v18/arrow"

// Null is how Rows spells a null value.
const Null = "<null>"

// Rows returns the table's rows in order, each value as text.
func Rows(tbl arrow.Table) [][]string {
	rows := make([][]string, tbl.NumRows())
	for c := range int(tbl.NumCols()) {
		r := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for i := range chunk.Len() {
				v := Null
				if !chunk.IsNull(i) {
					v = chunk.ValueStr(i)
				}
				rows[r] = append(rows[r], v)
				r++
			}
		}
	}
	return rows
}
