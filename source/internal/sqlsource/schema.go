package sqlsource

import (
	"fmt"
	"strings"

	"github.com/rexport/rexport/export"
)

// Schema is how one database spells the source schema.
type Schema struct {
	// ColumnType is the SQL type of a column, with its collation if any.
	ColumnType func(export.Column) string
	// FormatCheck is the CHECK that keeps a value in its stored form
	// (e.g. text timestamps); "" for none.
	FormatCheck func(export.Column) string
	// TableOptions follows the closing parenthesis of CREATE TABLE.
	TableOptions string
}

// Statements returns the DDL of the source schema, derived from
// export.SourceTables so that the two cannot drift: one CREATE TABLE per
// table and the indexes the export queries use. Every statement creates
// only what does not exist yet.
func (s Schema) Statements() []string {
	var stmts []string
	for _, t := range export.SourceTables {
		stmts = append(stmts, s.createTable(t))
		stmts = append(stmts, createIndexes(t)...)
	}
	return stmts
}

// Check returns the CHECK constraint of column c: "" for none.
func (s Schema) Check(c export.Column) string {
	var chk string
	if s.FormatCheck != nil {
		chk = s.FormatCheck(c)
	}
	// The cheap rules that keep bad data out.
	switch c.Name {
	case "role":
		chk = fmt.Sprintf("role IN ('%s')", strings.Join(export.EnrollmentRoles, "', '"))
	case "grade":
		chk = "grade BETWEEN 0 AND 1"
	case "score", "max_score":
		chk = c.Name + " >= 0"
	case "attempt":
		chk = "attempt >= 1"
	}
	if chk != "" && c.Nullable {
		chk = fmt.Sprintf("%s IS NULL OR %s", c.Name, chk)
	}
	return chk
}

func (s Schema) createTable(t export.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", t.Name)
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "\t%s %s", c.Name, s.ColumnType(c))
		if !c.Nullable {
			b.WriteString(" NOT NULL")
		}
		if chk := s.Check(c); chk != "" {
			fmt.Fprintf(&b, " CHECK (%s)", chk)
		}
		b.WriteString(",\n")
	}
	for _, fk := range ForeignKeys(t) {
		fmt.Fprintf(&b, "\tFOREIGN KEY (%s) REFERENCES %s (%s),\n", fk.Column, fk.Table, fk.Column)
	}
	fmt.Fprintf(&b, "\tPRIMARY KEY (%s)\n)%s", strings.Join(t.Key, ", "), s.TableOptions)
	return b.String()
}

// ForeignKey is a column that refers to the column of the same name in
// another table.
type ForeignKey struct{ Column, Table string }

// ForeignKeys returns the references of a table: every learner_id refers to
// learners and every course_id to courses, so that no row can exist without
// the learner whose facts decide whether it may leave.
func ForeignKeys(t export.Table) []ForeignKey {
	var fks []ForeignKey
	for _, c := range t.Columns {
		switch {
		case c.Name == "learner_id" && t.Name != export.TableLearners:
			fks = append(fks, ForeignKey{c.Name, export.TableLearners})
		case c.Name == "course_id" && t.Name != export.TableCourses:
			fks = append(fks, ForeignKey{c.Name, export.TableCourses})
		}
	}
	return fks
}

func createIndexes(t export.Table) []string {
	var idx []string
	if t.TimeColumn != "" && t.ColumnIndex("course_id") >= 0 {
		idx = append(idx, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_course_time ON %s (course_id, %s)", t.Name, t.Name, t.TimeColumn))
	}
	// Learners and course-less survey rows are selected by enrollment, and
	// the foreign keys need an index on the referencing column.
	switch t.Name {
	case export.TableEnrollments:
		idx = append(idx, "CREATE INDEX IF NOT EXISTS enrollments_course_learner ON enrollments (course_id, learner_id)")
	case export.TableQuizSubmissions, export.TableForumPosts, export.TableSurveyDemographics:
		idx = append(idx, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_learner ON %s (learner_id)", t.Name, t.Name))
	}
	return idx
}
