package runtime_test

import (
	"context"
	"errors"
	goruntime "runtime"
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

// staleCounter counts the statements that failed on the server because
// their cached statement or description was stale, whether or not a caller
// saw the error.
type staleCounter struct{ n atomic.Int64 }

func (s *staleCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (s *staleCounter) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if c := sqlState(d.Err); c == "XX000" || c == "0A000" {
		s.n.Add(1)
	}
}

// staleQueries are kitchensink queries whose cached statements go stale
// when their tenant is recreated: an enum parameter (XX000 "cache lookup
// failed for type") or an enum result column (0A000 "cached plan must not
// change result type"), through Query, QueryRow and Exec.
var staleQueries = []struct {
	name string
	run  func(ctx context.Context, q *db.TenantQueries, tn runtime.Tenant) error
}{
	{"ListItemsByStatus", func(ctx context.Context, q *db.TenantQueries, _ runtime.Tenant) error {
		_, err := q.ListItemsByStatus(ctx, db.ItemStatusActive)
		return err
	}},
	{"ListItems", func(ctx context.Context, q *db.TenantQueries, _ runtime.Tenant) error {
		_, err := q.ListItems(ctx)
		return err
	}},
	{"GetItem", func(ctx context.Context, q *db.TenantQueries, _ runtime.Tenant) error {
		_, err := q.GetItem(ctx, 1)
		return err
	}},
	{"CreateItem", func(ctx context.Context, q *db.TenantQueries, tn runtime.Tenant) error {
		_, err := q.CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "x", Status: db.ItemStatusActive, Tags: []string{}})
		return err
	}},
	{"UpdateItemStatus", func(ctx context.Context, q *db.TenantQueries, _ runtime.Tenant) error {
		return q.UpdateItemStatus(ctx, db.UpdateItemStatusParams{ID: 1, Status: db.ItemStatusActive})
	}},
	{"CountItems", func(ctx context.Context, q *db.TenantQueries, _ runtime.Tenant) error {
		_, err := q.CountItems(ctx)
		return err
	}},
}

// openCounted opens a kitchensink runtime on a pool of two connections in
// mode, counting stale statements.
func openCounted(t *testing.T, url string, mode pgx.QueryExecMode, opts ...runtime.Option) (*runtime.DB, *staleCounter) {
	t.Helper()
	sc := &staleCounter{}
	rt := openURL(t, url, 2, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.DefaultQueryExecMode = mode
		cfg.ConnConfig.Tracer = sc
	}, append([]runtime.Option{lcQuiet}, opts...)...)
	return rt, sc
}

// onEveryConn runs fn through rt's pool once per pool connection: all but
// one connection are held, so that the pool has to use that one.
func onEveryConn(t *testing.T, rt *runtime.DB, fn func()) {
	t.Helper()
	ctx := context.Background()
	a, err := rt.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rt.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.Release()
	fn() // on a's connection, the only idle one
	if a, err = rt.Pool().Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	b.Release()
	fn() // on b's
	a.Release()
}

// TestTenantRecreatedUnderCachedStatements: two runtimes (two pools) on one
// database have every connection's statements cached for a tenant; it is
// dropped and recreated through one of them. Callers of either see no
// error: the runtime that recreated it reset its pool (no statement failed
// even internally), the other retried each stale statement once, on its
// connection.
func TestTenantRecreatedUnderCachedStatements(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	tn := runtime.MustTenant("phoenix")
	for _, mode := range execModes {
		t.Run(mode.String(), func(t *testing.T) {
			a, aStale := openCounted(t, url, mode)
			// b does not hear of a's changes (notify.go): as another
			// process missing the notification would, it retries.
			b, bStale := openCounted(t, url, mode, runtime.WithoutRegistryNotifications())
			if _, err := a.MigrateShared(ctx); err != nil {
				t.Fatal(err)
			}
			_ = a.DropTenant(ctx, tn, tn.String())
			recreate := func() {
				t.Helper()
				_ = a.DropTenant(ctx, tn, tn.String())
				if err := a.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				if _, err := db.New(a).Tenant(tn).CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "first", Status: db.ItemStatusDraft, Tags: []string{}}); err != nil {
					t.Fatal(err)
				}
			}
			recreate()
			runAll := func(rt *runtime.DB) {
				t.Helper()
				onEveryConn(t, rt, func() {
					for _, sq := range staleQueries {
						if err := sq.run(ctx, db.New(rt).Tenant(tn), tn); err != nil {
							t.Errorf("%s: caller saw %v (SQLSTATE %s)", sq.name, err, sqlState(err))
						}
					}
				})
			}
			runAll(a) // every connection of both pools caches them
			runAll(b)
			aStale.n.Store(0)
			bStale.n.Store(0)

			recreate()
			runAll(a)
			runAll(b)
			if n := aStale.n.Load(); n != 0 {
				t.Errorf("the runtime that recreated the tenant ran %d stale statements: its pool was not reset", n)
			}
			cached := mode == pgx.QueryExecModeCacheStatement || mode == pgx.QueryExecModeCacheDescribe
			if n := bStale.n.Load(); cached && n == 0 {
				t.Errorf("the other runtime ran no stale statement: the test did not make any")
			} else {
				t.Logf("other runtime: %d stale statements retried, 0 seen by callers", n)
			}
			bStale.n.Store(0)
			runAll(b)
			if n := bStale.n.Load(); n != 0 {
				t.Errorf("%d stale statements after the retries", n)
			}

			// Inside a transaction the stale statement's error is the
			// caller's (the transaction is aborted); the next try works.
			recreate()
			bq := db.New(b)
			err := bq.TenantTx(ctx, tn, func(tq *db.TenantQueries) error {
				_, err := tq.ListItemsByStatus(ctx, db.ItemStatusActive)
				return err
			})
			if c := sqlState(err); cached && c != "XX000" || !cached && err != nil {
				t.Fatalf("TenantTx on a stale statement: %v", err)
			}
			for i := 0; i < 2; i++ { // both connections may have been stale
				err = bq.TenantTx(ctx, tn, func(tq *db.TenantQueries) error {
					_, err := tq.ListItemsByStatus(ctx, db.ItemStatusActive)
					return err
				})
				if err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("TenantTx after the stale one: %v", err)
			}
		})
	}
}

// TestRecreateResetsAPoolItDidNotConfigure: a runtime wrapping a caller's
// pool (runtime.New) has no acquire hook to catch up in; recreating a
// tenant through it replaces the pool's connections instead, so that no
// statement goes stale there either.
func TestRecreateResetsAPoolItDidNotConfigure(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	sc := &staleCounter{}
	cfg.MaxConns = 2
	cfg.ConnConfig.Tracer = sc
	runtime.ConfigurePool(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rt := runtime.New(pool, runtime.WithMigrations(db.Migrations()), lcQuiet)
	if _, err := rt.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	tn := runtime.MustTenant("phoenix")
	q := db.New(rt)
	for round := 0; round < 2; round++ {
		_ = rt.DropTenant(ctx, tn, tn.String())
		if err := rt.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Tenant(tn).CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "first", Status: db.ItemStatusDraft, Tags: []string{}}); err != nil {
			t.Fatal(err)
		}
		onEveryConn(t, rt, func() {
			for _, sq := range staleQueries {
				if err := sq.run(ctx, q.Tenant(tn), tn); err != nil {
					t.Errorf("round %d %s: %v", round, sq.name, err)
				}
			}
		})
	}
	if n := sc.n.Load(); n != 0 {
		t.Fatalf("%d stale statements ran: the pool was not reset", n)
	}
}

// TestRecreateUnderLoad: goroutines query a tenant through two runtimes
// while one of them drops and recreates it again and again. Between a drop
// and the following create, queries fail honestly (the schema is gone); no
// caller ever sees a stale statement's error.
func TestRecreateUnderLoad(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	tn := runtime.MustTenant("phoenix")
	const cycles, workers = 6, 3
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe} {
		t.Run(mode.String(), func(t *testing.T) {
			a, aStale := openCounted(t, url, mode)
			// b does not hear of a's changes (notify.go): as another
			// process missing the notification would, it retries.
			b, bStale := openCounted(t, url, mode, runtime.WithoutRegistryNotifications())
			if _, err := a.MigrateShared(ctx); err != nil {
				t.Fatal(err)
			}
			_ = a.DropTenant(ctx, tn, tn.String())
			if err := a.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			var calls, ok, gap, stale atomic.Int64
			done := make(chan struct{})
			var wg sync.WaitGroup
			for _, rt := range []*runtime.DB{a, b} {
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func(q *db.DB, w int) {
						defer wg.Done()
						for i := w; ; i++ {
							select {
							case <-done:
								return
							default:
							}
							sq := staleQueries[i%len(staleQueries)]
							err := sq.run(ctx, q.Tenant(tn), tn)
							calls.Add(1)
							switch c := sqlState(err); {
							case err == nil, errors.Is(err, pgx.ErrNoRows):
							case c == "XX000" || c == "0A000":
								stale.Add(1)
								t.Errorf("%s: caller saw %v", sq.name, err)
							default:
								// The tenant is between a drop and a create (42P01,
								// 42883), or the drop's locks deadlocked with
								// this query (40P01).
								gap.Add(1)
								time.Sleep(time.Millisecond)
								continue
							}
							ok.Add(1)
						}
					}(db.New(rt), w)
				}
			}
			for i := 0; i < cycles; i++ {
				// DROP SCHEMA ... CASCADE can deadlock with the queries'
				// locks (40P01): the drop is then tried again.
				err := a.DropTenant(ctx, tn, tn.String())
				for tries := 0; sqlState(err) == "40P01" && tries < 10; tries++ {
					err = a.DropTenant(ctx, tn, tn.String())
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := a.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				// Let the workers run their queries on this incarnation.
				for n := ok.Load(); ok.Load() < n+int64(4*workers*len(staleQueries)); {
					goruntime.Gosched()
				}
			}
			close(done)
			wg.Wait()
			t.Logf("%d recreations, %d calls: %d failed between a drop and a create or deadlocked with the drop, %d stale statements retried (recreating runtime %d, other %d), %d seen by callers",
				cycles, calls.Load(), gap.Load(), aStale.n.Load()+bStale.n.Load(), aStale.n.Load(), bStale.n.Load(), stale.Load())
		})
	}
}

// TestOpenConfigKeepsCallersHooks: the runtime's connection hooks run
// before the caller's, which still run (BeforeAcquire too, which pgxpool
// would ignore once PrepareConn is set).
func TestOpenConfigKeepsCallersHooks(t *testing.T) {
	for _, prepare := range []bool{false, true} {
		var connects, acquires atomic.Int64
		rt := openURL(t, pgtest.URL(t), 1, func(cfg *pgxpool.Config) {
			cfg.AfterConnect = func(context.Context, *pgx.Conn) error { connects.Add(1); return nil }
			if prepare {
				cfg.PrepareConn = func(context.Context, *pgx.Conn) (bool, error) { acquires.Add(1); return true, nil }
			} else {
				cfg.BeforeAcquire = func(context.Context, *pgx.Conn) bool { acquires.Add(1); return true }
			}
		}, lcQuiet)
		for i := 0; i < 3; i++ {
			if err := rt.Pool().Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if connects.Load() != 1 || acquires.Load() != 3 {
			t.Fatalf("PrepareConn set: %v: AfterConnect ran %d times (want 1), the acquire hook %d (want 3)", prepare, connects.Load(), acquires.Load())
		}
	}
}
