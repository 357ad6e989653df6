package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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

// TestKilledBackendsFailNoRead: 16 clients read while the pool's backends
// are terminated again and again; every read succeeds, each retried once
// on another connection when its own was dead, with and without affinity.
func TestKilledBackendsFailNoRead(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []runtime.Option
	}{
		{"affine", nil},
		{"shared pool", []runtime.Option{runtime.WithoutAffinity()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := "tenantgen_kill_" + fmt.Sprint(len(tc.opts))
			rt := openURL(t, url, 4, func(cfg *pgxpool.Config) {
				cfg.ConnConfig.RuntimeParams["application_name"] = app
			}, append([]runtime.Option{lcQuiet, runtime.WithoutRegistryNotifications()}, tc.opts...)...)
			if _, err := rt.MigrateShared(ctx); err != nil {
				t.Fatal(err)
			}
			q := db.New(rt)
			var tenants []runtime.Tenant
			for i := 0; i < 4; i++ {
				tn := runtime.MustTenant(fmt.Sprintf("kill_%d", i))
				if err := rt.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil && !errors.Is(err, runtime.ErrTenantExists) {
					t.Fatal(err)
				}
				if _, err := q.Tenant(tn).CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "x", Status: db.ItemStatusDraft, Tags: []string{}}); err != nil {
					t.Fatal(err)
				}
				tenants = append(tenants, tn)
			}
			admin := pgtest.Connect(t)
			var kills atomic.Int64
			stop := make(chan struct{})
			killed := make(chan struct{})
			go func() {
				defer close(killed)
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
					// One backend at a time, each of the 4 living
					// ~0.4 s (the measurement killed every
					// 0.5 s): killing faster kills the retries' fresh
					// connections too, and rows already streaming.
					var n int64
					if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity
						WHERE application_name = $1 ORDER BY random() LIMIT 1) k`, app).Scan(&n); err == nil {
						kills.Add(n)
					}
				}
			}()
			var failed, reads atomic.Int64
			var wg sync.WaitGroup
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func(seed uint64) {
					defer wg.Done()
					r := rand.New(rand.NewPCG(seed, 7))
					for i := 0; i < 150 || kills.Load() < 10; i++ { // until some backends died
						tn := tenants[r.IntN(len(tenants))]
						var err error
						if i%2 == 0 {
							_, err = q.Tenant(tn).ListItems(ctx)
						} else {
							_, err = q.Tenant(tn).GetItem(ctx, 1)
						}
						reads.Add(1)
						if err != nil && !errors.Is(err, pgx.ErrNoRows) {
							if failed.Add(1) <= 3 {
								t.Errorf("read failed: %v", err)
							}
						}
					}
				}(uint64(w))
			}
			wg.Wait()
			close(stop)
			<-killed
			t.Logf("%d reads, %d backends killed, %d failed", reads.Load(), kills.Load(), failed.Load())
			if failed.Load() != 0 {
				t.Errorf("%d of %d reads failed", failed.Load(), reads.Load())
			}
		})
	}
}
