package runtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// TestMeasureAffinity is a quick harness, not a benchmark: with
// TENANTGEN_MEASURE=1 it prints point-SELECT throughput of the affine
// runtime, the shared pool (WithoutAffinity) and raw pgx on one schema (the
// limit L), as ratios to L measured just before, for N=100 and N=10,000
// one-table tenants, pool 8, c=1 and c=16. TENANTGEN_MEASURE_SECONDS sets
// the length of each round (default 3).
func TestMeasureAffinity(t *testing.T) {
	if os.Getenv("TENANTGEN_MEASURE") != "1" {
		t.Skip("set TENANTGEN_MEASURE=1 to measure")
	}
	secs := 3
	if n, err := strconv.Atoi(os.Getenv("TENANTGEN_MEASURE_SECONDS")); err == nil && n > 0 {
		secs = n
	}
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	setup := openURL(t, url, 2, nil, lcQuiet)
	if _, err := setup.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	mkSchemas := func(from, to int) {
		for lo := from; lo < to; lo += 250 {
			hi := min(lo+250, to)
			if _, err := admin.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN FOR i IN %d..%d LOOP
				EXECUTE format('CREATE SCHEMA m_%%s; CREATE TABLE m_%%s.items (id int PRIMARY KEY, val text); INSERT INTO m_%%s.items SELECT g, ''v'' || g FROM generate_series(1, 100) g; INSERT INTO public.tenantgen_tenants (name, state) VALUES (''m_%%s'', ''active'')', i, i, i, i);
				END LOOP; END $$`, lo, hi-1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := admin.Exec(ctx, `CREATE SCHEMA lim; CREATE TABLE lim.items (id int PRIMARY KEY, val text); INSERT INTO lim.items SELECT g, 'v' || g FROM generate_series(1, 100) g`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT id, val FROM "$tenant".items WHERE id = $1`
	const qLimit = `SELECT id, val FROM lim.items WHERE id = $1`
	made := 0
	for _, n := range []int{100, 10000} {
		mkSchemas(made, n)
		made = n
		tenants := make([]runtime.Tenant, n)
		for i := range tenants {
			tenants[i] = runtime.MustTenant(fmt.Sprintf("m_%d", i))
		}
		cfg := func() *pgxpool.Config {
			c, err := pgxpool.ParseConfig(url)
			if err != nil {
				t.Fatal(err)
			}
			c.MaxConns, c.MinConns = 8, 8
			return c
		}
		limit, err := pgxpool.NewWithConfig(ctx, cfg())
		if err != nil {
			t.Fatal(err)
		}
		affPrep, sharedPrep := &prepareCounter{}, &prepareCounter{}
		ac, sc := cfg(), cfg()
		ac.ConnConfig.Tracer, sc.ConnConfig.Tracer = affPrep, sharedPrep
		affine, err := runtime.OpenConfig(ctx, ac, lcQuiet)
		if err != nil {
			t.Fatal(err)
		}
		shared, err := runtime.OpenConfig(ctx, sc, lcQuiet, runtime.WithoutAffinity())
		if err != nil {
			t.Fatal(err)
		}
		runLimit := func(ctx context.Context, _ *rand.Rand, k int) error {
			var id int
			var v string
			return limit.QueryRow(ctx, qLimit, k).Scan(&id, &v)
		}
		on := func(rt *runtime.DB) func(context.Context, *rand.Rand, int) error {
			return func(ctx context.Context, r *rand.Rand, k int) error {
				var id int
				var v string
				return rt.Tenant(tenants[r.IntN(n)]).QueryRow(ctx, q, k).Scan(&id, &v)
			}
		}
		// Warm: every tenant on every connection it would use (all of
		// them for the shared pool), as a steady state has it.
		start := time.Now()
		for _, tn := range tenants {
			if _, err := affine.Tenant(tn).Exec(ctx, q, 1); err != nil {
				t.Fatal(err)
			}
		}
		warmAffine := time.Since(start)
		start = time.Now()
		warmAll(t, shared, tenants, q, 8)
		warmShared := time.Since(start)
		for _, c := range []int{1, 16} {
			for round := 1; round <= 3; round++ {
				l := throughput(t, c, secs, runLimit)
				sp, ap := affine.AffinityStats().Spills, affPrep.n.Load()
				a := throughput(t, c, secs, on(affine))
				sp, ap = affine.AffinityStats().Spills-sp, affPrep.n.Load()-ap
				shp := sharedPrep.n.Load()
				s := throughput(t, c, secs, on(shared))
				shp = sharedPrep.n.Load() - shp
				t.Logf("N=%d c=%d round %d: L=%.0f q/s, affine %.2f (spilled %.0f%%, prepares %.2f/query), shared %.2f (prepares %.2f/query)", n, c, round, l, a/l,
					100*float64(sp)/(a*float64(secs)), float64(ap)/(a*float64(secs)), s/l, float64(shp)/(s*float64(secs)))
			}
		}
		t.Logf("N=%d warm-up: affine %v (each tenant once), shared %v (each tenant on each of 8 connections)", n, warmAffine.Round(time.Millisecond), warmShared.Round(time.Millisecond))
		limit.Close()
		affine.Close()
		shared.Close()
	}
}

// warmAll runs q for every tenant on each of conns connections of rt's
// shared pool, by holding conns concurrent callers.
func warmAll(t *testing.T, rt *runtime.DB, tenants []runtime.Tenant, q string, conns int) {
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range tenants {
				tn := tenants[(i+w*len(tenants)/conns)%len(tenants)]
				if _, err := rt.Tenant(tn).Exec(context.Background(), q, 1); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
}

// throughput runs fn from c goroutines for secs seconds and returns
// calls per second.
func throughput(t *testing.T, c, secs int, fn func(context.Context, *rand.Rand, int) error) float64 {
	// A flag, not a context deadline: cancelling the queries in flight
	// would close their connections, and with them their statement caches.
	var stop atomic.Bool
	timer := time.AfterFunc(time.Duration(secs)*time.Second, func() { stop.Store(true) })
	defer timer.Stop()
	var ops atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 99))
			for !stop.Load() {
				if err := fn(context.Background(), r, 1+r.IntN(100)); err != nil {
					t.Error(err)
					return
				}
				ops.Add(1)
			}
		}(uint64(w))
	}
	wg.Wait()
	return float64(ops.Load()) / time.Since(start).Seconds()
}

// prepareCounter counts statements pgx prepares (cache misses).
type prepareCounter struct{ n atomic.Int64 }

func (p *prepareCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (p *prepareCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (p *prepareCounter) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	p.n.Add(1)
	return ctx
}
func (p *prepareCounter) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}
