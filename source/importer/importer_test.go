package importer

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/internal/pgtest"
	"github.com/rexport/rexport/source/files"
	"github.com/rexport/rexport/source/internal/sourcetest"
	"github.com/rexport/rexport/source/postgres"
	"github.com/rexport/rexport/source/sqlite"
	_ "modernc.org/sqlite"
)

// writeDir writes a small fixtures source to dir, each table in the format
// formatOf gives it, and returns the rows per table.
func writeDir(t *testing.T, dir string, formatOf func(table string) files.Format) Result {
	t.Helper()
	counts := Result{}
	writers := map[string]files.TableWriter{}
	err := fixtures.Generate(fixtures.Config{Learners: 40, Seed: 5}, func(table string, row export.Row) error {
		w, ok := writers[table]
		if !ok {
			tab, _ := export.SourceTable(table)
			var err error
			if w, err = files.Create(dir, tab, formatOf(table)); err != nil {
				return err
			}
			writers[table] = w
		}
		counts[table]++
		return w.Write(row)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range writers {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return counts
}

func allCSV(string) files.Format { return files.CSV }

// countRows counts the rows per table of the source database at target;
// tables that do not exist count as empty.
func countRows(t *testing.T, target string) Result {
	t.Helper()
	var count func(table string) (int64, error)
	if IsPostgresURL(target) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		count = func(table string) (n int64, err error) {
			var exists bool
			if err = conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err == nil && exists {
				err = conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
			}
			return n, err
		}
	} else {
		db, err := sql.Open("sqlite", target)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		count = func(table string) (n int64, err error) {
			err = db.QueryRow("SELECT count(*) FROM " + table).Scan(&n)
			return n, err
		}
	}
	got := Result{}
	for _, name := range export.TableNames() {
		n, err := count(name)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			got[name] = n
		}
	}
	return got
}

// target is a kind of source database to import into.
type target struct {
	name string
	// new returns a database that has nothing in it yet.
	new func(t *testing.T) string
}

var targets = []target{
	{"SQLite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "source.db") }},
	{"PostgreSQL", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
}

func TestImportValid(t *testing.T) {
	t.Parallel()
	for name, formatOf := range map[string]func(string) files.Format{
		"CSV":     allCSV,
		"Parquet": func(string) files.Format { return files.Parquet },
		"Mixed": func(table string) files.Format {
			if len(table)%2 == 0 {
				return files.Parquet
			}
			return files.CSV
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			want := writeDir(t, dir, formatOf)
			for _, tg := range targets {
				t.Run(tg.name, func(t *testing.T) {
					dbPath := tg.new(t)
					var progress bytes.Buffer
					got, err := Import(context.Background(), dir, dbPath, Options{Progress: &progress, ProgressEvery: 100})
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("result mismatch (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff(want, countRows(t, dbPath)); diff != "" {
						t.Errorf("rows mismatch (-want +got):\n%s", diff)
					}
					if !strings.Contains(progress.String(), "rows loaded into quiz_submissions") {
						t.Errorf("progress = %q", progress.String())
					}
				})
			}
		})
	}
}

// editCSV rewrites line (1-based, physical; the fixtures have no line
// breaks in cells) of dir/file with edit.
func editCSV(t *testing.T, dir, file string, line int, edit func([]string) []string) {
	t.Helper()
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	rec, err := csv.NewReader(strings.NewReader(lines[line-1])).Read()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(edit(rec))
	w.Flush()
	lines[line-1] = strings.TrimSuffix(b.String(), "\n")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func setField(name, value string) func([]string) []string {
	tab, _ := export.SourceTable(export.TableSurveyDemographics)
	i := tab.ColumnIndex(name)
	return func(rec []string) []string { rec[i] = value; return rec }
}

// middle is a line in the middle of the last table's CSV file.
const middle = 10

func TestImportRefusesBadInput(t *testing.T) {
	t.Parallel()
	const survey = "survey_demographics.csv"
	tests := []struct {
		name   string
		mutate func(t *testing.T, dir string)
		// want is the start of the error's place: file, line or row, column.
		want string
	}{
		{"UnknownColumn", func(t *testing.T, dir string) {
			editCSV(t, dir, "learners.csv", 1, func(r []string) []string { return append(r, "shoe_size") })
		}, "learners.csv: line 1: column shoe_size: unknown column"},
		{"MissingRequiredColumn", func(t *testing.T, dir string) {
			editCSV(t, dir, "courses.csv", 1, func(r []string) []string { r[3] = "comment"; return r })
		}, "courses.csv: line 1: column comment: unknown column"},
		{"MissingNullableExclusionColumn", func(t *testing.T, dir string) {
			editCSVColumns(t, dir, "learners.csv", "deleted_at")
		}, "learners.csv: line 1: column deleted_at: missing column"},
		{"MissingRequiredColumnOnly", func(t *testing.T, dir string) {
			rewrite(t, dir, "courses.csv", "course_id,partner_id,slug,start_date\nc1,p,s,2025-01-01\n")
		}, "courses.csv: line 1: column title: missing column"},
		{"WrongTypeInLastTable", func(t *testing.T, dir string) {
			editCSV(t, dir, survey, middle, setField("year_of_birth", "nineteen"))
		}, "survey_demographics.csv: line 10: column year_of_birth: not an integer"},
		{"BadTimestamp", func(t *testing.T, dir string) {
			editCSV(t, dir, survey, middle, setField("submitted_at", "2025-03-01 10:00"))
		}, "survey_demographics.csv: line 10: column submitted_at: "},
		{"BadBool", func(t *testing.T, dir string) {
			editCSV(t, dir, "learners.csv", 5, func(r []string) []string { r[11] = "yes"; return r })
		}, "learners.csv: line 5: column research_opt_out: not a boolean"},
		{"MissingRequiredValue", func(t *testing.T, dir string) {
			editCSV(t, dir, survey, middle, setField("learner_id", ""))
		}, "survey_demographics.csv: line 10: column learner_id: missing value"},
		{"DuplicateKeyInLastTable", func(t *testing.T, dir string) {
			var first string
			editCSV(t, dir, survey, 2, func(r []string) []string { first = r[0]; return r })
			editCSV(t, dir, survey, middle, setField("response_id", first))
		}, "survey_demographics.csv: line 10: column response_id: duplicate key"},
		{"UnknownLearner", func(t *testing.T, dir string) {
			editCSV(t, dir, survey, middle, setField("learner_id", "nobody"))
		}, "survey_demographics.csv: line 10: column learner_id: refers to a row that does not exist"},
		{"GradeOutOfRange", func(t *testing.T, dir string) {
			editCSV(t, dir, "grades.csv", 3, func(r []string) []string { r[2] = "1.5"; return r })
		}, "grades.csv: line 3: column grade: constraint failed"},
		{"BadRole", func(t *testing.T, dir string) {
			editCSV(t, dir, "enrollments.csv", 4, func(r []string) []string { r[3] = "admin"; return r })
		}, "enrollments.csv: line 4: column role: constraint failed"},
		{"WrongFieldCount", func(t *testing.T, dir string) {
			editCSV(t, dir, survey, middle, func(r []string) []string { return append(r, "extra") })
		}, "survey_demographics.csv: line 10: wrong number of fields"},
		{"MalformedQuote", func(t *testing.T, dir string) {
			appendLine(t, dir, survey, `x,"unterminated,`)
		}, "survey_demographics.csv: line "},
		{"MissingHeader", func(t *testing.T, dir string) {
			rewrite(t, dir, "courses.csv", "")
		}, "courses.csv: line 1: missing header row"},
		{"UnknownFile", func(t *testing.T, dir string) {
			rewrite(t, dir, "notes.txt", "hello")
		}, "notes.txt: unknown file"},
		{"BothFormats", func(t *testing.T, dir string) {
			rewrite(t, dir, "courses.parquet", "")
		}, "courses."},
		{"DuplicateKeyInParquet", func(t *testing.T, dir string) {
			writeParquetSurvey(t, dir, func(rows []export.Row) []export.Row {
				dup := append(export.Row(nil), rows[middle]...)
				dup[0] = rows[2][0]
				return append(rows[:middle:middle], append([]export.Row{dup}, rows[middle:]...)...)
			})
		}, "survey_demographics.parquet: row 11: column response_id: duplicate key"},
		{"UnknownLearnerInParquet", func(t *testing.T, dir string) {
			writeParquetSurvey(t, dir, func(rows []export.Row) []export.Row {
				rows[middle][1] = "nobody"
				return rows
			})
		}, "survey_demographics.parquet: row 11: column learner_id: refers to a row that does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeDir(t, dir, allCSV)
			tt.mutate(t, dir)

			t.Run("NewDB", func(t *testing.T) {
				dbPath := filepath.Join(t.TempDir(), "source.db")
				_, err := Import(context.Background(), dir, dbPath, Options{})
				checkErr(t, err, tt.want)
				if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("refused import left %s behind (stat: %v)", dbPath, err)
				}
			})
			t.Run("ExistingDB", func(t *testing.T) {
				dbPath := existingDB(t)
				before := countRows(t, dbPath)
				_, err := Import(context.Background(), dir, dbPath, Options{})
				checkErr(t, err, tt.want)
				if diff := cmp.Diff(before, countRows(t, dbPath)); diff != "" {
					t.Errorf("refused import changed the DB (-before +after):\n%s", diff)
				}
			})
			t.Run("PostgreSQL", func(t *testing.T) {
				url := pgtest.NewDatabase(t)
				_, err := Import(context.Background(), dir, url, Options{})
				checkErr(t, err, tt.want)
				if got := countRows(t, url); len(got) != 0 {
					t.Errorf("refused import into an empty database stored %v", got)
				}
				addExisting(t, url)
				before := countRows(t, url)
				_, err = Import(context.Background(), dir, url, Options{})
				checkErr(t, err, tt.want)
				if diff := cmp.Diff(before, countRows(t, url)); diff != "" {
					t.Errorf("refused import changed the DB (-before +after):\n%s", diff)
				}
			})
		})
	}
}

// existingRows are a few rows unrelated to the fixtures.
var existingRows = func() []sourcetest.Row {
	day := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
	return []sourcetest.Row{
		{Table: "courses", Row: export.Row{"course-existing", "partner-x", "x", "Existing", day}},
		{Table: "learners", Row: export.Row{"learner-existing", "Ex Isting", "ex@example.org", "exist", nil, nil, nil, nil, nil, nil, day, false, false, nil}},
		{Table: "enrollments", Row: export.Row{"learner-existing", "course-existing", day, "learner"}},
	}
}()

// existingDB returns a SQLite source DB with existingRows.
func existingDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "source.db")
	db, err := sqlite.Create(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Load(ctx, func(ins *sqlite.Inserter) error { return sourcetest.Insert(ins.Insert, existingRows) }); err != nil {
		t.Fatal(err)
	}
	return dbPath
}

// addExisting adds existingRows to the PostgreSQL database at url.
func addExisting(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Load(ctx, func(ins *postgres.Inserter) error { return sourcetest.Insert(ins.Insert, existingRows) }); err != nil {
		t.Fatal(err)
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatal("import succeeded")
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to contain %q", err, want)
	}
}

func rewrite(t *testing.T, dir, file, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendLine(t *testing.T, dir, file, line string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, file), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(line + "\n")
}

// writeParquetSurvey replaces the survey CSV of dir with a Parquet file of
// its rows, edited.
func writeParquetSurvey(t *testing.T, dir string, edit func([]export.Row) []export.Row) {
	t.Helper()
	tab, _ := export.SourceTable(export.TableSurveyDemographics)
	f := files.File{Table: tab, Path: filepath.Join(dir, "survey_demographics.csv"), Format: files.CSV}
	var rows []export.Row
	if err := files.Read(context.Background(), f, func(_ files.Pos, r export.Row) error {
		rows = append(rows, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	os.Remove(f.Path)
	// Not files.Create: the edited rows may be out of key order, as a
	// file from elsewhere may be.
	out, err := os.Create(filepath.Join(dir, "survey_demographics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w, err := parquet.NewWriter(out, tab.Columns, parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range edit(rows) {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// editCSVColumns removes the named column from every line of a CSV file.
func editCSVColumns(t *testing.T, dir, file, column string) {
	t.Helper()
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(recs[0], column)
	if i < 0 {
		t.Fatalf("%s has no column %s", file, column)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	for _, r := range recs {
		w.Write(slices.Delete(r, i, i+1))
	}
	w.Flush()
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
