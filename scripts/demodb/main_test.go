package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgen/tenantgen/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m, "demodb") }

func TestEnsureCreatesOnce(t *testing.T) {
	ctx := context.Background()
	base := pgtest.URL(t)
	name := fmt.Sprintf("tenantgen_demodb_%d", os.Getpid())
	admin := pgtest.Connect(t)
	drop := func() {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Fatal(err)
		}
	}
	drop()
	t.Cleanup(drop)
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(base, "/"+cfg.Database, "/"+name, 1)
	for i, want := range []bool{true, false} {
		created, got, err := ensure(ctx, url)
		if err != nil || created != want || got != name {
			t.Fatalf("run %d: created %v (want %v), %q, %v", i+1, created, want, got, err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("the database is not there: %v", err)
	}
	conn.Close(ctx)
	if _, _, err := ensure(ctx, "postgres://postgres@127.0.0.1:5432?sslmode=disable"); err == nil {
		t.Error("a URL without a database passed")
	}
}
