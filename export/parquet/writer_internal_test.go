package parquet

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"

	"github.com/rexport/rexport/export"
)

// TestWriterMatchesRowWise checks that Writer, which hands parquet-go its
// batches a column at a time, writes the same bytes as parquet-go's
// row-wise (*Writer).WriteRows given the same rows in the same batches:
// the same pages, row groups, dictionaries and statistics.
func TestWriterMatchesRowWise(t *testing.T) {
	t.Parallel()
	cols := []export.Column{
		{Name: "id", Type: export.TypeString},
		{Name: "learner", Type: export.TypeString},
		{Name: "text", Type: export.TypeString, Nullable: true},
		{Name: "n", Type: export.TypeInt64},
		{Name: "n_null", Type: export.TypeInt64, Nullable: true},
		{Name: "x", Type: export.TypeFloat64, Nullable: true},
		{Name: "ok", Type: export.TypeBool},
		{Name: "ok_null", Type: export.TypeBool, Nullable: true},
		{Name: "day", Type: export.TypeDate, Nullable: true},
		{Name: "at", Type: export.TypeTimestamp},
	}
	t0 := time.Date(2024, 5, 1, 8, 30, 0, 0, time.UTC)
	const n = 20_000
	rows := make([]export.Row, n)
	for i := range rows {
		row := export.Row{
			fmt.Sprintf("submission-%08d-%s", i, "padding-to-forty-three-chars"),
			fmt.Sprintf("learner-%05d", i*7919%300), // gets a dictionary
			fmt.Sprintf("answer %d", i),
			int64(i),
			int64(i % 7),
			float64(i) / 3,
			i%2 == 0,
			i%3 == 0,
			time.Date(2024, 1, 1+i%365, 0, 0, 0, 0, time.UTC),
			t0.Add(time.Duration(i) * time.Second),
		}
		for c, col := range cols {
			if col.Nullable && (i+c)%5 == 0 {
				row[c] = nil
			}
		}
		rows[i] = row
	}
	for _, maxRows := range []int64{0, 1500, 100, 1} {
		t.Run(fmt.Sprint("MaxRows", maxRows), func(t *testing.T) {
			t.Parallel()
			rows := rows
			if maxRows == 1 {
				rows = rows[:300]
			}
			var got bytes.Buffer
			w, err := NewWriter(&got, cols, Options{MaxRowsPerRowGroup: maxRows})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}

			// The same rows, converted by w, through parquet-go's
			// row-wise API, in batches of the size w uses, with the
			// schema (dictionaries) w chose.
			var want bytes.Buffer
			config, err := pq.NewWriterConfig(append(slices.Clip(w.opts), w.pw.Schema())...)
			if err != nil {
				t.Fatal(err)
			}
			ref := pq.NewWriter(&want, config)
			batch := len(w.values[0])
			for start := 0; start < len(rows); start += batch {
				var pqRows []pq.Row
				for _, r := range rows[start:min(start+batch, len(rows))] {
					pqRow := make(pq.Row, len(r))
					for c, v := range r {
						if err := w.setValue(&pqRow[c], c, v); err != nil {
							t.Fatal(err)
						}
						pqRow[c] = pqRow[c].Level(0, pqRow[c].DefinitionLevel(), c)
					}
					pqRows = append(pqRows, pqRow)
				}
				if _, err := ref.WriteRows(pqRows); err != nil {
					t.Fatal(err)
				}
			}
			if err := ref.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("Writer wrote %d bytes, parquet-go's WriteRows %d bytes: they differ", got.Len(), want.Len())
			}
		})
	}
}
