package main

import (
	"database/sql"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// tables are the source tables, all of which the benchmark exports.
var tables = []string{"courses", "learners", "enrollments", "quiz_submissions", "grades", "forum_posts", "survey_demographics"}

// workload is a cached fixture directory and what the builds export from it.
type workload struct {
	dir      string // absolute path of the <table>.parquet files
	learners int
	partner  string
	courses  []string // most of the partner's courses
	allCount int      // the partner's courses
	tables   []string

	rows       int64            // source rows, all tables: what each build reads
	tableRows  map[string]int64 // source rows by table
	medianBody float64          // median forum post body, bytes
	freeText   int64            // free-text bytes of the selected courses
}

// prepareWorkload generates the workload of the given scale once, under
// out/workload-<learners>, and measures it with DuckDB.
func prepareWorkload(rexport string, scale float64, partner string) (*workload, error) {
	learners := int(math.Round(scale * learnersPerScale))
	if learners < 1 {
		return nil, fmt.Errorf("scale %g gives no learners", scale)
	}
	dir, err := filepath.Abs(filepath.Join(outDir, fmt.Sprintf("workload-%d", learners)))
	if err != nil {
		return nil, err
	}
	// The marker is written last: a generation that was interrupted is
	// redone, never half used.
	marker := filepath.Join(dir, ".complete")
	if _, err := os.Stat(marker); err != nil {
		fmt.Printf("generating workload: rexport fixtures --learners %d --format parquet\n", learners)
		tmp := dir + ".tmp"
		if err := os.RemoveAll(tmp); err != nil {
			return nil, err
		}
		start := time.Now()
		cmd := exec.Command(rexport, "--log-level", "warn", "fixtures", "--learners", fmt.Sprint(learners),
			"--format", "parquet", "--out", tmp)
		// Progress goes to the log, shown only if generation fails.
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("rexport fixtures: %w\n%s", err, out)
		}
		if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
			return nil, err
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return nil, err
		}
		fmt.Printf("generated in %v\n", time.Since(start).Round(time.Millisecond))
	}
	w := &workload{dir: dir, learners: learners, partner: partner, tables: tables, tableRows: map[string]int64{}}
	return w, w.measure()
}

// measure reads the workload's figures from its files with DuckDB.
func (w *workload) measure() error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()

	for _, t := range w.tables {
		var n int64
		if err := db.QueryRow("SELECT count(*) FROM " + w.file(t)).Scan(&n); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		w.tableRows[t] = n
		w.rows += n
	}
	if err := db.QueryRow("SELECT median(strlen(body)) FROM " + w.file("forum_posts")).Scan(&w.medianBody); err != nil {
		return fmt.Errorf("forum_posts: %w", err)
	}

	rows, err := db.Query("SELECT course_id FROM "+w.file("courses")+" WHERE partner_id = ? ORDER BY course_id", w.partner)
	if err != nil {
		return err
	}
	defer rows.Close()
	var all []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		all = append(all, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(all) == 0 {
		return fmt.Errorf("partner %s has no courses in %s", w.partner, w.dir)
	}
	// Most, not all: the course filter must do some work.
	w.allCount = len(all)
	w.courses = all
	if len(all) > 1 {
		w.courses = all[:len(all)-1]
	}

	in := sqlList(w.courses)
	q := fmt.Sprintf(`SELECT
	  (SELECT coalesce(sum(strlen(coalesce(title, '')) + strlen(body)), 0) FROM %s WHERE course_id IN (%s))
	+ (SELECT coalesce(sum(strlen(response_text)), 0) FROM %s WHERE course_id IN (%s))
	+ (SELECT coalesce(sum(strlen(comment)), 0) FROM %s WHERE course_id IN (%s))`,
		w.file("forum_posts"), in, w.file("quiz_submissions"), in, w.file("survey_demographics"), in)
	if err := db.QueryRow(q).Scan(&w.freeText); err != nil {
		return fmt.Errorf("free text: %w", err)
	}
	return nil
}

func (w *workload) file(table string) string {
	return "read_parquet(" + sqlString(filepath.Join(w.dir, table+".parquet")) + ")"
}

func (w *workload) print() {
	fmt.Printf("\nworkload %s (--learners %d)\n", w.dir, w.learners)
	for _, t := range []string{"quiz_submissions", "forum_posts", "survey_demographics"} {
		fmt.Printf("  %-20s %10d rows\n", t, w.tableRows[t])
	}
	fmt.Printf("  all tables           %10d rows\n", w.rows)
	fmt.Printf("  median forum post body: %.0f bytes\n", w.medianBody)
	fmt.Printf("export: partner %s, %d of its %d courses, all tables, free text (%.1f MB in the source)\n\n",
		w.partner, len(w.courses), w.allCount, float64(w.freeText)/1e6)
	fmt.Printf("%-8s %3s %10s %12s %14s %10s\n", "tool", "run", "wall", "rows/s", "free text MB/s", "peak RSS")
}

func (w *workload) printRun(tool string, i int, m measurement) {
	s := m.wall.Seconds()
	fmt.Printf("%-8s %3d %10v %12.0f %14.1f %10s\n", tool, i, m.wall.Round(time.Millisecond),
		float64(w.rows)/s, float64(w.freeText)/1e6/s, mib(m.maxRSS))
}

func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func sqlList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = sqlString(x)
	}
	return strings.Join(q, ", ")
}

// compareOutputs prints the rows of each table in the two builds' outputs:
// the DuckDB script should keep the same rows as rexport, or the comparison
// is not of the same work. (rexport's k-anonymity may suppress a few more.)
func compareOutputs(w *workload, rexportDir, duckDir string) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Printf("\n%-20s %10s %10s\n", "output rows", "rexport", "duckdb")
	for _, t := range w.tables {
		var n [2]int64
		for i, dir := range []string{rexportDir, duckDir} {
			f := sqlString(filepath.Join(dir, t+".parquet"))
			if err := db.QueryRow("SELECT count(*) FROM read_parquet(" + f + ")").Scan(&n[i]); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
		fmt.Printf("%-20s %10d %10d\n", t, n[0], n[1])
	}
	return nil
}
