package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rexport/rexport/export"
)

var t0 = time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.AddDate(0, 0, n) }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// testRows is a small source: three courses of two partners, learners with
// and without enrollments, and rows on both sides of the test windows.
var testRows = []struct {
	table string
	row   export.Row
}{
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

func setup(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Create(ctx, filepath.Join(t.TempDir(), "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	err = db.Load(ctx, func(ins *Inserter) error {
		for _, r := range testRows {
			if err := ins.Insert(r.table, r.row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestSchemaMatchesSourceTables(t *testing.T) {
	t.Parallel()
	db := setup(t)
	for _, tab := range export.SourceTables {
		rows, err := db.db.Query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid", tab.Name)
		if err != nil {
			t.Fatal(err)
		}
		type col struct {
			Name    string
			Type    string
			NotNull bool
			PK      int
		}
		var got, want []col
		for rows.Next() {
			var c col
			if err := rows.Scan(&c.Name, &c.Type, &c.NotNull, &c.PK); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		rows.Close()
		for _, c := range tab.Columns {
			pk := 0
			for i, k := range tab.Key {
				if k == c.Name {
					pk = i + 1
				}
			}
			typ := map[export.ColumnType]string{
				export.TypeString: "TEXT", export.TypeInt64: "INTEGER", export.TypeFloat64: "REAL",
				export.TypeBool: "INTEGER", export.TypeDate: "TEXT", export.TypeTimestamp: "TEXT",
			}[c.Type]
			want = append(want, col{c.Name, typ, !c.Nullable, pk})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("table %s mismatch (-want +got):\n%s", tab.Name, diff)
		}
	}
	// No tables beyond the schema.
	var n int
	if err := db.db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(export.SourceTables) {
		t.Errorf("got %d tables, want %d", n, len(export.SourceTables))
	}
	// Migrate is idempotent.
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func keyOf(tab export.Table, row export.Row) string {
	var parts []string
	for _, k := range tab.Key {
		parts = append(parts, row[tab.ColumnIndex(k)].(string))
	}
	return strings.Join(parts, "/")
}

func scanKeys(t *testing.T, db *DB, q export.SourceQuery) []string {
	t.Helper()
	tab, _ := export.SourceTable(q.Table)
	var keys []string
	err := db.Scan(context.Background(), q, func(r export.SourceRow) error {
		keys = append(keys, keyOf(tab, r.Row))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Count(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(keys)) {
		t.Errorf("Count = %d, Scan visited %d", n, len(keys))
	}
	return keys
}

func TestScanSelection(t *testing.T) {
	t.Parallel()
	db := setup(t)
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
			got := scanKeys(t, db, tt.q)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanValuesAndFacts(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	for _, tab := range export.SourceTables {
		var got []export.Row
		err := db.Scan(ctx, export.SourceQuery{Table: tab.Name, Courses: []string{"c1", "c2", "c3"}}, func(r export.SourceRow) error {
			got = append(got, r.Row)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []export.Row
		for _, r := range testRows {
			if r.table == tab.Name && !(tab.Name == "learners" && r.row[0] == "L4") && !(tab.Name == "survey_demographics" && r.row[0] == "r4") {
				want = append(want, r.row)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("table %s mismatch (-want +got):\n%s", tab.Name, diff)
		}
	}

	facts := map[string]export.LearnerFacts{}
	err := db.Scan(ctx, export.SourceQuery{Table: "survey_demographics", Courses: []string{"c1", "c2", "c3"}}, func(r export.SourceRow) error {
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
	db.Scan(ctx, export.SourceQuery{Table: "quiz_submissions", Courses: []string{"c2"}}, func(r export.SourceRow) error {
		deleted = append(deleted, r.Learner)
		return nil
	})
	if diff := cmp.Diff([]export.LearnerFacts{{LearnerID: "L2", Deleted: true, SensitiveConsent: true, SignupAt: day(-50)}}, deleted); diff != "" {
		t.Errorf("deleted learner facts mismatch (-want +got):\n%s", diff)
	}
	db.Scan(ctx, export.SourceQuery{Table: "courses", Courses: []string{"c2"}}, func(r export.SourceRow) error {
		courseFacts = append(courseFacts, r.Learner)
		return nil
	})
	if diff := cmp.Diff([]export.LearnerFacts{{}}, courseFacts); diff != "" {
		t.Errorf("courses facts mismatch (-want +got):\n%s", diff)
	}
}

func TestScanStops(t *testing.T) {
	t.Parallel()
	db := setup(t)
	q := export.SourceQuery{Table: "quiz_submissions", Courses: []string{"c1", "c2", "c3"}}
	t.Run("CancelledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		err := db.Scan(ctx, q, func(export.SourceRow) error {
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
		err := db.Scan(context.Background(), q, func(export.SourceRow) error { return stop })
		if !errors.Is(err, stop) {
			t.Errorf("err = %v, want %v", err, stop)
		}
	})
	t.Run("UnknownTable", func(t *testing.T) {
		if err := db.Scan(context.Background(), export.SourceQuery{Table: "nope", Courses: []string{"c1"}}, func(export.SourceRow) error { return nil }); err == nil {
			t.Error("no error for unknown table")
		}
	})
}

func TestRosterAndCourses(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	var got []string
	err := db.Roster(ctx, []string{"c1", "c2"}, func(e export.RosterEntry) error {
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
	all, err := db.Courses(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	some, err := db.Courses(ctx, []string{"c3", "zz"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || len(some) != 1 || some[0] != (export.CourseInfo{CourseID: "c3", PartnerID: "partner-b", Slug: "three", Title: "Course Three"}) {
		t.Errorf("Courses: all = %v, some = %v", all, some)
	}
}

func TestInsertRefuses(t *testing.T) {
	t.Parallel()
	db := setup(t)
	tests := []struct {
		name   string
		table  string
		row    export.Row
		column string
		is     error
	}{
		{"DuplicateKey", "enrollments", export.Row{"L1", "c1", day(0), "learner"}, "learner_id,course_id", ErrDuplicateKey},
		{"UnknownLearner", "grades", export.Row{"L9", "c1", 0.5, false, nil, day(1)}, "learner_id", ErrMissingReference},
		{"UnknownCourse", "grades", export.Row{"L4", "c9", 0.5, false, nil, day(1)}, "course_id", ErrMissingReference},
		{"BadRole", "enrollments", export.Row{"L4", "c1", day(0), "admin"}, "role", nil},
		{"GradeAboveOne", "grades", export.Row{"L4", "c1", 1.5, true, nil, day(1)}, "grade", nil},
		{"NegativeScore", "quiz_submissions", export.Row{"s9", "L1", "c1", "q", "q", int64(1), day(1), nil, -1.0, 1.0, nil}, "score", nil},
		{"MissingRequired", "courses", export.Row{"c9", "p", "s", nil, date(2025, 1, 1)}, "title", nil},
		{"WrongGoType", "forum_posts", export.Row{"p9", "t", nil, "L1", "c1", day(1), nil, "b", 3}, "upvotes", nil},
		{"WrongLength", "courses", export.Row{"c9"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.Load(context.Background(), func(ins *Inserter) error {
				return ins.Insert(tt.table, tt.row)
			})
			var ie *InsertError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *InsertError", err)
			}
			if ie.Column != tt.column || ie.Table != tt.table {
				t.Errorf("err = %v: table %q column %q, want %q %q", err, ie.Table, ie.Column, tt.table, tt.column)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
		})
	}
}

func TestLoadIsAllOrNothing(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	count := func() int64 {
		n, err := db.Count(ctx, export.SourceQuery{Table: "courses", Courses: []string{"c1", "c2", "c3", "c4"}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := db.Load(ctx, func(ins *Inserter) error {
		if err := ins.Insert("courses", export.Row{"c4", "p", "s", "t", date(2025, 1, 1)}); err != nil {
			return err
		}
		return ins.Insert("courses", export.Row{"c1", "p", "s", "t", date(2025, 1, 1)})
	})
	if !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("err = %v, want duplicate key", err)
	}
	if n := count(); n != 3 {
		t.Errorf("after failed load: %d courses, want 3", n)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
	path := filepath.Join(dir, "s.db")
	db, err := Create(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Create(context.Background(), path); err == nil {
		t.Error("Create over an existing file succeeded")
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestSchemaDocumented(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "source-schema.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, tab := range export.SourceTables {
		if !strings.Contains(doc, "### "+tab.Name+"\n") {
			t.Errorf("docs/source-schema.md has no section for table %s", tab.Name)
		}
		for _, c := range tab.Columns {
			if !strings.Contains(doc, "| `"+c.Name+"` | "+c.Type.String()+" |") {
				t.Errorf("docs/source-schema.md does not document %s.%s as %s", tab.Name, c.Name, c.Type)
			}
		}
	}
}
