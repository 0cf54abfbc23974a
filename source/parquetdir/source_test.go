package parquetdir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pq "github.com/parquet-go/parquet-go"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/source/files"
	srcsqlite "github.com/rexport/rexport/source/sqlite"
)

// fixtureCfg is small enough for a unit test and large enough for every
// population of learners and several partners.
var fixtureCfg = fixtures.Config{Learners: 300, Seed: 7}

type bundle struct {
	db  *srcsqlite.DB
	dir string
}

var (
	fixtureOnce sync.Once
	fixture     bundle
	fixtureErr  error
)

// setup generates the same fixtures once as a SQLite database and as a
// directory of Parquet files, shared by the tests of the package.
func setup(t *testing.T) bundle {
	t.Helper()
	fixtureOnce.Do(func() {
		root, err := os.MkdirTemp("", "parquetdir-test-")
		if err != nil {
			fixtureErr = err
			return
		}
		fixture.dir = filepath.Join(root, "parquet")
		if fixtureErr = writeParquet(fixture.dir); fixtureErr != nil {
			return
		}
		fixture.db, fixtureErr = writeSQLite(filepath.Join(root, "source.db"))
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixture
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.db != nil {
		fixture.db.Close()
		os.RemoveAll(filepath.Dir(fixture.dir))
	}
	os.Exit(code)
}

func writeSQLite(path string) (*srcsqlite.DB, error) {
	ctx := context.Background()
	db, err := srcsqlite.Create(ctx, path)
	if err != nil {
		return nil, err
	}
	err = db.Load(ctx, func(ins *srcsqlite.Inserter) error {
		return fixtures.Generate(fixtureCfg, ins.Insert)
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// writeParquet writes the fixtures one file per table, as `rexport
// fixtures --format parquet` does, but in row groups of 64 rows, so that
// the row groups are read in parallel and their order matters; learners,
// enrollments and grades in the reverse of the order generated, so that
// they are not in key order and get sorted; and courses as CSV. The
// files in key order declare it (sorting_columns), but forum posts, which
// leave the order to be checked.
func writeParquet(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	byTable := map[string][]export.Row{}
	if err := fixtures.Generate(fixtureCfg, func(table string, row export.Row) error {
		byTable[table] = append(byTable[table], row)
		return nil
	}); err != nil {
		return err
	}
	for name, rows := range byTable {
		t, _ := export.SourceTable(name)
		switch name {
		case export.TableLearners, export.TableEnrollments, export.TableGrades:
			slices.Reverse(rows)
		case export.TableCourses:
			w, err := files.Create(dir, t, files.CSV)
			if err != nil {
				return err
			}
			for _, r := range rows {
				if err := w.Write(r); err != nil {
					return err
				}
			}
			if err := w.Close(); err != nil {
				return err
			}
			continue
		}
		opts := parquet.Options{MaxRowsPerRowGroup: 64}
		switch name {
		case export.TableLearners, export.TableEnrollments, export.TableGrades, export.TableForumPosts:
		default:
			opts.SortedBy = t.Key
		}
		if err := writeRows(filepath.Join(dir, name+".parquet"), t, opts, slices.Values(rows)); err != nil {
			return err
		}
	}
	return nil
}

// openTest opens dir for a test, closed when it ends.
func openTest(t *testing.T, dir string) *Source {
	t.Helper()
	src, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func scanAll(t *testing.T, src export.Source, q export.SourceQuery) []export.SourceRow {
	t.Helper()
	var rows []export.SourceRow
	if err := src.Scan(context.Background(), q, func(r export.SourceRow) error {
		r.Row = slices.Clone(r.Row) // Scan reuses the slice
		rows = append(rows, r)
		return nil
	}); err != nil {
		t.Fatalf("scan %s: %v", q.Table, err)
	}
	return rows
}

// queries returns the queries the sources are compared on for table:
// all courses, one partner's, a few, none, and time windows whose bounds
// are times of rows in the data (inclusive From, exclusive To), shifted by
// less than a second, and in another time zone.
func queries(t *testing.T, db *srcsqlite.DB, table string) map[string]export.SourceQuery {
	t.Helper()
	ctx := context.Background()
	courses, err := db.Courses(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var all, partner, few []string
	for i, c := range courses {
		all = append(all, c.CourseID)
		if c.PartnerID == courses[0].PartnerID {
			partner = append(partner, c.CourseID)
		}
		if i%3 == 1 {
			few = append(few, c.CourseID)
		}
	}
	qs := map[string]export.SourceQuery{
		"AllCourses":     {Table: table, Courses: all},
		"OnePartner":     {Table: table, Courses: partner},
		"EveryThird":     {Table: table, Courses: append(few, "no-such-course")},
		"NoCourses":      {Table: table},
		"UnknownCourses": {Table: table, Courses: []string{"no-such-course"}},
	}
	tt, _ := export.SourceTable(table)
	if tt.TimeColumn == "" {
		qs["WindowIgnored"] = export.SourceQuery{Table: table, Courses: all, From: fixtures.DefaultStart, To: fixtures.DefaultStart.AddDate(0, 0, 1)}
		return qs
	}
	rows := scanAll(t, db, qs["AllCourses"])
	if len(rows) < 10 {
		t.Fatalf("%s: only %d rows in the fixtures", table, len(rows))
	}
	col := tt.ColumnIndex(tt.TimeColumn)
	var times []time.Time
	for _, r := range rows {
		times = append(times, r.Row[col].(time.Time))
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	lo, hi := times[len(times)/3], times[2*len(times)/3]
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	qs["FromRowTime"] = export.SourceQuery{Table: table, Courses: all, From: lo}
	qs["ToRowTime"] = export.SourceQuery{Table: table, Courses: all, To: hi}
	qs["Window"] = export.SourceQuery{Table: table, Courses: partner, From: lo, To: hi}
	qs["WindowSubSecond"] = export.SourceQuery{Table: table, Courses: all, From: lo.Add(500 * time.Millisecond), To: hi.Add(999 * time.Millisecond)}
	qs["WindowOtherZone"] = export.SourceQuery{Table: table, Courses: all, From: lo.In(berlin), To: hi.In(berlin)}
	qs["EmptyWindow"] = export.SourceQuery{Table: table, Courses: all, From: hi, To: lo}
	qs["OneSecond"] = export.SourceQuery{Table: table, Courses: all, From: lo, To: lo.Add(time.Second)}
	return qs
}

// TestEquivalentToSQLite checks that the Parquet directory and the SQLite
// database made from the same fixtures give the same rows, facts, order
// and counts for every table and query, and the same roster and courses.
func TestEquivalentToSQLite(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	// Small runs make the external sort of unordered files merge many;
	// small windows read a row group's selected rows in many windows.
	variants := map[string]struct{ runRows, window int }{
		"Default":      {defaultRunRows, windowRows},
		"SmallRuns":    {37, windowRows},
		"SmallWindows": {defaultRunRows, 5},
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			src, err := Open(b.dir)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			src.runRows = v.runRows
			defer func(w int) { windowRows = w }(windowRows)
			windowRows = v.window
			for _, table := range export.TableNames() {
				for qname, q := range queries(t, b.db, table) {
					t.Run(table+"/"+qname, func(t *testing.T) {
						want := scanAll(t, b.db, q)
						got := scanAll(t, src, q)
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("Scan mismatch (-sqlite +parquetdir):\n%s", diff)
						}
						wantN, err := b.db.Count(ctx, q)
						if err != nil {
							t.Fatal(err)
						}
						gotN, err := src.Count(ctx, q)
						if err != nil {
							t.Fatal(err)
						}
						if gotN != wantN || gotN != int64(len(got)) {
							t.Errorf("Count = %d, want %d (sqlite), Scan visited %d", gotN, wantN, len(got))
						}
						if qname == "AllCourses" && table != export.TableCourses && len(want) == 0 {
							t.Errorf("no rows: the comparison proves nothing")
						}
					})
				}
			}
			var unordered []string
			for _, table := range export.TableNames() {
				if tf := src.tables[table]; tf.known && !tf.ordered {
					unordered = append(unordered, table)
				}
			}
			if len(unordered) == 0 {
				t.Errorf("no table file needed sorting: the external sort is untested")
			}
			t.Logf("sorted on read: %v", unordered)
		})
	}
}

// TestCountBeforeScan checks that a Count that has noted the order of an
// unordered file leads Scan to sort it (the build counts first).
func TestCountBeforeScan(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	src := openTest(t, b.dir)
	src.runRows = 100
	for _, table := range export.TableNames() {
		q := queries(t, b.db, table)["AllCourses"]
		if _, err := src.Count(ctx, q); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(scanAll(t, b.db, q), scanAll(t, src, q)); diff != "" {
			t.Errorf("%s: Scan after Count mismatch (-sqlite +parquetdir):\n%s", table, diff)
		}
	}
}

func TestRosterAndCourses(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	src := openTest(t, b.dir)
	all, err := b.db.Courses(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Courses(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("Courses(nil) mismatch (-sqlite +parquetdir):\n%s", diff)
	}
	ids := []string{all[len(all)-1].CourseID, "no-such-course", all[0].CourseID}
	want, err := b.db.Courses(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = src.Courses(ctx, ids); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Courses(%v) mismatch (-sqlite +parquetdir):\n%s", ids, diff)
	}
	roster := func(s export.Source, courses []string) []export.RosterEntry {
		var out []export.RosterEntry
		if err := s.Roster(ctx, courses, func(e export.RosterEntry) error {
			out = append(out, e)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, courses := range [][]string{nil, {all[0].CourseID}, {all[1].CourseID, all[2].CourseID, "no-such-course"}} {
		t.Run(fmt.Sprint(courses), func(t *testing.T) {
			want := roster(b.db, courses)
			if len(courses) > 0 && len(want) == 0 {
				t.Fatal("empty roster: the comparison proves nothing")
			}
			if diff := cmp.Diff(want, roster(src, courses)); diff != "" {
				t.Errorf("Roster mismatch (-sqlite +parquetdir):\n%s", diff)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	b := setup(t)
	t.Run("MissingLearners", func(t *testing.T) {
		dir := t.TempDir()
		data, err := os.ReadFile(filepath.Join(b.dir, "enrollments.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "enrollments.parquet"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); err == nil {
			t.Fatal("Open without learners.parquet succeeded")
		}
	})
	t.Run("UnknownTable", func(t *testing.T) {
		src, err := Open(b.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if err := src.Scan(context.Background(), export.SourceQuery{Table: "nope", Courses: []string{"c"}}, func(export.SourceRow) error { return nil }); err == nil {
			t.Fatal("Scan of an unknown table succeeded")
		}
	})
	t.Run("CloseRemovesSortedCopies", func(t *testing.T) {
		src, err := Open(b.dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Roster(context.Background(), []string{"x"}, func(export.RosterEntry) error { return nil }); err != nil {
			t.Fatal(err)
		}
		tmp := src.tmpDir
		if tmp == "" {
			t.Fatal("learners.parquet was not sorted on read")
		}
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s still there after Close: %v", tmp, err)
		}
	})
}

// TestScanStops checks that Scan stops cleanly wherever it is stopped,
// by its callback's error or by its context, with row groups and windows
// being read on other goroutines: it returns that error and leaves no
// goroutine behind.
func TestScanStops(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	src := openTest(t, b.dir)
	defer func(w int) { windowRows = w }(windowRows)
	windowRows = 7
	before := runtime.NumGoroutine()
	errStopHere := errors.New("stop here")
	for _, table := range export.TableNames() {
		q := queries(t, b.db, table)["AllCourses"]
		total := len(scanAll(t, src, q))
		if total < 3 {
			continue
		}
		for _, k := range []int{1, 5, total / 2, total} {
			i := 0
			err := src.Scan(ctx, q, func(export.SourceRow) error {
				if i++; i == k {
					return errStopHere
				}
				return nil
			})
			if !errors.Is(err, errStopHere) || i != k {
				t.Errorf("%s: callback error at row %d of %d: Scan returned %v after %d rows", table, k, total, err, i)
			}
			cctx, cancel := context.WithCancel(ctx)
			i = 0
			err = src.Scan(cctx, q, func(export.SourceRow) error {
				if i++; i == k {
					cancel()
				}
				return nil
			})
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: cancelled at row %d of %d: Scan returned %v", table, k, total, err)
			}
		}
	}
	// Goroutines that were told to stop may take a moment to return.
	for range 50 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Errorf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
}

// TestOrderCheckedInBackground: once a source is open, its Parquet files
// are checked for key order without a scan asking (the learners' by the
// facts load), the CSV file is left for its first scan, and the verdicts
// are the ones a scan would reach.
func TestOrderCheckedInBackground(t *testing.T) {
	b := setup(t)
	src := openTest(t, b.dir)
	<-src.bgDone
	for name, tf := range src.tables {
		tf.mu.Lock()
		known, ordered := tf.known, tf.ordered
		tf.mu.Unlock()
		if csv := tf.file.Format != files.Parquet; known == csv {
			t.Errorf("%s: order known = %v after Open, want %v", name, known, !csv)
		}
		if known {
			want, err := checkOrder(context.Background(), tf.file, tf.key)
			if err != nil {
				t.Fatal(err)
			}
			if ordered != want {
				t.Errorf("%s: ordered = %v, checkOrder says %v", name, ordered, want)
			}
		}
	}
	// Close stops the background work: a second source closed at once
	// returns, and leaves its goroutine done.
	src2, err := Open(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := src2.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-src2.bgDone:
	default:
		t.Error("Close returned with the order check still running")
	}
}

// TestDeclaredOrder: a file that declares its key order, and whose row
// groups' statistics agree, is taken as ordered without reading its key
// column; one that does not declare it is not.
func TestDeclaredOrder(t *testing.T) {
	b := setup(t)
	src := openTest(t, b.dir)
	for name, want := range map[string]bool{
		export.TableQuizSubmissions:    true,
		export.TableSurveyDemographics: true,
		export.TableForumPosts:         false, // in order, not declared
		export.TableLearners:           false, // neither
	} {
		tf := src.tables[name]
		got, err := declaredInOrder(tf.file, tf.key)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: declaredInOrder = %v, want %v", name, got, want)
		}
		if pf, err := files.OpenParquet(tf.file); err != nil {
			t.Fatal(err)
		} else {
			if n := pf.NumRowGroups(); n < 3 {
				t.Errorf("%s: %d row groups, want several for the check across them", name, n)
			}
			pf.Close()
		}
	}
}

// TestForeignDeclarationNotTrusted: a file another writer made, which
// declares the key order (sorting_columns) but keeps it only across row
// groups, not within them, is read in key order all the same: only
// rexport's own declarations are trusted.
func TestForeignDeclarationNotTrusted(t *testing.T) {
	b := setup(t)
	dir := t.TempDir()
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "learners.parquet" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(b.dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The learners, sorted, rewritten by parquet-go itself in groups of
	// 64 rows, each group reversed, declaring learner_id ascending.
	tab, _ := export.SourceTable(export.TableLearners)
	var rows []export.Row
	if err := fixtures.Generate(fixtureCfg, func(table string, row export.Row) error {
		if table == export.TableLearners {
			rows = append(rows, row)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rows, func(a, b export.Row) int { return export.CompareValues(a[lID], b[lID]) })
	tmp := filepath.Join(t.TempDir(), "plain.parquet")
	if err := writeRows(tmp, tab, parquet.Options{}, slices.Values(rows)); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := pq.OpenFile(in, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	prows := make([]pq.Row, plain.NumRows())
	r := pq.NewReader(plain)
	if n, err := r.ReadRows(prows); n != len(prows) {
		t.Fatalf("read %d of %d rows: %v", n, len(prows), err)
	}
	for start := 0; start < len(prows); start += 64 {
		slices.Reverse(prows[start:min(start+64, len(prows))])
	}
	out, err := os.Create(filepath.Join(dir, "learners.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	w := pq.NewWriter(out, plain.Schema(), pq.MaxRowsPerRowGroup(64), pq.SortingWriterConfig(pq.SortingColumns(pq.Ascending("learner_id"))))
	if _, err := w.WriteRows(prows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}

	src := openTest(t, dir)
	tf := src.tables[export.TableLearners]
	pf, err := files.OpenParquet(tf.file)
	if err != nil {
		t.Fatal(err)
	}
	declared := pf.SortedBy()
	pf.Close()
	if !slices.Equal(declared, []string{"learner_id"}) {
		t.Fatalf("the test file declares %v, want learner_id", declared)
	}
	if ok, err := declaredInOrder(tf.file, tf.key); ok || err != nil {
		t.Errorf("declaredInOrder of a foreign file = %v, %v; want false", ok, err)
	}
	q := queries(t, b.db, export.TableLearners)["AllCourses"]
	if diff := cmp.Diff(scanAll(t, b.db, q), scanAll(t, src, q)); diff != "" {
		t.Errorf("learners mismatch (-sqlite +parquetdir):\n%s", diff)
	}
	var ids []string
	if err := src.Roster(context.Background(), q.Courses, func(e export.RosterEntry) error {
		ids = append(ids, e.Learner.LearnerID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(ids) == 0 || !slices.IsSorted(ids) {
		t.Errorf("roster of %d learners, sorted: %v", len(ids), slices.IsSorted(ids))
	}
}
