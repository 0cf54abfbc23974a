package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/internal/sqlsource"
)

// InsertError is the error of a load for a row the source schema refuses.
// It names the table, the row and, where it can tell, the column.
type InsertError = sqlsource.InsertError

// ErrDuplicateKey is wrapped by the InsertError for a row whose key is
// already in the table.
var ErrDuplicateKey = sqlsource.ErrDuplicateKey

// ErrMissingReference is wrapped by the InsertError for a row that refers to
// a learner or course that is not in the database.
var ErrMissingReference = sqlsource.ErrMissingReference

// Inserter inserts rows into the source tables inside the transaction of
// one Load. It buffers the rows of one table and copies them (COPY) in
// batches: a batch goes out when it is full, when a row of another table
// comes, and at the end of the load. It is not safe for concurrent use.
type Inserter struct {
	ctx   context.Context
	tx    pgx.Tx
	batch int
	rows  map[string]int64 // rows inserted per table, refused ones included

	// The rows waiting to be copied, all of table, and their numbers.
	table   export.Table
	pending [][]any
	nums    []int64

	// err is the refusal of a row by the database: the transaction is
	// aborted and the load can only be rolled back.
	err error
}

// maxColumns is the widest source table.
var maxColumns = func() int {
	n := 0
	for _, t := range export.SourceTables {
		n = max(n, len(t.Columns))
	}
	return n
}()

// Load runs fn in one transaction and commits if fn returns nil: either
// every row fn inserts is stored, or none is.
//
// A row that the checks of Insert refuse (wrong Go type, missing required
// value, malformed text) is refused at once and fn may go on. A row that
// only the database can refuse (failed check, duplicate key, unknown
// learner or course) is found when its batch is copied, possibly by a
// later Insert or by Load itself; from then on the load cannot commit,
// Insert returns that error, and so does Load.
func (db *DB) Load(ctx context.Context, fn func(ins *Inserter) error) (err error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer rollback(ctx, tx)
	ins := &Inserter{ctx: ctx, tx: tx, batch: db.copyRows, rows: make(map[string]int64)}
	if err := fn(ins); err != nil {
		return err
	}
	if err := ins.flush(); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("load: commit: %w", err)
	}
	return nil
}

// Insert inserts row, in the column order of the source table named table.
// A row the schema refuses (wrong Go type, missing required value, failed
// check, duplicate key, unknown learner or course) returns an
// *InsertError, which may come from an earlier row of a batch: its Row
// says which (see Load).
func (ins *Inserter) Insert(table string, row export.Row) error {
	if ins.err != nil {
		return fmt.Errorf("insert: the load was refused: %w", ins.err)
	}
	ins.rows[table]++
	n := ins.rows[table]
	t, vals, err := sqlsource.RowValues(table, row, n, make([]any, 0, maxColumns), nil)
	if err != nil {
		return err
	}
	if len(ins.pending) > 0 && ins.table.Name != t.Name {
		// Rows go out in the order they came, so that a reference to a
		// row inserted later fails as it does row by row.
		if err := ins.flush(); err != nil {
			return err
		}
	}
	ins.table = t
	ins.pending = append(ins.pending, vals)
	ins.nums = append(ins.nums, n)
	if len(ins.pending) >= ins.batch {
		return ins.flush()
	}
	return nil
}

// flush copies the pending rows.
func (ins *Inserter) flush() error {
	if ins.err != nil || len(ins.pending) == 0 {
		return ins.err
	}
	if err := ins.copy(); err != nil {
		ins.err = err
		return err
	}
	clear(ins.pending)
	ins.pending, ins.nums = ins.pending[:0], ins.nums[:0]
	return nil
}

func (ins *Inserter) copy() error {
	t := ins.table
	// A savepoint, so that a refused batch can be rolled back and its rows
	// inserted one by one to find the refused one.
	sp, err := ins.tx.Begin(ins.ctx)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", t.Name, err)
	}
	_, err = sp.CopyFrom(ins.ctx, pgx.Identifier{t.Name}, sqlsource.ColumnNames(t), pgx.CopyFromRows(ins.pending))
	if err == nil {
		err = sp.Commit(ins.ctx)
	}
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || !refusal(pgErr) {
		return fmt.Errorf("insert into %s: %w", t.Name, err)
	}
	if rerr := sp.Rollback(ins.ctx); rerr != nil {
		return fmt.Errorf("insert into %s: %w", t.Name, errors.Join(err, rerr))
	}
	return ins.findRefused(err)
}

// findRefused inserts the pending rows one by one, in one round trip,
// and explains the first the database refuses.
func (ins *Inserter) findRefused(copyErr error) error {
	t := ins.table
	insert := dialect.InsertSQL(t)
	var b pgx.Batch
	for _, vals := range ins.pending {
		b.Queue(insert, vals...)
	}
	res := ins.tx.SendBatch(ins.ctx, &b)
	defer res.Close()
	for i := range ins.pending {
		if _, err := res.Exec(); err != nil {
			return explain(t, err, ins.nums[i])
		}
	}
	// Refused as a batch, accepted row by row: report the batch.
	return &InsertError{Table: t.Name, Err: copyErr}
}

// refusal reports whether the database refused the data (integrity
// constraint violation or data exception), not the connection or query.
func refusal(e *pgconn.PgError) bool {
	return strings.HasPrefix(e.Code, "23") || strings.HasPrefix(e.Code, "22")
}

// explain turns the refusal of row n into an InsertError that names the
// column; other errors pass through wrapped.
func explain(t export.Table, err error, n int64) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || !refusal(pgErr) {
		return fmt.Errorf("insert into %s: %w", t.Name, err)
	}
	switch pgErr.Code {
	case "23505": // unique_violation
		return sqlsource.DuplicateKey(t, n)
	case "23503": // foreign_key_violation; PostgreSQL names them table_column_fkey
		for _, fk := range sqlsource.ForeignKeys(t) {
			if pgErr.ConstraintName == t.Name+"_"+fk.Column+"_fkey" {
				return sqlsource.MissingReference(t, fk, n)
			}
		}
		return &InsertError{Table: t.Name, Row: n, Err: ErrMissingReference}
	case "23514": // check_violation; PostgreSQL names them table_column_check
		for _, c := range t.Columns {
			if pgErr.ConstraintName == t.Name+"_"+c.Name+"_check" {
				return sqlsource.ConstraintFailed(t, c, schema.Check(c), n)
			}
		}
	case "23502": // not_null_violation
		if c, ok := t.Column(pgErr.ColumnName); ok {
			return sqlsource.ConstraintFailed(t, c, "", n)
		}
	}
	return &InsertError{Table: t.Name, Row: n, Err: err}
}
