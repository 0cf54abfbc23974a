package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rexport/rexport/export"
)

// TestDemo runs the demo as `rexport demo` does and reads every file it
// downloaded with arrow-go: each has the row count the manifest gives.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	g := &globalFlags{dataDir: t.TempDir(), logLevel: "warn"}
	dir, err := runDemo(context.Background(), &out, g, demoOptions{dir: filepath.Join(t.TempDir(), "not", "yet"), learners: 300, seed: 3})
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{"SHA-256 verified", "excluded learners:", "files: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, export.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m export.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Tables) != len(export.SourceTables) {
		t.Fatalf("demo exported %d tables, want all %d", len(m.Tables), len(export.SourceTables))
	}
	for _, mt := range m.Tables {
		data, err := os.ReadFile(filepath.Join(dir, mt.File))
		if err != nil {
			t.Fatal(err)
		}
		if got := readParquet(t, data).NumRows(); got != mt.Rows || got == 0 {
			t.Errorf("%s: arrow-go reads %d rows, manifest says %d", mt.File, got, mt.Rows)
		}
	}
}
