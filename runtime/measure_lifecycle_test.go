package runtime_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"golang.org/x/sync/errgroup"

	"github.com/tenantgen/tenantgen/runtime"
)

// TestMeasureLifecycle is a quick local measure, not a test: creation
// against the bare DDL in one transaction, and fleet migration against a
// loop of goose providers, on the bench's fleet schema (5 migrations, 11
// tables). It runs only with TENANTGEN_MEASURE=1 (timings are no
// assertions on a shared machine); TENANTGEN_MEASURE_FLEET sets the fleet
// size (default 200), TENANTGEN_MEASURE_DIR the migrations' directory.
func TestMeasureLifecycle(t *testing.T) {
	if os.Getenv("TENANTGEN_MEASURE") != "1" {
		t.Skip("set TENANTGEN_MEASURE=1 to measure")
	}
	dir := os.Getenv("TENANTGEN_MEASURE_DIR")
	if dir == "" {
		dir = "../cmd/tenantgen-bench/fleetdb/migrations"
	}
	migs := runtime.Migrations{Shared: os.DirFS(dir + "/shared"), Tenant: os.DirFS(dir + "/tenant")}
	if _, err := fs.Stat(migs.Tenant, "00001_init.sql"); err != nil {
		t.Skip("no fleet migrations at", dir)
	}
	fleet := 200
	if n := os.Getenv("TENANTGEN_MEASURE_FLEET"); n != "" {
		fmt.Sscan(n, &fleet)
	}
	d := newLCDB(t)
	rt := d.setup(migs)
	ddl := measureDDL(t, migs.Tenant)
	t.Run("create", func(t *testing.T) { measureCreate(t, d, rt, ddl) })
	t.Run("signup", func(t *testing.T) { measureSignUp(t, d, migs) })
	t.Run("fleet", func(t *testing.T) { measureFleet(t, d, migs, fleet, ddl) })
}

// measureDDL is the Up sections of a set, one script.
func measureDDL(t *testing.T, fsys fs.FS) string {
	names, _ := fs.Glob(fsys, "*.sql")
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		up := s[strings.Index(s, "-- +goose Up"):strings.Index(s, "-- +goose Down")]
		b.WriteString(up + "\n")
	}
	return b.String()
}

func measureCreate(t *testing.T, d *lcDB, rt *runtime.DB, ddl string) {
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tg, bare []time.Duration
	for i := range 60 {
		name := fmt.Sprintf("cr_%04d", i)
		t0 := time.Now()
		if err := rt.CreateTenant(ctx, runtime.MustTenant(name), runtime.CreateOptions{Domains: []string{strings.ReplaceAll(name, "_", "-") + ".example"}}); err != nil {
			t.Fatal(err)
		}
		tg = append(tg, time.Since(t0))
		bn := pgx.Identifier{fmt.Sprintf("cx_%04d", i)}.Sanitize()
		t0 = time.Now()
		if _, err := conn.Exec(ctx, "BEGIN; CREATE SCHEMA "+bn+"; SET LOCAL search_path TO "+bn+", public;\n"+ddl+"\nCOMMIT;").ReadAll(); err != nil {
			t.Fatal(err)
		}
		bare = append(bare, time.Since(t0))
	}
	tp, bp := p50(tg), p50(bare)
	t.Logf("creation p50: CreateTenant %s, bare DDL in one transaction %s: %.2fx (p99 %s vs %s)", tp, bp, float64(tp)/float64(bp), p99(tg), p99(bare))
}

func measureFleet(t *testing.T, d *lcDB, migs runtime.Migrations, n int, ddl string) {
	ctx := context.Background()
	var tgNames, gNames, lNames []string
	var b strings.Builder
	b.WriteString("BEGIN;")
	for i := range n {
		tgNames = append(tgNames, fmt.Sprintf("fm_%04d", i))
		gNames = append(gNames, fmt.Sprintf("fg_%04d", i))
		lNames = append(lNames, fmt.Sprintf("fl_%04d", i))
		fmt.Fprintf(&b, "CREATE SCHEMA fm_%04d; INSERT INTO tenantgen_tenants (name, state) VALUES ('fm_%04d', 'active'); CREATE SCHEMA fg_%04d; CREATE SCHEMA fl_%04d;", i, i, i, i)
	}
	b.WriteString("COMMIT;")
	if _, err := d.admin.Exec(ctx, b.String()); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for _, name := range gNames {
		cfg, _ := pgx.ParseConfig(lcWithParam(d.url, "search_path", name+",public"))
		db := stdlib.OpenDB(*cfg)
		p, err := goose.NewProvider(goose.DialectPostgres, db, migs.Tenant, goose.WithTableName(name+".goose_db_version"), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	loop := time.Since(t0)
	// L: the DDL alone, a transaction per tenant, on 4 connections.
	t0 = time.Now()
	var g errgroup.Group
	for w := range 4 {
		g.Go(func() error {
			conn, err := pgconn.Connect(ctx, d.url)
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			for i := w; i < len(lNames); i += 4 {
				if _, err := conn.Exec(ctx, "BEGIN; SET LOCAL search_path TO "+lNames[i]+", public;\n"+ddl+"\nCOMMIT;").ReadAll(); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	limit := time.Since(t0)
	t.Logf("fleet of %d x 5 migrations: the DDL alone on 4 connections %s", n, limit)
	rt := d.open(migs)
	for _, par := range []int{4} {
		t0 = time.Now()
		rep, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: tgNames, Parallel: par})
		if err != nil || len(rep.Results) != n {
			t.Fatal(err, rep)
		}
		took := time.Since(t0)
		t.Logf("fleet of %d x 5 migrations: goose loop %s, MigrateTenants parallel %d %s: %.2fx the loop, %.2fx the DDL alone", n, loop, par, took, float64(loop)/float64(took), float64(took)/float64(limit))
	}
}

func p50(ds []time.Duration) time.Duration { return pct(ds, 0.5) }
func p99(ds []time.Duration) time.Duration { return pct(ds, 0.99) }

func pct(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// measureSignUp times CreateTenant with a seed and a domain, without and
// with a spare pool of 3 kept full (each sign-up waits for the refill, as
// sign-ups spaced out in time would find it).
func measureSignUp(t *testing.T, d *lcDB, migs runtime.Migrations) {
	ctx := context.Background()
	seed := runtime.SeedSQL(`SELECT 1`)
	var without, with []time.Duration
	rt := d.open(migs)
	for i := range 30 {
		name := fmt.Sprintf("su_%04d", i)
		t0 := time.Now()
		if err := rt.CreateTenant(ctx, runtime.MustTenant(name), runtime.CreateOptions{Domains: []string{strings.ReplaceAll(name, "_", "-") + ".example"}, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		without = append(without, time.Since(t0))
	}
	pooled := d.open(migs)
	pool, err := pooled.StartSparePool(ctx, 3, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Stop()
	for i := range 30 {
		waitFor(t, "a full pool", func() bool { n, _ := pool.Ready(ctx); return n == 3 })
		name := fmt.Sprintf("sp_%04d", i)
		t0 := time.Now()
		if err := pooled.CreateTenant(ctx, runtime.MustTenant(name), runtime.CreateOptions{Domains: []string{strings.ReplaceAll(name, "_", "-") + ".example"}, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		with = append(with, time.Since(t0))
	}
	t.Logf("sign-up without a pool p50 %s p99 %s; with a pool of 3 p50 %s p99 %s (%d of 30 claimed)", p50(without), p99(without), p50(with), p99(with), pool.Stats().Claimed)
}
