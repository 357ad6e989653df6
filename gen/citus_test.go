package gen_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/gen/migrations"
	"github.com/tenantgen/tenantgen/internal/pgtest"
)

// The examples and the golden project, which CI runs on Citus, give no
// Citus warning.
func TestExamplesHaveNoCitusWarnings(t *testing.T) {
	for _, dir := range projects {
		cfg, err := config.Load(filepath.Join(dir, config.DefaultFile))
		if err != nil {
			t.Fatal(err)
		}
		m, err := gen.LoadSchema(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if w := migrations.CitusWarnings(m); len(w) != 0 {
			t.Errorf("%s:\n%v", dir, w)
		}
	}
}

// TestCitusGooseAppliesSets is TestGooseAppliesSets on Citus: the generated
// sets applied by plain goose, with no tenantgen runtime. What a goose user
// adds on Citus, and the only difference: citus.enable_unsafe_triggers on
// the tenant set's connections (CREATE TRIGGER on a distributed table is
// refused without it), next to the search_path they set anyway. The shared
// set makes its tables reference tables itself; the test cluster's
// citus.enable_schema_based_sharding makes CREATE SCHEMA distributed (with
// it off, call citus_schema_distribute, as tenantgen's runtime does).
// (TestGooseAppliesSets itself cannot run unchanged on Citus for that
// setting.)
func TestCitusGooseAppliesSets(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewCitusDatabase(t)
	out := generate(t, "testdata/golden")
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	apply := func(dir, searchPath, table string) {
		t.Helper()
		cc, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cc.RuntimeParams["search_path"] = searchPath
		cc.RuntimeParams["citus.enable_unsafe_triggers"] = "on"
		db := stdlib.OpenDB(*cc)
		defer db.Close()
		p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS(filepath.Join(out.Dir, dir)),
			goose.WithTableName(table), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("%s on %s: %v", dir, searchPath, err)
		}
		if _, err := p.DownTo(ctx, 0); err != nil {
			t.Fatalf("down %s on %s: %v", dir, searchPath, err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("re-up %s on %s: %v", dir, searchPath, err)
		}
	}
	apply("migrations/shared", "public", "goose_db_version")
	for _, s := range []string{"alpha", "beta"} {
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+s); err != nil {
			t.Fatal(err)
		}
		apply("migrations/tenant", s+", public", s+".goose_db_version")
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	for _, table := range []string{"public.plans", "public.announcements", "public.topics"} {
		if count(`SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = $1::regclass AND repmodel = 't'`, table) != 1 {
			t.Errorf("%s is not a reference table", table)
		}
	}
	for _, s := range []string{"alpha", "beta"} {
		if count(`SELECT count(*) FROM pg_dist_schema WHERE schemaid = $1::regnamespace`, s) != 1 {
			t.Fatalf("%s is not a distributed schema", s)
		}
		// The tenant table referencing the shared one, and its trigger, work.
		if _, err := conn.Exec(ctx, "INSERT INTO "+s+".tasks (title, plan_id) SELECT 'x', id FROM public.plans LIMIT 1"); err != nil {
			t.Fatal(err)
		}
		if n := count("SELECT count(*) FROM " + s + ".task_log"); n != 1 {
			t.Fatalf("%s: trigger wrote %d rows", s, n)
		}
	}
}
