package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rexport/rexport/export/sqlstore"
)

// pgxQuerier is what pools, connections and transactions of pgx share.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// querier adapts a pgx querier to sqlstore.Querier, rewriting the store's
// ? placeholders into pgx's $1, $2, ...
type querier struct{ q pgxQuerier }

func (q querier) Exec(ctx context.Context, query string, args ...any) error {
	_, err := q.q.Exec(ctx, rebind(query, args), args...)
	return err
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.q.Query(ctx, rebind(query, args), args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return q.q.QueryRow(ctx, rebind(query, args), args...)
}

// pgxBeginner is a pool or a connection.
type pgxBeginner interface {
	pgxQuerier
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// pgxDB adapts a pgx pool or connection to sqlstore.DB.
type pgxDB struct {
	querier
	db pgxBeginner
}

func newPgxDB(db pgxBeginner) pgxDB { return pgxDB{querier{db}, db} }

// storeTx is a transaction of pgxDB. River's jobs join it through Driver.
type storeTx struct {
	querier
	tx pgx.Tx
}

func (t storeTx) Driver() pgx.Tx { return t.tx }

func (d pgxDB) InTx(ctx context.Context, fn func(tx sqlstore.Tx[pgx.Tx]) error) error {
	return pgx.BeginTxFunc(ctx, d.db, pgx.TxOptions{}, func(tx pgx.Tx) error { return fn(storeTx{querier{tx}, tx}) })
}

func (d pgxDB) ReadTx(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	// Repeatable read: every statement sees the snapshot of the first.
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return pgx.BeginTxFunc(ctx, d.db, opts, func(tx pgx.Tx) error { return fn(querier{tx}) })
}

// rebind rewrites the ? placeholders of query, outside quotes, into $1,
// $2, ... A query without arguments is left as it is: pgx runs it, and
// every statement it holds, with the simple protocol, where a ? is an
// operator.
func rebind(query string, args []any) string {
	if len(args) == 0 || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 2*len(args))
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
