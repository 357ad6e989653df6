// Package pgtest gives each test package a throwaway PostgreSQL database on
// the server named by TENANTGEN_TEST_DATABASE_URL (default: the local
// server). Under CI=true a missing server fails the tests instead of
// skipping them.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server used when TENANTGEN_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	dbURL   string
	dbErr   error
	created string
)

// AdminURL is the URL of the server's maintenance database.
func AdminURL() string {
	if u := os.Getenv("TENANTGEN_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Main runs a test package: it creates the package's database, runs the
// tests, and drops the database. Call it from TestMain.
func Main(m *testing.M, pkg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	name := fmt.Sprintf("tenantgen_test_%s_%d", pkg, os.Getpid())
	admin, err := pgx.Connect(ctx, AdminURL())
	if err == nil {
		err = createDatabase(ctx, admin, AdminURL(), name)
	}
	cancel()
	if err != nil {
		dbErr = err
	} else {
		created = name
		dbURL = WithDatabase(AdminURL(), name)
	}
	code := m.Run()
	if admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		dropDatabases(ctx, admin, AdminURL())
		cancel()
		admin.Close(context.Background())
	}
	os.Exit(code)
}

// URL returns the package database's URL. Without a server it skips the
// test, or fails it under CI=true.
func URL(t testing.TB) string {
	t.Helper()
	if dbURL == "" {
		msg := fmt.Sprintf("PostgreSQL not reachable at %s: %v%s", Redact(AdminURL()), dbErr, citusHint())
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dbURL
}

// Connect opens a connection to the package database.
func Connect(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// WithDatabase returns the server URL raw (URL or keyword/value form) with
// its database replaced by db. The benchmarks use it too: they live on the
// same servers as the tests.
func WithDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// keyword/value form
		return strings.TrimSpace(raw) + " dbname=" + db
	}
	u.Path = "/" + db
	return u.String()
}

// Redact returns raw with its password masked, for messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

var dbSeq atomic.Int32

// NewDatabase creates a database of the test's own, next to the package's,
// dropped when the test ends, and returns its URL: for tests that need the
// whole registry or public schema to themselves.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if mainIsCitus {
		return NewCitusDatabase(t)
	}
	ctx := context.Background()
	base := URL(t)
	name := fmt.Sprintf("%s_%d", created, dbSeq.Add(1))
	ident := pgx.Identifier{name}.Sanitize()
	admin := Connect(t)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	return WithDatabase(base, name)
}

// CopyDir copies a directory tree into a temporary directory and returns it.
func CopyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
