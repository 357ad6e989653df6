package bind

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/internal/bench"
	"github.com/tenantgen/tenantgen/internal/bench/benchdb"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
	"github.com/tenantgen/tenantgen/runtime/contract"
)

func TestMain(m *testing.M) { pgtest.Main(m, "bind") }

// generatedSQL returns the tenant queries' SQL constants of the generated
// package in dir (relative to this package), by constant name: the exact
// text the generated methods hand the runtime.
func generatedSQL(t testing.TB, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated query files in %s: %v", dir, err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 {
				return true
			}
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && strings.Contains(s, contract.Placeholder) {
				out[vs.Names[0].Name] = s
			}
			return true
		})
	}
	return out
}

// typical picks the benchmarked statements: the query path's point SELECT,
// and the shortest and longest tenant queries of the kitchensink example
// (every query kind and sqlc option).
func typical(t testing.TB) []struct{ name, sql string } {
	bench := generatedSQL(t, "../benchdb")
	kitchen := generatedSQL(t, "../../../example/kitchensink/db")
	names := make([]string, 0, len(kitchen))
	for n := range kitchen {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if a, b := len(kitchen[names[i]]), len(kitchen[names[j]]); a != b {
			return a < b
		}
		return names[i] < names[j]
	})
	if bench["getItem"] == "" || len(names) < 2 {
		t.Fatalf("generated SQL not found: benchdb %d, kitchensink %d statements", len(bench), len(kitchen))
	}
	return []struct{ name, sql string }{
		{"benchdb.getItem", bench["getItem"]},
		{"kitchensink.shortest." + names[0], kitchen[names[0]]},
		{"kitchensink.longest." + names[len(names)-1], kitchen[names[len(names)-1]]},
	}
}

var sink string

func BenchmarkBind(b *testing.B) {
	ident := runtime.MustTenant("acme_corp").Ident()
	for _, q := range typical(b) {
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(q.sql)))
			for b.Loop() {
				sink = contract.Bind(q.sql, ident)
			}
		})
	}
}

// TestTypicalSQL keeps the benchmark honest: it finds the statements, and
// binding leaves no placeholder behind.
func TestTypicalSQL(t *testing.T) {
	ident := runtime.MustTenant("acme_corp").Ident()
	for _, q := range typical(t) {
		got := contract.Bind(q.sql, ident)
		if strings.Contains(got, contract.Placeholder) || !strings.Contains(got, ident+".") {
			t.Errorf("%s: bound SQL %q", q.name, got)
		}
	}
}

// server is a pool of one connection on the package database, with a tenant
// schema holding benchdb's tenant set and one row.
type server struct {
	pool   *pgxpool.Pool
	tenant runtime.Tenant
	getSQL string // benchdb's GetItem, placeholder and all
}

func openServer(t testing.TB) *server {
	t.Helper()
	ctx := context.Background()
	cfg, err := bench.PoolConfig(pgtest.URL(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ddl, err := bench.UpSQL(benchdb.Migrations().Tenant)
	if err != nil {
		t.Fatal(err)
	}
	tn := runtime.MustTenant("bind_bench")
	_, err = pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+tn.Ident()+` CASCADE; BEGIN; CREATE SCHEMA `+tn.Ident()+`;
		SET LOCAL search_path TO `+tn.Ident()+`, public; `+ddl+`
		INSERT INTO items (name, status, qty) VALUES ('bind_bench-1', 'active', 1); COMMIT`)
	if err != nil {
		t.Fatal(err)
	}
	return &server{pool: pool, tenant: tn, getSQL: generatedSQL(t, "../benchdb")["getItem"]}
}

// calls are the three ways of running GetItem(1) for the tenant.
func (s *server) calls() []struct {
	name string
	get  func(context.Context) (benchdb.Item, error)
} {
	bound := contract.Bind(s.getSQL, s.tenant.Ident())
	db := benchdb.New(runtime.New(s.pool))
	scan := func(row interface{ Scan(...any) error }) (benchdb.Item, error) {
		var it benchdb.Item
		err := row.Scan(&it.ID, &it.Name, &it.Status, &it.Qty, &it.CreatedAt)
		return it, err
	}
	return []struct {
		name string
		get  func(context.Context) (benchdb.Item, error)
	}{
		{"raw-pgx-prebound", func(ctx context.Context) (benchdb.Item, error) {
			return scan(s.pool.QueryRow(ctx, bound, int64(1)))
		}},
		{"runtime.BindTenant", func(ctx context.Context) (benchdb.Item, error) {
			return scan(runtime.BindTenant(s.pool, s.tenant).QueryRow(ctx, s.getSQL, int64(1)))
		}},
		{"generated-handle", func(ctx context.Context) (benchdb.Item, error) {
			return db.Tenant(s.tenant).GetItem(ctx, 1)
		}},
	}
}

func BenchmarkTenantQueryRow(b *testing.B) {
	s := openServer(b)
	ctx := context.Background()
	for _, c := range s.calls() {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.get(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTenantQueryRowAgree: the three calls the benchmark compares read the
// same row, so the benchmark compares like with like.
func TestTenantQueryRowAgree(t *testing.T) {
	s := openServer(t)
	for _, c := range s.calls() {
		it, err := c.get(context.Background())
		if err != nil || it.Name != "bind_bench-1" || it.Status != benchdb.ItemStatusActive {
			t.Errorf("%s: %+v, %v", c.name, it, err)
		}
	}
}
