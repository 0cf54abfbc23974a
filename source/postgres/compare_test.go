package postgres

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/internal/pgtest"
	"github.com/rexport/rexport/source/internal/sourcetest"
	"github.com/rexport/rexport/source/sqlite"
)

func fixturesConfig(learners int) fixtures.Config {
	return fixtures.Config{Learners: learners, Seed: 11}
}

// byteOrderRows are ids that sort differently in byte order and in a
// language's collation, in rows of every table that takes them.
var byteOrderRows = func() []sourcetest.Row {
	at := time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
	ids := []string{"Zeta", "alpha", "Éclair", "_under", "10", "9", "a b", "a-b", "ab", "B"}
	var rows []sourcetest.Row
	for _, id := range ids {
		rows = append(rows, sourcetest.Row{Table: "courses", Row: export.Row{"c-" + id, "partner-z", id, "Course " + id, at}})
	}
	for _, id := range ids {
		rows = append(rows, sourcetest.Row{Table: "learners", Row: export.Row{"l-" + id, "Name " + id, id + "@example.org", id, nil, nil, nil, nil, nil, nil, at, false, false, nil}})
	}
	for i, id := range ids {
		other := ids[(i+3)%len(ids)]
		rows = append(rows,
			sourcetest.Row{Table: "enrollments", Row: export.Row{"l-" + id, "c-" + other, at, "learner"}},
			sourcetest.Row{Table: "quiz_submissions", Row: export.Row{"s-" + id, "l-" + id, "c-" + other, "q", "q-1", int64(1), at, id, 1.0, 2.0, nil}},
		)
	}
	return rows
}()

// TestSameAsSQLite loads the same data into SQLite and PostgreSQL and
// compares everything the two give as an export.Source: the same rows, as
// the same Go values (time zones included), in the same order.
func TestSameAsSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := fixturesConfig(700)

	lite, err := sqlite.Create(ctx, filepath.Join(t.TempDir(), "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg := newDB(t) // default batch sizes: several fetches and copies
	var courses []string
	for _, load := range []sourcetest.LoadFunc{sourcetest.Loader(lite.Load), sourcetest.Loader(pg.Load)} {
		courses = sourcetest.LoadFixtures(t, load, cfg)
		if err := load(ctx, func(insert func(string, export.Row) error) error {
			return sourcetest.Insert(insert, byteOrderRows)
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range byteOrderRows {
		if r.Table == "courses" {
			courses = append(courses, r.Row[0].(string))
		}
	}
	var some []string
	for i, c := range courses {
		if i%3 == 0 {
			some = append(some, c)
		}
	}
	some = append(some, "no-such-course")
	start := cfg.Start

	selections := []struct {
		name     string
		courses  []string
		from, to time.Time
	}{
		{"AllCourses", courses, time.Time{}, time.Time{}},
		{"SomeCourses", some, time.Time{}, time.Time{}},
		{"Window", courses, start.AddDate(0, 0, 20), start.AddDate(0, 0, 50)},
		{"WindowSubSecondNonUTC", some, start.AddDate(0, 0, 10).Add(1500 * time.Millisecond).In(time.FixedZone("X", -5*3600)), time.Time{}},
		{"From", some, start.AddDate(0, 0, 30), time.Time{}},
		{"To", courses, time.Time{}, start.AddDate(0, 0, 15)},
		{"NoCourses", nil, time.Time{}, time.Time{}},
		{"UnknownCourse", []string{"no-such-course"}, time.Time{}, time.Time{}},
	}
	scan := func(t *testing.T, src export.Source, q export.SourceQuery) ([]export.SourceRow, int64) {
		t.Helper()
		var rows []export.SourceRow
		if err := src.Scan(ctx, q, func(r export.SourceRow) error {
			r.Row = slices.Clone(r.Row) // Scan may reuse the slice
			rows = append(rows, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		n, err := src.Count(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(rows)) {
			t.Errorf("Count = %d, Scan visited %d", n, len(rows))
		}
		return rows, n
	}
	var visited int
	for _, sel := range selections {
		for _, tab := range export.SourceTables {
			t.Run(sel.name+"/"+tab.Name, func(t *testing.T) {
				q := export.SourceQuery{Table: tab.Name, Courses: sel.courses, From: sel.from, To: sel.to}
				want, _ := scan(t, lite, q)
				got, _ := scan(t, pg, q)
				if diff := cmp.Diff(want, got, exactTimes); diff != "" {
					t.Errorf("Scan mismatch (-sqlite +postgres):\n%s", diff)
				}
				visited += len(got)
			})
		}
		t.Run(sel.name+"/Roster", func(t *testing.T) {
			roster := func(src export.Source) (out []export.RosterEntry) {
				if err := src.Roster(ctx, sel.courses, func(e export.RosterEntry) error { out = append(out, e); return nil }); err != nil {
					t.Fatal(err)
				}
				return out
			}
			if diff := cmp.Diff(roster(lite), roster(pg), exactTimes); diff != "" {
				t.Errorf("Roster mismatch (-sqlite +postgres):\n%s", diff)
			}
		})
		t.Run(sel.name+"/Courses", func(t *testing.T) {
			want, err := lite.Courses(ctx, sel.courses)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pg.Courses(ctx, sel.courses)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Courses mismatch (-sqlite +postgres):\n%s", diff)
			}
		})
	}
	if visited < 3*pg.fetchRows {
		t.Errorf("the comparison visited %d rows: too few to span fetches", visited)
	}
}

// exactTimes compares times by instant, location and precision, not by
// instant alone as time.Time.Equal does: an export writes what it is given.
var exactTimes = cmp.Transformer("exactTime", func(t time.Time) string {
	return t.Format(time.RFC3339Nano) + " " + t.Location().String()
})

// TestByteOrderUnderLanguageCollation orders keys in byte order, as SQLite
// does, in a database whose default collation is a language's (as a
// warehouse's often is), where "alpha" comes before "B".
func TestByteOrderUnderLanguageCollation(t *testing.T) {
	t.Parallel()
	pgtest.Skip(t)
	ctx := context.Background()
	base := os.Getenv(pgtest.Env)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var icu bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collprovider = 'i')").Scan(&icu); err != nil {
		t.Fatal(err)
	}
	if !icu {
		t.Skip("the test server has no ICU collations")
	}
	name := fmt.Sprintf("rexport_test_icu_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var languageFirst string
	if err := db.pool.QueryRow(ctx, "SELECT min(x) FROM unnest(ARRAY['B', 'alpha']) x").Scan(&languageFirst); err != nil || languageFirst != "alpha" {
		t.Fatalf("the database's own order puts %q first (%v); want a language order", languageFirst, err)
	}
	if err := db.Load(ctx, func(ins *Inserter) error { return sourcetest.Insert(ins.Insert, byteOrderRows) }); err != nil {
		t.Fatal(err)
	}
	courses, err := db.Courses(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(courses))
	for i, c := range courses {
		ids[i] = c.CourseID
	}
	var learners []string
	err = db.Scan(ctx, export.SourceQuery{Table: export.TableLearners, Courses: ids}, func(r export.SourceRow) error {
		learners = append(learners, r.Row[0].(string))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for what, got := range map[string][]string{"courses": ids, "learners": learners} {
		if len(got) != 10 || !slices.IsSorted(got) { // Go orders strings by bytes
			t.Errorf("%s in order %q, want byte order", what, got)
		}
	}
}
