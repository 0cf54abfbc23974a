package export_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/internal/arrowtest"
	"github.com/rexport/rexport/source/parquetdir"
)

// TestParallelBuildMatchesSequential builds the same export with one and
// with four workers: the files must be byte-identical (a retried build
// must give the same files, whatever the scheduling) and an independent
// reader must see the same rows.
func TestParallelBuildMatchesSequential(t *testing.T) {
	b, in := setupBuilderN(t, 400)
	checkParallelMatchesSequential(t, b, in, nil)
}

// TestParallelParquetBuildMatchesSequential does the same from a
// directory of Parquet files in row groups of 97 rows, which the source
// reads on GOMAXPROCS goroutines: the single-threaded build runs with
// GOMAXPROCS=1 and one worker.
func TestParallelParquetBuildMatchesSequential(t *testing.T) {
	b, in := setupBuilderN(t, 400)
	dir := t.TempDir()
	if err := writeParquetDir(dir, fixtures.Config{Learners: 400, Seed: 5}, 97); err != nil {
		t.Fatal(err)
	}
	src, err := parquetdir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	sqliteB := *b
	b.Source = src
	seqDir := checkParallelMatchesSequential(t, b, in, func(workers int) func() {
		prev := runtime.GOMAXPROCS(workers)
		return func() { runtime.GOMAXPROCS(prev) }
	})

	// The Parquet source reads only the columns the build uses; the
	// SQLite source reads every one. The files must not differ.
	prepareParallelInput(&sqliteB, &in)
	sqliteDir := t.TempDir()
	m, err := sqliteB.Build(context.Background(), in, sqliteDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range m.Tables {
		fromSQLite, err1 := os.ReadFile(filepath.Join(sqliteDir, mt.File))
		fromParquet, err2 := os.ReadFile(filepath.Join(seqDir, mt.File))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !bytes.Equal(fromSQLite, fromParquet) {
			t.Errorf("%s differs between the SQLite and the Parquet source", mt.File)
		}
	}
}

// prepareParallelInput sets up the builder and request of the parallel
// build tests.
func prepareParallelInput(b *export.Builder, in *export.BuildInput) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	b.Now = func() time.Time { return now }
	in.Request.TimePrecision, in.Request.DateShiftDays = "second", 30
	// The table whose k-anonymity joins the learners table's published
	// quasi-identifiers comes right after it, so that with four workers
	// it is taken while learners is still being built.
	in.Request.Tables = []string{export.TableLearners, export.TableSurveyDemographics, export.TableCourses,
		export.TableEnrollments, export.TableQuizSubmissions, export.TableGrades, export.TableForumPosts}
}

// writeParquetDir writes the fixtures of cfg as <table>.parquet files in
// row groups of groupRows rows.
func writeParquetDir(dir string, cfg fixtures.Config, groupRows int64) (err error) {
	ws := map[string]*parquet.Writer{}
	fs := map[string]*os.File{}
	defer func() {
		for name, w := range ws {
			err = errors.Join(err, w.Close(), fs[name].Close())
		}
	}()
	return fixtures.Generate(cfg, func(table string, row export.Row) error {
		w := ws[table]
		if w == nil {
			t, _ := export.SourceTable(table)
			f, err := os.Create(filepath.Join(dir, table+".parquet"))
			if err != nil {
				return err
			}
			fs[table] = f
			if w, err = parquet.NewWriter(f, t.Columns, parquet.Options{MaxRowsPerRowGroup: groupRows}); err != nil {
				return err
			}
			ws[table] = w
		}
		return w.Write(row)
	})
}

// checkParallelMatchesSequential builds in with one and with four
// workers (setProcs, if not nil, sets GOMAXPROCS to the same for each
// build and returns what restores it), compares the builds and returns
// the one-worker build's directory.
func checkParallelMatchesSequential(t *testing.T, b *export.Builder, in export.BuildInput, setProcs func(int) func()) string {
	t.Helper()
	prepareParallelInput(b, &in)
	build := func(workers int) (*export.Manifest, string) {
		t.Helper()
		if setProcs != nil {
			defer setProcs(workers)()
		}
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
	return seqDir
}

// arrowRows reads a Parquet file with arrow-go, a reader independent of
// the writer, and returns its rows with each value as text ("<null>" for
// null).
func arrowRows(t *testing.T, data []byte) [][]string {
	t.Helper()
	return arrowtest.Rows(arrowtest.Read(t, data))
}
