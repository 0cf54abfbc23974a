package sqlite

import (
	"fmt"
	"strings"

	"github.com/rexport/rexport/export"
)

// timestampLayout is the one text form of a timestamp in the database: UTC,
// whole seconds, so that text order is time order and the request window
// can be compared as text.
const timestampLayout = "2006-01-02T15:04:05Z"

// sqlType is the SQLite column type (tables are STRICT) of a column type.
func sqlType(t export.ColumnType) string {
	switch t {
	case export.TypeInt64, export.TypeBool:
		return "INTEGER"
	case export.TypeFloat64:
		return "REAL"
	default: // string, date, timestamp
		return "TEXT"
	}
}

// Schema returns the DDL of the source schema, derived from
// export.SourceTables so that the two cannot drift: one CREATE TABLE per
// table and the indexes the export queries use.
func Schema() []string {
	var stmts []string
	for _, t := range export.SourceTables {
		stmts = append(stmts, createTable(t))
		stmts = append(stmts, createIndexes(t)...)
	}
	return stmts
}

func createTable(t export.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", t.Name)
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "\t%s %s", c.Name, sqlType(c.Type))
		if !c.Nullable {
			b.WriteString(" NOT NULL")
		}
		if chk := columnCheck(c); chk != "" {
			fmt.Fprintf(&b, " CHECK (%s)", chk)
		}
		b.WriteString(",\n")
	}
	for _, fk := range foreignKeys(t) {
		fmt.Fprintf(&b, "\tFOREIGN KEY (%s) REFERENCES %s (%s),\n", fk.column, fk.table, fk.column)
	}
	fmt.Fprintf(&b, "\tPRIMARY KEY (%s)\n) STRICT", strings.Join(t.Key, ", "))
	return b.String()
}

// columnCheck returns the CHECK constraint of a column: the cheap ones that
// keep bad data out and keep text comparison of times correct.
func columnCheck(c export.Column) string {
	var chk string
	switch c.Type {
	case export.TypeBool:
		chk = fmt.Sprintf("%s IN (0, 1)", c.Name)
	case export.TypeDate:
		chk = fmt.Sprintf("%s GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'", c.Name)
	case export.TypeTimestamp:
		chk = fmt.Sprintf("%s GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z'", c.Name)
	}
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

type foreignKey struct{ column, table string }

// foreignKeys returns the references of a table: every learner_id refers to
// learners and every course_id to courses, so that no row can exist without
// the learner whose facts decide whether it may leave.
func foreignKeys(t export.Table) []foreignKey {
	var fks []foreignKey
	for _, c := range t.Columns {
		switch {
		case c.Name == "learner_id" && t.Name != export.TableLearners:
			fks = append(fks, foreignKey{c.Name, export.TableLearners})
		case c.Name == "course_id" && t.Name != export.TableCourses:
			fks = append(fks, foreignKey{c.Name, export.TableCourses})
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
