package gen_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgen/tenantgen/internal/pgtest"
)

// TestREADMEGooseCommands runs the README's plain-goose commands, with
// goose's own CLI, on the polls example's generated sets.
func TestREADMEGooseCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("installs goose's CLI")
	}
	base := pgtest.URL(t)
	bin := t.TempDir()
	install := exec.Command("go", "install", "github.com/pressly/goose/v3/cmd/goose@v3.30.0")
	install.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	install.Dir = bin
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("installing goose: %v\n%s", err, out)
	}
	u, err := url.Parse(base)
	if err != nil || u.RawQuery == "" {
		t.Skipf("the README's form needs a URL with a query string, got %q", base)
	}
	// A database of its own: the package's already has other sets applied.
	ctx := context.Background()
	pkg := pgtest.Connect(t)
	name := strings.TrimPrefix(u.Path, "/") + "_readme"
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := pkg.Exec(ctx, "DROP DATABASE IF EXISTS "+ident); err != nil {
		t.Fatal(err)
	}
	if _, err := pkg.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pkg.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)") })
	u.Path = "/" + name
	base = u.String()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	dir, _ := filepath.Abs("../example/polls/db")
	sh := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	goose := filepath.Join(bin, "goose")
	sh(goose, "-dir", "migrations/shared", "postgres", base, "up")
	if _, err := conn.Exec(ctx, "CREATE SCHEMA thor"); err != nil {
		t.Fatal(err)
	}
	sh(goose, "-dir", "migrations/tenant", "-table", "thor.goose_db_version", "postgres", base+"&options=-csearch_path%3Dthor,public", "up")
	var got string
	err = conn.QueryRow(ctx, `SELECT string_agg(schemaname || '.' || tablename, ' ' ORDER BY schemaname, tablename) FROM pg_tables WHERE schemaname IN ('public', 'thor')`).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}
	want := "public.goose_db_version public.plans thor.choices thor.goose_db_version thor.questions thor.votes"
	if got != want {
		t.Fatalf("tables: %s\nwant:   %s", got, want)
	}
}
