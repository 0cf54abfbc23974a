package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/rexport/rexport/export"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// InsertError is the error Inserter.Insert returns for a row the source
// schema refuses. It names the table and, where it can tell, the column.
type InsertError struct {
	Table string
	// Column is the offending column; for a duplicate key, the key
	// columns joined by commas; empty if the database did not say.
	Column string
	Err    error
}

func (e *InsertError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s: %v", e.Table, e.Err)
	}
	return fmt.Sprintf("%s: column %s: %v", e.Table, e.Column, e.Err)
}

func (e *InsertError) Unwrap() error { return e.Err }

// ErrDuplicateKey is wrapped by the InsertError for a row whose key is
// already in the table.
var ErrDuplicateKey = errors.New("duplicate key")

// ErrMissingReference is wrapped by the InsertError for a row that refers to
// a learner or course that is not in the database.
var ErrMissingReference = errors.New("refers to a row that does not exist")

// Inserter inserts rows into the source tables inside the transaction of
// one Load. It is not safe for concurrent use.
type Inserter struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	args  []any
}

// Load runs fn in one transaction and commits if fn returns nil: either
// every row fn inserts is stored, or none is.
func (db *DB) Load(ctx context.Context, fn func(ins *Inserter) error) (err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	ins := &Inserter{ctx: ctx, tx: tx, stmts: make(map[string]*sql.Stmt)}
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
// check, duplicate key, unknown learner or course) returns an *InsertError.
func (ins *Inserter) Insert(table string, row export.Row) error {
	t, ok := export.SourceTable(table)
	if !ok {
		return fmt.Errorf("insert: unknown table %q", table)
	}
	if len(row) != len(t.Columns) {
		return &InsertError{Table: table, Err: fmt.Errorf("row has %d values, table has %d columns", len(row), len(t.Columns))}
	}
	ins.args = ins.args[:0]
	for i, c := range t.Columns {
		v, err := toSQL(c, row[i])
		if err != nil {
			return &InsertError{Table: table, Column: c.Name, Err: err}
		}
		ins.args = append(ins.args, v)
	}
	stmt, err := ins.stmt(t)
	if err != nil {
		return err
	}
	if _, err := stmt.ExecContext(ins.ctx, ins.args...); err != nil {
		return ins.explain(t, err)
	}
	return nil
}

func (ins *Inserter) stmt(t export.Table) (*sql.Stmt, error) {
	if s, ok := ins.stmts[t.Name]; ok {
		return s, nil
	}
	names := make([]string, len(t.Columns))
	marks := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
		marks[i] = "?"
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", t.Name, strings.Join(names, ", "), strings.Join(marks, ", "))
	s, err := ins.tx.PrepareContext(ins.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("insert into %s: %w", t.Name, err)
	}
	ins.stmts[t.Name] = s
	return s, nil
}

// explain turns a constraint violation into an InsertError that names the
// column; other errors (I/O, cancelled context) pass through wrapped.
func (ins *Inserter) explain(t export.Table, err error) error {
	var serr *msqlite.Error
	if !errors.As(err, &serr) || serr.Code()&0xff != sqlite3.SQLITE_CONSTRAINT {
		return fmt.Errorf("insert into %s: %w", t.Name, err)
	}
	switch serr.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return &InsertError{Table: t.Name, Column: strings.Join(t.Key, ","), Err: ErrDuplicateKey}
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		for _, fk := range foreignKeys(t) {
			v := ins.args[t.ColumnIndex(fk.column)]
			var one int
			q := fmt.Sprintf("SELECT 1 FROM %s WHERE %s = ?", fk.table, fk.column)
			if ins.tx.QueryRowContext(ins.ctx, q, v).Scan(&one) == sql.ErrNoRows {
				return &InsertError{Table: t.Name, Column: fk.column, Err: fmt.Errorf("%w in %s", ErrMissingReference, fk.table)}
			}
		}
		return &InsertError{Table: t.Name, Err: ErrMissingReference}
	}
	// CHECK and NOT NULL messages end in the column or table.column.
	msg := serr.Error()
	for _, c := range t.Columns {
		if strings.Contains(msg, t.Name+"."+c.Name) || strings.Contains(msg, "CHECK constraint failed: "+c.Name+" ") {
			return &InsertError{Table: t.Name, Column: c.Name, Err: fmt.Errorf("constraint failed: %s", checkText(c))}
		}
	}
	return &InsertError{Table: t.Name, Err: err}
}

func checkText(c export.Column) string {
	if chk := columnCheck(c); chk != "" {
		return chk
	}
	return c.Name + " NOT NULL"
}
