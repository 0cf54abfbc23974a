// Package sqlsource is what the source databases on SQL (source/sqlite,
// source/postgres) share: the schema derived from export.SourceTables, the
// checks and canonical form of the values a row may hold, the SQL of the
// export queries with the filters pushed down, and the errors of a load.
// Sharing it keeps the two databases giving the same rows for the same
// query, value for value.
package sqlsource

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rexport/rexport/export"
)

// InsertError is the error of a load for a row the source schema refuses.
// It names the table, the row and, where it can tell, the column.
type InsertError struct {
	Table string
	// Column is the offending column; for a duplicate key, the key
	// columns joined by commas; empty if the database did not say.
	Column string
	// Row is the refused row's number among the rows inserted into Table
	// in this load, from 1. A loader that writes in batches may report a
	// row after later rows were inserted; Row says which one it was.
	Row int64
	Err error
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

// DuplicateKey returns the error for row n of t whose key is taken.
func DuplicateKey(t export.Table, n int64) *InsertError {
	return &InsertError{Table: t.Name, Column: strings.Join(t.Key, ","), Row: n, Err: ErrDuplicateKey}
}

// MissingReference returns the error for row n of t whose fk names a row
// that does not exist.
func MissingReference(t export.Table, fk ForeignKey, n int64) *InsertError {
	return &InsertError{Table: t.Name, Column: fk.Column, Row: n, Err: fmt.Errorf("%w in %s", ErrMissingReference, fk.Table)}
}

// ConstraintFailed returns the error for row n of t whose value of c fails
// check (the column's CHECK, or NOT NULL if check is empty).
func ConstraintFailed(t export.Table, c export.Column, check string, n int64) *InsertError {
	if check == "" {
		check = c.Name + " NOT NULL"
	}
	return &InsertError{Table: t.Name, Column: c.Name, Row: n, Err: fmt.Errorf("constraint failed: %s", check)}
}
