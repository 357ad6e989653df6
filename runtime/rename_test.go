package runtime_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	ks "github.com/tenantgen/tenantgen/example/kitchensink/db"
	"github.com/tenantgen/tenantgen/runtime"
	"github.com/tenantgen/tenantgen/runtime/tenanthttp"
)

// ksItem creates an item through the generated queries.
func ksItem(t *testing.T, q *ks.TenantQueries, name string) {
	t.Helper()
	if _, err := q.CreateItem(context.Background(), ks.CreateItemParams{Tenant: q.Tenant().Name(), Name: name, Status: ks.ItemStatusActive, Tags: []string{}}); err != nil {
		t.Fatal(err)
	}
}

// TestSeed: the seed runs in the creation's transaction with the generated
// queries; a failing seed leaves no tenant; a SQL file seeds too.
func TestSeed(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(ks.Migrations())
	q := ks.New(rt)

	cases := []struct {
		name    string
		seed    func(context.Context, pgx.Tx) error
		wantErr string
		items   int // rows in items after, -1: no tenant
	}{
		{"generated queries", func(ctx context.Context, tx pgx.Tx) error {
			tq := q.Tenant(runtime.MustTenant("seeded_go")).WithTx(tx)
			for _, n := range []string{"admin", "settings"} {
				if _, err := tq.CreateItem(ctx, ks.CreateItemParams{Tenant: "seeded_go", Name: n, Status: ks.ItemStatusActive, Tags: []string{}}); err != nil {
					return err
				}
			}
			return nil
		}, "", 2},
		{"bound SQL", func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO "$tenant".items (tenant, name) VALUES ('seeded_sql', 'admin')`)
			return err
		}, "", 1},
		{"failing", func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO "$tenant".items (tenant, name) VALUES ('x', 'admin')`); err != nil {
				return err
			}
			return errors.New("no admin password")
		}, "no admin password", -1},
		{"failing SQL", runtime.SeedSQL(`INSERT INTO items (tenant, name) VALUES ('x', 'a'); SELECT 1/0;`), "division by zero", -1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := []string{"seeded_go", "seeded_sql", "seed_fails", "seed_sql_fails"}[i]
			err := rt.CreateTenant(ctx, runtime.MustTenant(name), runtime.CreateOptions{Domains: []string{strings.ReplaceAll(name, "_", "-") + ".example"}, Seed: tc.seed})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "seed") {
					t.Fatalf("want a seed error with %q, got %v", tc.wantErr, err)
				}
				if d.schemaExists(name) || d.state(name) != "" || d.int(`SELECT count(*) FROM tenantgen_domains WHERE tenant = $1`, name) != 0 {
					t.Fatal("a failed seed left a tenant")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := d.int(`SELECT count(*) FROM ` + name + `.items`); n != tc.items {
				t.Fatalf("%d items, want %d", n, tc.items)
			}
			// The trigger pinned to the schema ran: the seed ran after the
			// migrations, under the tenant's path.
			if n := d.int(`SELECT count(*) FROM ` + name + `.events`); n != tc.items {
				t.Fatalf("%d events, want %d", n, tc.items)
			}
		})
	}

	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "seed.sql")
		script := "-- the first admin\nINSERT INTO items (tenant, name) VALUES ('seeded_file', 'admin');\nINSERT INTO \"$tenant\".items (tenant, name) VALUES ('seeded_file', 'demo');\n"
		if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		seed, err := runtime.SeedFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.CreateTenant(ctx, runtime.MustTenant("seeded_file"), runtime.CreateOptions{Seed: seed}); err != nil {
			t.Fatal(err)
		}
		if n := d.int(`SELECT count(*) FROM seeded_file.items`); n != 2 {
			t.Fatalf("%d items", n)
		}
		if d.int(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'items'`) != 0 {
			t.Fatal("the seed wrote to public")
		}
		if _, err := runtime.SeedFile(filepath.Join(t.TempDir(), "missing.sql")); err == nil {
			t.Fatal("a missing seed file")
		}
	})
}

// TestRenameTenant renames a tenant whose trigger function is pinned to its
// schema: schema, registry row, domains and pins follow; a second runtime
// (another process's pool) finds it under the new name only.
func TestRenameTenant(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(ks.Migrations())
	other := d.open(ks.Migrations())
	q, oq := ks.New(rt), ks.New(other)
	acme, globex := runtime.MustTenant("acme"), runtime.MustTenant("globex")
	if err := rt.CreateTenant(ctx, acme, runtime.CreateOptions{Domains: []string{"acme.example", "www.acme.example"}}); err != nil {
		t.Fatal(err)
	}
	ksItem(t, q.Tenant(acme), "before")
	if _, err := oq.Tenant(acme).CountItems(ctx); err != nil {
		t.Fatal(err)
	}
	changed := 0
	rt.OnRegistryChange(func() { changed++ })

	if err := rt.RenameTenant(ctx, acme, globex); err != nil {
		t.Fatal(err)
	}
	if changed != 1 {
		t.Errorf("registry change callbacks: %d", changed)
	}
	if d.schemaExists("acme") || !d.schemaExists("globex") || d.state("acme") != "" || d.state("globex") != "active" {
		t.Fatal("schema or registry row not renamed")
	}
	if n := d.int(`SELECT count(*) FROM tenantgen_domains WHERE tenant = 'globex'`); n != 2 {
		t.Fatalf("%d domains follow", n)
	}
	if tn, ok, err := rt.TenantByDomain(ctx, "acme.example"); err != nil || !ok || tn != globex {
		t.Fatalf("acme.example -> %v %v %v", tn, ok, err)
	}
	// The pinned functions point at the new schema, and work: the trigger
	// logs into globex.events, item_count counts globex.items.
	if n := d.int(`SELECT count(*) FROM pg_proc p, unnest(p.proconfig) c WHERE p.pronamespace = 'globex'::regnamespace AND c LIKE '%acme%'`); n != 0 {
		t.Fatalf("%d functions still pinned to acme", n)
	}
	if n := d.int(`SELECT count(*) FROM pg_proc p, unnest(p.proconfig) c WHERE p.pronamespace = 'globex'::regnamespace AND c = 'search_path=globex, public'`); n != 2 {
		t.Fatalf("%d functions pinned to globex, want 2 (log_item, item_count)", n)
	}
	ksItem(t, oq.Tenant(globex), "after")
	if n := d.int(`SELECT count(*) FROM globex.events`); n != 2 {
		t.Fatalf("%d events", n)
	}
	if n := d.int(`SELECT globex.item_count()`); n != 2 {
		t.Fatalf("item_count() = %d", n)
	}
	if _, err := oq.Tenant(acme).CountItems(ctx); err == nil {
		t.Fatal("the old name still answers")
	}
	st, err := rt.Status(ctx)
	if err != nil || len(st.Tenants) != 1 || st.Tenants[0].Tenant != "globex" || st.Tenants[0].Pending != 0 {
		t.Fatalf("status %v %+v", err, st)
	}

	// Refusals change nothing.
	if err := rt.CreateTenant(ctx, acme, runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.admin.Exec(ctx, `CREATE SCHEMA foreign_one`); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		from, to string
		want     error
	}{
		{"globex", "acme", runtime.ErrTenantExists},
		{"globex", "foreign_one", runtime.ErrTenantExists},
		{"nobody", "somebody", runtime.ErrTenantNotFound},
	} {
		err := rt.RenameTenant(ctx, runtime.MustTenant(bad.from), runtime.MustTenant(bad.to))
		if !errors.Is(err, bad.want) {
			t.Errorf("%s -> %s: %v, want %v", bad.from, bad.to, err, bad.want)
		}
	}
	if !d.schemaExists("globex") || !d.schemaExists("acme") || !d.schemaExists("foreign_one") || d.state("globex") != "active" || d.state("foreign_one") != "" {
		t.Fatal("a refused rename changed something")
	}
	if err := rt.RenameTenant(ctx, globex, globex); err == nil {
		t.Fatal("renamed to itself")
	}
}

// TestSuspendOverHTTP: a suspended tenant's domain gets 403 from the
// middleware (or the configured response) while its migrations still
// apply; resumed, it is served again.
func TestSuspendOverHTTP(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	thor := runtime.MustTenant("thor")
	if err := rt.CreateTenant(ctx, thor, runtime.CreateOptions{Domains: []string{"thor.example"}}); err != nil {
		t.Fatal(err)
	}
	domains := tenanthttp.Domain(rt)
	rt.OnRegistryChange(domains.Invalidate)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tn, _ := tenanthttp.TenantFrom(r)
		io.WriteString(w, "hello "+tn.Name())
	})
	plain := httptest.NewServer(tenanthttp.Middleware(domains)(app))
	defer plain.Close()
	// The same through a resolver that does not read the registry itself.
	registered := tenanthttp.Registered(rt, tenanthttp.Subdomain("example"))
	rt.OnRegistryChange(registered.Invalidate)
	bySub := httptest.NewServer(tenanthttp.Middleware(registered)(app))
	defer bySub.Close()
	custom := httptest.NewServer(tenanthttp.Middleware(domains, tenanthttp.WithSuspended(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := tenanthttp.TenantFrom(r); ok {
			t.Error("the suspended handler got a tenant")
		}
		http.Error(w, "payment required", http.StatusPaymentRequired)
	})))(app))
	defer custom.Close()
	get := func(srv *httptest.Server, host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	steps := []struct {
		do    func() error
		srv   *httptest.Server
		code  int
		body  string
		state runtime.TenantState
	}{
		{nil, plain, 200, "hello thor", runtime.StateActive},
		{func() error { return rt.SuspendTenant(ctx, thor) }, plain, 403, "tenant suspended", runtime.StateSuspended},
		{nil, custom, 402, "payment required", runtime.StateSuspended},
		{func() error { return rt.SuspendTenant(ctx, thor) }, plain, 403, "tenant suspended", runtime.StateSuspended}, // twice: no error
		{func() error { return rt.ResumeTenant(ctx, thor) }, plain, 200, "hello thor", runtime.StateActive},
	}
	for i, s := range steps {
		if s.do != nil {
			if err := s.do(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		if code, body := get(s.srv, "thor.example"); code != s.code || body != s.body {
			t.Fatalf("step %d: %d %q, want %d %q", i, code, body, s.code, s.body)
		}
		if s.srv == plain {
			if code, body := get(bySub, "thor.example"); code != s.code || body != s.body {
				t.Fatalf("step %d, by subdomain: %d %q, want %d %q", i, code, body, s.code, s.body)
			}
		}
		if st, err := rt.TenantState(ctx, thor); err != nil || st != s.state {
			t.Fatalf("step %d: state %v %v", i, st, err)
		}
	}
	if code, _ := get(plain, "nobody.example"); code != 404 {
		t.Fatalf("unknown domain: %d", code)
	}
	if code, _ := get(bySub, "nobody.example"); code != 404 {
		t.Fatalf("unknown subdomain: %d", code)
	}

	// Suspended, it is still migrated and listed with its state.
	if err := rt.SuspendTenant(ctx, thor); err != nil {
		t.Fatal(err)
	}
	next := d.open(lcMigs("00003_notes.sql", lcNotes))
	rep, err := next.MigrateTenants(ctx, runtime.MigrateOptions{})
	if err != nil || len(rep.Results) != 1 || rep.Results[0].To != 3 {
		t.Fatalf("migrating the suspended tenant: %v %+v", err, rep)
	}
	infos, err := rt.Tenants(ctx)
	if err != nil || len(infos) != 1 || infos[0].State != runtime.StateSuspended {
		t.Fatalf("Tenants: %v %+v", err, infos)
	}
	if err := rt.ResumeTenant(ctx, runtime.MustTenant("nobody")); !errors.Is(err, runtime.ErrTenantNotFound) {
		t.Fatalf("resuming nobody: %v", err)
	}
	if err := rt.CreateTenant(ctx, runtime.MustTenant("loki"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rt.ResumeTenant(ctx, runtime.MustTenant("loki")); err != nil {
		t.Fatalf("resuming an active tenant, a no-op: %v", err)
	}
}
