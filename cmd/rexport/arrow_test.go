package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/api"
)

// getTableStream sends GET /v1/exports/{id}/tables/{table} with the token
// and Accept header (none if empty).
func getTableStream(t *testing.T, env *e2e, token, id, table, accept string) (*http.Response, []byte) {
	t.Helper()
	h := http.Header{}
	if accept != "" {
		h.Set("Accept", accept)
	}
	return httpGet(t, env.url+"/v1/exports/"+id+"/tables/"+table, token, h)
}

// recordValues renders every value of every column of the batches,
// column by column, for comparison.
func recordValues(recs []arrow.RecordBatch) [][]string {
	var out [][]string
	for _, rec := range recs {
		if out == nil {
			out = make([][]string, rec.NumCols())
		}
		for c := range int(rec.NumCols()) {
			col := rec.Column(c)
			for i := range col.Len() {
				v := "<null>"
				if !col.IsNull(i) {
					v = col.ValueStr(i)
				}
				out[c] = append(out[c], v)
			}
		}
	}
	return out
}

// TestArrowStream reads every table of a ready export through the Arrow
// stream route and compares it with arrow-go's reading of the Parquet
// file the route reads: same schema, same rows in the same order.
func TestArrowStream(t *testing.T) {
	env := setupE2E(t)
	partner := env.partners[0]
	b := buildExport(t, env, partner, allAPITables(), false)
	rc := env.researchers[partner]

	for _, mt := range b.manifest.Tables {
		t.Run(mt.Name, func(t *testing.T) {
			resp, body := getTableStream(t, env, rc.Token, b.id, mt.Name, "application/vnd.apache.arrow.stream")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/vnd.apache.arrow.stream" {
				t.Errorf("Content-Type %q", got)
			}
			rd, err := ipc.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("ipc.NewReader: %v", err)
			}
			defer rd.Release()
			var recs []arrow.RecordBatch
			var rows int64
			for rd.Next() {
				rec := rd.RecordBatch()
				rec.Retain()
				defer rec.Release()
				recs = append(recs, rec)
				rows += rec.NumRows()
			}
			if err := rd.Err(); err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			if rows != mt.Rows {
				t.Errorf("stream has %d rows, manifest says %d", rows, mt.Rows)
			}

			tbl := b.tables[mt.Name]
			want := tbl.Schema()
			got := rd.Schema()
			if len(got.Fields()) != len(want.Fields()) {
				t.Fatalf("stream schema %v, Parquet file %v", got, want)
			}
			for i, f := range want.Fields() {
				g := got.Field(i)
				if g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) || g.Nullable != f.Nullable {
					t.Errorf("field %d: stream %s, Parquet file %s", i, g, f)
				}
				if g.Name != mt.Columns[i].Name {
					t.Errorf("field %d is %q, manifest says %q", i, g.Name, mt.Columns[i].Name)
				}
			}
			for k, want := range map[string]string{"rexport.export_id": b.id, "rexport.table": mt.Name} {
				if v, ok := got.Metadata().GetValue(k); !ok || v != want {
					t.Errorf("schema metadata %s = %q (present %t), want %q", k, v, ok, want)
				}
			}

			tr := arrowTableBatches(t, tbl)
			if diff := cmp.Diff(recordValues(tr), recordValues(recs)); diff != "" {
				t.Errorf("stream values mismatch with the Parquet file (-file +stream):\n%s", diff)
			}
		})
	}

	t.Run("Refusals", func(t *testing.T) {
		first := b.manifest.Tables[0].Name
		other := env.researchers[env.partners[1]]
		tests := []struct {
			name, token, table, accept string
			status                     int
			code                       api.ErrorCode
		}{
			{"AnotherPartner", other.Token, first, "", http.StatusNotFound, api.NotFound},
			{"UnknownTable", rc.Token, "nope", "", http.StatusNotFound, api.NotFound},
			{"NotADatasetFile", rc.Token, "manifest", "", http.StatusNotFound, api.NotFound},
			{"BadTableName", rc.Token, "Learners!", "", http.StatusBadRequest, api.Invalid},
			{"AcceptJSON", rc.Token, first, "application/json", http.StatusNotAcceptable, api.NotAcceptable},
			{"AcceptArrowFile", rc.Token, first, "application/vnd.apache.arrow.file", http.StatusNotAcceptable, api.NotAcceptable},
			{"AcceptRefused", rc.Token, first, "application/vnd.apache.arrow.stream;q=0", http.StatusNotAcceptable, api.NotAcceptable},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, body := getTableStream(t, env, tt.token, b.id, tt.table, tt.accept)
				var e api.Error
				if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != tt.status || e.Code != tt.code {
					t.Fatalf("got HTTP %d %s, want %d %s", resp.StatusCode, body, tt.status, tt.code)
				}
			})
		}
		for _, accept := range []string{"*/*", "application/*", "text/csv;q=0.5, application/vnd.apache.arrow.stream"} {
			if resp, body := getTableStream(t, env, rc.Token, b.id, first, accept); resp.StatusCode != http.StatusOK {
				t.Errorf("Accept %q: HTTP %d %s, want 200", accept, resp.StatusCode, body)
			}
		}
	})

	t.Run("Audited", func(t *testing.T) {
		entries, err := env.app.meta.AuditLog(context.Background(), b.id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			if e.Action == "export.download" && strings.HasSuffix(e.Detail, " format=arrow") {
				got = append(got, e.Detail)
			}
		}
		// One per table, and the three successful requests of Refusals;
		// refused requests are not downloads.
		var want []string
		for _, mt := range b.manifest.Tables {
			want = append(want, "table="+mt.Name+" format=arrow")
		}
		for range 3 {
			want = append(want, "table="+b.manifest.Tables[0].Name+" format=arrow")
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("arrow downloads in the audit log mismatch (-want +got):\n%s", diff)
		}
	})
}

// arrowTableBatches returns the batches of a table, released at the end of
// the test.
func arrowTableBatches(t *testing.T, tbl arrow.Table) []arrow.RecordBatch {
	t.Helper()
	var out []arrow.RecordBatch
	tr := array.NewTableReader(tbl, 1<<20)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		rec.Retain()
		t.Cleanup(rec.Release)
		out = append(out, rec)
	}
	return out
}
