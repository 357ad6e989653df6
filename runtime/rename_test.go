package runtime_test

import (
	"context"
	"errors"
	"testing"

	ks "github.com/tenantgen/tenantgen/example/kitchensink/db"
	"github.com/tenantgen/tenantgen/runtime"
)

// ksItem creates an item through the generated queries.
func ksItem(t *testing.T, q *ks.TenantQueries, name string) {
	t.Helper()
	if _, err := q.CreateItem(context.Background(), ks.CreateItemParams{Tenant: q.Tenant().String(), Name: name, Status: ks.ItemStatusActive, Tags: []string{}}); err != nil {
		t.Fatal(err)
	}
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
