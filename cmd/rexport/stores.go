package main

import (
	"context"
	"net/url"
	"path/filepath"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/postgres"
	"github.com/rexport/rexport/export/riverqueue"
	metasqlite "github.com/rexport/rexport/export/sqlite"
	"github.com/rexport/rexport/export/sqlstore"
	"github.com/rexport/rexport/source/importer"
)

// metaStore is the metadata database: SQLite (the embedded default) or
// PostgreSQL (any number of API replicas and workers).
type metaStore interface {
	export.Store
	Ready(ctx context.Context) error
	QueueDepth(ctx context.Context) (int, error)
	VerifyAudit(ctx context.Context) (problem *sqlstore.AuditProblem, n int, head string, err error)
	RotateKey(ctx context.Context, by string) (int, error)
	Close() error
}

// jobQueue is River on the metadata database.
type jobQueue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	export.RunningJobs
}

// dbFlagUsage describes --db.
const dbFlagUsage = "metadata database: a postgres:// URL, or a SQLite file (env REXPORT_DB; default <data>/rexport.db)"

// openMeta opens the metadata database named by url, a postgres:// URL or
// a SQLite file; "" is <dataDir>/rexport.db.
func openMeta(ctx context.Context, dataDir, url string) (metaStore, error) {
	if importer.IsPostgresURL(url) {
		return postgres.Open(ctx, url)
	}
	if url == "" {
		url = filepath.Join(dataDir, "rexport.db")
	}
	return metasqlite.Open(ctx, url)
}

// newQueue starts River on the metadata database: riverpgxv5 on
// PostgreSQL, riversqlite on SQLite.
func newQueue(ctx context.Context, db metaStore, cfg riverqueue.Config) (jobQueue, error) {
	switch db := db.(type) {
	case *postgres.DB:
		return postgres.NewQueue(ctx, db, cfg)
	case *metasqlite.DB:
		return metasqlite.NewQueue(ctx, db, cfg)
	}
	return nil, export.Errorf(export.EINTERNAL, "no job queue for the metadata database %T", db)
}

// redactURL hides the password of a database URL in what rexport prints.
func redactURL(s string) string {
	if !importer.IsPostgresURL(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "the PostgreSQL database"
	}
	return u.Redacted()
}
