package runtime_test

import (
	"context"
	"errors"
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

	"github.com/tenantgen/tenantgen/example/kitchensink/db"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// stressOps is the number of operations of the isolation test: small enough
// for CI, scaled up with TENANTGEN_STRESS_OPS.
func stressOps() int {
	if n, err := strconv.Atoi(os.Getenv("TENANTGEN_STRESS_OPS")); err == nil && n > 0 {
		return n
	}
	return 4000
}

// isolationStats are the figures RELIABILITY.md reports.
type isolationStats struct {
	ops, reads, rowsChecked, writes            atomic.Int64
	cancels, failing, panics, kills, exhausted atomic.Int64
	otherErrors                                atomic.Int64
	crossTenant                                atomic.Int64
}

func (s *isolationStats) String() string {
	return fmt.Sprintf("ops=%d reads=%d rows_checked=%d writes=%d | faults: cancels=%d failing_statements=%d panics=%d killed_connections=%d pool_timeouts=%d | other_errors=%d cross_tenant=%d",
		s.ops.Load(), s.reads.Load(), s.rowsChecked.Load(), s.writes.Load(), s.cancels.Load(), s.failing.Load(), s.panics.Load(),
		s.kills.Load(), s.exhausted.Load(), s.otherErrors.Load(), s.crossTenant.Load())
}

// stressFleet creates n tenants on the kitchensink schema.
func stressFleet(t *testing.T, rt *runtime.DB, n int) []runtime.Tenant {
	t.Helper()
	ctx := context.Background()
	if _, err := rt.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	var out []runtime.Tenant
	for i := 0; i < n; i++ {
		tn := runtime.MustTenant(fmt.Sprintf("iso_%02d", i))
		_ = rt.DropTenant(ctx, tn, tn.String())
		if err := rt.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		out = append(out, tn)
	}
	return out
}

// runIsolation has workers run random generated queries for random tenants
// while faults are injected, and checks that every row read carries the
// tenant it was read for.
func runIsolation(t *testing.T, rt *runtime.DB, tenants []runtime.Tenant, ops, workers int, killer bool) *isolationStats {
	t.Helper()
	st := &isolationStats{}
	q := db.New(rt)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var bg sync.WaitGroup
	if killer {
		// Terminate the pool's server connections now and then.
		admin := pgtest.Connect(t)
		bg.Add(1)
		go func() {
			defer bg.Done()
			for ctx.Err() == nil {
				time.Sleep(30 * time.Millisecond)
				var n int
				err := admin.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'tenantgen_isolation' AND random() < 0.3`).Scan(&n)
				if err == nil {
					st.kills.Add(int64(n))
				}
			}
		}()
	}

	var remaining atomic.Int64
	remaining.Store(int64(ops))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 42))
			for remaining.Add(-1) >= 0 {
				tn := tenants[r.IntN(len(tenants))]
				st.ops.Add(1)
				isolationOp(t, q, rt, tn, r, st)
			}
		}(uint64(w))
	}
	wg.Wait()
	cancel()
	bg.Wait()
	return st
}

func isolationOp(t *testing.T, q *db.DB, rt *runtime.DB, tn runtime.Tenant, r *rand.Rand, st *isolationStats) {
	ctx := context.Background()
	check := func(got string) {
		st.rowsChecked.Add(1)
		if got != tn.String() {
			st.crossTenant.Add(1)
			t.Errorf("tenant %s read a row of %s", tn, got)
		}
	}
	classify := func(err error) {
		switch {
		case err == nil:
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			st.cancels.Add(1)
		case sqlState(err) == "22012" || sqlState(err) == "P0001":
			st.failing.Add(1)
		case sqlState(err) == "57P01" || sqlState(err) == "08006" || pgconnDead(err):
			// killed by the injector: counted there
		default:
			st.otherErrors.Add(1)
			t.Logf("unexpected error for %s: %v", tn, err)
		}
	}
	tq := q.Tenant(tn)
	switch k := r.IntN(10); k {
	case 0, 1: // write
		_, err := tq.CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "w", Status: db.ItemStatusActive, Tags: []string{tn.String()}})
		if err == nil {
			st.writes.Add(1)
		}
		classify(err)
	case 2, 3, 4: // read
		st.reads.Add(1)
		rows, err := tq.ListItemsByStatus(ctx, db.ItemStatusActive)
		for _, row := range rows {
			check(row.Tenant)
		}
		classify(err)
	case 5: // read in a transaction that also writes, then commits
		err := q.TenantTx(ctx, tn, func(tx *db.TenantQueries) error {
			if _, err := tx.CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "tx", Status: db.ItemStatusActive, Tags: []string{}}); err != nil {
				return err
			}
			items, err := tx.ListItemsByTag(ctx, tn.String())
			for _, it := range items {
				check(it.Tenant)
			}
			return err
		})
		classify(err)
	case 6: // cancellation mid-query
		cctx, cancel := context.WithTimeout(ctx, time.Duration(r.IntN(3000))*time.Microsecond)
		st.reads.Add(1)
		items, err := tq.ListItems(cctx)
		cancel()
		for _, it := range items {
			check(it.Tenant)
		}
		classify(err)
	case 7: // failing statement inside a transaction
		err := rt.TenantTx(ctx, tn, func(tx runtime.DBTX) error {
			if _, err := tx.Exec(ctx, `UPDATE "$tenant".items SET note = 'x' WHERE id = 1`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `SELECT 1/0`)
			return err
		})
		classify(err)
	case 8: // panic inside a transaction callback
		func() {
			defer func() {
				if p := recover(); p != nil {
					st.panics.Add(1)
				}
			}()
			_ = q.TenantTx(ctx, tn, func(tx *db.TenantQueries) error {
				_, _ = tx.CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "panic", Status: db.ItemStatusActive, Tags: []string{}})
				panic("injected")
			})
		}()
	case 9: // pool exhaustion: hold a connection, and ask for one with a short deadline
		cctx, cancel := context.WithTimeout(ctx, 2*time.Millisecond)
		_, err := rt.Tenant(tn).Exec(cctx, `SELECT pg_sleep(0.005) FROM "$tenant".items LIMIT 1`)
		cancel()
		if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			st.exhausted.Add(1)
		} else {
			classify(err)
		}
	}
}

func pgconnDead(err error) bool {
	var pe interface{ SafeToRetry() bool }
	return errors.As(err, &pe) || errors.Is(err, pgx.ErrTxClosed)
}

func stressRuntime(t *testing.T, conns int32) *runtime.DB {
	t.Helper()
	return openURL(t, pgtest.URL(t), conns, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.RuntimeParams["application_name"] = "tenantgen_isolation"
	})
}

// TestIsolationUnderLoadAndFaults is the isolation promise under load:
// every row any query reads belongs to the tenant it was read for, whatever
// fails around it. RELIABILITY.md records a scaled-up run.
func TestIsolationUnderLoadAndFaults(t *testing.T) {
	rt := stressRuntime(t, 4)
	tenants := stressFleet(t, rt, 8)
	st := runIsolation(t, rt, tenants, stressOps(), 16, true)
	t.Log(st)
	if st.crossTenant.Load() != 0 {
		t.Fatalf("cross-tenant reads: %d", st.crossTenant.Load())
	}
	if st.rowsChecked.Load() == 0 || st.cancels.Load()+st.failing.Load()+st.panics.Load() == 0 {
		t.Fatalf("the test checked nothing or injected nothing: %s", st)
	}
	// Writes stayed in their tenant too: every row of every schema carries
	// its schema's name.
	conn := pgtest.Connect(t)
	for _, tn := range tenants {
		var foreign int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM `+tn.Ident()+`.items WHERE tenant <> $1`, tn.String()).Scan(&foreign); err != nil {
			t.Fatal(err)
		}
		if foreign != 0 {
			t.Fatalf("%s holds %d rows written for other tenants", tn, foreign)
		}
	}
}

// TestRollingMigration keeps querying both halves of a fleet while one half
// is brought a migration ahead: queries valid in both versions keep working.
func TestRollingMigration(t *testing.T) {
	ctx := context.Background()
	rt := stressRuntime(t, 4)
	tenants := stressFleet(t, rt, 6)
	one := int64(1)
	var names []string
	for _, tn := range tenants {
		names = append(names, tn.String())
	}
	if _, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: names, DownTo: &one}); err != nil {
		t.Fatal(err)
	}
	q := db.New(rt)
	stop := make(chan struct{})
	var errs, ok atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tn := tenants[(i+w)%len(tenants)]
				rows, err := q.Tenant(tn).ListItemsByStatus(ctx, db.ItemStatusActive)
				if err == nil {
					_, err = q.Tenant(tn).ListItemsByTag(ctx, "x")
				}
				if err != nil {
					errs.Add(1)
					t.Errorf("%s: %v (SQLSTATE %s)", tn, err, sqlState(err))
					continue
				}
				for _, r := range rows {
					if r.Tenant != tn.String() {
						t.Errorf("cross-tenant row")
					}
				}
				ok.Add(1)
			}
		}(w)
	}
	time.Sleep(100 * time.Millisecond)
	// Half the fleet moves ahead while the queries run.
	if _, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: names[:3]}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	v, _ := rt.TenantVersions(ctx, names)
	if v[names[0]] != 2 || v[names[5]] != 1 {
		t.Fatalf("versions %v", v)
	}
	t.Logf("rolling migration: %d query pairs succeeded, %d failed, fleet at %v", ok.Load(), errs.Load(), v)
}
