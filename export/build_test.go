package export_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rexport/rexport/deidentify"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
	"github.com/rexport/rexport/fixtures"
	srcsqlite "github.com/rexport/rexport/source/sqlite"
)

func parquetEncoder(w io.Writer, cols []export.Column, meta map[string]string) (export.RowWriter, error) {
	return parquet.NewWriter(w, cols, parquet.Options{KeyValueMetadata: meta})
}

// failingEncoder fails after writing n rows, as a full disk would.
func failingEncoder(n int) export.Encoder {
	return func(w io.Writer, cols []export.Column, meta map[string]string) (export.RowWriter, error) {
		rw, err := parquetEncoder(w, cols, meta)
		return &failAfter{RowWriter: rw, left: n}, err
	}
}

type failAfter struct {
	export.RowWriter
	left int
}

func (f *failAfter) Write(r export.Row) error {
	if f.left == 0 {
		return errors.New("disk full")
	}
	f.left--
	return f.RowWriter.Write(r)
}

func setupBuilder(t *testing.T) (*export.Builder, export.BuildInput) {
	t.Helper()
	return setupBuilderN(t, 200)
}

// setupBuilderN builds a source DB of n generated learners and a builder
// for all tables of the first partner's courses.
func setupBuilderN(t testing.TB, n int) (*export.Builder, export.BuildInput) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "source.db")
	db, err := srcsqlite.Create(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	err = db.Load(ctx, func(ins *srcsqlite.Inserter) error {
		return fixtures.Generate(fixtures.Config{Learners: n, Seed: 5}, func(table string, row export.Row) error { return ins.Insert(table, row) })
	})
	if err != nil {
		t.Fatal(err)
	}
	courses, err := db.Courses(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var master deidentify.MasterKey
	master[0] = 1
	b := &export.Builder{Source: db, Master: master, Encoder: parquetEncoder, FileExt: ".parquet"}
	var own []string
	for _, c := range courses {
		if c.PartnerID == courses[0].PartnerID {
			own = append(own, c.CourseID)
		}
	}
	in := export.BuildInput{ExportID: "exp_test", PartnerID: courses[0].PartnerID, KeyVersion: 1, Request: export.Request{
		Courses: own, Tables: export.TableNames(), IncludeFreeText: true, IncludeSensitive: true, Linkage: export.LinkagePartner}}
	return b, in
}

func TestBuildIsRepeatable(t *testing.T) {
	b, in := setupBuilder(t)
	dir := t.TempDir()
	first, err := b.Build(context.Background(), in, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A crashed earlier attempt leaves a temporary file behind.
	if err := os.WriteFile(filepath.Join(dir, ".grades.parquet.tmp-1"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := export.RemoveTemp(dir); err != nil {
		t.Fatal(err)
	}
	second, err := b.Build(context.Background(), in, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, mt := range first.Tables {
		if second.Tables[i].SHA256 != mt.SHA256 || mt.Rows == 0 {
			t.Errorf("%s: rebuild gave a different file (%d rows)", mt.Name, mt.Rows)
		}
		sum, size, err := export.FileSHA256(filepath.Join(dir, mt.File))
		if err != nil || sum != mt.SHA256 || size != mt.Size {
			t.Errorf("%s on disk: sha %s size %d, manifest %s %d (%v)", mt.File, sum, size, mt.SHA256, mt.Size, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && e.Name() != export.DeliveredName {
			t.Errorf("leftover temporary file %s", e.Name())
		}
	}
}

func TestFailedBuildLeavesNoCompleteLookingOutput(t *testing.T) {
	b, in := setupBuilder(t)
	dir := t.TempDir()
	if _, err := b.Build(context.Background(), in, dir, nil); err != nil {
		t.Fatal(err)
	}
	// The retry of a finished build fails half-way: the old manifest must
	// not survive to vouch for a mix of old and new files.
	b.Encoder = failingEncoder(10)
	if _, err := b.Build(context.Background(), in, dir, nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Build with a failing encoder: err = %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == export.ManifestName || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("after a failed build the directory holds %s", e.Name())
		}
	}
}

func TestBuildRefusesCoursesOfAnotherPartner(t *testing.T) {
	b, in := setupBuilder(t)
	in.PartnerID = "someone-else"
	_, err := b.Build(context.Background(), in, t.TempDir(), nil)
	if export.ErrorCode(err) != export.ECONFLICT {
		t.Fatalf("err = %v, want conflict", err)
	}
}

func TestExpiryCappedByAgreement(t *testing.T) {
	b, in := setupBuilder(t)
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	b.Now = func() time.Time { return now }
	m, err := b.Build(context.Background(), in, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(export.DefaultRetention); !m.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", m.ExpiresAt, want)
	}
	in.NotAfter = now.AddDate(0, 0, 3)
	if m, err = b.Build(context.Background(), in, t.TempDir(), nil); err != nil {
		t.Fatal(err)
	}
	if !m.ExpiresAt.Equal(in.NotAfter) || !m.GeneratedAt.Equal(now) {
		t.Errorf("with the agreement ending sooner: ExpiresAt = %v, want %v", m.ExpiresAt, in.NotAfter)
	}
}

// BenchmarkBuild measures the whole pipeline (SQLite source, exclusions,
// pseudonyms, scrubbing, Parquet) over one partner's courses.
func BenchmarkBuild(b *testing.B) {
	for _, freeText := range []bool{false, true} {
		name := map[bool]string{false: "Structured", true: "WithFreeText"}[freeText]
		b.Run(name, func(b *testing.B) {
			builder, in := setupBuilderN(b, 3000)
			in.Request.IncludeFreeText = freeText
			var rows int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m, err := builder.Build(context.Background(), in, b.TempDir(), nil)
				if err != nil {
					b.Fatal(err)
				}
				rows = 0
				for _, mt := range m.Tables {
					rows += mt.Rows
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// readTable reads a built file back with the package's own reader.
func readTable(t *testing.T, path string) ([]export.Column, []export.Row) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	r, err := parquet.NewReader(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows []export.Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Columns(), rows
		} else if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
}

func column(t *testing.T, cols []export.Column, name string) int {
	t.Helper()
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	t.Fatalf("no column %s", name)
	return -1
}

func TestTimePrecisionAndDateShift(t *testing.T) {
	b, in := setupBuilder(t)
	in.Request.Tables = []string{export.TableEnrollments, export.TableQuizSubmissions}
	times := func(req export.Request) map[string][]time.Time {
		t.Helper()
		in := in
		in.Request = req
		dir := t.TempDir()
		if _, err := b.Build(context.Background(), in, dir, nil); err != nil {
			t.Fatal(err)
		}
		out := map[string][]time.Time{} // learner pseudonym -> times, enrollments then submissions
		for _, tc := range []struct{ table, col string }{{export.TableEnrollments, "enrolled_at"}, {export.TableQuizSubmissions, "submitted_at"}} {
			cols, rows := readTable(t, filepath.Join(dir, tc.table+".parquet"))
			li, ti := column(t, cols, "learner_id"), column(t, cols, tc.col)
			for _, r := range rows {
				out[r[li].(string)] = append(out[r[li].(string)], r[ti].(time.Time))
			}
		}
		return out
	}
	req := in.Request
	req.TimePrecision = "second"
	exact := times(req)
	req.TimePrecision = "day"
	for learner, ts := range times(req) {
		for i, v := range ts {
			if !v.Equal(exact[learner][i].Truncate(24 * time.Hour)) {
				t.Fatalf("day precision: %v, want %v", v, exact[learner][i].Truncate(24*time.Hour))
			}
		}
	}
	req.TimePrecision, req.DateShiftDays = "second", 30
	shifted := times(req)
	offsets := map[time.Duration]bool{}
	for learner, ts := range shifted {
		d := ts[0].Sub(exact[learner][0])
		if d == 0 || d < -30*24*time.Hour || d > 30*24*time.Hour || d%(24*time.Hour) != 0 {
			t.Fatalf("learner shifted by %v, want a non-zero whole number of days within ±30", d)
		}
		for i, v := range ts {
			if got := v.Sub(exact[learner][i]); got != d {
				t.Fatalf("a learner's dates shift by %v and %v: intervals would not survive", d, got)
			}
		}
		offsets[d] = true
	}
	if len(offsets) < 10 {
		t.Errorf("only %d distinct offsets across %d learners", len(offsets), len(shifted))
	}
}

// TestEstimateCountsEveryTable checks that the estimate, counted across
// tables at once, is the sum of the source's count of each table.
func TestEstimateCountsEveryTable(t *testing.T) {
	builder, in := setupBuilderN(t, 200)
	ctx := context.Background()
	var want int64
	for _, name := range in.Request.Tables {
		n, err := builder.Source.Count(ctx, export.SourceQuery{Table: name, Courses: in.Request.Courses, From: in.Request.From, To: in.Request.To})
		if err != nil {
			t.Fatal(err)
		}
		want += n
	}
	for _, workers := range []int{1, 3, 0} {
		builder.Workers = workers
		got, err := builder.Estimate(ctx, in)
		if err != nil || got != want || want == 0 {
			t.Errorf("Workers %d: Estimate = %d, %v; want %d (> 0)", workers, got, err, want)
		}
	}
}

// rosterFails is a Source whose Roster fails, after the given delay.
type rosterFails struct {
	export.Source
	delay time.Duration
}

func (r rosterFails) Roster(ctx context.Context, courses []string, fn func(export.RosterEntry) error) error {
	time.Sleep(r.delay)
	return errors.New("roster unreadable")
}

// TestScrubberFailureFailsTheBuild: the scrubber is built beside the
// tables without free text; its failure fails the build, whether tables
// with free text wait for it or none are asked for, and leaves no
// dataset file.
func TestScrubberFailureFailsTheBuild(t *testing.T) {
	b, in := setupBuilder(t)
	for _, tt := range []struct {
		name   string
		tables []string
		delay  time.Duration
	}{
		{"all tables", export.TableNames(), 0},
		{"all tables, slow roster", export.TableNames(), 200 * time.Millisecond},
		{"no free text among them", []string{export.TableCourses, export.TableLearners}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := *b
			b.Source = rosterFails{Source: b.Source, delay: tt.delay}
			in := in
			in.Request.Tables = tt.tables
			dir := t.TempDir()
			_, err := b.Build(context.Background(), in, dir, nil)
			if err == nil || !strings.Contains(err.Error(), "roster unreadable") {
				t.Fatalf("Build = %v, want the roster's error", err)
			}
			if _, statErr := os.Stat(filepath.Join(dir, "manifest.json")); statErr == nil {
				t.Error("a failed build wrote a manifest")
			}
		})
	}
}
