package export

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// SourceQuery selects the rows of one source table for an export. The
// source pushes these filters down into its query.
//
// Which rows belong to the requested courses:
//   - courses: the courses in Courses.
//   - learners: accounts with an enrollment (any role) in one of Courses.
//   - enrollments, quiz_submissions, grades, forum_posts: rows whose
//     course_id is in Courses.
//   - survey_demographics: rows whose course_id is in Courses, and rows
//     without a course_id whose learner is enrolled in one of Courses.
//
// From (inclusive) and To (exclusive) bound the table's TimeColumn; a zero
// time leaves that side unbounded. Tables without a TimeColumn ignore them.
type SourceQuery struct {
	Table   string
	Courses []string
	From    time.Time
	To      time.Time
	// DropExcluded asks a source that implements ExclusionPusher to leave
	// out, in its own query, the rows of learners who are deleted or opted
	// out, so they never leave the database. Other sources ignore it; the
	// build excludes those rows itself either way.
	DropExcluded bool
	// Columns, if not nil, names the only columns whose values the build
	// reads: a source may leave the others nil, and so never read the
	// columns a build drops (names, emails). Sources that cannot ignore it.
	Columns []string
}

// ExclusionPusher is a Source that can leave out the rows of deleted and
// opted-out learners in its query (SourceQuery.DropExcluded), and list
// those learners so the manifest still counts them.
type ExclusionPusher interface {
	// ExcludedLearners calls fn once with the facts of each deleted or
	// opted-out learner who has a row selected by q (whatever
	// q.DropExcluded), in learner_id order.
	ExcludedLearners(ctx context.Context, q SourceQuery, fn func(LearnerFacts) error) error
}

// TableSizer is a Source that can tell, without reading it, how large a
// table is: the build starts the largest tables first, so that the
// longest one does not run alone at the end.
type TableSizer interface {
	// TableBytes returns the size of the table's data as stored (0 if
	// unknown).
	TableBytes(table string) int64
}

// LearnerFacts are the facts about the learner a source row belongs to that
// the build needs to decide whether the row may leave. They are read from
// the learners table alongside the row; they are never written out.
type LearnerFacts struct {
	LearnerID        string
	BirthDate        time.Time // zero if unknown
	OptedOut         bool
	Deleted          bool
	SensitiveConsent bool
	// SignupAt is the account's creation time: the reference time for the
	// age check of the learners table, which has no event time of its own.
	SignupAt time.Time
}

// SourceRow is one row of a source table, in the table's column order, with
// the facts about its learner (zero LearnerFacts for the courses table).
type SourceRow struct {
	Row     Row
	Learner LearnerFacts
}

// RosterEntry is one person enrolled (any role) in a course of an export:
// the scrubber removes their names, usernames, emails, city and postal
// code from free text.
type RosterEntry struct {
	FullName string
	Username string
	Email    string
	// City and PostalCode are where the person lives ("" if unknown).
	City       string
	PostalCode string
	// Learner holds the facts about the person (LearnerID included), so a
	// mention of an excluded learner is never replaced by their pseudonym.
	Learner LearnerFacts
}

// CourseInfo is a course as the source knows it.
type CourseInfo struct {
	CourseID  string
	PartnerID string
	Slug      string
	Title     string
}

// Source reads the course data an export is built from. Implementations
// stream: Scan calls fn once per row and holds no more than a batch in
// memory. A Source is safe for concurrent use.
type Source interface {
	// Scan calls fn for every row selected by q, in a stable order (the
	// table's key). It stops at the first error fn returns and returns it.
	// fn may keep the row's values but not the Row slice itself, which
	// the Source may reuse once fn returns.
	Scan(ctx context.Context, q SourceQuery, fn func(SourceRow) error) error
	// Count returns the number of rows Scan would visit for q, for progress
	// reporting.
	Count(ctx context.Context, q SourceQuery) (int64, error)
	// Roster calls fn for every person enrolled in one of courses.
	Roster(ctx context.Context, courses []string, fn func(RosterEntry) error) error
	// Courses returns the courses with the given ids (all courses if ids is
	// empty); ids that do not exist are absent from the result.
	Courses(ctx context.Context, ids []string) ([]CourseInfo, error)
}

// CompareValues orders two values of one column as a table's key is
// ordered (SQLite's ORDER BY): NULL (nil) first, text by its bytes, then
// numbers, times and false before true by value. a and b must be nil or
// of the column type's Go type (see ColumnType); it panics otherwise.
func CompareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case string:
		return cmp.Compare(x, b.(string))
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return cmp.Compare(x, b.(float64))
	case time.Time:
		return x.Compare(b.(time.Time))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	panic(fmt.Sprintf("export: key value of Go type %T", a))
}
