package gen_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/gen/scope"
	"github.com/tenantgen/tenantgen/gen/sqlcrun"
	"github.com/tenantgen/tenantgen/internal/pgtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestMain(m *testing.M) {
	sqlcrun.ServeChild()
	pgtest.Main(m, "gen")
}

// projects are generated and compared with their committed output: the
// golden files of the generator, and a check that no example (nor the
// benchmarks' packages) is stale.
var projects = []string{
	"testdata/golden",
	"../example/kitchensink",
	"../example/polls",
	"../example/types",
	"../internal/bench/benchdb",
	"../internal/bench/fleetdb",
}

func generate(t *testing.T, dir string) *gen.Output {
	t.Helper()
	cfg, err := config.Load(filepath.Join(dir, config.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	out, err := gen.Generate(cfg, gen.Options{})
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return out
}

func TestGolden(t *testing.T) {
	for _, dir := range projects {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if _, err := os.Stat(dir); err != nil {
				t.Skip(err)
			}
			out := generate(t, dir)
			if *update {
				if _, err := out.Write(); err != nil {
					t.Fatal(err)
				}
				return
			}
			diff, err := out.Diff()
			if err != nil {
				t.Fatal(err)
			}
			if diff != "" {
				t.Errorf("generated files differ from the committed ones (go test ./gen -update, or tenantgen generate in %s):\n%s", dir, diff)
			}
			for _, f := range out.Files {
				if !bytes.HasPrefix(f.Content, []byte(gen.Header)) && !bytes.HasPrefix(f.Content, []byte(gen.SQLHeader)) {
					t.Errorf("%s lacks the generated-code header", f.Path)
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	a := generate(t, "../example/kitchensink")
	b := generate(t, "../example/kitchensink")
	if len(a.Files) != len(b.Files) {
		t.Fatalf("%d files, then %d", len(a.Files), len(b.Files))
	}
	for i := range a.Files {
		if a.Files[i].Path != b.Files[i].Path || !bytes.Equal(a.Files[i].Content, b.Files[i].Content) {
			t.Fatalf("%s differs between two runs", a.Files[i].Path)
		}
	}
}

func copyProject(t *testing.T, src string) string { return pgtest.CopyDir(t, src) }

func TestErrorsWriteNothing(t *testing.T) {
	dir := copyProject(t, "testdata/golden")
	if err := os.RemoveAll(filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	bad := "-- +goose Up\nCREATE TABLE orphan (id int);\n-- tenantgen:tenat\nCREATE TABLE x (id int);\n"
	if err := os.WriteFile(filepath.Join(dir, "sql/schema/00005_bad.sql"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, config.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = gen.Generate(cfg, gen.Options{})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"00005_bad.sql:2:1: cannot tell the scope of CREATE TABLE orphan", "00005_bad.sql:3:1: unknown tenantgen marker \"tenat\"", `did you mean "tenant"?`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Fatalf("output written despite errors: %v", err)
	}
}

func TestStaleFilesRemoved(t *testing.T) {
	dir := copyProject(t, "testdata/golden")
	if err := os.Remove(filepath.Join(dir, "sql/schema/00004_shared_only.sql")); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "out", "handwritten.go")
	if err := os.WriteFile(mine, []byte("package out\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := generate(t, dir)
	diff, _ := out.Diff()
	if !strings.Contains(diff, "00004_shared_only.sql") || !strings.Contains(diff, "+++ /dev/null") {
		t.Fatalf("diff does not show the stale file:\n%s", diff)
	}
	if _, err := out.Write(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out/migrations/shared/00004_shared_only.sql")); !os.IsNotExist(err) {
		t.Fatal("stale generated file kept")
	}
	if _, err := os.Stat(mine); err != nil {
		t.Fatal("a file tenantgen did not write was removed")
	}
	if diff, _ := generate(t, dir).Diff(); diff != "" {
		t.Fatalf("not current after Write:\n%s", diff)
	}
}

// TestGooseAppliesSets applies the shared set to public and the tenant set
// to two schemas with goose, as the README tells users to, and checks that
// every object landed where its scope says.
func TestGooseAppliesSets(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	out := generate(t, "testdata/golden")
	conn := pgtest.Connect(t)
	for _, s := range []string{"alpha", "beta"} {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+s+" CASCADE; CREATE SCHEMA "+s); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(dir, searchPath, table string) {
		t.Helper()
		cc, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cc.RuntimeParams["search_path"] = searchPath
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
		// Down and up again: the Down sections are right too.
		if _, err := p.DownTo(ctx, 0); err != nil {
			t.Fatalf("down %s on %s: %v", dir, searchPath, err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("re-up %s on %s: %v", dir, searchPath, err)
		}
	}
	apply("migrations/shared", "public", "goose_db_version")
	apply("migrations/tenant", "alpha, public", "alpha.goose_db_version")
	apply("migrations/tenant", "beta, public", "beta.goose_db_version")

	where := func(name string) map[string]bool {
		rows, err := conn.Query(ctx, `
			SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1
			UNION ALL SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = $1 AND t.typtype IN ('e', 'd')
			UNION ALL SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1`, name)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			got[s] = true
		}
		rows.Close()
		return got
	}
	objects := 0
	for _, o := range out.Model.Objects {
		got := where(o.Name)
		if o.Scope == scope.Tenant {
			if !got["alpha"] || !got["beta"] || got["public"] {
				t.Errorf("tenant %s %s is in %v, want alpha and beta only", o.Kind, o.Name, got)
			}
		} else if !got["public"] || got["alpha"] || got["beta"] {
			t.Errorf("shared %s %s is in %v, want public only", o.Kind, o.Name, got)
		}
		objects++
	}
	if objects < 12 {
		t.Fatalf("only %d objects checked", objects)
	}
	// The trigger and its function work inside each tenant.
	for _, s := range []string{"alpha", "beta"} {
		if _, err := conn.Exec(ctx, "INSERT INTO "+s+".tasks (title) VALUES ('x')"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+s+".task_log").Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s: trigger wrote %d rows (%v)", s, n, err)
		}
	}
}

// TestNeverOverwritesForeignFiles: a file tenantgen would write, but did not
// write itself, stops the run; nothing is replaced.
func TestNeverOverwritesForeignFiles(t *testing.T) {
	dir := copyProject(t, "testdata/golden")
	mine := filepath.Join(dir, "out", "db.go")
	if err := os.WriteFile(mine, []byte("package out\n\n// hand-written\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := generate(t, dir)
	if _, err := out.Write(); err == nil || !strings.Contains(err.Error(), "was not written by tenantgen") {
		t.Fatalf("Write: %v", err)
	}
	if data, _ := os.ReadFile(mine); string(data) != "package out\n\n// hand-written\n" {
		t.Fatal("a hand-written file was overwritten")
	}
}
