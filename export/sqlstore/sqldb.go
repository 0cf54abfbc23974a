package sqlstore

import (
	"context"
	"database/sql"
)

// SQLDB adapts a database/sql pool to DB. Its queries take ? placeholders
// as they are.
func SQLDB(db *sql.DB) DB[*sql.Tx] { return sqlDB{sqlQuerier{db}, db} }

// sqlRunner is what *sql.DB and *sql.Tx share.
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqlQuerier adapts a pool or a transaction to Querier.
type sqlQuerier struct{ r sqlRunner }

func (q sqlQuerier) Exec(ctx context.Context, query string, args ...any) error {
	_, err := q.r.ExecContext(ctx, query, args...)
	return err
}

func (q sqlQuerier) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := q.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (q sqlQuerier) QueryRow(ctx context.Context, query string, args ...any) Row {
	return q.r.QueryRowContext(ctx, query, args...)
}

// sqlRows gives *sql.Rows the Close of Rows. The store checks Err after
// reading; an error closing the rows changes nothing it read.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

type sqlDB struct {
	sqlQuerier
	db *sql.DB
}

func (d sqlDB) InTx(ctx context.Context, fn func(tx Tx[*sql.Tx]) error) error {
	return d.tx(ctx, nil, func(tx *sql.Tx) error { return fn(sqlTx{sqlQuerier{tx}, tx}) })
}

func (d sqlDB) ReadTx(ctx context.Context, fn func(q Querier) error) error {
	// A read-only transaction is deferred: in WAL mode it reads a snapshot
	// and takes no write lock.
	return d.tx(ctx, &sql.TxOptions{ReadOnly: true}, func(tx *sql.Tx) error { return fn(sqlQuerier{tx}) })
}

func (d sqlDB) tx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// sqlTx is a transaction of sqlDB. River's jobs join it through Driver.
type sqlTx struct {
	sqlQuerier
	tx *sql.Tx
}

func (t sqlTx) Driver() *sql.Tx { return t.tx }
