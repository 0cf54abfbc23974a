package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/rexport/rexport/export"
)

// TestSampleHasARealExportsSchema fetches GET /v1/sample with a pipeline's
// token and checks the zip against a real export of every table with free
// text and sensitive columns: the same files, and a dictionary with the same
// tables and columns (names, types, treatments).
func TestSampleHasARealExportsSchema(t *testing.T) {
	env := setupE2E(t)
	partner := env.partners[0]
	real := buildExport(t, env, partner, allAPITables(), true)

	get := func(token string) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodGet, env.url+"/v1/sample", nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	if resp, _ := get(""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous GET /v1/sample: %d, want 401", resp.StatusCode)
	}
	resp, body := get(env.researchers[partner].Token)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("GET /v1/sample: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	var want []string
	for _, f := range real.manifest.Files() {
		want = append(want, f.Name)
	}
	want = append(want, export.ManifestName)
	var got []string
	for name := range files {
		got = append(got, name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("sample files %v, a real export's %v", got, want)
	}
	var sample, realDict export.Dictionary
	if err := json.Unmarshal(files[export.DictionaryName], &sample); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(real.documents[export.DictionaryName], &realDict); err != nil {
		t.Fatal(err)
	}
	if len(sample.Tables) != len(realDict.Tables) {
		t.Fatalf("sample has %d tables, a real export %d", len(sample.Tables), len(realDict.Tables))
	}
	for i, st := range sample.Tables {
		rt := realDict.Tables[i]
		if st.Name != rt.Name || len(st.Columns) != len(rt.Columns) {
			t.Errorf("table %d: sample %s with %d columns, real %s with %d", i, st.Name, len(st.Columns), rt.Name, len(rt.Columns))
			continue
		}
		for j, c := range st.Columns {
			r := rt.Columns[j]
			if c.Name != r.Name || c.Type != r.Type || c.Nullable != r.Nullable {
				t.Errorf("%s column %d: sample %s %s, real %s %s", st.Name, j, c.Name, c.Type, r.Name, r.Type)
			}
		}
		if st.Rows == 0 {
			t.Errorf("sample table %s is empty", st.Name)
		}
	}
	for _, mt := range real.manifest.Tables {
		if tbl := readParquet(t, files[mt.File]); tbl.Schema().NumFields() != len(mt.Columns) {
			t.Errorf("sample %s has %d columns, want %d", mt.File, tbl.Schema().NumFields(), len(mt.Columns))
		}
	}
}
