package runtime_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/tenantgen/tenantgen/runtime"
)

// lcV4 is a version 4 that marks the tenant.
const lcV4 = `-- +goose Up
INSERT INTO marks (note) VALUES ('v4');

-- +goose Down
DELETE FROM marks WHERE note = 'v4';
`

// waitFor polls cond until it holds; the deadline only stops a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSparePoolConcurrentSignUps: 12 sign-ups at once against a pool of 3
// spares: every tenant is created, seeded and mapped, no spare goes to two
// tenants, and the pool refills; spares are migrated with the fleet.
func TestSparePoolConcurrentSignUps(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	pool, err := rt.StartSparePool(ctx, 3, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Stop()
	if n, err := pool.Ready(ctx); err != nil || n != 3 || d.int(`SELECT count(*) FROM tenantgen_tenants WHERE state = 'spare'`) != 3 {
		t.Fatalf("ready %d %v", n, err)
	}
	if v := d.versions(rt, []string{}); len(v) != 0 {
		t.Fatal(v)
	}
	names := lcNames(12)
	var g errgroup.Group
	for _, n := range names {
		g.Go(func() error {
			return rt.CreateTenant(ctx, runtime.MustTenant(n), runtime.CreateOptions{
				Domains: []string{strings.ReplaceAll(n, "_", "-") + ".example"},
				Seed: func(ctx context.Context, tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO marks (note) VALUES ($1)`, "seed "+n)
					return err
				},
			})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	v := d.versions(rt, names)
	for _, n := range names {
		if d.state(n) != "active" || v[n] != 2 || d.marks(n, "seed "+n) != 1 || d.marks(n, "seed %") != 1 {
			t.Fatalf("%s: state %q version %d seed rows %d", n, d.state(n), v[n], d.marks(n, "seed %"))
		}
		if tn, ok, err := rt.TenantByDomain(ctx, strings.ReplaceAll(n, "_", "-")+".example"); err != nil || !ok || tn.String() != n {
			t.Fatalf("domain of %s: %v %v %v", n, tn, ok, err)
		}
	}
	st := pool.Stats()
	t.Logf("claimed %d of 12 sign-ups from spares, %d spares made", st.Claimed, st.Made)
	if st.Claimed == 0 || st.Claimed > 12 {
		t.Fatalf("claimed %d", st.Claimed)
	}
	// Refilled: each claim used up one spare of its own.
	waitFor(t, "the pool refilled", func() bool {
		n, _ := pool.Ready(ctx)
		return n == 3
	})
	st = pool.Stats()
	spareSchemas := d.int(`SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tg\_spare\_%'`)
	if st.Made-st.Claimed != 3 || spareSchemas != 3 || st.LastErr != nil {
		t.Fatalf("made %d claimed %d, %d spare schemas, %v", st.Made, st.Claimed, spareSchemas, st.LastErr)
	}
	if n := d.int(`SELECT count(*) FROM tenantgen_tenants WHERE state = 'active'`); n != 12 {
		t.Fatalf("%d active tenants", n)
	}

	// A sign-up whose seed fails leaves no tenant, and its spare spare.
	claimedBefore := pool.Stats().Claimed
	err = rt.CreateTenant(ctx, runtime.MustTenant("unlucky"), runtime.CreateOptions{Seed: runtime.SeedSQL(`SELECT 1/0`)})
	if err == nil || !strings.Contains(err.Error(), "division by zero") || d.schemaExists("unlucky") || d.state("unlucky") != "" {
		t.Fatalf("failing seed from a spare: %v", err)
	}
	if pool.Stats().Claimed != claimedBefore || spareSchemas != d.int(`SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tg\_spare\_%'`) {
		t.Fatal("the failed claim used up a spare")
	}

	// Spares are migrated with the fleet, and a pool on a newer set
	// migrates the ones behind before it hands them out.
	pool.Stop()
	next := d.open(lcMigs("00003_notes.sql", lcNotes))
	rep, err := next.MigrateTenants(ctx, runtime.MigrateOptions{})
	if err != nil || len(rep.Results) != 15 {
		t.Fatalf("fleet migration: %v %d results", err, len(rep.Results))
	}
	newer := d.open(lcMigs("00003_notes.sql", lcNotes, "00004_more.sql", lcV4))
	np, err := newer.StartSparePool(ctx, 3, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer np.Stop()
	var spares []string
	rows, _ := d.admin.Query(ctx, `SELECT name FROM tenantgen_tenants WHERE state = 'spare'`)
	spares, _ = pgx.CollectRows(rows, pgx.RowTo[string])
	for n, v := range d.versions(newer, spares) {
		if v != 4 {
			t.Fatalf("spare %s at %d", n, v)
		}
	}
	if err := newer.CreateTenant(ctx, runtime.MustTenant("late"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if np.Stats().Claimed != 1 || d.versions(newer, []string{"late"})["late"] != 4 || d.marks("late", "v4") != 1 {
		t.Fatalf("late sign-up: %+v", np.Stats())
	}
	if _, err := newer.StartSparePool(ctx, 1, time.Hour); err == nil {
		t.Fatal("two pools on one DB")
	}
}

// TestSparePoolEachSpareOnce: as many sign-ups at once as spares: each
// tenant is one of the spares, renamed (its schema's OID survives the
// rename), and no two tenants got the same one.
func TestSparePoolEachSpareOnce(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	pool, err := rt.StartSparePool(ctx, 6, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	oids := func(like string) []int {
		rows, _ := d.admin.Query(ctx, `SELECT oid::int FROM pg_namespace WHERE nspname LIKE $1 ORDER BY oid`, like)
		out, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	spares := oids(`tg\_spare\_%`)
	names := lcNames(6)
	var g errgroup.Group
	for _, n := range names {
		g.Go(func() error { return rt.CreateTenant(ctx, runtime.MustTenant(n), runtime.CreateOptions{}) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	pool.Stop()
	tenants := oids(`tenant\_%`)
	if st := pool.Stats(); st.Claimed != 6 || !slices.Equal(tenants, spares) {
		t.Fatalf("claimed %d; tenant schemas %v, spares were %v", st.Claimed, tenants, spares)
	}
}
