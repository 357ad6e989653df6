package kitchensink_test

import (
	"context"
	"testing"

	"github.com/tenantgen/tenantgen/example/kitchensink/db"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// TestCitusKitchensink: what failed on Citus before tenantgen knew it, on a
// Citus database of its own: a tenant foreign key to a shared table (the
// shared migration makes plans a reference table) and a trigger (migrations
// run with citus.enable_unsafe_triggers; it runs on the tenant's worker).
// make test-citus also runs every other test of this package on Citus.
func TestCitusKitchensink(t *testing.T) {
	ctx := context.Background()
	rt, err := runtime.Open(ctx, pgtest.NewCitusDatabase(t), runtime.WithMigrations(db.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if _, err := rt.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	q := db.New(rt)
	plan, err := q.Shared().CreatePlan(ctx, db.CreatePlanParams{Name: "pro", Tier: db.PlanTierPro, Features: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []runtime.Tenant{thor, potter} {
		if err := rt.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		it, err := q.Tenant(tn).CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "hammer", Status: db.ItemStatusActive, Tags: []string{}, PlanID: &plan.ID})
		if err != nil {
			t.Fatalf("%s: %v", tn, err)
		}
		var events int
		if err := rt.Pool().QueryRow(ctx, `SELECT count(*) FROM `+tn.Ident()+`.events WHERE item_id = $1`, it.ID).Scan(&events); err != nil || events != 1 {
			t.Fatalf("%s: the trigger wrote %d events (%v)", tn, events, err)
		}
		var tables int
		if err := rt.Pool().QueryRow(ctx, `SELECT count(*) FROM citus_tables WHERE citus_table_type = 'schema' AND table_name::text LIKE $1`, tn.String()+".%").Scan(&tables); err != nil || tables < 2 {
			t.Fatalf("%s: %d distributed-schema tables (%v)", tn, tables, err)
		}
	}
}
