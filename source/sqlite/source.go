package sqlite

import (
	"context"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/internal/sqlsource"
)

var (
	_ export.Source          = (*DB)(nil)
	_ export.ExclusionPusher = (*DB)(nil)
)

// Scan calls fn for every row selected by q, ordered by the table's key,
// streaming from the database. An empty q.Courses selects no rows. It
// returns the first error of fn, or ctx.Err() once ctx is done.
func (db *DB) Scan(ctx context.Context, q export.SourceQuery, fn func(export.SourceRow) error) (err error) {
	defer sqlsource.Wrap(&err, "scan %s", q.Table)
	b, ok, err := dialect.Query(q)
	if err != nil || !ok {
		return err
	}
	return db.each(ctx, b.SelectSQL(), b.Args, b.Width(), func(vals []any) error {
		sr, err := b.Decode(vals)
		if err != nil {
			return err
		}
		return fn(sr)
	})
}

// ExcludedLearners implements export.ExclusionPusher.
func (db *DB) ExcludedLearners(ctx context.Context, q export.SourceQuery, fn func(export.LearnerFacts) error) (err error) {
	defer sqlsource.Wrap(&err, "excluded learners of %s", q.Table)
	sqlText, args, ok, err := dialect.Excluded(q)
	if err != nil || !ok {
		return err
	}
	return db.each(ctx, sqlText, args, sqlsource.FactsWidth, func(vals []any) error {
		f, err := sqlsource.DecodeFacts(vals)
		if err != nil {
			return err
		}
		return fn(f)
	})
}

// each runs query and calls visit with the width values of each row, as
// the driver gives them, streaming. It returns the first error of visit,
// or ctx.Err() once ctx is done.
func (db *DB) each(ctx context.Context, query string, args []any, width int, visit func([]any) error) error {
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, width)
	ptrs := make([]any, width)
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
		if err := visit(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return ctx.Err()
}

// Count returns the number of rows Scan would visit for q.
func (db *DB) Count(ctx context.Context, q export.SourceQuery) (n int64, err error) {
	defer sqlsource.Wrap(&err, "count %s", q.Table)
	b, ok, err := dialect.Query(q)
	if err != nil || !ok {
		return 0, err
	}
	err = db.db.QueryRowContext(ctx, b.CountSQL(), b.Args...).Scan(&n)
	return n, err
}

// Roster calls fn for every person enrolled (any role) in one of courses,
// ordered by learner_id, with their learner facts.
func (db *DB) Roster(ctx context.Context, courses []string, fn func(export.RosterEntry) error) (err error) {
	defer sqlsource.Wrap(&err, "roster")
	sqlText, args, ok, err := dialect.Roster(courses)
	if err != nil || !ok {
		return err
	}
	return db.each(ctx, sqlText, args, sqlsource.RosterWidth, func(vals []any) error {
		e, err := sqlsource.DecodeRoster(vals)
		if err != nil {
			return err
		}
		return fn(e)
	})
}

// Courses returns the courses with the given ids, or all courses if ids is
// empty, ordered by course_id.
func (db *DB) Courses(ctx context.Context, ids []string) (_ []export.CourseInfo, err error) {
	defer sqlsource.Wrap(&err, "courses")
	sqlText, args, err := dialect.Courses(ids)
	if err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlsource.ScanCourses(rows)
}
