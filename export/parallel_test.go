package export_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/internal/arrowtest"
)

// TestParallelBuildMatchesSequential builds the same export with one and
// with four workers: the files must be byte-identical (a retried build
// must give the same files, whatever the scheduling) and an independent
// reader must see the same rows.
func TestParallelBuildMatchesSequential(t *testing.T) {
	b, in := setupBuilderN(t, 400)
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	b.Now = func() time.Time { return now }
	in.Request.TimePrecision, in.Request.DateShiftDays = "second", 30
	// The table whose k-anonymity joins the learners table's published
	// quasi-identifiers comes right after it, so that with four workers
	// it is taken while learners is still being built.
	in.Request.Tables = []string{export.TableLearners, export.TableSurveyDemographics, export.TableCourses,
		export.TableEnrollments, export.TableQuizSubmissions, export.TableGrades, export.TableForumPosts}
	build := func(workers int) (*export.Manifest, string) {
		t.Helper()
		b := *b
		b.Workers = workers
		dir := t.TempDir()
		var last int64
		m, err := b.Build(context.Background(), in, dir, func(rows int64) {
			if rows < last {
				t.Errorf("Workers=%d: progress went back from %d to %d", workers, last, rows)
			}
			last = rows
		})
		if err != nil {
			t.Fatalf("Workers=%d: %v", workers, err)
		}
		return m, dir
	}
	seqM, seqDir := build(1)
	parM, parDir := build(4)

	// The fixture must exercise what the parallel build could get wrong:
	// every table, exclusions, k-anonymity in the learners table and in a
	// table joined to it, scrubbed free text.
	if len(seqM.Tables) != len(export.TableNames()) || len(seqM.ExcludedLearners) == 0 || seqM.HeadlineStatistics == nil {
		t.Fatalf("fixture too small: %d tables, exclusions %v, headline %v", len(seqM.Tables), seqM.ExcludedLearners, seqM.HeadlineStatistics)
	}
	risks, findings := 0, 0
	for _, mt := range seqM.Tables {
		if mt.Risk != nil {
			risks++
		}
		for _, c := range mt.Columns {
			findings += len(c.Findings)
		}
	}
	if risks < 2 || findings == 0 {
		t.Fatalf("fixture too small: k-anonymity in %d tables, %d finding types", risks, findings)
	}

	if diff := cmp.Diff(seqM, parM); diff != "" {
		t.Errorf("manifest mismatch (-workers=1 +workers=4):\n%s", diff)
	}
	for _, mt := range seqM.Tables {
		seq, err := os.ReadFile(filepath.Join(seqDir, mt.File))
		if err != nil {
			t.Fatal(err)
		}
		par, err := os.ReadFile(filepath.Join(parDir, mt.File))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(arrowRows(t, seq), arrowRows(t, par)); diff != "" {
			t.Errorf("%s: rows mismatch (-workers=1 +workers=4):\n%s", mt.Name, diff)
		}
		if !bytes.Equal(seq, par) {
			t.Errorf("%s: files differ", mt.File)
		}
	}
	for _, name := range []string{export.DeliveredName, export.DictionaryName, export.ReadmeName, export.ManifestName} {
		seq, err1 := os.ReadFile(filepath.Join(seqDir, name))
		par, err2 := os.ReadFile(filepath.Join(parDir, name))
		if err1 != nil || err2 != nil || !bytes.Equal(seq, par) {
			t.Errorf("%s differs between workers=1 and workers=4 (%v, %v)", name, err1, err2)
		}
	}
}

// arrowRows reads a Parquet file with arrow-go, a reader independent of
// the writer, and returns its rows with each value as text ("<null>" for
// null).
func arrowRows(t *testing.T, data []byte) [][]string {
	t.Helper()
	return arrowtest.Rows(arrowtest.Read(t, data))
}
