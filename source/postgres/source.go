package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/internal/sqlsource"
)

var (
	_ export.Source          = (*DB)(nil)
	_ export.ExclusionPusher = (*DB)(nil)
)

// dialect spells the export queries for PostgreSQL: numbered parameters,
// a list as one text[] parameter.
var dialect = sqlsource.Dialect{
	Param:  func(n int) string { return "$" + strconv.Itoa(n) },
	InList: func(p string) string { return "= ANY(" + p + ")" },
	List:   func(ids []string) (any, error) { return ids, nil },
}

// Scan calls fn for every row selected by q, ordered by the table's key.
// It reads through a server-side cursor in a read-only REPEATABLE READ
// transaction, so all rows come from one snapshot while no more than one
// batch of them is in memory. An empty q.Courses selects no rows. It
// returns the first error of fn, or ctx.Err() once ctx is done; either
// way the cursor and its transaction are closed when it returns.
func (db *DB) Scan(ctx context.Context, q export.SourceQuery, fn func(export.SourceRow) error) (err error) {
	defer sqlsource.Wrap(&err, "scan %s", q.Table)
	b, ok, err := dialect.Query(q)
	if err != nil || !ok {
		return err
	}
	return db.cursor(ctx, b.SelectSQL(), b.Args, func(vals []any) error {
		sr, err := b.Decode(vals)
		if err != nil {
			return err
		}
		return fn(sr)
	})
}

// cursor runs query through a server-side cursor and calls visit with the
// values of each row, fetching db.fetchRows rows at a time. A batch is
// read in full before visit sees its first row, so the connection is idle
// while visit works.
func (db *DB) cursor(ctx context.Context, query string, args []any, visit func([]any) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer rollback(ctx, tx)
	if _, err := tx.Exec(ctx, "DECLARE export_rows NO SCROLL CURSOR FOR "+query, args...); err != nil {
		return err
	}
	fetch := fmt.Sprintf("FETCH FORWARD %d FROM export_rows", db.fetchRows)
	batch := make([][]any, 0, db.fetchRows)
	for {
		clear(batch)
		batch = batch[:0]
		// Every cursor has the same name but its own columns: describe
		// each FETCH anew rather than reuse a cached statement.
		rows, err := tx.Query(ctx, fetch, pgx.QueryExecModeDescribeExec)
		if err != nil {
			return err
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, vals)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return ctx.Err()
		}
		for _, vals := range batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := visit(vals); err != nil {
				return err
			}
		}
	}
}

// ExcludedLearners implements export.ExclusionPusher.
func (db *DB) ExcludedLearners(ctx context.Context, q export.SourceQuery, fn func(export.LearnerFacts) error) (err error) {
	defer sqlsource.Wrap(&err, "excluded learners of %s", q.Table)
	sqlText, args, ok, err := dialect.Excluded(q)
	if err != nil || !ok {
		return err
	}
	return db.cursor(ctx, sqlText, args, func(vals []any) error {
		f, err := sqlsource.DecodeFacts(vals)
		if err != nil {
			return err
		}
		return fn(f)
	})
}

// Count returns the number of rows Scan would visit for q.
func (db *DB) Count(ctx context.Context, q export.SourceQuery) (n int64, err error) {
	defer sqlsource.Wrap(&err, "count %s", q.Table)
	b, ok, err := dialect.Query(q)
	if err != nil || !ok {
		return 0, err
	}
	err = db.pool.QueryRow(ctx, b.CountSQL(), b.Args...).Scan(&n)
	return n, err
}

// Roster calls fn for every person enrolled (any role) in one of courses,
// ordered by learner_id, with their learner facts. It streams through a
// cursor as Scan does.
func (db *DB) Roster(ctx context.Context, courses []string, fn func(export.RosterEntry) error) (err error) {
	defer sqlsource.Wrap(&err, "roster")
	query, args, ok, err := dialect.Roster(courses)
	if err != nil || !ok {
		return err
	}
	return db.cursor(ctx, query, args, func(vals []any) error {
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
	query, args, err := dialect.Courses(ids)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlsource.ScanCourses(rows)
}
