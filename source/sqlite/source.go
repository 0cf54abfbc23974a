package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rexport/rexport/export"
)

var _ export.Source = (*DB)(nil)

// inCourses is the SQL for "course_id in the JSON array parameter"; one
// parameter whatever the number of courses.
const inCourses = "IN (SELECT value FROM json_each(?))"

// enrolledIn selects the learners enrolled (any role) in the courses of the
// JSON array parameter.
const enrolledIn = "IN (SELECT e.learner_id FROM enrollments e WHERE e.course_id " + inCourses + ")"

// factsColumns are read from the learners row joined as l; their order
// matches scanFacts.
const factsColumns = "l.learner_id, l.birth_date, l.research_opt_out, l.deleted_at IS NOT NULL, l.sensitive_consent, l.signup_at"

const nFacts = 6

// query is the SQL of one SourceQuery: FROM and WHERE with their arguments.
type query struct {
	table export.Table
	from  string
	where []string
	args  []any
	facts bool
}

// buildQuery pushes the course selection and the time window of q down
// into SQL. It returns ok=false if q selects nothing (no courses).
func buildQuery(q export.SourceQuery) (query, bool, error) {
	t, ok := export.SourceTable(q.Table)
	if !ok {
		return query{}, false, fmt.Errorf("unknown source table %q", q.Table)
	}
	if len(q.Courses) == 0 {
		return query{}, false, nil
	}
	courses, err := json.Marshal(q.Courses)
	if err != nil {
		return query{}, false, err
	}
	b := query{table: t, from: t.Name + " t"}
	if t.Name != export.TableCourses {
		b.facts = true
		b.from += " JOIN learners l ON l.learner_id = t.learner_id"
	}
	switch t.Name {
	case export.TableLearners:
		b.where = append(b.where, "t.learner_id "+enrolledIn)
		b.args = append(b.args, string(courses))
	case export.TableSurveyDemographics:
		b.where = append(b.where, "(t.course_id "+inCourses+" OR (t.course_id IS NULL AND t.learner_id "+enrolledIn+"))")
		b.args = append(b.args, string(courses), string(courses))
	default:
		b.where = append(b.where, "t.course_id "+inCourses)
		b.args = append(b.args, string(courses))
	}
	if t.TimeColumn != "" {
		c, _ := t.Column(t.TimeColumn)
		if !q.From.IsZero() {
			v, err := toSQL(c, q.From)
			if err != nil {
				return query{}, false, err
			}
			b.where = append(b.where, "t."+c.Name+" >= ?")
			b.args = append(b.args, v)
		}
		if !q.To.IsZero() {
			v, err := toSQL(c, q.To)
			if err != nil {
				return query{}, false, err
			}
			b.where = append(b.where, "t."+c.Name+" < ?")
			b.args = append(b.args, v)
		}
	}
	return b, true, nil
}

func (b query) whereSQL() string {
	return " WHERE " + strings.Join(b.where, " AND ")
}

// Scan calls fn for every row selected by q, ordered by the table's key,
// streaming from the database. An empty q.Courses selects no rows. It
// returns the first error of fn, or ctx.Err() once ctx is done.
func (db *DB) Scan(ctx context.Context, q export.SourceQuery, fn func(export.SourceRow) error) (err error) {
	defer wrap(&err, "scan %s", q.Table)
	b, ok, err := buildQuery(q)
	if err != nil || !ok {
		return err
	}
	t := b.table
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = "t." + c.Name
	}
	sel := strings.Join(cols, ", ")
	n := len(t.Columns)
	if b.facts {
		sel += ", " + factsColumns
		n += nFacts
	}
	order := make([]string, len(t.Key))
	for i, k := range t.Key {
		order[i] = "t." + k
	}
	sqlText := "SELECT " + sel + " FROM " + b.from + b.whereSQL() + " ORDER BY " + strings.Join(order, ", ")
	rows, err := db.db.QueryContext(ctx, sqlText, b.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		var sr export.SourceRow
		sr.Row = make(export.Row, len(t.Columns))
		for i, c := range t.Columns {
			if sr.Row[i], err = fromSQL(c, vals[i]); err != nil {
				return err
			}
		}
		if b.facts {
			if sr.Learner, err = scanFacts(vals[len(t.Columns):]); err != nil {
				return err
			}
		}
		if err := fn(sr); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return ctx.Err()
}

var (
	birthDateColumn = export.Column{Name: "birth_date", Type: export.TypeDate, Nullable: true}
	signupColumn    = export.Column{Name: "signup_at", Type: export.TypeTimestamp}
	boolColumn      = export.Column{Name: "flag", Type: export.TypeBool}
)

func scanFacts(v []any) (export.LearnerFacts, error) {
	var f export.LearnerFacts
	id, ok := v[0].(string)
	if !ok {
		return f, fmt.Errorf("learner_id: unexpected stored value of Go type %T", v[0])
	}
	f.LearnerID = id
	bd, err := fromSQL(birthDateColumn, v[1])
	if err != nil {
		return f, err
	}
	if bd != nil {
		f.BirthDate = bd.(time.Time)
	}
	flags := make([]bool, 3)
	for i, x := range []any{v[2], v[3], v[4]} {
		b, err := fromSQL(boolColumn, x)
		if err != nil || b == nil {
			return f, fmt.Errorf("learner flags: unexpected stored value %v", x)
		}
		flags[i] = b.(bool)
	}
	f.OptedOut, f.Deleted, f.SensitiveConsent = flags[0], flags[1], flags[2]
	su, err := fromSQL(signupColumn, v[5])
	if err != nil || su == nil {
		return f, fmt.Errorf("signup_at: unexpected stored value %v", v[5])
	}
	f.SignupAt = su.(time.Time)
	return f, nil
}

// Count returns the number of rows Scan would visit for q.
func (db *DB) Count(ctx context.Context, q export.SourceQuery) (n int64, err error) {
	defer wrap(&err, "count %s", q.Table)
	b, ok, err := buildQuery(q)
	if err != nil || !ok {
		return 0, err
	}
	err = db.db.QueryRowContext(ctx, "SELECT count(*) FROM "+b.from+b.whereSQL(), b.args...).Scan(&n)
	return n, err
}

// Roster calls fn for every person enrolled (any role) in one of courses,
// ordered by learner_id, with their learner facts.
func (db *DB) Roster(ctx context.Context, courses []string, fn func(export.RosterEntry) error) (err error) {
	defer wrap(&err, "roster")
	if len(courses) == 0 {
		return nil
	}
	ids, err := json.Marshal(courses)
	if err != nil {
		return err
	}
	rows, err := db.db.QueryContext(ctx, "SELECT l.full_name, l.username, l.email, coalesce(l.city, ''), coalesce(l.postal_code, ''), "+factsColumns+" FROM learners l WHERE l.learner_id "+enrolledIn+" ORDER BY l.learner_id", string(ids))
	if err != nil {
		return err
	}
	defer rows.Close()
	facts := make([]any, nFacts)
	const fixed = 5
	ptrs := make([]any, fixed+nFacts)
	var e export.RosterEntry
	ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4] = &e.FullName, &e.Username, &e.Email, &e.City, &e.PostalCode
	for i := range facts {
		ptrs[fixed+i] = &facts[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if e.Learner, err = scanFacts(facts); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Courses returns the courses with the given ids, or all courses if ids is
// empty, ordered by course_id.
func (db *DB) Courses(ctx context.Context, ids []string) (_ []export.CourseInfo, err error) {
	defer wrap(&err, "courses")
	var rows *sql.Rows
	const sel = "SELECT course_id, partner_id, slug, title FROM courses"
	if len(ids) == 0 {
		rows, err = db.db.QueryContext(ctx, sel+" ORDER BY course_id")
	} else {
		var js []byte
		if js, err = json.Marshal(ids); err != nil {
			return nil, err
		}
		rows, err = db.db.QueryContext(ctx, sel+" WHERE course_id "+inCourses+" ORDER BY course_id", string(js))
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []export.CourseInfo
	for rows.Next() {
		var c export.CourseInfo
		if err := rows.Scan(&c.CourseID, &c.PartnerID, &c.Slug, &c.Title); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// wrap gives an error the context of the operation that returned it.
func wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}
