package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/example/kitchensink/db"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// The Citus tests run on the three-node cluster of ../shared/citus (make
// test-citus starts it) with the kitchensink schema: a shared table that
// tenant tables reference, a per-tenant enum, and a trigger.

// citusRT opens a runtime on the package's Citus database.
func citusRT(t *testing.T, conns int32, tune func(*pgxpool.Config), opts ...runtime.Option) *runtime.DB {
	t.Helper()
	rt := openURL(t, pgtest.CitusURL(t), conns, tune, opts...)
	if _, err := rt.MigrateShared(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rt
}

func citusConn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pgtest.CitusURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func workers(t *testing.T, rt *runtime.DB) []string {
	t.Helper()
	nodes, err := rt.CitusNodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) < 2 {
		t.Fatalf("want two workers, have %v", nodes)
	}
	var out []string
	for _, n := range nodes {
		out = append(out, n.Node)
	}
	return out
}

// recreate drops and creates a tenant.
func recreate(t *testing.T, rt *runtime.DB, tn runtime.Tenant, opts runtime.CreateOptions) {
	t.Helper()
	ctx := context.Background()
	_ = rt.DropTenant(ctx, tn, tn.String())
	if err := rt.CreateTenant(ctx, tn, opts); err != nil {
		t.Fatal(err)
	}
}

// On plain PostgreSQL nothing of Citus happens: detection says so, the
// generated shared migrations' Citus statement does nothing, and the Citus
// API refuses plainly. (Not named TestCitus: it runs in make test's plain run.)
func TestPlainPostgresIsNotCitus(t *testing.T) {
	ctx := context.Background()
	rt := openURL(t, pgtest.URL(t), 2, nil)
	info, err := rt.Citus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Installed {
		t.Skip("the package database is a Citus one (make test-citus): the TestCitus tests cover it")
	}
	if info.Enabled || info.SchemaSharding {
		t.Fatalf("plain PostgreSQL detected as %+v", info)
	}
	if _, err := rt.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	tn := runtime.MustTenant("plain_one")
	recreate(t, rt, tn, runtime.CreateOptions{})
	if node, err := rt.TenantNode(ctx, tn); node != "" || err != nil {
		t.Fatalf("TenantNode = %q, %v", node, err)
	}
	if nodes, err := rt.TenantNodes(ctx); len(nodes) != 0 || err != nil {
		t.Fatalf("TenantNodes = %v, %v", nodes, err)
	}
	if err := rt.MoveTenant(ctx, tn, "127.0.0.1:5442"); err == nil || !strings.Contains(err.Error(), "not a Citus coordinator") {
		t.Fatalf("MoveTenant: %v", err)
	}
	placed := runtime.MustTenant("plain_two")
	err = rt.CreateTenant(ctx, placed, runtime.CreateOptions{Node: "127.0.0.1:5442"})
	if err == nil || !strings.Contains(err.Error(), "needs Citus") {
		t.Fatalf("CreateTenant on a node: %v", err)
	}
	conn := pgtest.Connect(t)
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_namespace WHERE nspname = 'plain_two'`) +
		queryInt(t, conn, `SELECT count(*) FROM tenantgen_tenants WHERE name = 'plain_two'`); n != 0 {
		t.Fatal("a refused creation left its schema or row")
	}
	// Forcing Citus where there is none fails the creation, leaving nothing.
	forced := openURL(t, pgtest.URL(t), 2, nil, runtime.WithCitus(true))
	if err := forced.CreateTenant(ctx, placed, runtime.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("WithCitus(true) on plain PostgreSQL: %v", err)
	}
}

func TestCitusDetection(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		opts    []runtime.Option
		enabled bool
	}{
		{"detected", nil, true},
		{"WithCitus(false)", []runtime.Option{runtime.WithCitus(false)}, false},
		{"WithCitus(true)", []runtime.Option{runtime.WithCitus(true)}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt := openURL(t, pgtest.CitusURL(t), 2, nil, c.opts...)
			info, err := rt.Citus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !info.Installed || info.Version == "" || info.Enabled != c.enabled || info.Forced != (c.opts != nil) {
				t.Fatalf("%+v", info)
			}
			if !info.SchemaSharding {
				t.Fatalf("the test cluster turns schema-based sharding on: %+v", info)
			}
			if _, err := rt.TenantNodes(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Shared tables become reference tables, in foreign-key order, through
// MigrateShared; the registry stays on the coordinator.
func TestCitusSharedTablesAreReferenceTables(t *testing.T) {
	citusRT(t, 2, nil)
	conn := citusConn(t)
	kind := func(table string) string {
		var k string
		err := conn.QueryRow(context.Background(), `SELECT coalesce((SELECT CASE WHEN partmethod = 'n' AND repmodel = 't' THEN 'reference'
			WHEN partmethod = 'n' THEN 'citus local' ELSE 'distributed' END FROM pg_dist_partition WHERE logicalrelid = $1::regclass), 'local')`, table).Scan(&k)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for table, want := range map[string]string{
		"public.plans":                      "reference",
		"public.tenantgen_tenants":          "local",
		"public.tenantgen_domains":          "local",
		"public.goose_db_version":           "local",
		"public.tenantgen_goose_db_version": "local",
	} {
		if got := kind(table); got != want {
			t.Errorf("%s is %s, want %s", table, got, want)
		}
	}
}

// A tenant's schema is distributed whatever the session's
// citus.enable_schema_based_sharding, its foreign key to a shared table and
// its trigger work, it can be placed on either worker, migrated down and up,
// and dropped; a failed placement leaves nothing.
func TestCitusTenantLifecycle(t *testing.T) {
	ctx := context.Background()
	conn := citusConn(t)
	for _, sharding := range []string{"on", "off"} {
		t.Run("schema_based_sharding_"+sharding, func(t *testing.T) {
			rt := citusRT(t, 2, func(cfg *pgxpool.Config) {
				cfg.ConnConfig.RuntimeParams["citus.enable_schema_based_sharding"] = sharding
			})
			q := db.New(rt)
			ws := workers(t, rt)
			plan, err := q.Shared().CreatePlan(ctx, db.CreatePlanParams{Name: "lc_" + sharding, Tier: db.PlanTierPro, Features: []byte(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range ws {
				tn := runtime.MustTenant(fmt.Sprintf("lc_%s_%d", sharding, i))
				recreate(t, rt, tn, runtime.CreateOptions{Node: w, Domains: []string{tn.String() + ".example"}})
				if n := queryInt(t, conn, `SELECT count(*) FROM pg_dist_schema WHERE schemaid = $1::regnamespace`, tn.String()); n != 1 {
					t.Fatalf("%s is not a distributed schema", tn)
				}
				if node, err := rt.TenantNode(ctx, tn); err != nil || node != w {
					t.Fatalf("%s on %q (%v), asked for %s", tn, node, err, w)
				}
				it, err := q.Tenant(tn).CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "x", Status: db.ItemStatusActive, Tags: []string{}, PlanID: &plan.ID})
				if err != nil {
					t.Fatalf("%s: an item referencing a shared plan: %v", tn, err)
				}
				// The trigger ran on the worker and wrote the event.
				if n := queryInt(t, conn, `SELECT count(*) FROM `+tn.Ident()+`.events WHERE item_id = $1`, it.ID); n != 1 {
					t.Fatalf("%s: the trigger wrote %d events", tn, n)
				}
				row, err := q.Tenant(tn).GetItemWithPlan(ctx, it.ID)
				if err != nil {
					t.Fatalf("%s: join with the reference table: %v", tn, err)
				}
				_ = row
				one := int64(1)
				if _, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{tn.String()}, DownTo: &one}); err != nil {
					t.Fatal(err)
				}
				rep, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{tn.String()}})
				if err != nil || len(rep.Results) != 1 || rep.Results[0].To != rep.Target {
					t.Fatalf("up again: %v %+v", err, rep)
				}
				if err := rt.DropTenant(ctx, tn, tn.String()); err != nil {
					t.Fatal(err)
				}
				if n := queryInt(t, conn, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, tn.String()); n != 0 {
					t.Fatalf("%s survived its drop", tn)
				}
			}
			// A node that is no worker: refused before anything is made.
			bad := runtime.MustTenant("lc_bad_" + sharding)
			err = rt.CreateTenant(ctx, bad, runtime.CreateOptions{Node: "127.0.0.1:1"})
			if err == nil || !strings.Contains(err.Error(), "not an active Citus worker") {
				t.Fatalf("bad node: %v", err)
			}
			if n := queryInt(t, conn, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, bad.String()) +
				queryInt(t, conn, `SELECT count(*) FROM tenantgen_tenants WHERE name = $1`, bad.String()); n != 0 {
				t.Fatal("a refused creation left its schema or row")
			}
		})
	}
}

// Tenants spread over both workers without being told (Citus places each
// new schema), and TenantNodes and CitusNodes agree.
func TestCitusPlacementIsReadLive(t *testing.T) {
	ctx := context.Background()
	rt := citusRT(t, 2, nil)
	var names []runtime.Tenant
	for i := 0; i < 4; i++ {
		tn := runtime.MustTenant(fmt.Sprintf("spread_%d", i))
		recreate(t, rt, tn, runtime.CreateOptions{})
		names = append(names, tn)
	}
	nodes, err := rt.TenantNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, tn := range names {
		if nodes[tn.String()] == "" {
			t.Fatalf("%s has no node: %v", tn, nodes)
		}
		per[nodes[tn.String()]]++
	}
	if len(per) < 2 {
		t.Errorf("4 new tenants all on one node: %v", per)
	}
	cn, err := rt.CitusNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range cn {
		total += n.Tenants
	}
	if total < len(names) {
		t.Errorf("CitusNodes counts %d tenants: %+v", total, cn)
	}
}

// MoveTenant moves a tenant with its data; moving it where it is does
// nothing; unknown nodes and tenants are refused.
func TestCitusMoveTenant(t *testing.T) {
	ctx := context.Background()
	rt := citusRT(t, 2, nil)
	q := db.New(rt)
	ws := workers(t, rt)
	tn := runtime.MustTenant("mover")
	recreate(t, rt, tn, runtime.CreateOptions{Node: ws[0]})
	for i := 0; i < 10; i++ {
		if _, err := q.Tenant(tn).CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: fmt.Sprint(i), Status: db.ItemStatusDraft, Tags: []string{}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, to := range []string{ws[1], ws[1], ws[0]} {
		if err := rt.MoveTenant(ctx, tn, to); err != nil {
			t.Fatal(err)
		}
		if node, err := rt.TenantNode(ctx, tn); err != nil || node != to {
			t.Fatalf("after the move to %s: on %q, %v", to, node, err)
		}
		if n, err := q.Tenant(tn).CountItems(ctx); err != nil || n != 10 {
			t.Fatalf("after the move to %s: %d items, %v", to, n, err)
		}
	}
	if err := rt.MoveTenant(ctx, tn, "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "not an active Citus worker") {
		t.Fatalf("unknown node: %v", err)
	}
	if err := rt.MoveTenant(ctx, runtime.MustTenant("nobody"), ws[0]); !errors.Is(err, runtime.ErrTenantNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
}

// current_schema() in a query that Citus routes to a worker runs there,
// where the session's search_path is not the coordinator's: it says public.
// tenantgen never relies on it in tenant queries (they name their schema);
// its migration lock checks current_schema() in a statement without tables,
// which the coordinator evaluates. This is why the exec test's
// `SELECT current_schema(), count(*) FROM items` cannot hold on Citus.
func TestCitusCurrentSchemaOnAWorker(t *testing.T) {
	ctx := context.Background()
	rt := citusRT(t, 2, nil)
	tn := runtime.MustTenant("cs_probe")
	recreate(t, rt, tn, runtime.CreateOptions{})
	conn := citusConn(t)
	if _, err := conn.Exec(ctx, "SET search_path = "+tn.Ident()+", public"); err != nil {
		t.Fatal(err)
	}
	var alone, routed string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&alone); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT current_schema() FROM items LIMIT 1`).Scan(&routed); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO items (tenant, name) VALUES ('cs_probe', 'x')`); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT current_schema() FROM items LIMIT 1`).Scan(&routed); err != nil {
		t.Fatal(err)
	}
	if alone != tn.String() {
		t.Errorf("on the coordinator current_schema() = %q", alone)
	}
	if routed != "public" {
		t.Logf("routed to the worker current_schema() = %q (Citus changed: the exec test's adaptation may be unneeded)", routed)
	}
}

// TestCitusIsolationWhileMoving: random generated queries for tenants on
// both workers while one of them is moved back and forth: every row read is
// the reader's tenant's, every acknowledged write is there at the end, and
// errors (expected around the move's final switch) are counted.
func TestCitusIsolationWhileMoving(t *testing.T) {
	ctx := context.Background()
	rt := citusRT(t, 8, nil)
	q := db.New(rt)
	ws := workers(t, rt)
	var tenants []runtime.Tenant
	for i := 0; i < 6; i++ {
		tn := runtime.MustTenant(fmt.Sprintf("load_%d", i))
		recreate(t, rt, tn, runtime.CreateOptions{Node: ws[i%len(ws)]})
		tenants = append(tenants, tn)
	}
	moving := tenants[0]

	var (
		acked               [6]atomic.Int64
		reads, rowsChecked  atomic.Int64
		foreign, errorCount atomic.Int64
		errMu               sync.Mutex
		errSamples          []string
		stop                atomic.Bool
		wg                  sync.WaitGroup
	)
	note := func(err error) {
		errorCount.Add(1)
		errMu.Lock()
		if len(errSamples) < 5 {
			errSamples = append(errSamples, err.Error())
		}
		errMu.Unlock()
	}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			for ops := 0; !stop.Load() || ops < 200; ops++ {
				i := r.Intn(len(tenants))
				tn := tenants[i]
				tq := q.Tenant(tn)
				switch r.Intn(3) {
				case 0:
					if _, err := tq.CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "w", Status: db.ItemStatusActive, Tags: []string{}}); err != nil {
						note(err)
						continue
					}
					acked[i].Add(1)
				case 1:
					items, err := tq.ListItems(ctx)
					if err != nil {
						note(err)
						continue
					}
					reads.Add(1)
					for _, it := range items {
						rowsChecked.Add(1)
						if it.Tenant != tn.String() {
							foreign.Add(1)
						}
					}
				default:
					err := q.TenantTx(ctx, tn, func(tq *db.TenantQueries) error {
						it, err := tq.CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "tx", Status: db.ItemStatusDraft, Tags: []string{}})
						if err != nil {
							return err
						}
						got, err := tq.GetItem(ctx, it.ID)
						if err == nil && got.Tenant != tn.String() {
							foreign.Add(1)
						}
						return err
					})
					if err != nil {
						note(err)
						continue
					}
					acked[i].Add(1)
				}
			}
		}(int64(w))
	}
	moves := 0
	for _, to := range []string{ws[1], ws[0]} {
		if err := rt.MoveTenant(ctx, moving, to); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("move to %s: %v", to, err)
		}
		moves++
	}
	stop.Store(true)
	wg.Wait()

	conn := citusConn(t)
	lost := 0
	for i, tn := range tenants {
		if n := queryInt(t, conn, `SELECT count(*) FROM `+tn.Ident()+`.items WHERE tenant <> $1`, tn.String()); n != 0 {
			t.Errorf("%s holds %d rows of other tenants", tn, n)
		}
		have := queryInt(t, conn, `SELECT count(*) FROM `+tn.Ident()+`.items`)
		if int64(have) < acked[i].Load() {
			lost += int(acked[i].Load()) - have
			t.Errorf("%s: %d acknowledged writes, %d rows", tn, acked[i].Load(), have)
		}
	}
	var writes int64
	for i := range acked {
		writes += acked[i].Load()
	}
	t.Logf("moves=%d writes=%d reads=%d rows_checked=%d foreign_rows=%d lost_writes=%d errors=%d %v",
		moves, writes, reads.Load(), rowsChecked.Load(), foreign.Load(), lost, errorCount.Load(), errSamples)
	if foreign.Load() != 0 {
		t.Fatalf("%d foreign rows read", foreign.Load())
	}
	if rowsChecked.Load() == 0 || writes == 0 {
		t.Fatal("the test checked nothing")
	}
}

// RebalanceTenants spreads tenants that were all placed on one worker.
func TestCitusRebalanceTenants(t *testing.T) {
	ctx := context.Background()
	rt := openURL(t, pgtest.NewCitusDatabase(t), 2, nil)
	if _, err := rt.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	ws := workers(t, rt)
	for i := 0; i < 2; i++ {
		recreate(t, rt, runtime.MustTenant(fmt.Sprintf("rb_%d", i)), runtime.CreateOptions{Node: ws[0]})
	}
	if err := rt.RebalanceTenants(ctx); err != nil {
		t.Fatal(err)
	}
	nodes, err := rt.CitusNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Tenants == 0 {
			t.Fatalf("after rebalancing, %s holds no tenant: %+v", n.Node, nodes)
		}
	}
	// Balanced already: a second run has nothing to do and says so quietly.
	if err := rt.RebalanceTenants(ctx); err != nil {
		t.Fatal(err)
	}
}
