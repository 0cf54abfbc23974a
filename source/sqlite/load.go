package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/internal/sqlsource"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// InsertError is the error Inserter.Insert returns for a row the source
// schema refuses. It names the table, the row and, where it can tell, the
// column.
type InsertError = sqlsource.InsertError

// ErrDuplicateKey is wrapped by the InsertError for a row whose key is
// already in the table.
var ErrDuplicateKey = sqlsource.ErrDuplicateKey

// ErrMissingReference is wrapped by the InsertError for a row that refers to
// a learner or course that is not in the database.
var ErrMissingReference = sqlsource.ErrMissingReference

// Inserter inserts rows into the source tables inside the transaction of
// one Load. It is not safe for concurrent use.
type Inserter struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	rows  map[string]int64 // rows inserted per table, refused ones included
	args  []any
}

// Load runs fn in one transaction and commits if fn returns nil: either
// every row fn inserts is stored, or none is.
func (db *DB) Load(ctx context.Context, fn func(ins *Inserter) error) (err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	ins := &Inserter{ctx: ctx, tx: tx, stmts: make(map[string]*sql.Stmt), rows: make(map[string]int64)}
	defer func() {
		for _, s := range ins.stmts {
			s.Close()
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := fn(ins); err != nil {
		return err
	}
	for name, s := range ins.stmts {
		s.Close()
		delete(ins.stmts, name)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("load: commit: %w", err)
	}
	return nil
}

// Insert inserts row, in the column order of the source table named table.
// A row the schema refuses (wrong Go type, missing required value, failed
// check, duplicate key, unknown learner or course) returns an *InsertError;
// the rows inserted before it stay in the load.
func (ins *Inserter) Insert(table string, row export.Row) error {
	ins.rows[table]++
	n := ins.rows[table]
	t, args, err := sqlsource.RowValues(table, row, n, ins.args[:0], encode)
	ins.args = args
	if err != nil {
		return err
	}
	stmt, err := ins.stmt(t)
	if err != nil {
		return err
	}
	if _, err := stmt.ExecContext(ins.ctx, ins.args...); err != nil {
		return ins.explain(t, err, n)
	}
	return nil
}

func (ins *Inserter) stmt(t export.Table) (*sql.Stmt, error) {
	if s, ok := ins.stmts[t.Name]; ok {
		return s, nil
	}
	q := dialect.InsertSQL(t)
	s, err := ins.tx.PrepareContext(ins.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("insert into %s: %w", t.Name, err)
	}
	ins.stmts[t.Name] = s
	return s, nil
}

// explain turns a constraint violation of row n into an InsertError that
// names the column; other errors (I/O, cancelled context) pass through
// wrapped.
func (ins *Inserter) explain(t export.Table, err error, n int64) error {
	var serr *msqlite.Error
	if !errors.As(err, &serr) || serr.Code()&0xff != sqlite3.SQLITE_CONSTRAINT {
		return fmt.Errorf("insert into %s: %w", t.Name, err)
	}
	switch serr.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return sqlsource.DuplicateKey(t, n)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		for _, fk := range sqlsource.ForeignKeys(t) {
			v := ins.args[t.ColumnIndex(fk.Column)]
			var one int
			q := fmt.Sprintf("SELECT 1 FROM %s WHERE %s = ?", fk.Table, fk.Column)
			if ins.tx.QueryRowContext(ins.ctx, q, v).Scan(&one) == sql.ErrNoRows {
				return sqlsource.MissingReference(t, fk, n)
			}
		}
		return &InsertError{Table: t.Name, Row: n, Err: ErrMissingReference}
	}
	// CHECK and NOT NULL messages end in the column or table.column.
	msg := serr.Error()
	for _, c := range t.Columns {
		if strings.Contains(msg, t.Name+"."+c.Name) || strings.Contains(msg, "CHECK constraint failed: "+c.Name+" ") {
			return sqlsource.ConstraintFailed(t, c, schema.Check(c), n)
		}
	}
	return &InsertError{Table: t.Name, Row: n, Err: err}
}
