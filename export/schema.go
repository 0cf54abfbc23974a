package export

import (
	"fmt"
	"time"
)

// ColumnType is the logical type of a column in the source schema and in
// the datasets rexport writes.
type ColumnType int

// The column types. Their Go representation in a Row is given with each.
const (
	TypeString    ColumnType = iota + 1 // string
	TypeInt64                           // int64
	TypeFloat64                         // float64
	TypeBool                            // bool
	TypeDate                            // time.Time, midnight UTC
	TypeTimestamp                       // time.Time, UTC
)

var columnTypeNames = map[ColumnType]string{
	TypeString:    "string",
	TypeInt64:     "int64",
	TypeFloat64:   "float64",
	TypeBool:      "bool",
	TypeDate:      "date",
	TypeTimestamp: "timestamp",
}

// String returns the name used in manifests and dictionaries.
func (t ColumnType) String() string {
	if s, ok := columnTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("ColumnType(%d)", int(t))
}

// Column describes one column of a table.
type Column struct {
	Name     string
	Type     ColumnType
	Nullable bool
	// Doc says what the column means, for the schema document and the
	// data dictionary.
	Doc string
}

// Table describes one table of the source schema.
type Table struct {
	Name    string
	Columns []Column
	// Key lists the columns that identify a row (primary key, or natural
	// key for tables without one).
	Key []string
	// TimeColumn is the column a request's from/to window applies to; empty
	// for tables that are not filtered by time (courses, learners).
	TimeColumn string
	Doc        string
}

// Column returns the column with the given name.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// ColumnIndex returns the position of the named column, or -1.
func (t Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Row is one row of a table: one value per column, in column order. A
// value is nil (SQL NULL) or the Go type given for the column's type.
type Row []any

// Table names of the source schema.
const (
	TableCourses            = "courses"
	TableLearners           = "learners"
	TableEnrollments        = "enrollments"
	TableQuizSubmissions    = "quiz_submissions"
	TableGrades             = "grades"
	TableForumPosts         = "forum_posts"
	TableSurveyDemographics = "survey_demographics"
)

// Roles a person can have in a course (enrollments.role).
var EnrollmentRoles = []string{"learner", "mentor", "instructor"}

// SourceTables is the source schema: the contract with the platform's data
// warehouse. docs/source-schema.md documents it; the order of tables is the
// order in which they are loaded (referenced tables first).
var SourceTables = []Table{
	{
		Name: TableCourses,
		Doc:  "One row per course; partner_id is the content partner that teaches it.",
		Key:  []string{"course_id"},
		Columns: []Column{
			{Name: "course_id", Type: TypeString, Doc: "Course identifier."},
			{Name: "partner_id", Type: TypeString, Doc: "Content partner that owns the course."},
			{Name: "slug", Type: TypeString, Doc: "Short URL name of the course."},
			{Name: "title", Type: TypeString, Doc: "Course title."},
			{Name: "start_date", Type: TypeDate, Doc: "First day of the course."},
		},
	},
	{
		Name: TableLearners,
		Doc:  "One row per platform account.",
		Key:  []string{"learner_id"},
		Columns: []Column{
			{Name: "learner_id", Type: TypeString, Doc: "Account identifier."},
			{Name: "full_name", Type: TypeString, Doc: "Name as given by the learner."},
			{Name: "email", Type: TypeString, Doc: "Email address."},
			{Name: "username", Type: TypeString, Doc: "Public user name."},
			{Name: "birth_date", Type: TypeDate, Nullable: true, Doc: "Date of birth, if given."},
			{Name: "gender", Type: TypeString, Nullable: true, Doc: "Self-described gender."},
			{Name: "country_code", Type: TypeString, Nullable: true, Doc: "Country, ISO 3166-1 alpha-2."},
			{Name: "city", Type: TypeString, Nullable: true, Doc: "City of residence."},
			{Name: "postal_code", Type: TypeString, Nullable: true, Doc: "Postal code."},
			{Name: "last_ip", Type: TypeString, Nullable: true, Doc: "Last IP address seen."},
			{Name: "signup_at", Type: TypeTimestamp, Doc: "When the account was created."},
			{Name: "research_opt_out", Type: TypeBool, Doc: "The learner opted out of research sharing."},
			{Name: "sensitive_consent", Type: TypeBool, Doc: "The learner consented to sharing sensitive categories."},
			{Name: "deleted_at", Type: TypeTimestamp, Nullable: true, Doc: "When the account was deleted."},
		},
	},
	{
		Name:       TableEnrollments,
		Doc:        "One row per person and course they joined.",
		Key:        []string{"learner_id", "course_id"},
		TimeColumn: "enrolled_at",
		Columns: []Column{
			{Name: "learner_id", Type: TypeString, Doc: "Account identifier."},
			{Name: "course_id", Type: TypeString, Doc: "Course identifier."},
			{Name: "enrolled_at", Type: TypeTimestamp, Doc: "When the person joined the course."},
			{Name: "role", Type: TypeString, Doc: "learner, mentor or instructor."},
		},
	},
	{
		Name:       TableQuizSubmissions,
		Doc:        "One row per answer to a quiz question.",
		Key:        []string{"submission_id"},
		TimeColumn: "submitted_at",
		Columns: []Column{
			{Name: "submission_id", Type: TypeString, Doc: "Submission identifier."},
			{Name: "learner_id", Type: TypeString, Doc: "Account identifier."},
			{Name: "course_id", Type: TypeString, Doc: "Course identifier."},
			{Name: "quiz_id", Type: TypeString, Doc: "Quiz identifier."},
			{Name: "question_id", Type: TypeString, Doc: "Question identifier."},
			{Name: "attempt", Type: TypeInt64, Doc: "Attempt number, from 1."},
			{Name: "submitted_at", Type: TypeTimestamp, Doc: "When the answer was submitted."},
			{Name: "response_text", Type: TypeString, Nullable: true, Doc: "Free-text answer, if the question takes one."},
			{Name: "score", Type: TypeFloat64, Doc: "Points awarded."},
			{Name: "max_score", Type: TypeFloat64, Doc: "Points available."},
			{Name: "client_ip", Type: TypeString, Nullable: true, Doc: "IP address the answer came from."},
		},
	},
	{
		Name:       TableGrades,
		Doc:        "One row per person and course: the course grade.",
		Key:        []string{"learner_id", "course_id"},
		TimeColumn: "graded_at",
		Columns: []Column{
			{Name: "learner_id", Type: TypeString, Doc: "Account identifier."},
			{Name: "course_id", Type: TypeString, Doc: "Course identifier."},
			{Name: "grade", Type: TypeFloat64, Doc: "Course grade, 0 to 1."},
			{Name: "passed", Type: TypeBool, Doc: "The learner passed the course."},
			{Name: "completed_at", Type: TypeTimestamp, Nullable: true, Doc: "When the learner completed the course."},
			{Name: "graded_at", Type: TypeTimestamp, Doc: "When the grade was computed."},
		},
	},
	{
		Name:       TableForumPosts,
		Doc:        "One row per forum post; threads are trees of posts.",
		Key:        []string{"post_id"},
		TimeColumn: "posted_at",
		Columns: []Column{
			{Name: "post_id", Type: TypeString, Doc: "Post identifier."},
			{Name: "thread_id", Type: TypeString, Doc: "Thread identifier."},
			{Name: "parent_post_id", Type: TypeString, Nullable: true, Doc: "Post this one replies to."},
			{Name: "learner_id", Type: TypeString, Doc: "Author's account identifier."},
			{Name: "course_id", Type: TypeString, Doc: "Course identifier."},
			{Name: "posted_at", Type: TypeTimestamp, Doc: "When the post was written."},
			{Name: "title", Type: TypeString, Nullable: true, Doc: "Thread title (first post only)."},
			{Name: "body", Type: TypeString, Doc: "Post text."},
			{Name: "upvotes", Type: TypeInt64, Doc: "Number of upvotes."},
		},
	},
	{
		Name:       TableSurveyDemographics,
		Doc:        "One row per answered demographics survey.",
		Key:        []string{"response_id"},
		TimeColumn: "submitted_at",
		Columns: []Column{
			{Name: "response_id", Type: TypeString, Doc: "Survey response identifier."},
			{Name: "learner_id", Type: TypeString, Doc: "Account identifier."},
			{Name: "course_id", Type: TypeString, Nullable: true, Doc: "Course the survey was shown in, if any."},
			{Name: "submitted_at", Type: TypeTimestamp, Doc: "When the survey was answered."},
			{Name: "year_of_birth", Type: TypeInt64, Nullable: true, Doc: "Year of birth."},
			{Name: "gender", Type: TypeString, Nullable: true, Doc: "Gender."},
			{Name: "country_code", Type: TypeString, Nullable: true, Doc: "Country, ISO 3166-1 alpha-2."},
			{Name: "education_level", Type: TypeString, Nullable: true, Doc: "Highest education level."},
			{Name: "employment_status", Type: TypeString, Nullable: true, Doc: "Employment status."},
			{Name: "english_proficiency", Type: TypeString, Nullable: true, Doc: "Self-rated English proficiency."},
			{Name: "ethnicity", Type: TypeString, Nullable: true, Doc: "Ethnicity (sensitive category)."},
			{Name: "disability", Type: TypeString, Nullable: true, Doc: "Health or disability (sensitive category)."},
			{Name: "comment", Type: TypeString, Nullable: true, Doc: "Free-text comment."},
		},
	},
}

// SourceTable returns the source table with the given name.
func SourceTable(name string) (Table, bool) {
	for _, t := range SourceTables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// TableNames returns the names of the source tables in load order.
func TableNames() []string {
	names := make([]string, len(SourceTables))
	for i, t := range SourceTables {
		names[i] = t.Name
	}
	return names
}

// DateLayout and TimestampLayout are the text forms of dates and timestamps
// in SQLite and in CSV files.
const (
	DateLayout      = "2006-01-02"
	TimestampLayout = time.RFC3339
)
