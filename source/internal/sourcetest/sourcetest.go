// Package sourcetest is the contract of a source database (source/sqlite,
// source/postgres) as tests: what its export.Source gives for a small known
// source, and what its loader refuses and keeps. Each database's tests run
// it against a new database of their kind.
package sourcetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/source/internal/sqlsource"
)

// LoadFunc is the Load of a source database, with its Inserter's Insert
// given to fn.
type LoadFunc func(ctx context.Context, fn func(insert func(table string, row export.Row) error) error) error

// Loader adapts the Load method of a source database.
func Loader[I interface {
	Insert(string, export.Row) error
}](load func(context.Context, func(I) error) error) LoadFunc {
	return func(ctx context.Context, fn func(func(string, export.Row) error) error) error {
		return load(ctx, func(ins I) error { return fn(ins.Insert) })
	}
}

// DB is a source database under test.
type DB struct {
	Source export.Source
	Load   LoadFunc
}

// NewFunc returns a new, empty source database with the source schema,
// closed when t ends.
type NewFunc func(t *testing.T) DB

var t0 = time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.AddDate(0, 0, n) }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// Row is a row of a source table.
type Row struct {
	Table string
	Row   export.Row
}

// TestRows is a small source: three courses of two partners, learners with
// and without enrollments, and rows on both sides of the test windows.
var TestRows = []Row{
	{"courses", export.Row{"c1", "partner-a", "one", "Course One", date(2025, 1, 6)}},
	{"courses", export.Row{"c2", "partner-a", "two", "Course Two", date(2025, 1, 6)}},
	{"courses", export.Row{"c3", "partner-b", "three", "Course Three", date(2025, 2, 1)}},
	// L1 opted out, L2 deleted, L4 enrolled nowhere, L5 instructor.
	{"learners", export.Row{"L1", "Ana López", "ana@example.com", "alopez", date(2000, 2, 29), "female", "ES", "Madrid", "28001", "192.0.2.1", day(-100), true, false, nil}},
	{"learners", export.Row{"L2", "Bo Nguyễn", "bo@example.com", "bon", nil, nil, nil, nil, nil, nil, day(-50), false, true, day(20)}},
	{"learners", export.Row{"L3", "Cy Müller", "cy@example.com", "cym", date(2013, 6, 1), "male", "DE", "Berlin", "10115", "2001:db8::1", day(-10), false, false, nil}},
	{"learners", export.Row{"L4", "Di Ødegaard", "di@example.com", "dio", nil, nil, "NO", nil, nil, nil, day(-5), false, false, nil}},
	{"learners", export.Row{"L5", "Ed Okafor", "ed@example.com", "edo", date(1980, 1, 1), nil, "NG", nil, nil, nil, day(-400), false, true, nil}},
	{"enrollments", export.Row{"L1", "c1", day(0), "learner"}},
	{"enrollments", export.Row{"L2", "c2", day(1), "mentor"}},
	{"enrollments", export.Row{"L3", "c3", day(0), "learner"}},
	{"enrollments", export.Row{"L5", "c1", day(2), "instructor"}},
	{"quiz_submissions", export.Row{"s1", "L1", "c1", "q1", "q1-1", int64(1), day(1), "my answer", 1.5, 2.0, "192.0.2.1"}},
	{"quiz_submissions", export.Row{"s2", "L1", "c1", "q1", "q1-1", int64(2), day(5), nil, 2.0, 2.0, nil}},
	{"quiz_submissions", export.Row{"s3", "L3", "c3", "q9", "q9-1", int64(1), day(1), nil, 0.0, 1.0, nil}},
	{"quiz_submissions", export.Row{"s4", "L2", "c2", "q2", "q2-1", int64(1), day(10), nil, 1.0, 1.0, nil}},
	{"grades", export.Row{"L1", "c1", 0.75, true, day(29), day(30)}},
	{"grades", export.Row{"L3", "c3", 0.2, false, nil, day(30)}},
	{"forum_posts", export.Row{"p1", "th1", nil, "L1", "c1", day(2), "Week 1", "Hello all", int64(3)}},
	{"forum_posts", export.Row{"p2", "th1", "p1", "L5", "c1", day(3), nil, "Welcome", int64(0)}},
	{"forum_posts", export.Row{"p3", "th2", nil, "L3", "c3", day(3), "Help", "Stuck", int64(1)}},
	{"survey_demographics", export.Row{"r1", "L1", "c1", day(1), int64(2000), "female", "ES", "master", "employed", "fluent", nil, nil, nil}},
	{"survey_demographics", export.Row{"r2", "L1", nil, day(2), nil, nil, nil, nil, nil, nil, "hispanic", "none", "hi"}},
	{"survey_demographics", export.Row{"r3", "L3", nil, day(2), nil, nil, nil, nil, nil, nil, nil, nil, nil}},
	{"survey_demographics", export.Row{"r4", "L4", nil, day(2), nil, nil, nil, nil, nil, nil, nil, nil, nil}},
	{"survey_demographics", export.Row{"r5", "L3", "c1", day(4), nil, nil, nil, nil, nil, nil, nil, nil, nil}},
}

// Insert inserts rows with insert, stopping at the first error.
func Insert(insert func(string, export.Row) error, rows []Row) error {
	for _, r := range rows {
		if err := insert(r.Table, r.Row); err != nil {
			return err
		}
	}
	return nil
}

// withTestRows returns a new database holding TestRows.
func withTestRows(t *testing.T, newDB NewFunc) DB {
	t.Helper()
	db := newDB(t)
	err := db.Load(context.Background(), func(insert func(string, export.Row) error) error {
		return Insert(insert, TestRows)
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// LoadFixtures loads the rows fixtures.Generate makes for cfg and returns
// the ids of their courses.
func LoadFixtures(t testing.TB, load LoadFunc, cfg fixtures.Config) (courses []string) {
	t.Helper()
	err := load(context.Background(), func(insert func(string, export.Row) error) error {
		return fixtures.Generate(cfg, func(table string, row export.Row) error {
			if table == export.TableCourses {
				courses = append(courses, row[0].(string))
			}
			return insert(table, row)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return courses
}

// Run runs the contract tests, each on a database from newDB.
func Run(t *testing.T, newDB NewFunc) {
	for _, tt := range []struct {
		name string
		test func(*testing.T, NewFunc)
	}{
		{"ScanSelection", testScanSelection},
		{"ScanValuesAndFacts", testScanValuesAndFacts},
		{"ScanStops", testScanStops},
		{"RosterAndCourses", testRosterAndCourses},
		{"InsertRefuses", testInsertRefuses},
		{"LoadIsAllOrNothing", testLoadIsAllOrNothing},
		{"LoadRefusedHalfWayKeepsNothing", testLoadRefusedHalfWay},
		{"DropExcluded", testDropExcluded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, newDB)
		})
	}
}

func keyOf(tab export.Table, row export.Row) string {
	var parts []string
	for _, k := range tab.Key {
		parts = append(parts, row[tab.ColumnIndex(k)].(string))
	}
	return strings.Join(parts, "/")
}

func scanKeys(t *testing.T, src export.Source, q export.SourceQuery) []string {
	t.Helper()
	tab, _ := export.SourceTable(q.Table)
	var keys []string
	err := src.Scan(context.Background(), q, func(r export.SourceRow) error {
		keys = append(keys, keyOf(tab, r.Row))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := src.Count(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(keys)) {
		t.Errorf("Count = %d, Scan visited %d", n, len(keys))
	}
	return keys
}

func testScanSelection(t *testing.T, newDB NewFunc) {
	db := withTestRows(t, newDB)
	tests := []struct {
		name string
		q    export.SourceQuery
		want []string
	}{
		{"CoursesByID", export.SourceQuery{Table: "courses", Courses: []string{"c3", "c1", "nope"}}, []string{"c1", "c3"}},
		{"NoCoursesSelectsNothing", export.SourceQuery{Table: "quiz_submissions"}, nil},
		{"LearnersByEnrollmentAnyRole", export.SourceQuery{Table: "learners", Courses: []string{"c1", "c2"}}, []string{"L1", "L2", "L5"}},
		{"LearnersIgnoreWindow", export.SourceQuery{Table: "learners", Courses: []string{"c3"}, From: day(100)}, []string{"L3"}},
		{"EnrollmentsByCourse", export.SourceQuery{Table: "enrollments", Courses: []string{"c1"}}, []string{"L1/c1", "L5/c1"}},
		{"QuizByCourse", export.SourceQuery{Table: "quiz_submissions", Courses: []string{"c1", "c3"}}, []string{"s1", "s2", "s3"}},
		{"QuizFromInclusive", export.SourceQuery{Table: "quiz_submissions", Courses: []string{"c1"}, From: day(5)}, []string{"s2"}},
		{"QuizToExclusive", export.SourceQuery{Table: "quiz_submissions", Courses: []string{"c1"}, To: day(5)}, []string{"s1"}},
		{"QuizWindow", export.SourceQuery{Table: "quiz_submissions", Courses: []string{"c1", "c2"}, From: day(1), To: day(10)}, []string{"s1", "s2"}},
		{"QuizWindowNonUTC", export.SourceQuery{Table: "quiz_submissions", Courses: []string{"c1"}, From: day(5).In(time.FixedZone("X", 3600))}, []string{"s2"}},
		// Bounds compare to the second, truncated.
		{"QuizWindowSubSecond", export.SourceQuery{Table: "quiz_submissions", Courses: []string{"c1"}, From: day(1).Add(time.Millisecond), To: day(5).Add(time.Millisecond)}, []string{"s1"}},
		{"GradesByCourse", export.SourceQuery{Table: "grades", Courses: []string{"c3"}}, []string{"L3/c3"}},
		{"GradesWindow", export.SourceQuery{Table: "grades", Courses: []string{"c1", "c3"}, To: day(30)}, nil},
		{"ForumByCourse", export.SourceQuery{Table: "forum_posts", Courses: []string{"c1"}}, []string{"p1", "p2"}},
		{"ForumWindow", export.SourceQuery{Table: "forum_posts", Courses: []string{"c1", "c3"}, From: day(3)}, []string{"p2", "p3"}},
		{"SurveyCourseAndEnrolledWithoutCourse", export.SourceQuery{Table: "survey_demographics", Courses: []string{"c1"}}, []string{"r1", "r2", "r5"}},
		{"SurveyWithoutCourseOfEnrolled", export.SourceQuery{Table: "survey_demographics", Courses: []string{"c3"}}, []string{"r3"}},
		{"SurveyWindow", export.SourceQuery{Table: "survey_demographics", Courses: []string{"c1"}, From: day(2), To: day(4)}, []string{"r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanKeys(t, db.Source, tt.q)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testScanValuesAndFacts(t *testing.T, newDB NewFunc) {
	db := withTestRows(t, newDB)
	ctx := context.Background()
	for _, tab := range export.SourceTables {
		var got []export.Row
		err := db.Source.Scan(ctx, export.SourceQuery{Table: tab.Name, Courses: []string{"c1", "c2", "c3"}}, func(r export.SourceRow) error {
			got = append(got, slices.Clone(r.Row)) // Scan reuses the slice
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []export.Row
		for _, r := range TestRows {
			if r.Table == tab.Name && !(tab.Name == "learners" && r.Row[0] == "L4") && !(tab.Name == "survey_demographics" && r.Row[0] == "r4") {
				want = append(want, r.Row)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("table %s mismatch (-want +got):\n%s", tab.Name, diff)
		}
	}

	facts := map[string]export.LearnerFacts{}
	err := db.Source.Scan(ctx, export.SourceQuery{Table: "survey_demographics", Courses: []string{"c1", "c2", "c3"}}, func(r export.SourceRow) error {
		facts[r.Row[0].(string)] = r.Learner
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]export.LearnerFacts{
		"r1": {LearnerID: "L1", BirthDate: date(2000, 2, 29), OptedOut: true, SignupAt: day(-100)},
		"r2": {LearnerID: "L1", BirthDate: date(2000, 2, 29), OptedOut: true, SignupAt: day(-100)},
		"r3": {LearnerID: "L3", BirthDate: date(2013, 6, 1), SignupAt: day(-10)},
		"r5": {LearnerID: "L3", BirthDate: date(2013, 6, 1), SignupAt: day(-10)},
	}
	if diff := cmp.Diff(want, facts); diff != "" {
		t.Errorf("facts mismatch (-want +got):\n%s", diff)
	}

	var deleted, courseFacts []export.LearnerFacts
	db.Source.Scan(ctx, export.SourceQuery{Table: "quiz_submissions", Courses: []string{"c2"}}, func(r export.SourceRow) error {
		deleted = append(deleted, r.Learner)
		return nil
	})
	if diff := cmp.Diff([]export.LearnerFacts{{LearnerID: "L2", Deleted: true, SensitiveConsent: true, SignupAt: day(-50)}}, deleted); diff != "" {
		t.Errorf("deleted learner facts mismatch (-want +got):\n%s", diff)
	}
	db.Source.Scan(ctx, export.SourceQuery{Table: "courses", Courses: []string{"c2"}}, func(r export.SourceRow) error {
		courseFacts = append(courseFacts, r.Learner)
		return nil
	})
	if diff := cmp.Diff([]export.LearnerFacts{{}}, courseFacts); diff != "" {
		t.Errorf("courses facts mismatch (-want +got):\n%s", diff)
	}
}

func testScanStops(t *testing.T, newDB NewFunc) {
	db := withTestRows(t, newDB)
	q := export.SourceQuery{Table: "quiz_submissions", Courses: []string{"c1", "c2", "c3"}}
	t.Run("CancelledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		err := db.Source.Scan(ctx, q, func(export.SourceRow) error {
			n++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n != 1 {
			t.Errorf("fn called %d times after cancel, want 1", n)
		}
	})
	t.Run("CallbackError", func(t *testing.T) {
		stop := errors.New("stop")
		err := db.Source.Scan(context.Background(), q, func(export.SourceRow) error { return stop })
		if !errors.Is(err, stop) {
			t.Errorf("err = %v, want %v", err, stop)
		}
	})
	t.Run("UnknownTable", func(t *testing.T) {
		if err := db.Source.Scan(context.Background(), export.SourceQuery{Table: "nope", Courses: []string{"c1"}}, func(export.SourceRow) error { return nil }); err == nil {
			t.Error("no error for unknown table")
		}
	})
}

func testRosterAndCourses(t *testing.T, newDB NewFunc) {
	db := withTestRows(t, newDB)
	ctx := context.Background()
	var got []string
	err := db.Source.Roster(ctx, []string{"c1", "c2"}, func(e export.RosterEntry) error {
		got = append(got, e.Learner.LearnerID+" "+e.FullName+" "+e.Username+" "+e.Email)
		if e.Learner.LearnerID == "L2" && !e.Learner.Deleted {
			t.Error("L2 not marked deleted")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"L1 Ana López alopez ana@example.com", "L2 Bo Nguyễn bon bo@example.com", "L5 Ed Okafor edo ed@example.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("roster mismatch (-want +got):\n%s", diff)
	}
	all, err := db.Source.Courses(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	some, err := db.Source.Courses(ctx, []string{"c3", "zz"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || len(some) != 1 || some[0] != (export.CourseInfo{CourseID: "c3", PartnerID: "partner-b", Slug: "three", Title: "Course Three"}) {
		t.Errorf("Courses: all = %v, some = %v", all, some)
	}
}

func testInsertRefuses(t *testing.T, newDB NewFunc) {
	db := withTestRows(t, newDB)
	tests := []struct {
		name   string
		table  string
		row    export.Row
		column string
		is     error
	}{
		{"DuplicateKey", "enrollments", export.Row{"L1", "c1", day(0), "learner"}, "learner_id,course_id", sqlsource.ErrDuplicateKey},
		{"UnknownLearner", "grades", export.Row{"L9", "c1", 0.5, false, nil, day(1)}, "learner_id", sqlsource.ErrMissingReference},
		{"UnknownCourse", "grades", export.Row{"L4", "c9", 0.5, false, nil, day(1)}, "course_id", sqlsource.ErrMissingReference},
		{"BadRole", "enrollments", export.Row{"L4", "c1", day(0), "admin"}, "role", nil},
		{"GradeAboveOne", "grades", export.Row{"L4", "c1", 1.5, true, nil, day(1)}, "grade", nil},
		{"NegativeScore", "quiz_submissions", export.Row{"s9", "L1", "c1", "q", "q", int64(1), day(1), nil, -1.0, 1.0, nil}, "score", nil},
		{"ZeroAttempt", "quiz_submissions", export.Row{"s9", "L1", "c1", "q", "q", int64(0), day(1), nil, 1.0, 1.0, nil}, "attempt", nil},
		{"MissingRequired", "courses", export.Row{"c9", "p", "s", nil, date(2025, 1, 1)}, "title", nil},
		{"WrongGoType", "forum_posts", export.Row{"p9", "t", nil, "L1", "c1", day(1), nil, "b", 3}, "upvotes", nil},
		{"WrongLength", "courses", export.Row{"c9"}, "", nil},
		{"InvalidUTF8", "courses", export.Row{"c9", "p", "s", "t\xff", date(2025, 1, 1)}, "title", nil},
		{"NULByte", "courses", export.Row{"c9", "p", "s", "t\x00", date(2025, 1, 1)}, "title", nil},
		{"YearOutOfRange", "courses", export.Row{"c9", "p", "s", "t", date(10000, 1, 1)}, "start_date", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.Load(context.Background(), func(insert func(string, export.Row) error) error {
				return insert(tt.table, tt.row)
			})
			var ie *sqlsource.InsertError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *InsertError", err)
			}
			if ie.Column != tt.column || ie.Table != tt.table || ie.Row != 1 {
				t.Errorf("err = %v: table %q column %q row %d, want %q %q 1", err, ie.Table, ie.Column, ie.Row, tt.table, tt.column)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
		})
	}
}

func countCourses(t *testing.T, src export.Source) int {
	t.Helper()
	cs, err := src.Courses(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

func testLoadIsAllOrNothing(t *testing.T, newDB NewFunc) {
	db := withTestRows(t, newDB)
	err := db.Load(context.Background(), func(insert func(string, export.Row) error) error {
		if err := insert("courses", export.Row{"c4", "p", "s", "t", date(2025, 1, 1)}); err != nil {
			return err
		}
		return insert("courses", export.Row{"c1", "p", "s", "t", date(2025, 1, 1)})
	})
	if !errors.Is(err, sqlsource.ErrDuplicateKey) {
		t.Fatalf("err = %v, want duplicate key", err)
	}
	if n := countCourses(t, db.Source); n != 3 {
		t.Errorf("after failed load: %d courses, want 3", n)
	}
}

// testLoadRefusedHalfWay loads generated data with a duplicate key in the
// middle of a large table: the error names the row, and nothing stays.
func testLoadRefusedHalfWay(t *testing.T, newDB NewFunc) {
	db := newDB(t)
	// The row of quiz_submissions that repeats the first: in the middle of
	// a batch for a loader that copies a few hundred rows at a time.
	const dupAt = 250
	cfg := fixtures.Config{Learners: 40, Seed: 2}
	var total int64
	fixtures.Generate(cfg, func(table string, _ export.Row) error {
		if table == export.TableQuizSubmissions {
			total++
		}
		return nil
	})
	if total < dupAt+100 {
		t.Fatalf("fixtures have %d quiz submissions, want more than %d", total, dupAt+100)
	}
	var (
		first   export.Row
		n       int64
		courses []string
	)
	err := db.Load(context.Background(), func(insert func(string, export.Row) error) error {
		return fixtures.Generate(cfg, func(table string, row export.Row) error {
			switch table {
			case export.TableCourses:
				courses = append(courses, row[0].(string))
			case export.TableQuizSubmissions:
				if n++; n == 1 {
					first = row
				} else if n == dupAt {
					row = append(export.Row{first[0]}, row[1:]...)
				}
			}
			return insert(table, row)
		})
	})
	var ie *sqlsource.InsertError
	if !errors.As(err, &ie) || !errors.Is(err, sqlsource.ErrDuplicateKey) {
		t.Fatalf("err = %v, want a duplicate key *InsertError", err)
	}
	if ie.Table != export.TableQuizSubmissions || ie.Column != "submission_id" || ie.Row != dupAt {
		t.Errorf("err = %v: table %q column %q row %d, want quiz_submissions submission_id %d", err, ie.Table, ie.Column, ie.Row, dupAt)
	}
	if n := countCourses(t, db.Source); n != 0 {
		t.Errorf("after failed load: %d courses, want 0", n)
	}
	for _, tab := range export.SourceTables {
		c, err := db.Source.Count(context.Background(), export.SourceQuery{Table: tab.Name, Courses: courses})
		if err != nil {
			t.Fatal(err)
		}
		if c != 0 {
			t.Errorf("after failed load: %d rows in %s, want 0", c, tab.Name)
		}
	}
}

// testDropExcluded checks that the source leaves out the rows of deleted
// and opted-out learners when asked, and lists exactly those learners.
func testDropExcluded(t *testing.T, newDB NewFunc) {
	db := newDB(t)
	courses := LoadFixtures(t, db.Load, fixtures.Config{Learners: 300, Seed: 3})
	pusher, ok := db.Source.(export.ExclusionPusher)
	if !ok {
		t.Fatalf("%T does not push exclusions down", db.Source)
	}
	ctx := context.Background()
	for _, name := range export.TableNames() {
		if name == export.TableCourses {
			continue
		}
		t.Run(name, func(t *testing.T) {
			tab, _ := export.SourceTable(name)
			q := export.SourceQuery{Table: name, Courses: courses[:len(courses)-1]}
			var kept, excluded []string
			seen := map[string]bool{}
			err := db.Source.Scan(ctx, q, func(r export.SourceRow) error {
				f := r.Learner
				if !f.Deleted && !f.OptedOut {
					kept = append(kept, keyOf(tab, r.Row))
				} else if !seen[f.LearnerID] {
					seen[f.LearnerID] = true
					excluded = append(excluded, f.LearnerID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(excluded)
			if len(excluded) == 0 || len(kept) == 0 {
				t.Fatalf("the fixtures give %d kept rows and %d excluded learners: nothing to check", len(kept), len(excluded))
			}
			q.DropExcluded = true
			if diff := cmp.Diff(kept, scanKeys(t, db.Source, q)); diff != "" {
				t.Errorf("rows with DropExcluded (-want +got):\n%s", diff)
			}
			var listed []string
			err = pusher.ExcludedLearners(ctx, q, func(f export.LearnerFacts) error {
				if !f.Deleted && !f.OptedOut {
					t.Errorf("listed %s, who is neither deleted nor opted out", f.LearnerID)
				}
				listed = append(listed, f.LearnerID)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(excluded, listed); diff != "" {
				t.Errorf("ExcludedLearners (-want +got):\n%s", diff)
			}
		})
	}
}
