package kitchensink_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/example/kitchensink/db"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

func TestMain(m *testing.M) { pgtest.Main(m, "kitchensink") }

var (
	thor   = runtime.MustTenant("thor")
	potter = runtime.MustTenant("potter")
)

// setup migrates a fresh database and creates both tenants. The pool has one
// connection, so that every query of both tenants shares it.
func setup(t *testing.T) (*db.DB, *runtime.DB) {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	rt, err := runtime.OpenConfig(ctx, cfg, runtime.WithMigrations(db.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	if _, err := rt.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tn := range []runtime.Tenant{thor, potter} {
		_ = rt.DropTenant(ctx, tn, tn.String())
		if err := rt.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return db.New(rt), rt
}

func ptr[T any](v T) *T { return &v }

func TestEveryQueryKindPerTenant(t *testing.T) {
	ctx := context.Background()
	q, _ := setup(t)

	plan, err := q.Shared().CreatePlan(ctx, db.CreatePlanParams{Name: "pro", Tier: db.PlanTierPro, Features: []byte(`{"seats": 5}`)})
	if err != nil {
		t.Fatal(err)
	}

	created := map[string][]int64{}
	for _, tn := range []runtime.Tenant{thor, potter} {
		tq := q.Tenant(tn)
		for i, name := range []string{"hammer", "cloak"} {
			it, err := tq.CreateItem(ctx, db.CreateItemParams{
				Tenant: tn.String(), Name: tn.String() + "-" + name, Status: db.ItemStatusActive,
				Tags: []string{"t" + tn.String(), "common"}, Attrs: json.RawMessage(`{"i": 1}`),
				Price: pgtype.Numeric{Int: bigInt(1999), Exp: -2, Valid: true}, PlanID: ptr(plan.ID), Note: ptr("n"),
			})
			if err != nil {
				t.Fatalf("%s: CreateItem: %v", tn, err)
			}
			if it.Tenant != tn.String() || it.Status != db.ItemStatusActive || *it.PlanID != plan.ID {
				t.Fatalf("%s: CreateItem returned %+v", tn, it)
			}
			if i == 0 && it.Note == nil {
				t.Fatal("nullable note lost")
			}
			created[tn.String()] = append(created[tn.String()], it.ID)
		}
	}

	for _, tn := range []runtime.Tenant{thor, potter} {
		tq := q.Tenant(tn)
		own := func(got string, what string) {
			t.Helper()
			if got != tn.String() {
				t.Fatalf("%s: %s returned a row of tenant %q", tn, what, got)
			}
		}
		items, err := tq.ListItems(ctx)
		if err != nil || len(items) != 2 {
			t.Fatalf("%s: ListItems = %d items, %v", tn, len(items), err)
		}
		for _, it := range items {
			own(it.Tenant, "ListItems")
		}
		it, err := tq.GetItem(ctx, created[tn.String()][0])
		if err != nil {
			t.Fatal(err)
		}
		own(it.Tenant, "GetItem")

		byStatus, err := tq.ListItemsByStatus(ctx, db.ItemStatusActive)
		if err != nil || len(byStatus) != 2 {
			t.Fatalf("%s: ListItemsByStatus: %d, %v", tn, len(byStatus), err)
		}
		byIDs, err := tq.ListItemsByIDs(ctx, append(created["thor"], created["potter"]...))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range byIDs {
			own(r.Tenant, "ListItemsByIDs")
		}
		byTag, err := tq.ListItemsByTag(ctx, "t"+tn.String())
		if err != nil || len(byTag) != 2 {
			t.Fatalf("%s: ListItemsByTag: %d, %v", tn, len(byTag), err)
		}
		other := "thor"
		if tn == thor {
			other = "potter"
		}
		if n, err := tq.ListItemsByTag(ctx, "t"+other); err != nil || len(n) != 0 {
			t.Fatalf("%s: sees %d items tagged for %s (%v)", tn, len(n), other, err)
		}
		withPlan, err := tq.GetItemWithPlan(ctx, created[tn.String()][0])
		if err != nil {
			t.Fatal(err)
		}
		own(withPlan.Item.Tenant, "GetItemWithPlan")
		if withPlan.Plan.Name != "pro" {
			t.Fatalf("embedded plan = %+v", withPlan.Plan)
		}
		// The function and the trigger run inside the tenant's schema.
		if n, err := tq.CountItems(ctx); err != nil || n != 2 {
			t.Fatalf("%s: CountItems = %d, %v", tn, n, err)
		}
		if n, err := tq.ItemStats(ctx); err != nil || n != 2 {
			t.Fatalf("%s: ItemStats = %d, %v", tn, n, err)
		}
		active, err := tq.ListActiveItems(ctx)
		if err != nil || len(active) != 2 {
			t.Fatalf("%s: ListActiveItems: %d, %v", tn, len(active), err)
		}
		for _, a := range active {
			own(a.Tenant, "ListActiveItems")
		}
		if _, err := tq.NextItemID(ctx); err != nil {
			t.Fatal(err)
		}
		plans, err := tq.ListPlansInTenant(ctx)
		if err != nil || len(plans) != 1 {
			t.Fatalf("%s: ListPlansInTenant: %v %v", tn, plans, err)
		}

		// Batches.
		br := tq.CreateItemsBatch(ctx, []db.CreateItemsBatchParams{{Tenant: tn.String(), Name: "b1"}, {Tenant: tn.String(), Name: "b2"}})
		var batchErr error
		br.Exec(func(i int, err error) {
			if err != nil {
				batchErr = err
			}
		})
		if batchErr != nil {
			t.Fatal(batchErr)
		}
		one := tq.GetItemBatch(ctx, created[tn.String()])
		one.QueryRow(func(i int, r db.GetItemBatchRow, err error) {
			if err != nil {
				batchErr = err
				return
			}
			own(r.Tenant, "GetItemBatch")
		})
		if batchErr != nil {
			t.Fatal(batchErr)
		}
		many := tq.ListEventsBatch(ctx, created[tn.String()])
		events := 0
		many.Query(func(i int, rs []db.Event, err error) {
			if err != nil {
				batchErr = err
			}
			events += len(rs)
		})
		if batchErr != nil || events != 2 {
			t.Fatalf("%s: ListEventsBatch: %d events (trigger-made), %v", tn, events, batchErr)
		}

		// Copy.
		n, err := tq.CopyItems(ctx, []db.CopyItemsParams{{Tenant: tn.String(), Name: "c1", Status: db.ItemStatusDraft}, {Tenant: tn.String(), Name: "c2", Status: db.ItemStatusArchived}})
		if err != nil || n != 2 {
			t.Fatalf("%s: CopyItems = %d, %v", tn, n, err)
		}
	}

	// Each tenant now has 2 + 2 + 2 items; exec kinds act on one tenant only.
	for _, tn := range []runtime.Tenant{thor, potter} {
		items, err := q.Tenant(tn).ListItems(ctx)
		if err != nil || len(items) != 6 {
			t.Fatalf("%s: %d items, %v", tn, len(items), err)
		}
	}
	if err := q.Tenant(thor).UpdateItemStatus(ctx, db.UpdateItemStatusParams{ID: created["thor"][0], Status: db.ItemStatusDraft}); err != nil {
		t.Fatal(err)
	}
	tag, err := q.Tenant(thor).ArchiveAll(ctx)
	if err != nil || tag.RowsAffected() != 5 {
		t.Fatalf("ArchiveAll affected %d, %v", tag.RowsAffected(), err)
	}
	rows, err := q.Tenant(thor).DeleteItem(ctx, created["thor"][1])
	if err != nil || rows != 1 {
		t.Fatalf("DeleteItem = %d, %v", rows, err)
	}
	// potter's row of the same id (ids are per schema) is untouched.
	potterItems, _ := q.Tenant(potter).ListItemsByStatus(ctx, db.ItemStatusArchived)
	if len(potterItems) != 1 {
		t.Fatalf("potter has %d archived items, want 1 (its own copy)", len(potterItems))
	}

	// Shared queries see public.
	plans, err := q.Shared().ListPlans(ctx)
	if err != nil || len(plans) != 1 {
		t.Fatalf("ListPlans: %v, %v", plans, err)
	}
	if _, err := q.Shared().GetPlanByName(ctx, "nope"); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("GetPlanByName(nope) = %v", err)
	}
}

func TestTransactions(t *testing.T) {
	ctx := context.Background()
	q, _ := setup(t)
	boom := errors.New("boom")
	err := q.TenantTx(ctx, thor, func(tq *db.TenantQueries) error {
		if _, err := tq.CreateItem(ctx, db.CreateItemParams{Tenant: "thor", Name: "rolled back", Status: db.ItemStatusDraft, Tags: []string{}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	func() {
		defer func() { _ = recover() }()
		_ = q.TenantTx(ctx, thor, func(tq *db.TenantQueries) error {
			if _, err := tq.CreateItem(ctx, db.CreateItemParams{Tenant: "thor", Name: "panicked", Status: db.ItemStatusDraft, Tags: []string{}}); err != nil {
				return err
			}
			panic("in callback")
		})
	}()
	err = q.TenantTx(ctx, potter, func(tq *db.TenantQueries) error {
		_, err := tq.CreateItem(ctx, db.CreateItemParams{Tenant: "potter", Name: "kept", Status: db.ItemStatusDraft, Tags: []string{}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if items, _ := q.Tenant(thor).ListItems(ctx); len(items) != 0 {
		t.Fatalf("thor kept %d rows of rolled-back transactions", len(items))
	}
	items, _ := q.Tenant(potter).ListItems(ctx)
	if len(items) != 1 || items[0].Tenant != "potter" {
		t.Fatalf("potter: %+v", items)
	}
	err = q.SharedTx(ctx, func(sq *db.SharedQueries) error {
		_, err := sq.CreatePlan(ctx, db.CreatePlanParams{Name: "tx", Tier: db.PlanTierFree, Features: []byte(`{}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// From a context, as the HTTP middleware sets it.
	if _, err := q.FromContext(ctx); !errors.Is(err, runtime.ErrNoTenant) {
		t.Fatalf("FromContext without tenant: %v", err)
	}
	tq, err := q.FromContext(runtime.WithTenant(ctx, potter))
	if err != nil || tq.Tenant() != potter {
		t.Fatalf("FromContext: %v %v", tq, err)
	}
	names := []string{}
	all, _ := tq.ListItems(ctx)
	for _, it := range all {
		names = append(names, it.Name)
	}
	sort.Strings(names)
	if len(names) != 1 || names[0] != "kept" {
		t.Fatalf("potter via context: %v", names)
	}
}

// TestScopeIsInTheTypes checks the promise that scope is a compile-time
// fact: shared queries are methods of SharedQueries only, tenant queries of
// TenantQueries only, so calling one on the wrong handle does not compile.
func TestScopeIsInTheTypes(t *testing.T) {
	methods := func(v any) map[string]bool {
		m := map[string]bool{}
		typ := reflect.TypeOf(v)
		for i := 0; i < typ.NumMethod(); i++ {
			m[typ.Method(i).Name] = true
		}
		return m
	}
	shared, tenant := methods(&db.SharedQueries{}), methods(&db.TenantQueries{})
	want := map[string]bool{"CreatePlan": true, "GetPlanByName": true, "ListPlans": true, "WithTx": true}
	if !reflect.DeepEqual(shared, want) {
		t.Fatalf("SharedQueries has %v, want %v", shared, want)
	}
	for _, name := range []string{"CreateItem", "GetItem", "ListItems", "CopyItems", "CreateItemsBatch", "CountItems", "ListPlansInTenant", "Tenant"} {
		if !tenant[name] {
			t.Errorf("TenantQueries lacks %s", name)
		}
	}
	for name := range want {
		if name != "WithTx" && tenant[name] {
			t.Errorf("shared query %s is also a tenant query", name)
		}
	}
}
