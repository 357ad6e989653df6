package runtime_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	tdb "github.com/tenantgen/tenantgen/example/types/db"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// countingConn counts the writes a connection makes: pgconn flushes each
// round trip's messages in one write, so it counts round trips.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// openTypes opens a runtime with example/types' migrations on a pool of one
// connection in the given mode, counting its round trips in writes.
func openTypes(t *testing.T, url string, mode pgx.QueryExecMode, writes *atomic.Int64) *runtime.DB {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	cfg.ConnConfig.DefaultQueryExecMode = mode
	if writes != nil {
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, writes}, nil
		}
	}
	// Not listening: another runtime's notification of a tenant created
	// arrives at any time and resets cached statements, which would make
	// the round trips counted here vary.
	rt, err := runtime.OpenConfig(context.Background(), cfg, runtime.WithMigrations(tdb.Migrations()), lcQuiet, runtime.WithoutRegistryNotifications())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}

// typeQueries are example/types' queries, each checking what it got back;
// together they send and read every tenant-scoped type: an enum, arrays of
// an enum, of a domain and of a composite type.
func typeQueries(tn runtime.Tenant) []struct {
	name string
	run  func(ctx context.Context, q *tdb.TenantQueries) error
} {
	var id int64
	fail := fmt.Errorf
	return []struct {
		name string
		run  func(ctx context.Context, q *tdb.TenantQueries) error
	}{
		{"CreateTask", func(ctx context.Context, q *tdb.TenantQueries) error {
			task, err := q.CreateTask(ctx, tdb.CreateTaskParams{
				Tenant: tn.String(), Title: "t", Status: tdb.TaskStatusDoing,
				History: []tdb.TaskStatus{tdb.TaskStatusTodo, tdb.TaskStatusDoing},
				Prio:    2, Est: sql.NullString{String: `(3,"very high")`, Valid: true},
			})
			if err != nil {
				return err
			}
			id = task.ID
			if task.Tenant != tn.String() || !reflect.DeepEqual(task.History, []tdb.TaskStatus{"todo", "doing"}) || task.Est.String != `(3,"very high")` {
				return fail("created %+v", task)
			}
			return nil
		}},
		{"SetHistory", func(ctx context.Context, q *tdb.TenantQueries) error {
			n, err := q.SetHistory(ctx, tdb.SetHistoryParams{ID: id, History: []tdb.TaskStatus{"todo", "doing", "done"}})
			if err == nil && n != 1 {
				return fail("%d rows updated", n)
			}
			return err
		}},
		{"GetTask", func(ctx context.Context, q *tdb.TenantQueries) error {
			task, err := q.GetTask(ctx, id)
			if err == nil && (task.Tenant != tn.String() || !reflect.DeepEqual(task.History, []tdb.TaskStatus{"todo", "doing", "done"})) {
				return fail("got %+v", task)
			}
			return err
		}},
		{"ListTasksByStatuses", func(ctx context.Context, q *tdb.TenantQueries) error {
			rows, err := q.ListTasksByStatuses(ctx, []tdb.TaskStatus{tdb.TaskStatusDoing, tdb.TaskStatusDone})
			if err == nil && (len(rows) == 0 || rows[len(rows)-1].ID != id || rows[0].Tenant != tn.String()) {
				return fail("got %+v", rows)
			}
			return err
		}},
		{"TaskHistories", func(ctx context.Context, q *tdb.TenantQueries) error {
			rows, err := q.TaskHistories(ctx, []tdb.TaskStatus{tdb.TaskStatusDone})
			if err == nil && (len(rows) == 0 || !reflect.DeepEqual(rows[len(rows)-1].History, []tdb.TaskStatus{"todo", "doing", "done"})) {
				return fail("got %+v", rows)
			}
			return err
		}},
		{"StatusesInUse", func(ctx context.Context, q *tdb.TenantQueries) error {
			got, err := q.StatusesInUse(ctx)
			if err == nil && !reflect.DeepEqual(got, []tdb.TaskStatus{tdb.TaskStatusDoing}) {
				return fail("got %q", got)
			}
			return err
		}},
		{"SetPlan", func(ctx context.Context, q *tdb.TenantQueries) error {
			n, err := q.SetPlan(ctx, tdb.SetPlanParams{ID: id, Checkpoints: []any{1, "5"}, Estimates: []string{"(1,a)", `(2,"b, c")`}, Est: sql.NullString{String: "(4,low)", Valid: true}})
			if err == nil && n != 1 {
				return fail("%d rows updated", n)
			}
			return err
		}},
		{"TaskPlans", func(ctx context.Context, q *tdb.TenantQueries) error {
			rows, err := q.TaskPlans(ctx)
			if err != nil {
				return err
			}
			last := rows[len(rows)-1]
			if last.Tenant != tn.String() || !reflect.DeepEqual(last.Checkpoints, []any{"1", "5"}) || !reflect.DeepEqual(last.Estimates, []string{"(1,a)", `(2,"b, c")`}) || last.Est.String != "(4,low)" {
				return fail("got %#v", last)
			}
			return nil
		}},
		{"TasksByPriority", func(ctx context.Context, q *tdb.TenantQueries) error {
			rows, err := q.TasksByPriority(ctx, 2)
			if err == nil && len(rows) == 0 {
				return fail("no rows")
			}
			return err
		}},
		{"TaskEstimates", func(ctx context.Context, q *tdb.TenantQueries) error {
			_, err := q.TaskEstimates(ctx)
			return err
		}},
	}
}

// TestTenantTypeArrays runs queries sending and reading arrays of
// tenant-scoped types (whose OIDs differ per tenant) in every exec mode, for
// a tenant created before the connection opened and one created after, on
// that one connection. Each query then costs as many round trips as a query
// without such types in the same mode: nothing is looked up, ever.
func TestTenantTypeArrays(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	setup := openTypes(t, url, pgx.QueryExecModeCacheStatement, nil)
	if _, err := setup.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	early := runtime.MustTenant("early")
	if err := setup.CreateTenant(ctx, early, runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, mode := range execModes {
		t.Run(mode.String(), func(t *testing.T) {
			var writes atomic.Int64
			rt := openTypes(t, url, mode, &writes)
			q := tdb.New(rt)
			pid := backendPID(t, rt)
			run := func(tn runtime.Tenant) {
				t.Helper()
				for _, qu := range typeQueries(tn) {
					if err := qu.run(ctx, q.Tenant(tn)); err != nil {
						t.Fatalf("%s %s: %v", tn, qu.name, err)
					}
				}
			}
			run(early)
			late := runtime.MustTenant(fmt.Sprintf("late_%d", i))
			if err := setup.CreateTenant(ctx, late, runtime.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			run(late) // warms late's statements too
			if backendPID(t, rt) != pid {
				t.Fatal("the pool changed connections: the late tenant was not tested on a connection older than it")
			}
			// Steady state: round trips per query, against the baseline of
			// a query without tenant-scoped arrays (TaskEstimates).
			for _, tn := range []runtime.Tenant{early, late} {
				perQuery := map[string]int64{}
				for _, qu := range typeQueries(tn) {
					before := writes.Load()
					if err := qu.run(ctx, q.Tenant(tn)); err != nil {
						t.Fatalf("%s %s: %v", tn, qu.name, err)
					}
					perQuery[qu.name] = writes.Load() - before
				}
				base := perQuery["TaskEstimates"]
				for name, n := range perQuery {
					if n != base {
						t.Errorf("%s %s: %d round trips, a query without tenant types takes %d", tn, name, n, base)
					}
				}
				t.Logf("%s: %d round trip(s) per query, every query", tn, base)
			}
		})
	}
}

func backendPID(t *testing.T, rt *runtime.DB) int {
	t.Helper()
	var pid int
	if err := rt.Pool().QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestTenantTypeArraysThroughPgBouncer runs the same queries through
// PgBouncer in transaction mode, in the exec modes WithTransactionPooler
// allows: two of them (exec, simple protocol) never learn a parameter's OID.
func TestTenantTypeArraysThroughPgBouncer(t *testing.T) {
	bouncer, _ := pgbouncerURL(t)
	ctx := context.Background()
	if _, err := open(t, 1, pgx.QueryExecModeCacheStatement).MigrateShared(ctx); err != nil { // the registry
		t.Fatal(err)
	}
	direct := openTypes(t, pgtest.URL(t), pgx.QueryExecModeCacheStatement, nil)
	tn := runtime.MustTenant("types_via_bouncer")
	_ = direct.DropTenant(ctx, tn, tn.String())
	if err := direct.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The package database's other tests expect kitchensink tenants only.
	defer func() { _ = direct.DropTenant(ctx, tn, tn.String()) }()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeSimpleProtocol} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(bouncer)
			if err != nil {
				t.Fatal(err)
			}
			cfg.MaxConns = 2
			cfg.ConnConfig.DefaultQueryExecMode = mode
			rt, err := runtime.OpenConfig(ctx, cfg, runtime.WithTransactionPooler(), lcQuiet)
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			q := tdb.New(rt).Tenant(tn)
			for _, qu := range typeQueries(tn) {
				if err := qu.run(ctx, q); err != nil {
					t.Fatalf("%s: %v", qu.name, err)
				}
			}
		})
	}
}
