// Command demodb creates the database a PostgreSQL URL names when it does
// not exist yet, so that `make demo` works on a fresh server:
//
//	go run ./scripts/demodb "$DATABASE_URL"
//
// It connects to the server's maintenance database (postgres, else
// template1) as the URL's user, and does nothing when the database exists.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: demodb DATABASE_URL")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	created, name, err := ensure(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "demodb: %v\n", err)
		os.Exit(1)
	}
	if created {
		fmt.Fprintf(os.Stderr, "demodb: created database %s\n", name)
	}
}

// ensure creates the database of url unless it exists; it reports whether
// it created it, and its name.
func ensure(ctx context.Context, url string) (bool, string, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return false, "", fmt.Errorf("parsing the database URL: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return false, "", fmt.Errorf("the URL names no database")
	}
	var conn *pgx.Conn
	for _, maint := range []string{"postgres", "template1"} {
		c := cfg.Copy()
		c.Database = maint
		if conn, err = pgx.ConnectConfig(ctx, c); err == nil {
			break
		}
	}
	if err != nil {
		return false, name, fmt.Errorf("connecting to the server's maintenance database: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return false, name, err
	}
	if exists {
		return false, name, nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return false, name, fmt.Errorf("creating database %s: %w", name, err)
	}
	return true, name, nil
}
