// Package pgtest gives tests a fresh database on a real PostgreSQL server.
//
// The server is named by REXPORT_TEST_POSTGRES, a URL of a database the
// tests may connect to as a role that can create databases (.ci/run starts
// one and sets it). Without that variable the PostgreSQL variant of a test
// is skipped, saying why; with it, a server that does not answer fails the
// test: CI never skips PostgreSQL silently.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the variable that names the test server.
const Env = "REXPORT_TEST_POSTGRES"

// Available reports whether a test server is configured.
func Available() bool { return os.Getenv(Env) != "" }

// Skip skips t when no test server is configured.
func Skip(t testing.TB) {
	t.Helper()
	if !Available() {
		t.Skipf("%s is not set: PostgreSQL tests need a server (.ci/run starts one)", Env)
	}
}

// NewDatabase creates an empty database for t, drops it when t ends, and
// returns its URL. It skips t when no server is configured and fails it
// when the configured server cannot be reached.
func NewDatabase(t testing.TB) string {
	t.Helper()
	Skip(t)
	dsn, drop, err := Create(context.Background(), os.Getenv(Env))
	if err != nil {
		t.Fatalf("PostgreSQL test server (%s): %v", Env, err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dsn
}

// Create creates a database with a random name on the server at base and
// returns its URL and a function that drops it (terminating any session
// still connected, such as a killed worker's).
func Create(ctx context.Context, base string) (dsn string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	rand.Read(b[:])
	name := "rexport_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	return u.String(), drop, nil
}
