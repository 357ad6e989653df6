package migrations_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/migrations"
	"github.com/tenantgen/tenantgen/gen/scope"
	"github.com/tenantgen/tenantgen/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m, "migrations") }

// schema has a tenant procedure that commits between batches (and may roll
// back), next to ordinary pinned tenant functions, one of them the way
// tenantgen's hint says to default a column to the tenant's name.
const schema = `-- +goose Up
-- tenantgen:shared
CREATE TABLE plans (id int PRIMARY KEY);
-- tenantgen:tenant
CREATE TABLE tasks (id int PRIMARY KEY, title text NOT NULL, done bool NOT NULL DEFAULT false);
CREATE TABLE archived (id int, note text);
CREATE PROCEDURE archive_done(batch int) LANGUAGE plpgsql AS $$
DECLARE
  n int;
BEGIN
  LOOP
    WITH moved AS (DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE done ORDER BY id LIMIT batch) RETURNING id, title)
    INSERT INTO archived SELECT id, title || ' in ' || current_schema() FROM moved;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXIT WHEN n = 0;
    COMMIT;
  END LOOP;
  IF (SELECT count(*) FROM plans) > 0 THEN
    INSERT INTO archived VALUES (-1, 'rolled back');
    ROLLBACK AND CHAIN;
  END IF;
END
$$;
CREATE FUNCTION open_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM tasks WHERE NOT done';
CREATE FUNCTION tenant_schema() RETURNS text LANGUAGE sql STABLE AS 'SELECT current_schema()';
CREATE TABLE notes (id int, owner text NOT NULL DEFAULT tenant_schema());
-- +goose Down
DROP TABLE notes;
DROP FUNCTION tenant_schema();
DROP FUNCTION open_count();
DROP PROCEDURE archive_done(int);
DROP TABLE archived;
DROP TABLE tasks;
DROP TABLE plans;
`

// A tenant procedure that commits cannot carry SET search_path FROM
// CURRENT (its COMMIT fails with 2D000): the migration binds it by setting
// the tenant's search_path inside it, per transaction. It commits, finds its
// own tenant's tables whatever the caller's search_path, and leaves that path
// as it was.
func TestTenantProcedureCommits(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	var diags diag.List
	f := migfile.Parse("00001_init.sql", schema, &diags)
	m := scope.Analyse([]*migfile.File{f}, &diags)
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, mf := range migrations.Build(m) {
		p := filepath.Join(dir, filepath.FromSlash(mf.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, mf.Content, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(mf.Path, migrations.TenantDir) {
			text := string(mf.Content)
			if strings.Count(text, "\nSET search_path FROM CURRENT;") != 2 || !strings.Contains(text, "DO $tenantgen_do$") {
				t.Errorf("tenant set: want open_count pinned and archive_done bound:\n%s", text)
			}
		}
	}

	conn := pgtest.Connect(t)
	for _, s := range []string{"alpha", "beta"} {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+s+" CASCADE; CREATE SCHEMA "+s); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(set, searchPath, table string) {
		t.Helper()
		cc, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cc.RuntimeParams["search_path"] = searchPath
		db := stdlib.OpenDB(*cc)
		defer db.Close()
		p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS(filepath.Join(dir, set)),
			goose.WithTableName(table), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("%s on %s: %v", set, searchPath, err)
		}
		if _, err := p.DownTo(ctx, 0); err != nil {
			t.Fatalf("down %s on %s: %v", set, searchPath, err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("re-up %s on %s: %v", set, searchPath, err)
		}
	}
	apply(migrations.SharedDir, "public", "goose_db_version")
	apply(migrations.TenantDir, "alpha, public", "alpha.goose_db_version")
	apply(migrations.TenantDir, "beta, public", "beta.goose_db_version")

	for _, s := range []string{"alpha", "beta"} {
		if _, err := conn.Exec(ctx, "INSERT INTO "+s+".tasks SELECT i, 't'||i, i % 3 <> 0 FROM generate_series(1, 10) i"); err != nil {
			t.Fatal(err)
		}
	}
	// The caller's search_path: public (the runtime's), and another
	// tenant's (a pooled connection someone else left so).
	for _, path := range []string{"public", "beta, public"} {
		t.Run(path, func(t *testing.T) {
			c := pgtest.Connect(t)
			if _, err := c.Exec(ctx, "SELECT set_config('search_path', $1, false)", path); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Exec(ctx, "CALL alpha.archive_done(2)"); err != nil {
				t.Fatalf("CALL: %v", err)
			}
			var got string
			if err := c.QueryRow(ctx, "SHOW search_path").Scan(&got); err != nil || got != path {
				t.Errorf("search_path after CALL is %q (%v), want %q", got, err, path)
			}
			var n int64
			if err := c.QueryRow(ctx, "SELECT alpha.open_count()").Scan(&n); err != nil || n != 3 {
				t.Errorf("alpha.open_count() = %d (%v), want 3", n, err)
			}
		})
	}
	count := func(sql string) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("SELECT count(*) FROM alpha.archived WHERE note LIKE '% in alpha'"); n != 7 {
		t.Errorf("alpha archived %d tasks, want 7", n)
	}
	if n := count("SELECT count(*) FROM alpha.tasks"); n != 3 {
		t.Errorf("alpha has %d tasks left, want 3", n)
	}
	if n := count("SELECT count(*) FROM beta.archived") + 10 - count("SELECT count(*) FROM beta.tasks"); n != 0 {
		t.Errorf("beta was touched: %d rows", n)
	}

	// ROLLBACK works too, and the path is set again after it.
	if _, err := conn.Exec(ctx, "INSERT INTO public.plans VALUES (1); INSERT INTO alpha.tasks VALUES (100, 'late', true)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CALL alpha.archive_done(5)"); err != nil {
		t.Fatalf("CALL with ROLLBACK: %v", err)
	}
	if n := count("SELECT count(*) FROM alpha.archived WHERE id = -1"); n != 0 {
		t.Errorf("the rolled-back row is there")
	}
	if n := count("SELECT count(*) FROM alpha.archived WHERE id = 100"); n != 1 {
		t.Errorf("the committed batch before ROLLBACK is missing")
	}

	// The hint for current_schema() in a tenant default works: a tenant
	// function's pinned path makes it the tenant's name.
	var owner string
	if err := conn.QueryRow(ctx, "INSERT INTO alpha.notes (id) VALUES (1) RETURNING owner").Scan(&owner); err != nil || owner != "alpha" {
		t.Errorf("DEFAULT tenant_schema() gave %q (%v), want alpha", owner, err)
	}
}
