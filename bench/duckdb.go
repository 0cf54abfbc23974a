package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// duckJob is what the DuckDB subprocess is asked to build. The salt travels
// in a file, not on a command line other users could read.
type duckJob struct {
	Source  string
	Out     string
	Courses []string
	Threads int
	Salt    string
}

func writeJob(path string, j duckJob) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// runDuckChild runs the DuckDB export script of the job in jobFile.
func runDuckChild(jobFile string) error {
	b, err := os.ReadFile(jobFile)
	if err != nil {
		return err
	}
	var j duckJob
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%s: %w", jobFile, err)
	}
	if err := os.MkdirAll(j.Out, 0o755); err != nil {
		return err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	// One connection: the temporary tables and macros belong to it.
	db.SetMaxOpenConns(1)
	for i, stmt := range duckScript(j) {
		if _, err := db.Exec(stmt); err != nil {
			return fmt.Errorf("statement %d: %w\n%s", i+1, err, stmt)
		}
	}
	return nil
}

// Patterns of the personal data scrubbed from free text, in RE2 syntax.
const (
	emailPattern = `[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`
	urlPattern   = `(https?://|www\.)[^\s<>"]+`
	phonePattern = `\+?[0-9][0-9 ().-]{6,}[0-9]`
)

// duckScript is the SQL a data engineer would write for the same export:
// read the Parquet source, hash ids with a secret salt, scrub emails, URLs
// and phone numbers from free text, truncate timestamps to the hour, leave
// out the excluded learners (opted out, deleted, under 13 or of unknown
// age), and COPY each table to zstd Parquet.
func duckScript(j duckJob) []string {
	src := func(t string) string {
		return "read_parquet(" + sqlString(filepath.Join(j.Source, t+".parquet")) + ")"
	}
	copyTo := func(t, query string) string {
		return fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)",
			query, sqlString(filepath.Join(j.Out, t+".parquet")))
	}
	// Rows of selected courses, of learners who are not excluded. Surveys
	// shown outside a course go with the learners of the selected courses.
	kept := func(t string) string {
		return fmt.Sprintf("%s AS t SEMI JOIN sel ON t.course_id = sel.course_id ANTI JOIN excluded AS x ON t.learner_id = x.learner_id", src(t))
	}
	return []string{
		fmt.Sprintf("SET threads = %d", j.Threads),
		fmt.Sprintf("CREATE TEMP TABLE sel AS SELECT unnest([%s]) AS course_id", sqlList(j.Courses)),
		fmt.Sprintf(`CREATE TEMP TABLE excluded AS SELECT learner_id FROM %s
			WHERE research_opt_out OR deleted_at IS NOT NULL OR birth_date IS NULL
			   OR birth_date > current_date - INTERVAL 13 YEAR`, src("learners")),
		fmt.Sprintf("CREATE MACRO pid(id) AS sha256(%s || id)", sqlString(j.Salt)),
		fmt.Sprintf(`CREATE MACRO scrub(s) AS
			regexp_replace(regexp_replace(regexp_replace(s,
				%s, '[EMAIL]', 'g'), %s, '[URL]', 'g'), %s, '[PHONE]', 'g')`,
			sqlString(emailPattern), sqlString(urlPattern), sqlString(phonePattern)),

		copyTo("courses", fmt.Sprintf(`SELECT course_id, slug, title, start_date
			FROM %s AS t SEMI JOIN sel ON t.course_id = sel.course_id`, src("courses"))),
		copyTo("learners", fmt.Sprintf(`SELECT pid(t.learner_id) AS learner_id, gender, country_code,
				date_trunc('hour', signup_at) AS signup_at
			FROM %s AS t
			SEMI JOIN (SELECT e.learner_id FROM %s AS e SEMI JOIN sel ON e.course_id = sel.course_id) AS e
				ON t.learner_id = e.learner_id
			ANTI JOIN excluded AS x ON t.learner_id = x.learner_id`, src("learners"), src("enrollments"))),
		copyTo("enrollments", `SELECT pid(t.learner_id) AS learner_id, t.course_id,
				date_trunc('hour', enrolled_at) AS enrolled_at, role
			FROM `+kept("enrollments")),
		copyTo("quiz_submissions", `SELECT pid(submission_id) AS submission_id, pid(t.learner_id) AS learner_id,
				t.course_id, quiz_id, question_id, attempt, date_trunc('hour', submitted_at) AS submitted_at,
				scrub(response_text) AS response_text, score, max_score
			FROM `+kept("quiz_submissions")),
		copyTo("grades", `SELECT pid(t.learner_id) AS learner_id, t.course_id, grade, passed,
				date_trunc('hour', completed_at) AS completed_at, date_trunc('hour', graded_at) AS graded_at
			FROM `+kept("grades")),
		copyTo("forum_posts", `SELECT pid(post_id) AS post_id, pid(thread_id) AS thread_id,
				pid(parent_post_id) AS parent_post_id, pid(t.learner_id) AS learner_id, t.course_id,
				date_trunc('hour', posted_at) AS posted_at, scrub(title) AS title, scrub(body) AS body, upvotes
			FROM `+kept("forum_posts")),
		copyTo("survey_demographics", `SELECT pid(response_id) AS response_id, pid(t.learner_id) AS learner_id,
				t.course_id, date_trunc('hour', submitted_at) AS submitted_at, year_of_birth, gender,
				country_code, education_level, employment_status, english_proficiency,
				scrub(comment) AS comment
			FROM `+src("survey_demographics")+` AS t
			ANTI JOIN excluded AS x ON t.learner_id = x.learner_id
			WHERE t.course_id IN (SELECT course_id FROM sel)
			   OR (t.course_id IS NULL AND t.learner_id IN (
				SELECT e.learner_id FROM `+src("enrollments")+` AS e SEMI JOIN sel ON e.course_id = sel.course_id))`),
	}
}
