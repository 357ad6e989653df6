package runtime_test

// The runtime behind PgBouncer in transaction pooling mode, where each
// transaction (or each statement outside one) may run on a different server
// connection, and where session state that one client leaves on a server
// connection (SET search_path, prepared statements) is what the next client
// of that connection gets.
//
// scripts/ensure-pgbouncer.sh (run by `make test`) starts such a PgBouncer on
// 127.0.0.1:6432, in front of the test server, with few server connections
// per database (default_pool_size = 4), so that the clients here genuinely
// share them. TENANTGEN_TEST_PGBOUNCER_URL names another one; the test
// connects to the package database through it. Without a PgBouncer the tests
// skip, or fail under CI=true.
//
// What PgBouncer needs: pgx sends tenantgen's search_path=public
// (runtime.ConfigurePool) as a startup parameter, which PgBouncer refuses
// ("unsupported startup parameter: search_path") unless its configuration
// has ignore_startup_parameters = search_path. Ignored, it is not applied:
// server connections keep the server's default search_path, or whatever a
// client last SET on them. So behind PgBouncer, search_path=public is not a
// guarantee, and only the schema-qualified SQL of generated queries keeps
// tenants apart; TestPgBouncerTransactionPooling shows that it does, on
// server connections another client keeps switching to tenant schemas.
//
// Exec modes (pgx.QueryExecMode), as found with PgBouncer 1.18 (Debian 12),
// which has no prepared-statement support:
//   - exec, cache describe, simple protocol: work. Each statement is sent in
//     one round trip (Parse/Bind/Execute/Sync with the unnamed statement, or
//     a simple Query), so it cannot be split across server connections.
//   - cache statement: fails with 26000 (prepared statement "stmtcache_..."
//     does not exist) or 42P05 (already exists): pgx prepares a named
//     statement on one server connection and executes it on whichever the
//     next transaction gets. The statement name is a hash of the SQL, which
//     names the tenant schema, so a statement found on the wrong connection
//     is still the right tenant's: errors, never another tenant's rows. With
//     PgBouncer 1.21+ and max_prepared_statements > 0 (ensure-pgbouncer.sh
//     sets it there), PgBouncer re-prepares them itself and this mode is
//     checked like the others.
//   - describe exec: unsafe. pgx prepares the unnamed statement in one round
//     trip (Parse/Describe/Sync) and binds it in a second (Bind/Execute/Sync)
//     without sending the SQL again; PgBouncer may give the second round trip
//     another server connection, whose unnamed statement is whatever another
//     client parsed last there: an error (26000, 08P01, a wrong argument
//     count or row shape) or, when the other client ran the same query for
//     another tenant, that tenant's rows. No SQL rewriting can prevent it;
//     the subtest logs what happened rather than failing.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
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

// pgbouncerURL returns the URL of the package database through PgBouncer,
// and its admin console's settings (nil when the console is not reachable).
func pgbouncerURL(t *testing.T) (string, map[string]string) {
	t.Helper()
	direct, err := pgx.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	var u *url.URL
	if raw := os.Getenv("TENANTGEN_TEST_PGBOUNCER_URL"); raw != "" {
		if u, err = url.Parse(raw); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			t.Fatalf("TENANTGEN_TEST_PGBOUNCER_URL must be a postgres:// URL: %q", raw)
		}
	} else {
		u = &url.URL{Scheme: "postgres", Host: "127.0.0.1:6432", RawQuery: "sslmode=disable"}
		if direct.Password != "" {
			u.User = url.UserPassword(direct.User, direct.Password)
		} else {
			u.User = url.User(direct.User)
		}
	}
	u.Path = "/" + direct.Database
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, simpleConfig(t, u.String(), ""))
	if err != nil {
		msg := fmt.Sprintf("PgBouncer not reachable at %s (scripts/ensure-pgbouncer.sh starts one): %v", u.Redacted(), err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	conn.Close(ctx)
	settings, err := pgbouncerSettings(ctx, t, u.String())
	if err != nil {
		t.Logf("PgBouncer admin console not reachable, pool mode unchecked: %v", err)
	} else if settings["pool_mode"] != "transaction" {
		t.Fatalf("%s pools by %q, not by transaction", u.Redacted(), settings["pool_mode"])
	}
	return u.String(), settings
}

// simpleConfig is a connection config on the simple protocol (which the
// admin console requires), for database dbname when not empty.
func simpleConfig(t *testing.T, rawURL, dbname string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if dbname != "" {
		cfg.Database = dbname
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return cfg
}

// pgbouncerSettings reads SHOW CONFIG and SHOW VERSION on the admin console.
func pgbouncerSettings(ctx context.Context, t *testing.T, rawURL string) (map[string]string, error) {
	conn, err := pgx.ConnectConfig(ctx, simpleConfig(t, rawURL, "pgbouncer"))
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SHOW CONFIG")
	if err != nil {
		return nil, err
	}
	settings := map[string]string{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		if len(vals) >= 2 {
			settings[fmt.Sprint(vals[0])] = fmt.Sprint(vals[1])
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var version string
	if err := conn.QueryRow(ctx, "SHOW VERSION").Scan(&version); err == nil {
		settings["version"] = version
	}
	return settings, nil
}

// pgbouncerFleet creates thor and potter, both at the latest version, over
// the direct URL (goose migrates on database/sql with session state), each
// with items 1 to 3 carrying its name: the same ids in both tenants.
func pgbouncerFleet(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	rt := open(t, 2, pgx.QueryExecModeExec)
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
	rt.Close()
}

// openThroughPgBouncer opens a runtime of conns client connections to
// PgBouncer in the given exec mode.
func openThroughPgBouncer(t *testing.T, bouncerURL string, conns int32, mode pgx.QueryExecMode, pooler bool) *runtime.DB {
	t.Helper()
	ctx := context.Background()
	var opts []runtime.Option
	if pooler {
		opts = append(opts, runtime.WithTransactionPooler())
	}
	rt := openURL(t, bouncerURL, conns, func(cfg *pgxpool.Config) { cfg.ConnConfig.DefaultQueryExecMode = mode }, opts...)
	// The pool connects lazily: connect now, to tell a refused startup
	// parameter from a failing query.
	if err := rt.Pool().Ping(ctx); err != nil {
		if strings.Contains(err.Error(), "unsupported startup parameter") {
			t.Fatalf("PgBouncer refuses the search_path=public startup parameter that runtime.ConfigurePool sets; "+
				"its [pgbouncer] section needs ignore_startup_parameters = search_path (see scripts/ensure-pgbouncer.sh): %v", err)
		}
		t.Fatalf("connecting through PgBouncer: %v", err)
	}
	return rt
}

// TestPgBouncerTransactionPooling shows the hazard of session state behind a
// transaction pooler, then runs generated queries for two tenants from many
// goroutines through PgBouncer, in every exec mode, while another client
// keeps switching the shared server connections' search_path between the
// tenants: every row read must be the reading tenant's own.
func TestPgBouncerTransactionPooling(t *testing.T) {
	bouncerURL, settings := pgbouncerURL(t)
	if settings != nil {
		t.Logf("PgBouncer %s: pool_mode=%s default_pool_size=%s max_prepared_statements=%q ignore_startup_parameters=%q",
			settings["version"], settings["pool_mode"], settings["default_pool_size"], settings["max_prepared_statements"], settings["ignore_startup_parameters"])
	}
	pgbouncerFleet(t)

	t.Run("session state leaks between clients", func(t *testing.T) {
		demonstrateSearchPathLeak(t, bouncerURL)
	})

	preparedStatements := false
	if n, err := strconv.Atoi(settings["max_prepared_statements"]); err == nil && n > 0 {
		preparedStatements = true
	}
	modes := []struct {
		mode pgx.QueryExecMode
		// safe: must run without errors or foreign rows.
		safe bool
	}{
		{pgx.QueryExecModeExec, true},
		{pgx.QueryExecModeCacheDescribe, true},
		{pgx.QueryExecModeSimpleProtocol, true},
		{pgx.QueryExecModeDescribeExec, false},
		// Last: it leaves named statements on the server connections.
		{pgx.QueryExecModeCacheStatement, preparedStatements},
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeDescribeExec, pgx.QueryExecModeCacheStatement} {
		cfg, err := pgxpool.ParseConfig(bouncerURL)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.DefaultQueryExecMode = mode
		if rt, err := runtime.OpenConfig(context.Background(), cfg, runtime.WithTransactionPooler()); err == nil {
			rt.Close()
			t.Errorf("WithTransactionPooler accepted exec mode %s", mode)
		}
	}
	for _, m := range modes {
		t.Run(m.mode.String(), func(t *testing.T) {
			pgbouncerFleet(t) // fresh tables, and no stale descriptions
			workers, ops := 16, 200
			if !m.safe {
				workers, ops = 8, 50
			}
			// The unsafe modes run without WithTransactionPooler, which
			// refuses them, to show why it does.
			rt := openThroughPgBouncer(t, bouncerURL, int32(workers), m.mode, m.safe)
			var path string
			if err := rt.Shared().QueryRow(context.Background(), "SHOW search_path").Scan(&path); err != nil {
				if m.safe {
					t.Fatal(err)
				}
			} else {
				// ConfigurePool asked for public; PgBouncer ignored it.
				t.Logf("search_path on a runtime connection through PgBouncer: %s", path)
			}
			s := isolationCheck(t, rt, bouncerURL, workers, ops)
			t.Logf("%s: %d operations, %d rows checked, %d foreign rows, %d errors (SQLSTATEs %v); "+
				"%d times the runtime ran on a server connection whose search_path another client had set to a tenant (%d SETs)",
				m.mode, s.ops.Load(), s.rows.Load(), s.mismatches.Load(), s.errors.Load(), s.states(),
				s.polluted.Load(), s.sets.Load())
			if s.firstErr != nil {
				t.Logf("first error: %v", s.firstErr)
			}
			if s.firstMismatch != "" {
				t.Logf("first foreign row: %s", s.firstMismatch)
			}
			switch {
			case m.safe:
				if s.mismatches.Load() != 0 || s.errors.Load() != 0 {
					t.Fatalf("%s through PgBouncer: %d foreign rows, %d errors", m.mode, s.mismatches.Load(), s.errors.Load())
				}
			case m.mode == pgx.QueryExecModeCacheStatement:
				// Named statements are named after their SQL, tenant included:
				// never the wrong tenant's, only missing or duplicate.
				if s.mismatches.Load() != 0 {
					t.Fatalf("cache statement read %d foreign rows", s.mismatches.Load())
				}
				for _, st := range s.states() {
					if st != "26000" && st != "42P05" {
						t.Errorf("cache statement failed with SQLSTATE %s; want only 26000 or 42P05", st)
					}
				}
				if s.errors.Load() == 0 {
					t.Logf("cache statement worked without PgBouncer prepared-statement support: the statements happened to stay on their connections")
				}
			default:
				t.Logf("%s is unsafe behind a transaction pooler (see the comment at the top of this file)", m.mode)
			}
		})
	}
}

// demonstrateSearchPathLeak shows what the runtime protects against: client
// A sets search_path to a tenant, and client B, which never set anything,
// gets A's search_path, and resolves an unqualified name in A's tenant. It
// logs rather than fails when it cannot reproduce it.
func demonstrateSearchPathLeak(t *testing.T, bouncerURL string) {
	ctx := context.Background()
	connect := func() *pgx.Conn {
		c, err := pgx.ConnectConfig(ctx, simpleConfig(t, bouncerURL, ""))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	a, b := connect(), connect()
	const tries = 20
	var leakedPath, leakedRows int
	var example string
	for i := 0; i < tries; i++ {
		tn := []runtime.Tenant{thor, potter}[i%2]
		if _, err := a.Exec(ctx, "SET search_path TO "+tn.Ident()); err != nil {
			t.Fatal(err)
		}
		var path string
		if err := b.QueryRow(ctx, "SHOW search_path").Scan(&path); err != nil {
			t.Fatal(err)
		}
		if path == tn.String() {
			leakedPath++
		}
		// B never set a search_path: items should not resolve at all.
		var owner string
		err := b.QueryRow(ctx, "SELECT tenant FROM items LIMIT 1").Scan(&owner)
		switch {
		case err == nil:
			leakedRows++
			if example == "" {
				example = fmt.Sprintf("after A's SET search_path TO %s, B's unqualified SELECT FROM items read a row of %s", tn, owner)
			}
		case sqlState(err) != "42P01":
			t.Fatalf("unqualified query: %v", err)
		}
	}
	if leakedPath == 0 && leakedRows == 0 {
		t.Logf("could not reproduce the leak in %d tries: B never saw A's search_path", tries)
		return
	}
	t.Logf("session state leaked between clients: in %d tries, B saw A's search_path %d times, and read tenant rows through an unqualified name %d times; e.g. %s",
		tries, leakedPath, leakedRows, example)
	// The polluted server connections stay in PgBouncer's pool on purpose:
	// the runtime has to work on them next.
}

type isoStats struct {
	ops, rows, mismatches, errors, polluted, sets atomic.Int64

	mu            sync.Mutex
	firstErr      error
	firstMismatch string
	sqlStates     map[string]int
}

func (s *isoStats) fail(op string, tn runtime.Tenant, err error) {
	s.errors.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstErr == nil {
		s.firstErr = fmt.Errorf("%s for %s: %w", op, tn, err)
	}
	st := sqlState(err)
	if st == "" {
		st = "none"
	}
	if s.sqlStates == nil {
		s.sqlStates = map[string]int{}
	}
	s.sqlStates[st]++
}

func (s *isoStats) check(op string, tn runtime.Tenant, owner string) {
	s.rows.Add(1)
	if owner == tn.String() {
		return
	}
	s.mismatches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstMismatch == "" {
		s.firstMismatch = fmt.Sprintf("%s for %s read a row of %s", op, tn, owner)
	}
}

func (s *isoStats) states() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for st := range s.sqlStates {
		out = append(out, st)
	}
	slices.Sort(out)
	return out
}

var errRollback = errors.New("rolled back on purpose")

// isolationCheck runs workers goroutines of ops random generated queries
// each, for random tenants, on rt, while a client of its own keeps setting
// the search_path of PgBouncer's server connections to a tenant.
func isolationCheck(t *testing.T, rt *runtime.DB, bouncerURL string, workers, ops int) *isoStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := &isoStats{}
	q := db.New(rt)
	tenants := []runtime.Tenant{thor, potter}

	// The polluter: session-level SETs on the shared server connections.
	polluter, err := pgx.ConnectConfig(ctx, simpleConfig(t, bouncerURL, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer polluter.Close(context.Background())
	pctx, stopPolluter := context.WithCancel(ctx)
	polluterDone := make(chan struct{})
	go func() {
		defer close(polluterDone)
		for i := 0; i < 100000 && pctx.Err() == nil; i++ {
			if _, err := polluter.Exec(pctx, "SET search_path TO "+tenants[i%2].Ident()); err != nil {
				return
			}
			s.sets.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()

	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 0x7e4a47))
			for i := 0; i < ops && ctx.Err() == nil; i++ {
				tn := tenants[rng.IntN(len(tenants))]
				tq := q.Tenant(tn)
				s.ops.Add(1)
				switch rng.IntN(7) {
				case 0:
					it, err := tq.CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "n", Status: db.ItemStatusActive, Tags: []string{}})
					if err != nil {
						s.fail("CreateItem", tn, err)
						continue
					}
					s.check("CreateItem", tn, it.Tenant)
				case 1:
					items, err := tq.ListItems(ctx)
					if err != nil {
						s.fail("ListItems", tn, err)
						continue
					}
					for _, it := range items {
						s.check("ListItems", tn, it.Tenant)
					}
				case 2:
					rows, err := tq.ListItemsByStatus(ctx, db.ItemStatusActive)
					if err != nil {
						s.fail("ListItemsByStatus", tn, err)
						continue
					}
					for _, r := range rows {
						s.check("ListItemsByStatus", tn, r.Tenant)
					}
				case 3:
					// Ids 1 to 3 are in both tenants.
					it, err := tq.GetItem(ctx, 1+rng.Int64N(3))
					if err != nil {
						s.fail("GetItem", tn, err)
						continue
					}
					s.check("GetItem", tn, it.Tenant)
				case 4:
					var got []db.GetItemBatchRow
					var berr error
					tq.GetItemBatch(ctx, []int64{1, 2, 3}).QueryRow(func(_ int, r db.GetItemBatchRow, err error) {
						if err != nil {
							berr = errors.Join(berr, err)
							return
						}
						got = append(got, r)
					})
					if berr != nil {
						s.fail("GetItemBatch", tn, berr)
						continue
					}
					for _, r := range got {
						s.check("GetItemBatch", tn, r.Tenant)
					}
				case 5:
					err := q.TenantTx(ctx, tn, func(tq *db.TenantQueries) error {
						it, err := tq.CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "tx", Status: db.ItemStatusDraft, Tags: []string{}})
						if err != nil {
							return err
						}
						s.check("CreateItem in TenantTx", tn, it.Tenant)
						rows, err := tq.ListItemsByStatus(ctx, db.ItemStatusDraft)
						if err != nil {
							return err
						}
						for _, r := range rows {
							s.check("ListItemsByStatus in TenantTx", tn, r.Tenant)
						}
						return errRollback
					})
					if !errors.Is(err, errRollback) {
						s.fail("TenantTx", tn, err)
					}
				case 6:
					// Not a tenant query: counts how often the runtime got a
					// server connection the polluter had switched to a tenant.
					var path string
					if err := rt.Shared().QueryRow(ctx, "SHOW search_path").Scan(&path); err != nil {
						s.fail("SHOW search_path", tn, err)
						continue
					}
					if path == thor.String() || path == potter.String() {
						s.polluted.Add(1)
					}
				}
			}
		}(uint64(w))
	}
	wg.Wait()
	stopPolluter()
	<-polluterDone
	if err := ctx.Err(); err != nil {
		t.Fatalf("isolation check did not finish in time: %v", err)
	}
	return s
}
