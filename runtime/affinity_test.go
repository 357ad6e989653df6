package runtime_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// pidOf is the server process a DBTX's query ran on.
func pidOf(t *testing.T, q runtime.DBTX) uint32 {
	t.Helper()
	var pid uint32
	if err := q.QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

func manyTenants(n int) []runtime.Tenant {
	out := make([]runtime.Tenant, n)
	for i := range out {
		out[i] = runtime.MustTenant(fmt.Sprintf("aff_%03d", i))
	}
	return out
}

// TestTenantQueriesRunOnTheirHome: without contention, every query,
// transaction and batch of a tenant runs on its home slot's one backend;
// tenants of one slot share it, tenants of different slots do not.
func TestTenantQueriesRunOnTheirHome(t *testing.T) {
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			rt := open(t, 4, mode)
			if st := rt.AffinityStats(); st.Slots != 4 || st.Conns != 4 {
				t.Fatalf("stats %+v, want 4 slots of 1", st)
			}
			ctx := context.Background()
			slotPID := map[int]uint32{}
			tenants := manyTenants(40)
			for _, tn := range tenants {
				// Known before any connection is made, so that none is
				// replaced for a fleet grown past its cache's size.
				rt.Tenant(tn)
			}
			for _, tn := range tenants {
				home := rt.HomeSlot(tn)
				pids := []uint32{pidOf(t, rt.Tenant(tn)), pidOf(t, rt.Tenant(tn))}
				if err := rt.TenantTx(ctx, tn, func(tx runtime.DBTX) error {
					pids = append(pids, pidOf(t, tx))
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				b := &pgx.Batch{}
				b.Queue(`SELECT pg_backend_pid()`)
				br := rt.Tenant(tn).SendBatch(ctx, b)
				var pid uint32
				if err := br.QueryRow().Scan(&pid); err != nil {
					t.Fatal(err)
				}
				if err := br.Close(); err != nil {
					t.Fatal(err)
				}
				pids = append(pids, pid)
				if _, ok := slotPID[home]; !ok {
					slotPID[home] = pids[0]
				}
				for _, p := range pids {
					if p != slotPID[home] {
						t.Fatalf("%s (slot %d) ran on backends %v, its slot's is %d", tn, home, pids, slotPID[home])
					}
				}
			}
			distinct := map[uint32]bool{}
			for _, p := range slotPID {
				distinct[p] = true
			}
			if len(slotPID) != 4 || len(distinct) != 4 {
				t.Fatalf("40 tenants used slots %v: want 4 slots on 4 backends", slotPID)
			}
			if st := rt.AffinityStats(); st.Spills != 0 {
				t.Errorf("%d spills without contention", st.Spills)
			}
		})
	}
}

// TestWithoutAffinity: the option gives one shared pool, as before.
func TestWithoutAffinity(t *testing.T) {
	rt := openURL(t, pgtest.URL(t), 4, nil, runtime.WithoutAffinity())
	if st := rt.AffinityStats(); st.Slots != 0 || rt.HomeSlot(thor) != -1 {
		t.Fatalf("affinity still on: %+v", st)
	}
	if got := rt.Pool().Config().MaxConns; got != 4 {
		t.Fatalf("pool of %d, want the caller's 4", got)
	}
	pidOf(t, rt.Tenant(thor))
	pidOf(t, rt.Shared())
}

// TestHotTenantUsesEveryConnection: one tenant's concurrent queries, all
// blocked on a lock, hold every affine connection at once: its home does
// not cap it.
func TestHotTenantUsesEveryConnection(t *testing.T) {
	const conns = 4
	rt := openURL(t, pgtest.URL(t), conns, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.RuntimeParams["application_name"] = "tenantgen_hot"
	})
	admin := pgtest.Connect(t)
	ctx := context.Background()
	const key = 7012
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	pids := make([]uint32, conns)
	errs := make([]error, conns)
	for i := range pids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = rt.Tenant(thor).QueryRow(ctx, `SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock_shared($1)) l`, key).Scan(&pids[i])
		}()
	}
	// Wait (without a deadline of our own: the test's) until all of them
	// wait for the lock, each on a backend of its own.
	for {
		var waiting int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`, key).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == conns {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	distinct := map[uint32]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		distinct[pids[i]] = true
	}
	if len(distinct) != conns {
		t.Fatalf("hot tenant ran on backends %v, want %d distinct", pids, conns)
	}
	if st := rt.AffinityStats(); st.Spills < conns-2 { // two ran on its two first choices
		t.Errorf("%d spills, want at least %d", st.Spills, conns-2)
	}
}

// TestKilledConnectionMovesNoTenant: when one slot's backend is killed, the
// next query of its tenants runs (retried on a new connection of the same
// slot) and every other tenant keeps its backend.
func TestKilledConnectionMovesNoTenant(t *testing.T) {
	rt := open(t, 4, pgx.QueryExecModeCacheStatement)
	tenants := manyTenants(20)
	before := map[runtime.Tenant]uint32{}
	for _, tn := range tenants {
		before[tn] = pidOf(t, rt.Tenant(tn))
	}
	victim := tenants[0]
	admin := pgtest.Connect(t)
	if _, err := admin.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, before[victim]); err != nil {
		t.Fatal(err)
	}
	waitGone(t, admin, before[victim])
	for _, tn := range tenants {
		pid := pidOf(t, rt.Tenant(tn)) // fails without the retry
		killed := rt.HomeSlot(tn) == rt.HomeSlot(victim)
		if killed && pid == before[tn] {
			t.Errorf("%s still on the killed backend %d", tn, pid)
		}
		if !killed && pid != before[tn] {
			t.Errorf("%s moved from backend %d to %d, its slot's connection was not killed", tn, before[tn], pid)
		}
	}
}

// waitGone waits until backend pid has exited.
func waitGone(t *testing.T, admin *pgx.Conn, pid uint32) {
	t.Helper()
	for {
		var n int
		if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
