package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/export"
)

// TestFilesDescribeThemselves reads each Parquet file's key/value metadata
// with arrow-go: export, table, policy, key version, linkage scope, and a
// description of every column; and the export's README says how to cite
// it and when to delete it.
func TestFilesDescribeThemselves(t *testing.T) {
	env := setupE2E(t)
	partner := env.partners[0]
	b := buildExport(t, env, partner, []api.Table{"learners", "grades"}, false)
	rc := env.researchers[partner]
	for _, mt := range b.manifest.Tables {
		var buf bytes.Buffer
		if _, err := rc.Download(context.Background(), b.id, mt.File, mt.SHA256, &buf); err != nil {
			t.Fatal(err)
		}
		rdr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		kv := map[string]string{}
		md := rdr.MetaData().KeyValueMetadata()
		for i, k := range md.Keys() {
			kv[k] = md.Values()[i]
		}
		rdr.Close()
		for k, want := range map[string]string{
			"rexport.export_id":      b.id,
			"rexport.table":          mt.Name,
			"rexport.policy_version": export.PolicyVersion,
			"rexport.key_version":    strconv.Itoa(b.manifest.Pseudonyms.KeyVersion),
			"rexport.linkage_scope":  b.manifest.Pseudonyms.Scope,
		} {
			if kv[k] != want {
				t.Errorf("%s: metadata %s = %q, want %q", mt.File, k, kv[k], want)
			}
		}
		for _, c := range mt.Columns {
			if d := kv["rexport.column."+c.Name]; !strings.Contains(d, "Treatment:") || len(d) < 20 {
				t.Errorf("%s: column %s has no description in the file: %q", mt.File, c.Name, d)
			}
		}
	}
	readme := string(b.documents[export.ReadmeName])
	for _, want := range []string{"Cite it as:", b.id, "delete it by " + b.manifest.ExpiresAt.Format(export.DateLayout), "/erasures"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
}
