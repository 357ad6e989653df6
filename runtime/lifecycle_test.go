package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// The lifecycle tests build their migration sets in memory, so that a test
// can add a version, break one, or make it slow, and each runs on a database
// of its own: MigrateTenants and Status see the whole registry.

const (
	lcTenantInit = `-- +goose Up
CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE marks (id bigserial PRIMARY KEY, note text NOT NULL);

-- +goose Down
DROP TABLE marks;
DROP TABLE items;
`
	lcTenantSku = `-- +goose Up
ALTER TABLE items ADD COLUMN sku text;

-- +goose Down
ALTER TABLE items DROP COLUMN sku;
`
	lcSharedInit = `-- +goose Up
CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL);

-- +goose Down
DROP TABLE plans;
`
	// lcNotes is a version 3 that creates a table and marks the tenant.
	lcNotes = `-- +goose Up
CREATE TABLE notes (id int);
INSERT INTO marks (note) VALUES ('v3');

-- +goose Down
DELETE FROM marks WHERE note = 'v3';
DROP TABLE notes;
`
	lcAlwaysFails = `-- +goose Up
CREATE TABLE doomed (id int);
SELECT 1/0;

-- +goose Down
DROP TABLE doomed;
`
)

// lcFailIn is lcNotes failing, after its first statements, in one schema:
// current_schema() is the first schema of the path the runtime sets.
func lcFailIn(schema string) string {
	return `-- +goose Up
CREATE TABLE notes (id int);
INSERT INTO marks (note) VALUES ('v3');
-- +goose StatementBegin
DO $$ BEGIN
	IF current_schema() = '` + schema + `' THEN RAISE EXCEPTION 'boom in %', current_schema(); END IF;
END $$;
-- +goose StatementEnd

-- +goose Down
DELETE FROM marks WHERE note = 'v3';
DROP TABLE notes;
`
}

// lcMigs is the shared set and the tenant set of versions 1 and 2, with
// extra tenant files given as name, content pairs (empty content removes).
func lcMigs(extra ...string) runtime.Migrations {
	tenant := fstest.MapFS{
		"00001_init.sql": {Data: []byte(lcTenantInit)},
		"00002_sku.sql":  {Data: []byte(lcTenantSku)},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			delete(tenant, extra[i])
			continue
		}
		tenant[extra[i]] = &fstest.MapFile{Data: []byte(extra[i+1])}
	}
	return runtime.Migrations{
		Shared: fstest.MapFS{"00001_shared.sql": {Data: []byte(lcSharedInit)}},
		Tenant: tenant,
	}
}

var lcQuiet = runtime.WithLogger(slog.New(slog.DiscardHandler))

// lcDB is a database of one test's own.
type lcDB struct {
	t     *testing.T
	url   string
	admin *pgx.Conn
}

func newLCDB(t *testing.T) *lcDB {
	t.Helper()
	ctx := context.Background()
	d := &lcDB{t: t, url: pgtest.NewDatabase(t)}
	admin, err := pgx.Connect(ctx, d.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	d.admin = admin
	return d
}

// lcWithParam sets a connection parameter of a URL or keyword/value string.
func lcWithParam(raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return strings.TrimSpace(raw) + " " + key + "=" + value
	}
	if key == "dbname" {
		u.Path = "/" + value
		return u.String()
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// open returns a runtime with the migration sets m.
func (d *lcDB) open(m runtime.Migrations) *runtime.DB {
	d.t.Helper()
	rt, err := runtime.Open(context.Background(), d.url, runtime.WithMigrations(m), lcQuiet)
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(rt.Close)
	return rt
}

// setup opens a runtime and applies the registry and the shared set.
func (d *lcDB) setup(m runtime.Migrations) *runtime.DB {
	d.t.Helper()
	rt := d.open(m)
	if _, err := rt.MigrateShared(context.Background()); err != nil {
		d.t.Fatal(err)
	}
	return rt
}

func (d *lcDB) int(query string, args ...any) int {
	d.t.Helper()
	var n int
	if err := d.admin.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		d.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (d *lcDB) schemaExists(name string) bool {
	return d.int(`SELECT count(*) FROM pg_namespace WHERE nspname = $1`, name) == 1
}

// state is the tenant's registry state, "" without a row.
func (d *lcDB) state(name string) string {
	d.t.Helper()
	var s string
	err := d.admin.QueryRow(context.Background(), `SELECT state FROM tenantgen_tenants WHERE name = $1`, name).Scan(&s)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		d.t.Fatal(err)
	}
	return s
}

// marks counts the rows of a tenant's marks table with the given note.
func (d *lcDB) marks(tenant, note string) int {
	d.t.Helper()
	return d.int(`SELECT count(*) FROM `+pgx.Identifier{tenant, "marks"}.Sanitize()+` WHERE note LIKE $1`, note)
}

func (d *lcDB) versions(rt *runtime.DB, names []string) map[string]int64 {
	d.t.Helper()
	v, err := rt.TenantVersions(context.Background(), names)
	if err != nil {
		d.t.Fatal(err)
	}
	return v
}

// schemas lists every schema but the system's.
func (d *lcDB) schemas() []string {
	d.t.Helper()
	rows, _ := d.admin.Query(context.Background(), `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' ORDER BY 1`)
	s, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		d.t.Fatal(err)
	}
	return s
}

func lcNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("tenant_%03d", i)
	}
	return out
}

// createAll creates tenants, several at once.
func createAll(t *testing.T, rt *runtime.DB, names []string, workers int) {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(workers)
	for _, n := range names {
		g.Go(func() error {
			return rt.CreateTenant(context.Background(), runtime.MustTenant(n), runtime.CreateOptions{})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestCreateTenantIsAtomic(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	d.setup(lcMigs())
	acme := runtime.MustTenant("acme")

	// Version 2 fails after version 1 committed.
	bad := d.open(lcMigs("00002_sku.sql", lcAlwaysFails))
	err := bad.CreateTenant(ctx, acme, runtime.CreateOptions{Domains: []string{"acme.example"}})
	if err == nil {
		t.Fatal("creating with a failing migration succeeded")
	}
	for _, want := range []string{"acme", "version 2", "00002_sku.sql", "division by zero"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if d.schemaExists("acme") || d.state("acme") != "" || d.int(`SELECT count(*) FROM tenantgen_domains`) != 0 {
		t.Fatalf("a failed creation left schema %v, row %q", d.schemaExists("acme"), d.state("acme"))
	}

	// Version 1 itself fails: nothing of it stays either.
	bad1 := d.open(lcMigs("00001_init.sql", lcAlwaysFails))
	if err := bad1.CreateTenant(ctx, acme, runtime.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "version 1") {
		t.Fatalf("want a version 1 error, got %v", err)
	}
	if d.schemaExists("acme") || d.state("acme") != "" {
		t.Fatal("a failed creation left something")
	}

	// A domain taken by another tenant fails the creation after the
	// migrations ran: rolled back all the same.
	good := d.open(lcMigs())
	if err := good.CreateTenant(ctx, runtime.MustTenant("other"), runtime.CreateOptions{Domains: []string{"taken.example"}}); err != nil {
		t.Fatal(err)
	}
	err = good.CreateTenant(ctx, acme, runtime.CreateOptions{Domains: []string{"acme.example", "taken.example"}})
	if err == nil || !strings.Contains(err.Error(), "taken.example") {
		t.Fatalf("want a domain error, got %v", err)
	}
	if d.schemaExists("acme") || d.state("acme") != "" || d.int(`SELECT count(*) FROM tenantgen_domains WHERE tenant = 'acme'`) != 0 {
		t.Fatal("a failed creation left something")
	}

	// And then it works.
	start := time.Now()
	if err := good.CreateTenant(ctx, acme, runtime.CreateOptions{Domains: []string{"acme.example"}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("creating one tenant (2 migrations, 1 domain): %s", time.Since(start))
	if d.state("acme") != "active" || d.versions(good, []string{"acme"})["acme"] != 2 {
		t.Fatalf("state %q, versions %v", d.state("acme"), d.versions(good, []string{"acme"}))
	}
	if d.int(`SELECT count(*) FROM information_schema.columns WHERE table_schema = 'acme' AND table_name = 'items' AND column_name = 'sku'`) != 1 {
		t.Fatal("acme.items has no sku column")
	}
	// The tenant set went to the tenant's schema only.
	if d.int(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('items', 'marks', 'goose_db_version')`) != 1 {
		t.Fatal("tenant tables in public")
	}
}

func TestCreateTenantTwice(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	thor := runtime.MustTenant("thor")
	if err := rt.CreateTenant(ctx, thor, runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.admin.Exec(ctx, `INSERT INTO thor.items (name) VALUES ('keep me')`); err != nil {
		t.Fatal(err)
	}
	err := rt.CreateTenant(ctx, thor, runtime.CreateOptions{})
	if !errors.Is(err, runtime.ErrTenantExists) {
		t.Fatalf("want ErrTenantExists, got %v", err)
	}
	if d.int(`SELECT count(*) FROM thor.items`) != 1 || d.state("thor") != "active" {
		t.Fatal("the second creation touched the first tenant")
	}
}

// TestConcurrentCreateOfOneName creates one tenant from two runtimes at
// once, with a slow migration: one wins, the other gets ErrTenantExists,
// and the winner's tenant is whole.
func TestConcurrentCreateOfOneName(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	slow := lcMigs("00002_sku.sql", strings.Replace(lcTenantSku, "ALTER TABLE", "SELECT pg_sleep(0.3);\nALTER TABLE", 1))
	d.setup(slow)
	a, b := d.open(slow), d.open(slow)
	var errs [2]error
	var wg sync.WaitGroup
	for i, rt := range []*runtime.DB{a, b} {
		wg.Go(func() { errs[i] = rt.CreateTenant(ctx, runtime.MustTenant("twin"), runtime.CreateOptions{}) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, runtime.ErrTenantExists):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 || d.state("twin") != "active" || d.versions(a, []string{"twin"})["twin"] != 2 {
		t.Fatalf("%d creations succeeded (%v), state %q", ok, errs, d.state("twin"))
	}
}

// TestCreateTenantOverForeignSchema: a schema the registry does not know is
// not a tenant's, whatever its name: creating the tenant fails and leaves
// the schema and its data alone.
func TestCreateTenantOverForeignSchema(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	if _, err := d.admin.Exec(ctx, `CREATE SCHEMA legacy; CREATE TABLE legacy.precious (v text); INSERT INTO legacy.precious VALUES ('data')`); err != nil {
		t.Fatal(err)
	}
	err := rt.CreateTenant(ctx, runtime.MustTenant("legacy"), runtime.CreateOptions{})
	if !errors.Is(err, runtime.ErrTenantExists) {
		t.Fatalf("want ErrTenantExists, got %v", err)
	}
	if !d.schemaExists("legacy") || d.int(`SELECT count(*) FROM legacy.precious`) != 1 || d.state("legacy") != "" {
		t.Fatal("creating a tenant over a foreign schema touched it or left a row")
	}
	if d.int(`SELECT count(*) FROM pg_tables WHERE schemaname = 'legacy'`) != 1 {
		t.Fatal("the tenant set went into the foreign schema")
	}
	// Nor does migrating it by name.
	_, err = rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{"legacy"}})
	if !errors.Is(err, runtime.ErrTenantNotFound) {
		t.Fatalf("migrating a foreign schema: want ErrTenantNotFound, got %v", err)
	}
	if d.int(`SELECT count(*) FROM pg_tables WHERE schemaname = 'legacy'`) != 1 {
		t.Fatal("the tenant set went into the foreign schema")
	}
	// Nor dropping it.
	if err := rt.DropTenant(ctx, runtime.MustTenant("legacy"), "legacy"); !errors.Is(err, runtime.ErrTenantNotFound) {
		t.Fatalf("want ErrTenantNotFound, got %v", err)
	}
	if !d.schemaExists("legacy") {
		t.Fatal("dropped a foreign schema")
	}
}

// TestCreateTenantAfterInterruptedCreation: a creator that died left a row
// in state creating and a half-migrated schema; creating the tenant again
// removes them and starts over.
func TestCreateTenantAfterInterruptedCreation(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	if _, err := d.admin.Exec(ctx, `
		INSERT INTO tenantgen_tenants (name, state) VALUES ('halfmade', 'creating');
		CREATE SCHEMA halfmade; CREATE TABLE halfmade.junk (id int);`); err != nil {
		t.Fatal(err)
	}
	// Not active: not migrated, not resolved, shown as creating.
	rep, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{})
	if err != nil || rep.Total != 0 {
		t.Fatalf("migrated a tenant being created: %v %+v", err, rep)
	}
	if err := rt.CreateTenant(ctx, runtime.MustTenant("halfmade"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if d.state("halfmade") != "active" || d.versions(rt, []string{"halfmade"})["halfmade"] != 2 {
		t.Fatal("not recreated")
	}
	if d.int(`SELECT count(*) FROM pg_tables WHERE schemaname = 'halfmade' AND tablename = 'junk'`) != 0 {
		t.Fatal("the leftovers stayed")
	}
}

func TestDropTenant(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	thor := runtime.MustTenant("thor")
	if err := rt.CreateTenant(ctx, thor, runtime.CreateOptions{Domains: []string{"thor.example"}}); err != nil {
		t.Fatal(err)
	}
	for _, confirm := range []string{"", "THOR", "thor ", "potter", `thor"`} {
		if err := rt.DropTenant(ctx, thor, confirm); err == nil {
			t.Fatalf("dropped with confirmation %q", confirm)
		}
		if !d.schemaExists("thor") || d.state("thor") != "active" {
			t.Fatalf("confirmation %q dropped something", confirm)
		}
	}
	changed := 0
	rt.OnRegistryChange(func() { changed++ })
	if err := rt.DropTenant(ctx, thor, "thor"); err != nil {
		t.Fatal(err)
	}
	if d.schemaExists("thor") || d.state("thor") != "" || d.int(`SELECT count(*) FROM tenantgen_domains`) != 0 || changed != 1 {
		t.Fatal("drop left something")
	}
	if err := rt.DropTenant(ctx, thor, "thor"); !errors.Is(err, runtime.ErrTenantNotFound) {
		t.Fatalf("dropping again: want ErrTenantNotFound, got %v", err)
	}
	if err := rt.DropTenant(ctx, runtime.Tenant{}, ""); err == nil {
		t.Fatal("dropped the zero tenant")
	}
	// The name is free again.
	if err := rt.CreateTenant(ctx, thor, runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestLifecycleOnOneConnection: creating and dropping on a pool of one
// connection, with a registry callback that queries the pool, neither
// deadlocks nor leaves the lifecycle lock on the pooled connection.
func TestLifecycleOnOneConnection(t *testing.T) {
	d := newLCDB(t)
	d.setup(lcMigs())
	cfg, err := pgxpool.ParseConfig(d.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	rt, err := runtime.OpenConfig(context.Background(), cfg, runtime.WithMigrations(lcMigs()), lcQuiet)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := 0
	rt.OnRegistryChange(func() {
		infos, err := rt.Tenants(ctx)
		if err != nil {
			t.Errorf("callback: %v", err)
		}
		seen = len(infos)
	})
	thor := runtime.MustTenant("thor")
	if err := rt.CreateTenant(ctx, thor, runtime.CreateOptions{Domains: []string{"thor.example"}}); err != nil {
		t.Fatal(err)
	}
	if seen != 1 {
		t.Fatalf("the callback saw %d tenants", seen)
	}
	if n := d.int(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); n != 0 {
		t.Fatalf("%d advisory locks held after the creation", n)
	}
	if err := rt.DropTenant(ctx, thor, "thor"); err != nil {
		t.Fatal(err)
	}
	if seen != 0 {
		t.Fatalf("the callback saw %d tenants", seen)
	}
	if n := d.int(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); n != 0 {
		t.Fatalf("%d advisory locks held after the drop", n)
	}
}

// TestCreateTenantCancelled: a context that ends in the middle of the
// migrations leaves nothing behind.
func TestCreateTenantCancelled(t *testing.T) {
	d := newLCDB(t)
	slow := lcMigs("00002_sku.sql", strings.Replace(lcTenantSku, "ALTER TABLE", "SELECT pg_sleep(2);\nALTER TABLE", 1))
	rt := d.setup(slow)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := rt.CreateTenant(ctx, runtime.MustTenant("hasty"), runtime.CreateOptions{})
	if err == nil || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	if d.schemaExists("hasty") || d.state("hasty") != "" {
		t.Fatal("a cancelled creation left something")
	}
	// The name is free, the runtime fine.
	if err := d.open(lcMigs()).CreateTenant(context.Background(), runtime.MustTenant("hasty"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestLifecycleRefusedBehindPooler: a runtime declared to be behind a
// transaction pooler refuses what needs session state, before doing any of
// it, instead of leaking a lock into a server connection.
func TestLifecycleRefusedBehindPooler(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	direct := d.setup(lcMigs())
	createAll(t, direct, []string{"thor"}, 1)
	cfg, err := pgxpool.ParseConfig(d.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pooled, err := runtime.OpenConfig(ctx, cfg, runtime.WithMigrations(lcMigs("00003_notes.sql", lcNotes)), runtime.WithTransactionPooler(), lcQuiet)
	if err != nil {
		t.Fatal(err)
	}
	defer pooled.Close()
	if err := pooled.CreateTenant(ctx, runtime.MustTenant("loki"), runtime.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "direct connection") {
		t.Errorf("CreateTenant: %v", err)
	}
	if err := pooled.DropTenant(ctx, runtime.MustTenant("thor"), "thor"); err == nil {
		t.Error("DropTenant behind a pooler")
	}
	if _, err := pooled.MigrateShared(ctx); err == nil {
		t.Error("MigrateShared behind a pooler")
	}
	if _, err := pooled.MigrateTenants(ctx, runtime.MigrateOptions{}); err == nil {
		t.Error("MigrateTenants behind a pooler")
	}
	rep, err := pooled.MigrateTenants(ctx, runtime.MigrateOptions{DryRun: true})
	if err != nil || len(rep.Results) != 1 {
		t.Errorf("dry run: %v %+v", err, rep)
	}
	if st, err := pooled.Status(ctx); err != nil || st.Behind != 1 {
		t.Errorf("status: %v %+v", err, st)
	}
	if d.state("loki") != "" || d.state("thor") != "active" || d.versions(direct, []string{"thor"})["thor"] != 2 {
		t.Fatal("something ran")
	}
}

func TestDomains(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	thor, potter := runtime.MustTenant("thor"), runtime.MustTenant("potter")
	changed := 0
	rt.OnRegistryChange(func() { changed++ })
	if err := rt.CreateTenant(ctx, thor, runtime.CreateOptions{Domains: []string{"Thor.Example.COM", "www.thor.example."}}); err != nil {
		t.Fatal(err)
	}
	if err := rt.CreateTenant(ctx, potter, runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rt.CreateTenant(ctx, runtime.MustTenant("baddom"), runtime.CreateOptions{Domains: []string{"bad domain"}}); err == nil || d.state("baddom") != "" {
		t.Fatal("created a tenant with an invalid domain")
	}
	primaries := func(name string) (prim []string, all []string) {
		infos, err := rt.Tenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range infos {
			if ti.Tenant.String() != name {
				continue
			}
			for _, dm := range ti.Domains {
				all = append(all, dm.Name)
				if dm.Primary {
					prim = append(prim, dm.Name)
				}
			}
		}
		return prim, all
	}
	if p, all := primaries("thor"); !slices.Equal(p, []string{"thor.example.com"}) || len(all) != 2 {
		t.Fatalf("primary %v of %v", p, all)
	}
	if err := rt.AddDomain(ctx, thor, "thor.io", true); err != nil {
		t.Fatal(err)
	}
	if p, all := primaries("thor"); !slices.Equal(p, []string{"thor.io"}) || all[0] != "thor.io" || len(all) != 3 {
		t.Fatalf("a new primary did not demote the others: primary %v of %v", p, all)
	}
	if err := rt.AddDomain(ctx, thor, "alias.thor.io", false); err != nil {
		t.Fatal(err)
	}
	if p, _ := primaries("thor"); !slices.Equal(p, []string{"thor.io"}) {
		t.Fatalf("a non-primary domain changed the primary: %v", p)
	}
	if err := rt.AddDomain(ctx, potter, "THOR.io", false); err == nil {
		t.Fatal("mapped one domain to two tenants")
	}
	if err := rt.AddDomain(ctx, runtime.MustTenant("nobody"), "nobody.io", false); err == nil {
		t.Fatal("mapped a domain to a tenant that does not exist")
	}
	for _, host := range []string{"thor.example.com", "THOR.example.com", "thor.example.com:8443", "thor.example.com.", "Thor.Example.Com.:443", " thor.example.com "} {
		tn, ok, err := rt.TenantByDomain(ctx, host)
		if err != nil || !ok || tn != thor {
			t.Errorf("TenantByDomain(%q) = %v %v %v", host, tn, ok, err)
		}
	}
	for _, host := range []string{"potter.example.com", "", "[::1]:80", "thor.example.com\x00", "'; DROP TABLE tenantgen_domains; --"} {
		if tn, ok, err := rt.TenantByDomain(ctx, host); ok || err != nil {
			t.Errorf("TenantByDomain(%q) = %v %v %v", host, tn, ok, err)
		}
	}
	if err := rt.RemoveDomain(ctx, "Thor.Example.COM:80"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := rt.TenantByDomain(ctx, "thor.example.com"); ok {
		t.Fatal("a removed domain still resolves")
	}
	if err := rt.RemoveDomain(ctx, "thor.example.com"); err == nil {
		t.Fatal("removed a domain twice")
	}
	// Creating thor and potter, 2 domains added, 1 removed.
	if changed != 5 {
		t.Fatalf("registry change callbacks: %d, want 5", changed)
	}
}

// TestMigrate200Tenants: version 3 fails in one tenant of 200: the 199
// others migrate, the report names the failed one with its error, and a
// rerun with the fixed file migrates it alone. Then a check of the
// up-to-date fleet runs no goose at all.
func TestMigrate200Tenants(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	names := lcNames(200)
	rt := d.setup(lcMigs())

	start := time.Now()
	createAll(t, rt, names, 4)
	t.Logf("creating 200 tenants (2 migrations each, 4 at once): %s", time.Since(start))

	broken := d.open(lcMigs("00003_notes.sql", lcFailIn("tenant_077")))
	var progress []int
	start = time.Now()
	rep, err := broken.MigrateTenants(ctx, runtime.MigrateOptions{
		Parallel: 8,
		Progress: func(done, total, failed int) { progress = append(progress, done) },
	})
	t.Logf("migrating 200 tenants one version, 8 at once: %s", time.Since(start))
	if !errors.Is(err, runtime.ErrMigrationsFailed) {
		t.Fatalf("want ErrMigrationsFailed, got %v", err)
	}
	if rep.Total != 200 || rep.Target != 3 || rep.UpToDate != 0 || len(rep.Results) != 200 {
		t.Fatalf("report: total %d target %d up to date %d results %d", rep.Total, rep.Target, rep.UpToDate, len(rep.Results))
	}
	if len(progress) != 200 || !slices.IsSorted(progress) || progress[199] != 200 {
		t.Fatalf("progress calls %v", progress)
	}
	failed := rep.Failed()
	if len(failed) != 1 || failed[0].Tenant != "tenant_077" || failed[0].From != 2 || failed[0].To != 2 || failed[0].Applied != 0 {
		t.Fatalf("failed: %+v", failed)
	}
	for _, want := range []string{"version 3", "boom in tenant_077"} {
		if !strings.Contains(failed[0].Err.Error(), want) {
			t.Errorf("error %q does not mention %q", failed[0].Err, want)
		}
	}
	v := d.versions(rt, names)
	for _, n := range names {
		want := int64(3)
		if n == "tenant_077" {
			want = 2
		}
		if v[n] != want {
			t.Fatalf("%s at version %d, want %d", n, v[n], want)
		}
	}
	// The failed migration left nothing: its CREATE TABLE and INSERT ran
	// before the exception, in the same transaction.
	if d.int(`SELECT count(*) FROM pg_tables WHERE schemaname = 'tenant_077' AND tablename = 'notes'`) != 0 || d.marks("tenant_077", "v3") != 0 {
		t.Fatal("tenant_077 is half-migrated")
	}
	if d.marks("tenant_078", "v3") != 1 {
		t.Fatal("tenant_078 not migrated")
	}

	// Fixed: the rerun migrates the failed tenant only.
	fixed := d.open(lcMigs("00003_notes.sql", lcNotes))
	rep, err = fixed.MigrateTenants(ctx, runtime.MigrateOptions{Parallel: 8})
	if err != nil {
		t.Fatal(err)
	}
	if rep.UpToDate != 199 || len(rep.Results) != 1 || rep.Results[0].Tenant != "tenant_077" || rep.Results[0].Applied != 1 || rep.Results[0].To != 3 {
		t.Fatalf("rerun report: %+v", rep)
	}
	if d.marks("tenant_077", "v3") != 1 {
		t.Fatal("tenant_077 not migrated")
	}

	// Up to date: one look at the versions, no goose run.
	start = time.Now()
	rep, err = fixed.MigrateTenants(ctx, runtime.MigrateOptions{Parallel: 8})
	elapsed := time.Since(start)
	t.Logf("checking 200 up-to-date tenants: %s", elapsed)
	if err != nil || rep.UpToDate != 200 || rep.Total != 200 || len(rep.Results) != 0 {
		t.Fatalf("no-op run: %v %+v", err, rep)
	}
	if d.int(`SELECT count(*) FROM tenant_000.goose_db_version`) != 4 {
		t.Fatal("the no-op run wrote to a version table")
	}
	if elapsed > 2*time.Second {
		t.Errorf("checking an up-to-date fleet took %s", elapsed)
	}
}

// TestConcurrentMigrators runs two migrators over the same tenants: each
// tenant gets version 3, which inserts a row, exactly once.
func TestConcurrentMigrators(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	names := lcNames(20)
	rt := d.setup(lcMigs())
	createAll(t, rt, names, 4)
	slowNotes := strings.Replace(lcNotes, "INSERT", "SELECT pg_sleep(0.05);\nINSERT", 1)
	a, b := d.open(lcMigs("00003_notes.sql", slowNotes)), d.open(lcMigs("00003_notes.sql", slowNotes))
	var reps [2]*runtime.MigrateReport
	var errs [2]error
	var wg sync.WaitGroup
	start := time.Now()
	for i, m := range []*runtime.DB{a, b} {
		wg.Go(func() { reps[i], errs[i] = m.MigrateTenants(ctx, runtime.MigrateOptions{Parallel: 4}) })
	}
	wg.Wait()
	t.Logf("two migrators over 20 tenants: %s", time.Since(start))
	applied := 0
	for i := range reps {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		for _, r := range reps[i].Results {
			applied += r.Applied
		}
	}
	for _, n := range names {
		if got := d.marks(n, "v3"); got != 1 {
			t.Errorf("%s has %d v3 rows", n, got)
		}
		if got := d.int(`SELECT count(*) FROM ` + n + `.goose_db_version WHERE version_id = 3`); got != 1 {
			t.Errorf("%s has version 3 recorded %d times", n, got)
		}
	}
	if applied != len(names) {
		t.Errorf("the two migrators applied %d migrations together, want %d", applied, len(names))
	}
}

// The killed-migrator tests run a migrator in a child process, a copy of
// the test binary running TestHelperProcess, and SIGKILL it mid-run.

const lcHelperEnv = "TENANTGEN_LIFECYCLE_HELPER"

// lcSlowMarks is a slow version 3 inserting two rows, around its sleep.
var lcSlowMarks = `-- +goose Up
INSERT INTO marks (note) VALUES ('v3 before');
SELECT pg_sleep(0.25);
INSERT INTO marks (note) VALUES ('v3 after');

-- +goose Down
DELETE FROM marks WHERE note LIKE 'v3 %';
`

// lcSlowSku is version 2, taking a second.
var lcSlowSku = strings.Replace(lcTenantSku, "ALTER TABLE", "SELECT pg_sleep(1);\nALTER TABLE", 1)

// TestHelperProcess is not a test: the killed-migrator tests run it in a
// child process.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(lcHelperEnv)
	if mode == "" {
		t.Skip("a helper for the killed-migrator tests")
	}
	ctx := context.Background()
	var err error
	switch mode {
	case "migrate":
		var rt *runtime.DB
		rt, err = runtime.Open(ctx, os.Getenv(lcHelperEnv+"_URL"), runtime.WithMigrations(lcMigs("00003_slow.sql", lcSlowMarks)), lcQuiet)
		if err == nil {
			_, err = rt.MigrateTenants(ctx, runtime.MigrateOptions{Parallel: 2})
		}
	case "create":
		var rt *runtime.DB
		rt, err = runtime.Open(ctx, os.Getenv(lcHelperEnv+"_URL"), runtime.WithMigrations(lcMigs("00002_sku.sql", lcSlowSku)), lcQuiet)
		if err == nil {
			err = rt.CreateTenant(ctx, runtime.MustTenant("halfmade"), runtime.CreateOptions{})
		}
	}
	// Only reached when the parent did not kill us in time.
	fmt.Println("helper finished:", err)
}

// startHelper runs TestHelperProcess in a child process on d's database,
// its connections named tenantgen_killed.
func startHelper(t *testing.T, d *lcDB, mode string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(),
		lcHelperEnv+"="+mode,
		lcHelperEnv+"_URL="+lcWithParam(d.url, "application_name", "tenantgen_killed"),
		// The child's TestMain must not create a database of its own,
		// which a killed child would never drop.
		"TENANTGEN_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
	)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, out
}

// killWhen SIGKILLs the child once cond holds.
func killWhen(t *testing.T, cmd *exec.Cmd, out *bytes.Buffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("the helper never got there; its output:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if strings.Contains(out.String(), "helper finished") {
		t.Fatalf("the helper finished before it was killed:\n%s", out)
	}
}

// waitForKilledBackends waits until the server has noticed the death of the
// child's connections, which a backend in the middle of a statement only
// does at its end.
func (d *lcDB) waitForKilledBackends() {
	d.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for d.int(`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tenantgen_killed'`) > 0 {
		if time.Now().After(deadline) {
			d.t.Fatal("the killed helper's backends are still there")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKilledMigrator(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	names := lcNames(12)
	rt := d.setup(lcMigs())
	createAll(t, rt, names, 4)

	cmd, out := startHelper(t, d, "migrate")
	killWhen(t, cmd, out, func() bool {
		n := 0
		for _, v := range d.versions(rt, names) {
			if v == 3 {
				n++
			}
		}
		return n >= 3
	})
	// Each tenant is at version 3 with both rows or at 2 with none, never
	// in between; and the kill left some behind.
	d.waitForKilledBackends()
	v := d.versions(rt, names)
	behind := 0
	for _, n := range names {
		rows := d.marks(n, "v3 %")
		switch {
		case v[n] == 3 && rows == 2:
		case v[n] == 2 && rows == 0:
			behind++
		default:
			t.Fatalf("%s half-applied: version %d with %d rows", n, v[n], rows)
		}
	}
	if behind == 0 {
		t.Fatal("the kill came too late to test anything")
	}
	t.Logf("killed with %d of %d tenants behind", behind, len(names))

	rerun := d.open(lcMigs("00003_slow.sql", lcSlowMarks))
	rep, err := rerun.MigrateTenants(ctx, runtime.MigrateOptions{Parallel: 4})
	if err != nil || len(rep.Results) != behind || rep.UpToDate != len(names)-behind {
		t.Fatalf("rerun: %v %+v", err, rep)
	}
	v = d.versions(rt, names)
	for _, n := range names {
		if v[n] != 3 || d.marks(n, "v3 %") != 2 || d.int(`SELECT count(*) FROM `+n+`.goose_db_version WHERE version_id = 3`) != 1 {
			t.Fatalf("%s after the rerun: version %d, %d rows", n, v[n], d.marks(n, "v3 %"))
		}
	}
}

// TestKilledCreator kills a CreateTenant half-way and creates the tenant
// again, without waiting for the server to notice the death.
func TestKilledCreator(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	cmd, out := startHelper(t, d, "create")
	// The migrations run in one transaction, whose tables nobody else
	// sees: kill while it sleeps in version 2, version 1 done.
	killWhen(t, cmd, out, func() bool {
		return d.schemaExists("halfmade") &&
			d.int(`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tenantgen_killed' AND query LIKE '%pg_sleep(1)%'`) == 1
	})
	if d.state("halfmade") != "creating" {
		t.Fatalf("state %q after the kill", d.state("halfmade"))
	}
	if err := rt.CreateTenant(ctx, runtime.MustTenant("halfmade"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if d.state("halfmade") != "active" || d.versions(rt, []string{"halfmade"})["halfmade"] != 2 {
		t.Fatal("not recreated")
	}
}

func TestDownTo(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs("00003_notes.sql", lcNotes))
	names := []string{"thor", "potter", "loki"}
	createAll(t, rt, names, 2)
	one := int64(1)
	rep, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{"thor", "potter"}, DownTo: &one})
	if err != nil || len(rep.Results) != 2 || rep.Results[0].Applied != 2 || rep.Results[0].From != 3 || rep.Results[0].To != 1 {
		t.Fatalf("down: %v %+v", err, rep)
	}
	if v := d.versions(rt, names); v["thor"] != 1 || v["potter"] != 1 || v["loki"] != 3 {
		t.Fatalf("versions %v", v)
	}
	if d.int(`SELECT count(*) FROM pg_tables WHERE schemaname = 'thor' AND tablename = 'notes'`) != 0 || d.marks("thor", "v3") != 0 {
		t.Fatal("version 3 not undone")
	}
	// Already there: nothing to do.
	rep, err = rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{"thor"}, DownTo: &one})
	if err != nil || len(rep.Results) != 0 || rep.UpToDate != 1 {
		t.Fatalf("down again: %v %+v", err, rep)
	}
	// Back up.
	rep, err = rt.MigrateTenants(ctx, runtime.MigrateOptions{})
	if err != nil || len(rep.Results) != 2 || rep.UpToDate != 1 {
		t.Fatalf("up: %v %+v", err, rep)
	}
	if v := d.versions(rt, names); v["thor"] != 3 || v["potter"] != 3 {
		t.Fatalf("versions %v", v)
	}
}

func TestDryRun(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	names := []string{"thor", "potter"}
	createAll(t, rt, names, 2)
	next := d.open(lcMigs("00003_notes.sql", lcNotes))
	rep, err := next.MigrateTenants(ctx, runtime.MigrateOptions{DryRun: true})
	if err != nil || len(rep.Results) != 2 || rep.Results[0].From != 2 || rep.Results[0].To != 3 || rep.Results[0].Applied != 0 {
		t.Fatalf("dry run: %v %+v", err, rep)
	}
	zero := int64(0)
	rep, err = next.MigrateTenants(ctx, runtime.MigrateOptions{DryRun: true, DownTo: &zero})
	if err != nil || len(rep.Results) != 2 || rep.Results[1].To != 0 {
		t.Fatalf("dry run down: %v %+v", err, rep)
	}
	if v := d.versions(rt, names); v["thor"] != 2 || v["potter"] != 2 {
		t.Fatalf("a dry run migrated: %v", v)
	}
	if d.int(`SELECT count(*) FROM pg_tables WHERE tablename = 'notes'`) != 0 {
		t.Fatal("a dry run migrated")
	}
}

// TestFailFast: with every tenant failing, FailFast starts no tenant after
// the first failure: only the first Parallel ones ran.
func TestFailFast(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	names := lcNames(30)
	rt := d.setup(lcMigs())
	createAll(t, rt, names, 4)
	bad := d.open(lcMigs("00003_doomed.sql", lcAlwaysFails))
	rep, err := bad.MigrateTenants(ctx, runtime.MigrateOptions{Parallel: 2, FailFast: true})
	if !errors.Is(err, runtime.ErrMigrationsFailed) {
		t.Fatalf("want ErrMigrationsFailed, got %v", err)
	}
	ran, notStarted := 0, 0
	for _, r := range rep.Results {
		switch {
		case r.Err == nil:
			t.Fatalf("%s succeeded", r.Tenant)
		case strings.Contains(r.Err.Error(), "division by zero"):
			ran++
		case strings.Contains(r.Err.Error(), "not started"):
			notStarted++
		default:
			t.Fatalf("%s: %v", r.Tenant, r.Err)
		}
	}
	if ran != 2 || notStarted != 28 {
		t.Fatalf("%d tenants ran, %d not started; want 2 and 28", ran, notStarted)
	}
	// Without FailFast, all run.
	rep, _ = bad.MigrateTenants(ctx, runtime.MigrateOptions{Parallel: 4})
	if len(rep.Failed()) != 30 {
		t.Fatalf("%d failed", len(rep.Failed()))
	}
	for _, r := range rep.Results {
		if !strings.Contains(r.Err.Error(), "division by zero") {
			t.Fatalf("%s: %v", r.Tenant, r.Err)
		}
	}
	// A cancelled context starts nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	rep, err = bad.MigrateTenants(cctx, runtime.MigrateOptions{})
	if err == nil || (rep != nil && len(rep.Results) > 0 && !errors.Is(rep.Results[0].Err, context.Canceled)) {
		t.Fatalf("cancelled: %v %+v", err, rep)
	}
}

func TestMigrateTenantsByName(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	createAll(t, rt, []string{"thor", "potter"}, 2)
	next := d.open(lcMigs("00003_notes.sql", lcNotes))
	rep, err := next.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{"thor", "thor"}})
	if err != nil || rep.Total != 1 || len(rep.Results) != 1 {
		t.Fatalf("%v %+v", err, rep)
	}
	if v := d.versions(rt, []string{"thor", "potter"}); v["thor"] != 3 || v["potter"] != 2 {
		t.Fatalf("versions %v", v)
	}
	for _, bad := range [][]string{{"nobody"}, {"thor", "Potter"}, {`x"; DROP SCHEMA public; --`}, {"public"}} {
		if _, err := next.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: bad}); err == nil {
			t.Errorf("migrated %q", bad)
		}
	}
	if v := d.versions(rt, []string{"potter"}); v["potter"] != 2 {
		t.Fatal("a refused run migrated potter")
	}
}

// TestStatus: one tenant up to date, one behind, one ahead of the files
// (migrated by a newer set than the one this runtime has).
func TestStatus(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	old := d.setup(lcMigs())

	empty, err := old.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(empty)
	if !strings.Contains(string(raw), `"tenants":[]`) {
		t.Fatalf("an empty fleet's tenants are not []: %s", raw)
	}

	createAll(t, old, []string{"ahead", "behind", "current"}, 3)
	one := int64(1)
	if _, err := old.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{"behind"}, DownTo: &one}); err != nil {
		t.Fatal(err)
	}
	newer := d.open(lcMigs("00003_notes.sql", lcNotes))
	if _, err := newer.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{"ahead"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.admin.Exec(ctx, `INSERT INTO tenantgen_tenants (name, state) VALUES ('zombie', 'creating')`); err != nil {
		t.Fatal(err)
	}

	st, err := old.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Shared != (runtime.SetStatus{Version: 1, Latest: 1}) {
		t.Errorf("shared %+v", st.Shared)
	}
	want := []runtime.TenantStatus{
		{Tenant: "ahead", State: "active", SetStatus: runtime.SetStatus{Version: 3, Latest: 2}, Note: "ahead of the files"},
		{Tenant: "behind", State: "active", SetStatus: runtime.SetStatus{Version: 1, Latest: 2, Pending: 1}, Note: "behind"},
		{Tenant: "current", State: "active", SetStatus: runtime.SetStatus{Version: 2, Latest: 2}},
		{Tenant: "zombie", State: "creating", SetStatus: runtime.SetStatus{Version: 0, Latest: 2, Pending: 2}, Note: "behind"},
	}
	if !slices.Equal(st.Tenants, want) || st.UpToDate != 1 || st.Behind != 2 || st.Ahead != 1 {
		t.Fatalf("status %+v", st)
	}

	// The JSON of `tenantgen status --json`.
	raw, err = json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	if k := keys(doc); !slices.Equal(k, []string{"ahead", "behind", "shared", "tenants", "up_to_date"}) {
		t.Errorf("top-level keys %v", k)
	}
	if k := keys(doc["shared"].(map[string]any)); !slices.Equal(k, []string{"latest", "pending", "version"}) {
		t.Errorf("shared keys %v", k)
	}
	first := doc["tenants"].([]any)[0].(map[string]any)
	if k := keys(first); !slices.Equal(k, []string{"latest", "note", "pending", "state", "tenant", "version"}) {
		t.Errorf("tenant keys %v", k)
	}
	if first["tenant"] != "ahead" || first["version"] != 3.0 || first["note"] != "ahead of the files" {
		t.Errorf("first tenant %v", first)
	}
	if _, ok := doc["tenants"].([]any)[2].(map[string]any)["note"]; ok {
		t.Error("an up-to-date tenant has a note")
	}
}

// TestHostileTenantNames: every name that is not a plain lower-case
// identifier is refused before anything reaches the database, and names
// that are SQL keywords work, quoted everywhere.
func TestHostileTenantNames(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	before := d.schemas()
	hostile := []string{
		`x"; DROP SCHEMA public CASCADE; --`,
		`thor'; DROP TABLE tenantgen_tenants; --`,
		`thor"."items`,
		`"thor"`,
		"thor; drop schema public",
		"thor\n", "thor\x00", "thor\u200b", "ｔｈｏｒ", "thör", "ünïcode", "θor",
		"Thor", "THOR", "SELECT", "Public",
		"pg_catalog", "pg_temp", "pg_toast", "pg_", "pg_thor",
		"public", "information_schema",
		"", " ", "1thor", "tenant-1", "a.b", "$tenant", "thor*", "%",
		strings.Repeat("a", 64), strings.Repeat("é", 40), strings.Repeat("x", 10000),
	}
	for _, name := range hostile {
		tn, err := runtime.ParseTenant(name)
		if !errors.Is(err, runtime.ErrInvalidTenant) || !tn.IsZero() {
			t.Errorf("ParseTenant(%q) = %v, %v", name, tn, err)
		}
		if len(err.Error()) > 300 {
			t.Errorf("ParseTenant error of %d bytes", len(err.Error()))
		}
		if _, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{name}}); err == nil {
			t.Errorf("MigrateTenants(%q) accepted it", name)
		}
	}
	if err := rt.CreateTenant(ctx, runtime.Tenant{}, runtime.CreateOptions{}); err == nil {
		t.Error("created the zero tenant")
	}
	if after := d.schemas(); !slices.Equal(before, after) || d.int(`SELECT count(*) FROM tenantgen_tenants`) != 0 {
		t.Fatalf("refused names created something: %v -> %v", before, after)
	}
	// The registry refuses them too, whatever writes to it.
	if _, err := d.admin.Exec(ctx, `INSERT INTO tenantgen_tenants (name) VALUES ('Thor')`); err == nil {
		t.Error("the registry took an upper-case name")
	}
	if _, err := d.admin.Exec(ctx, `INSERT INTO tenantgen_tenants (name) VALUES ('pg_x')`); err == nil {
		t.Error("the registry took a pg_ name")
	}

	// Keywords and odd-but-valid names are fine: quoted everywhere,
	// including goose's version table.
	odd := []string{"select", "user", "order", "_", "public_", "pg", strings.Repeat("z", 63)}
	for _, name := range odd {
		if err := rt.CreateTenant(ctx, runtime.MustTenant(name), runtime.CreateOptions{}); err != nil {
			t.Fatalf("creating %q: %v", name, err)
		}
	}
	next := d.open(lcMigs("00003_notes.sql", lcNotes))
	rep, err := next.MigrateTenants(ctx, runtime.MigrateOptions{})
	if err != nil || len(rep.Results) != len(odd) {
		t.Fatalf("migrating odd names: %v %+v", err, rep)
	}
	st, err := next.Status(ctx)
	if err != nil || st.UpToDate != len(odd) {
		t.Fatalf("status: %v %+v", err, st)
	}
	one := int64(1)
	if _, err := next.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{"select"}, DownTo: &one}); err != nil {
		t.Fatal(err)
	}
	if v := d.versions(rt, []string{"select", "user"}); v["select"] != 1 || v["user"] != 3 {
		t.Fatalf("versions %v", v)
	}
	for _, name := range odd {
		if err := rt.DropTenant(ctx, runtime.MustTenant(name), name); err != nil {
			t.Fatalf("dropping %q: %v", name, err)
		}
	}
	if after := d.schemas(); !slices.Equal(before, after) {
		t.Fatalf("schemas %v -> %v", before, after)
	}
}

// TestEmptyTenantSet: a project without tenant migrations yet creates
// empty schemas.
func TestEmptyTenantSet(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(runtime.Migrations{Shared: fstest.MapFS{}, Tenant: fstest.MapFS{}})
	if err := rt.CreateTenant(ctx, runtime.MustTenant("bare"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !d.schemaExists("bare") || d.state("bare") != "active" {
		t.Fatal("not created")
	}
	rep, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{})
	if err != nil || rep.UpToDate != 1 {
		t.Fatalf("%v %+v", err, rep)
	}
}

// TestNoTransactionMigrationFailingHalfway: a NO TRANSACTION migration that
// fails after its first statement leaves that statement applied. The tenant
// must be reported as failed at the previous version, with an error that
// says so plainly, and never as migrated.
func TestNoTransactionMigrationFailingHalfway(t *testing.T) {
	ctx := context.Background()
	d := newLCDB(t)
	half := `-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY items_name_idx ON items (name);
SELECT 1/0;

-- +goose Down
DROP INDEX CONCURRENTLY items_name_idx;
`
	rt := d.setup(lcMigs("00003_index.sql", half))
	tn := runtime.MustTenant("halfway")
	if err := rt.CreateTenant(ctx, tn, runtime.CreateOptions{}); err == nil {
		t.Fatal("created despite a failing migration")
	}
	// Create from versions 1-2, then add the failing version 3.
	if err := d.open(lcMigs()).CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{})
	if !errors.Is(err, runtime.ErrMigrationsFailed) || len(rep.Failed()) != 1 {
		t.Fatalf("MigrateTenants: %v %+v", err, rep)
	}
	res := rep.Failed()[0]
	msg := res.Err.Error()
	for _, want := range []string{"version 3", "without a transaction", "failed part-way", "stay applied", "division by zero"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q: %s", want, msg)
		}
	}
	if res.To != 2 || res.Applied != 0 {
		t.Fatalf("reported at version %d with %d applied; want 2 and 0", res.To, res.Applied)
	}
	if n := d.int(`SELECT count(*) FROM pg_indexes WHERE schemaname = 'halfway' AND indexname = 'items_name_idx'`); n != 1 {
		t.Fatalf("the statement before the failure is not there (%d): the test does not test what it says", n)
	}
	st, err := rt.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tenants[0].Version != 2 || st.Tenants[0].Pending != 1 {
		t.Fatalf("status: %+v", st.Tenants[0])
	}
}
