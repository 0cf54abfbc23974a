package sqlsource

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rexport/rexport/export"
)

// Dialect is how one database spells the parameters of the export queries.
type Dialect struct {
	// Param returns the marker of the n-th parameter, from 1.
	Param func(n int) string
	// InList returns the condition "is one of the ids of the list
	// parameter marked p", to follow an expression.
	InList func(p string) string
	// List converts ids to the value of a list parameter.
	List func(ids []string) (any, error)
	// Encode converts a normalised value of column c to a parameter; nil
	// passes it as it is.
	Encode func(c export.Column, v any) any
}

// params collects the arguments of a query and names their markers.
type params struct {
	d    Dialect
	args []any
}

func (p *params) add(v any) string {
	p.args = append(p.args, v)
	return p.d.Param(len(p.args))
}

func (p *params) list(ids []string) (string, error) {
	v, err := p.d.List(ids)
	if err != nil {
		return "", err
	}
	return p.d.InList(p.add(v)), nil
}

// enrolledIn is the condition "is a learner enrolled (any role) in one of
// the courses of the list parameter".
func (p *params) enrolledIn(courses []string) (string, error) {
	in, err := p.list(courses)
	if err != nil {
		return "", err
	}
	return "IN (SELECT e.learner_id FROM enrollments e WHERE e.course_id " + in + ")", nil
}

// factsColumns are read from the learners row joined as l; their order
// matches decodeFacts.
const factsColumns = "l.learner_id, l.birth_date, l.research_opt_out, l.deleted_at IS NOT NULL, l.sensitive_consent, l.signup_at"

const nFacts = 6

// Query is the SQL of one export.SourceQuery.
type Query struct {
	Table export.Table
	// Args are the arguments of SelectSQL and CountSQL.
	Args  []any
	facts bool
	from  string
	where []string
}

// Query pushes the course selection and the time window of q down into
// SQL. It returns ok=false if q selects nothing (no courses).
func (d Dialect) Query(q export.SourceQuery) (_ Query, ok bool, err error) {
	t, ok := export.SourceTable(q.Table)
	if !ok {
		return Query{}, false, fmt.Errorf("unknown source table %q", q.Table)
	}
	if len(q.Courses) == 0 {
		return Query{}, false, nil
	}
	p := &params{d: d}
	b := Query{Table: t, from: t.Name + " t"}
	if t.Name != export.TableCourses {
		b.facts = true
		b.from += " JOIN learners l ON l.learner_id = t.learner_id"
	}
	var cond string
	switch t.Name {
	case export.TableLearners:
		var enrolled string
		enrolled, err = p.enrolledIn(q.Courses)
		cond = "t.learner_id " + enrolled
	case export.TableSurveyDemographics:
		var in, enrolled string
		if in, err = p.list(q.Courses); err == nil {
			enrolled, err = p.enrolledIn(q.Courses)
		}
		cond = "(t.course_id " + in + " OR (t.course_id IS NULL AND t.learner_id " + enrolled + "))"
	default:
		var in string
		in, err = p.list(q.Courses)
		cond = "t.course_id " + in
	}
	if err != nil {
		return Query{}, false, err
	}
	b.where = append(b.where, cond)
	if t.TimeColumn != "" {
		c, _ := t.Column(t.TimeColumn)
		for _, bound := range []struct {
			at time.Time
			op string
		}{{q.From, ">="}, {q.To, "<"}} {
			if bound.at.IsZero() {
				continue
			}
			// Compared as stored: UTC, to the second (truncated, as
			// source/parquetdir compares too).
			v, err := Normalize(c, bound.at)
			if err != nil {
				return Query{}, false, err
			}
			if d.Encode != nil {
				v = d.Encode(c, v)
			}
			b.where = append(b.where, "t."+c.Name+" "+bound.op+" "+p.add(v))
		}
	}
	if q.DropExcluded && b.facts {
		b.where = append(b.where, keptLearner)
	}
	b.Args = p.args
	return b, true, nil
}

// keptLearner and excludedLearner tell apart the learners whose rows may
// leave (for now: age is judged at each row's time, by the build) from
// those who are deleted or opted out.
const (
	keptLearner     = "NOT l.research_opt_out AND l.deleted_at IS NULL"
	excludedLearner = "(l.research_opt_out OR l.deleted_at IS NOT NULL)"
)

// ExcludedSQL selects the facts of the deleted and opted-out learners who
// have a row in the selection, once each, ordered by learner_id; "" for
// the courses table, which has no learners. b must not drop them.
func (b Query) ExcludedSQL() string {
	if !b.facts || slices.Contains(b.where, keptLearner) {
		return ""
	}
	return "SELECT DISTINCT " + factsColumns + " FROM " + b.from + b.whereSQL() + " AND " + excludedLearner + " ORDER BY l.learner_id"
}

// Excluded is the SQL and arguments of ExcludedSQL for q (whatever
// q.DropExcluded); ok=false if there is nothing to list.
func (d Dialect) Excluded(q export.SourceQuery) (sql string, args []any, ok bool, err error) {
	q.DropExcluded = false
	b, ok, err := d.Query(q)
	if err != nil || !ok {
		return "", nil, false, err
	}
	sql = b.ExcludedSQL()
	return sql, b.Args, sql != "", nil
}

// DecodeFacts converts a row of ExcludedSQL to learner facts.
func DecodeFacts(vals []any) (export.LearnerFacts, error) { return decodeFacts(vals) }

// FactsWidth is the number of values of a row of ExcludedSQL.
const FactsWidth = nFacts

func (b Query) whereSQL() string {
	return " WHERE " + strings.Join(b.where, " AND ")
}

// SelectSQL selects the table's columns and, but for courses, the learner
// facts, ordered by the table's key.
func (b Query) SelectSQL() string {
	cols := make([]string, len(b.Table.Columns))
	for i, c := range b.Table.Columns {
		cols[i] = "t." + c.Name
	}
	sel := strings.Join(cols, ", ")
	if b.facts {
		sel += ", " + factsColumns
	}
	order := make([]string, len(b.Table.Key))
	for i, k := range b.Table.Key {
		order[i] = "t." + k
	}
	return "SELECT " + sel + " FROM " + b.from + b.whereSQL() + " ORDER BY " + strings.Join(order, ", ")
}

// CountSQL counts the rows of SelectSQL.
func (b Query) CountSQL() string {
	return "SELECT count(*) FROM " + b.from + b.whereSQL()
}

// Width is the number of values a row of SelectSQL has.
func (b Query) Width() int {
	if b.facts {
		return len(b.Table.Columns) + nFacts
	}
	return len(b.Table.Columns)
}

// Decode converts a row of SelectSQL, as the driver gives it, to a
// SourceRow.
func (b Query) Decode(vals []any) (sr export.SourceRow, err error) {
	t := b.Table
	sr.Row = make(export.Row, len(t.Columns))
	for i, c := range t.Columns {
		if sr.Row[i], err = Decode(c, vals[i]); err != nil {
			return sr, err
		}
	}
	if b.facts {
		sr.Learner, err = decodeFacts(vals[len(t.Columns):])
	}
	return sr, err
}

var (
	textColumn      = export.Column{Name: "text", Type: export.TypeString}
	birthDateColumn = export.Column{Name: "birth_date", Type: export.TypeDate, Nullable: true}
	signupColumn    = export.Column{Name: "signup_at", Type: export.TypeTimestamp}
	boolColumn      = export.Column{Name: "flag", Type: export.TypeBool}
)

func decodeFacts(v []any) (export.LearnerFacts, error) {
	var f export.LearnerFacts
	id, err := Decode(textColumn, v[0])
	if err != nil || id == nil {
		return f, fmt.Errorf("learner_id: unexpected stored value %v", v[0])
	}
	f.LearnerID = id.(string)
	bd, err := Decode(birthDateColumn, v[1])
	if err != nil {
		return f, err
	}
	if bd != nil {
		f.BirthDate = bd.(time.Time)
	}
	flags := make([]bool, 3)
	for i, x := range v[2:5] {
		b, err := Decode(boolColumn, x)
		if err != nil || b == nil {
			return f, fmt.Errorf("learner flags: unexpected stored value %v", x)
		}
		flags[i] = b.(bool)
	}
	f.OptedOut, f.Deleted, f.SensitiveConsent = flags[0], flags[1], flags[2]
	su, err := Decode(signupColumn, v[5])
	if err != nil || su == nil {
		return f, fmt.Errorf("signup_at: unexpected stored value %v", v[5])
	}
	f.SignupAt = su.(time.Time)
	return f, nil
}

// rosterFixed is the number of values of a roster row before the facts.
const rosterFixed = 5

// RosterWidth is the number of values a row of RosterSQL has.
const RosterWidth = rosterFixed + nFacts

// Roster returns the query of export.Source.Roster: everyone enrolled
// (any role) in one of courses, ordered by learner_id. It returns ok=false
// if courses is empty.
func (d Dialect) Roster(courses []string) (sql string, args []any, ok bool, err error) {
	if len(courses) == 0 {
		return "", nil, false, nil
	}
	p := &params{d: d}
	enrolled, err := p.enrolledIn(courses)
	if err != nil {
		return "", nil, false, err
	}
	sql = "SELECT l.full_name, l.username, l.email, coalesce(l.city, ''), coalesce(l.postal_code, ''), " + factsColumns +
		" FROM learners l WHERE l.learner_id " + enrolled + " ORDER BY l.learner_id"
	return sql, p.args, true, nil
}

// DecodeRoster converts a row of the Roster query to a RosterEntry.
func DecodeRoster(vals []any) (e export.RosterEntry, err error) {
	fields := []*string{&e.FullName, &e.Username, &e.Email, &e.City, &e.PostalCode}
	for i, f := range fields {
		s, err := Decode(textColumn, vals[i])
		if err != nil || s == nil {
			return e, fmt.Errorf("roster: unexpected stored value %v", vals[i])
		}
		*f = s.(string)
	}
	e.Learner, err = decodeFacts(vals[rosterFixed:])
	return e, err
}

// Courses returns the query of export.Source.Courses: the courses with the
// given ids, or all courses if ids is empty, ordered by course_id. Its
// rows are course_id, partner_id, slug, title.
func (d Dialect) Courses(ids []string) (sql string, args []any, err error) {
	const sel = "SELECT course_id, partner_id, slug, title FROM courses"
	if len(ids) == 0 {
		return sel + " ORDER BY course_id", nil, nil
	}
	p := &params{d: d}
	in, err := p.list(ids)
	if err != nil {
		return "", nil, err
	}
	return sel + " WHERE course_id " + in + " ORDER BY course_id", p.args, nil
}

// Wrap gives an error the context of the operation that returned it.
func Wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}

// Rows is what ScanCourses needs of a driver's result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanCourses reads the rows of the Courses query; the caller closes rows.
func ScanCourses(rows Rows) ([]export.CourseInfo, error) {
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

// InsertSQL inserts one row of t, its values in column order.
func (d Dialect) InsertSQL(t export.Table) string {
	marks := make([]string, len(t.Columns))
	for i := range marks {
		marks[i] = d.Param(i + 1)
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", t.Name, strings.Join(ColumnNames(t), ", "), strings.Join(marks, ", "))
}

// ColumnNames returns the names of t's columns in order.
func ColumnNames(t export.Table) []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}
