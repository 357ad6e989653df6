package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/example/kitchensink/db"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

func TestMain(m *testing.M) { pgtest.Main(m, "runtime") }

var (
	thor   = runtime.MustTenant("thor")
	potter = runtime.MustTenant("potter")
)

var execModes = []pgx.QueryExecMode{
	pgx.QueryExecModeCacheStatement,
	pgx.QueryExecModeCacheDescribe,
	pgx.QueryExecModeDescribeExec,
	pgx.QueryExecModeExec,
	pgx.QueryExecModeSimpleProtocol,
}

// open returns a runtime on a pool of conns connections in the given mode.
func open(t *testing.T, conns int32, mode pgx.QueryExecMode) *runtime.DB {
	t.Helper()
	return openURL(t, pgtest.URL(t), conns, func(cfg *pgxpool.Config) { cfg.ConnConfig.DefaultQueryExecMode = mode })
}

// openURL returns a runtime with the kitchensink migrations on a pool of
// conns connections to url, its config adjusted by tune.
func openURL(t *testing.T, url string, conns int32, tune func(*pgxpool.Config), opts ...runtime.Option) *runtime.DB {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = conns
	if tune != nil {
		tune(cfg)
	}
	rt, err := runtime.OpenConfig(context.Background(), cfg, append([]runtime.Option{runtime.WithMigrations(db.Migrations())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}

// fleet creates thor at the latest version and potter one migration behind
// (no sku column), each with a few rows carrying its name.
func fleet(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	rt := open(t, 2, pgx.QueryExecModeCacheStatement)
	if _, err := rt.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	q := db.New(rt)
	for _, tn := range []runtime.Tenant{thor, potter} {
		_ = rt.DropTenant(ctx, tn, tn.String())
		if err := rt.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if _, err := q.Tenant(tn).CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: fmt.Sprint(i), Status: db.ItemStatusActive, Tags: []string{}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	one := int64(1)
	rep, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{"potter"}, DownTo: &one})
	if err != nil || len(rep.Results) != 1 {
		t.Fatalf("migrating potter down: %v %+v", err, rep)
	}
	v, _ := rt.TenantVersions(ctx, []string{"thor", "potter"})
	if v["thor"] != 2 || v["potter"] != 1 {
		t.Fatalf("versions %v", v)
	}
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// TestSwitchingTenantsOnOneConnection interleaves two tenants whose schemas
// differ (a per-tenant enum, and one tenant a migration behind) on a pool of
// one connection, in every pgx exec mode: no 0A000 or 42883, and every row
// is the tenant's own.
func TestSwitchingTenantsOnOneConnection(t *testing.T) {
	fleet(t)
	ctx := context.Background()
	for _, mode := range execModes {
		t.Run(mode.String(), func(t *testing.T) {
			q := db.New(open(t, 1, mode))
			for i := 0; i < 100; i++ {
				tn := thor
				if i%2 == 1 {
					tn = potter
				}
				tq := q.Tenant(tn)
				rows, err := tq.ListItemsByStatus(ctx, db.ItemStatusActive) // enum parameter and column
				if err != nil {
					t.Fatalf("query %d (%s): %v (SQLSTATE %s)", i, tn, err, sqlState(err))
				}
				if len(rows) != 3 {
					t.Fatalf("query %d (%s): %d rows", i, tn, len(rows))
				}
				for _, r := range rows {
					if r.Tenant != tn.String() {
						t.Fatalf("query %d: %s got a row of %s", i, tn, r.Tenant)
					}
				}
				// A query whose result differs between the two versions.
				_, err = tq.GetItem(ctx, rows[0].ID)
				switch {
				case tn == thor && err != nil:
					t.Fatalf("thor GetItem: %v (SQLSTATE %s)", err, sqlState(err))
				case tn == potter && sqlState(err) != "42703":
					// potter has no sku column yet: an honest "column does not exist".
					t.Fatalf("potter GetItem: want 42703, got %v", err)
				}
			}
		})
	}
}

func TestSharedCannotSeeTenantTables(t *testing.T) {
	fleet(t)
	ctx := context.Background()
	rt := open(t, 1, pgx.QueryExecModeCacheStatement)
	_, err := rt.Shared().Exec(ctx, "SELECT count(*) FROM items")
	if sqlState(err) != "42P01" {
		t.Fatalf("shared scope reached a tenant table: %v", err)
	}
	// Even right after a tenant query on the same connection.
	if _, err := db.New(rt).Tenant(thor).ListItems(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = rt.Shared().Exec(ctx, "SELECT count(*) FROM items")
	if sqlState(err) != "42P01" {
		t.Fatalf("shared scope reached a tenant table after a tenant query: %v", err)
	}
	var path string
	if err := rt.Shared().QueryRow(ctx, "SHOW search_path").Scan(&path); err != nil || path != "public" {
		t.Fatalf("search_path = %q, %v", path, err)
	}
}

// TestFaultsDoNotLeak runs a tenant's query into every kind of failure and
// checks that the next query, for the other tenant, on the same single
// connection, sees only its own rows.
func TestFaultsDoNotLeak(t *testing.T) {
	fleet(t)
	ctx := context.Background()
	rt := open(t, 1, pgx.QueryExecModeCacheStatement)
	q := db.New(rt)
	check := func(step string) {
		t.Helper()
		rows, err := q.Tenant(potter).ListItemsByStatus(ctx, db.ItemStatusActive)
		if err != nil {
			t.Fatalf("after %s: %v", step, err)
		}
		for _, r := range rows {
			if r.Tenant != "potter" {
				t.Fatalf("after %s: potter read a row of %s", step, r.Tenant)
			}
		}
	}
	faults := []struct {
		name string
		run  func() error
	}{
		{"cancellation mid-query", func() error {
			cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := rt.Tenant(thor).Exec(cctx, `SELECT pg_sleep(2) FROM "$tenant".items`)
			return err
		}},
		{"failing statement", func() error {
			_, err := rt.Tenant(thor).Exec(ctx, `SELECT 1/0 FROM "$tenant".items`)
			return err
		}},
		{"rollback", func() error {
			return q.TenantTx(ctx, thor, func(tq *db.TenantQueries) error {
				if _, err := tq.CreateItem(ctx, db.CreateItemParams{Tenant: "thor", Name: "x", Status: db.ItemStatusDraft, Tags: []string{}}); err != nil {
					return err
				}
				return errors.New("rolled back")
			})
		}},
		{"panic in a transaction", func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panic: %v", p)
				}
			}()
			return q.TenantTx(ctx, thor, func(tq *db.TenantQueries) error {
				_, _ = tq.ListItems(ctx)
				panic("boom")
			})
		}},
		{"error inside a transaction", func() error {
			return rt.TenantTx(ctx, thor, func(tx runtime.DBTX) error {
				if _, err := tx.Exec(ctx, `DELETE FROM "$tenant".items`); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `SELECT 1/0`)
				return err
			})
		}},
		{"server-side terminated connection", func() error {
			var pid int
			if err := rt.Tenant(thor).QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				return err
			}
			admin := pgtest.Connect(t)
			_, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
			if err != nil {
				return err
			}
			// A write, which the runtime does not retry once sent (a
			// read would be retried on another connection: retry.go).
			_, err = q.Tenant(thor).CreateItem(ctx, db.CreateItemParams{Tenant: "thor", Name: "killed", Status: db.ItemStatusDraft, Tags: []string{}})
			return err
		}},
	}
	for _, f := range faults {
		err := f.run()
		if err == nil {
			t.Fatalf("%s: no error", f.name)
		}
		check(f.name)
	}
	items, err := q.Tenant(thor).ListItems(ctx)
	if err != nil || len(items) != 3 {
		t.Fatalf("thor kept %d items (%v), want 3: something rolled back did not", len(items), err)
	}
}

func TestTenantNames(t *testing.T) {
	for _, bad := range []string{
		"", "Thor", "1abc", "pg_catalog", "pg_x", "public", "information_schema", "thor;drop", `thor"`, "thor.x",
		"thor ", " thor", "tenant-1", "ünïcode", strings.Repeat("a", 64), "$tenant", "a\x00b",
	} {
		if _, err := runtime.ParseTenant(bad); !errors.Is(err, runtime.ErrInvalidTenant) {
			t.Errorf("ParseTenant(%q) accepted", bad)
		}
	}
	for _, good := range []string{"thor", "_x", "a1", "select", strings.Repeat("a", 63)} {
		tn, err := runtime.ParseTenant(good)
		if err != nil {
			t.Errorf("ParseTenant(%q): %v", good, err)
		}
		if tn.Ident() != `"`+good+`"` {
			t.Errorf("Ident = %s", tn.Ident())
		}
	}
}

func TestZeroTenantNeverReachesTheDatabase(t *testing.T) {
	rt := open(t, 1, pgx.QueryExecModeCacheStatement)
	var zero runtime.Tenant
	if _, err := rt.Tenant(zero).Exec(context.Background(), "SELECT 1"); err == nil {
		t.Fatal("zero tenant ran a query")
	}
	if err := rt.TenantTx(context.Background(), zero, func(runtime.DBTX) error { return nil }); err == nil {
		t.Fatal("zero tenant began a transaction")
	}
}

// TestBatchReusedAcrossTenants: binding a batch to a tenant must not bind
// the caller's batch itself, or sending it again for another tenant would
// run in the first one's schema.
func TestBatchReusedAcrossTenants(t *testing.T) {
	fleet(t)
	ctx := context.Background()
	rt := open(t, 1, pgx.QueryExecModeCacheStatement)
	b := &pgx.Batch{}
	b.Queue(`SELECT tenant FROM "$tenant".items LIMIT 1`)
	for _, tn := range []runtime.Tenant{thor, potter, thor} {
		var got string
		br := rt.Tenant(tn).SendBatch(ctx, b)
		if err := br.QueryRow().Scan(&got); err != nil {
			t.Fatal(err)
		}
		if err := br.Close(); err != nil {
			t.Fatal(err)
		}
		if got != tn.String() {
			t.Fatalf("batch sent for %s read a row of %s", tn, got)
		}
	}
	// Tenants read back from the registry bind like parsed ones.
	infos, err := rt.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range infos {
		if want, _ := runtime.ParseTenant(ti.Tenant.String()); ti.Tenant != want {
			t.Fatalf("registry tenant %#v differs from the parsed %#v", ti.Tenant, want)
		}
	}
}
