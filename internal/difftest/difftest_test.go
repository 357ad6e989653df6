package difftest_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	adversarial "github.com/tenantgen/tenantgen/example/adversarial/db"
	kitchensink "github.com/tenantgen/tenantgen/example/kitchensink/db"
	polls "github.com/tenantgen/tenantgen/example/polls/db"
	saas "github.com/tenantgen/tenantgen/example/saas/db"
	authors "github.com/tenantgen/tenantgen/example/sqlc/authors/db"
	batch "github.com/tenantgen/tenantgen/example/sqlc/batch/db"
	booktest "github.com/tenantgen/tenantgen/example/sqlc/booktest/db"
	jets "github.com/tenantgen/tenantgen/example/sqlc/jets/db"
	ondeck "github.com/tenantgen/tenantgen/example/sqlc/ondeck/db"
	"github.com/tenantgen/tenantgen/gen/sqlcrun"
	"github.com/tenantgen/tenantgen/internal/bench/benchdb"
	"github.com/tenantgen/tenantgen/internal/bench/fleetdb"
	"github.com/tenantgen/tenantgen/internal/difftest"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

func TestMain(m *testing.M) {
	sqlcrun.ServeChild() // TestFixturesUpToDate runs the generator, which runs sqlc as a child
	pgtest.Main(m, "difftest")
}

// Every example and test project with a generated package. A project added
// here is run query by query; a query added to a project needs nothing.
var projects = []difftest.Project{
	{Name: "polls", Migrations: polls.Migrations(), New: polls.New},
	{Name: "kitchensink", Migrations: kitchensink.Migrations(), New: kitchensink.New},
	{Name: "saas", Migrations: saas.Migrations(), New: saas.New},
	{Name: "adversarial", Migrations: adversarial.Migrations(), New: adversarial.New},
	{Name: "sqlc/authors", Migrations: authors.Migrations(), New: authors.New},
	{Name: "sqlc/batch", Migrations: batch.Migrations(), New: batch.New},
	{Name: "sqlc/booktest", Migrations: booktest.Migrations(), New: booktest.New},
	{Name: "sqlc/jets", Migrations: jets.Migrations(), New: jets.New},
	{Name: "sqlc/ondeck", Migrations: ondeck.Migrations(), New: ondeck.New},
	{Name: "bench/benchdb", Migrations: benchdb.Migrations(), New: benchdb.New},
	{Name: "bench/fleetdb", Migrations: fleetdb.Migrations(), New: fleetdb.New},
}

var (
	// alpha's queries run on connections whose search_path is bravo's.
	alpha = runtime.MustTenant("alpha")
	bravo = runtime.MustTenant("bravo")
)

// knownLeaks are the generated queries expected to resolve a name through
// the connection's search_path, keyed project.Scope.Method, with how they
// leak. The generator proves every reference qualified (issue 11), so it is
// empty; the test fails on any leak, and on a listed query that no longer
// leaks, so an entry can only be added knowingly.
var knownLeaks = map[string]string{}

// path is one way of reaching the database, with the search_path every
// call must run under.
type path struct {
	name   string
	search string // as SET search_path TO takes it
	open   func(t *testing.T, url, search string) *runtime.DB
	// compare: each call's outcome (row count or SQLSTATE) must be the one
	// it has under the tenant's own path: a query's meaning must not depend
	// on the connection's search_path. Only for paths on the same exec mode.
	compare bool
}

var paths = []path{
	// The baseline: what each query means in alpha.
	{"own", alpha.Ident() + ", public", openDirect, false},
	// The decoy, set on connect.
	{"decoy", bravo.Ident() + ", public", openDirect, true},
	// No schema at all: any name left unqualified fails, or comes out
	// different (to_regclass, current_schema).
	{"empty", "''", openDirect, true},
	// The decoy, left on PgBouncer's server connections by another client.
	{"pgbouncer", bravo.Ident() + ", public", openPgBouncer, false},
}

// TestDifferentialIsolation runs every generated query of every project for
// alpha on connections whose search_path is "bravo, public": directly (set
// on connect) and through PgBouncer in transaction mode (left on the shared
// server connections by another client), and also on connections whose
// search_path is empty. Each must touch and return only alpha's and
// public's data, and mean the same as under alpha's own path; see package
// difftest for the oracle.
func TestDifferentialIsolation(t *testing.T) {
	totals := map[string]*difftest.Report{}
	for _, p := range paths {
		totals[p.name] = &difftest.Report{Project: "all", Errors: map[string]int{}, Paths: map[string]int{}}
	}
	leaked := map[string]bool{}
	ran := map[string]bool{}
	var mu sync.Mutex // guards totals, leaked and ran, shared by the parallel subtests
	// The group returns when all its parallel subtests have.
	t.Run("projects", func(t *testing.T) {
		for _, proj := range projects {
			t.Run(strings.ReplaceAll(proj.Name, "/", "_"), func(t *testing.T) {
				t.Parallel() // each in a database of its own
				reports := runProject(t, proj)
				mu.Lock()
				defer mu.Unlock()
				ran[proj.Name] = true
				for i, p := range paths {
					if reports[i] == nil {
						continue
					}
					check(t, proj.Name, p, reports[i], leaked)
					add(totals[p.name], reports[i])
				}
			})
		}
	})
	for key := range knownLeaks {
		project, _, _ := strings.Cut(key, ".")
		if ran[project] && !leaked[key] && !t.Failed() {
			t.Errorf("%s is in knownLeaks but did not leak: the generator qualifies it now; remove it from knownLeaks", key)
		}
	}
	for _, p := range paths {
		r := totals[p.name]
		k := r.Kinds()
		t.Logf("%s (search_path %s): %d projects, %d methods, %d calls (%d ok, %d under that path), %d rows checked; "+
			"foreign: %d rows, %d table accesses, %d function calls, %d sequence moves, %d misses, %d outcomes unlike the own path's, in %d methods (%d known leaks); "+
			"errors by SQLSTATE: %s; methods that never succeeded: %d",
			p.name, p.search, len(ran), r.Methods, r.Calls, r.OK, r.CallsUnder(p.search), r.Rows,
			k["row"], k["table"], k["function"], k["sequence"], k["miss"], k["outcome"], len(r.ForeignMethods()), len(knownLeaks),
			r.ErrorSummary(), len(r.NeverOK))
	}
}

// runProject sets up proj's database and runs it under every path; a
// path that skips (no PgBouncer) has a nil report.
func runProject(t *testing.T, proj difftest.Project) []*difftest.Report {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	info, err := difftest.Setup(ctx, url, proj, alpha, bravo)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded rows: public %d, alpha %d, bravo %d", info.Seeded["public"], info.Seeded["alpha"], info.Seeded["bravo"])
	for tbl, why := range info.Refused {
		t.Logf("seeding %s: a row was refused: %s", tbl, why)
	}
	reports := make([]*difftest.Report, len(paths))
	for i, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			rt := p.open(t, url, p.search)
			r, err := difftest.Run(ctx, rt, proj, info, alpha, bravo)
			if err != nil {
				t.Fatal(err)
			}
			if i > 0 && p.compare {
				r.Foreign = append(r.Foreign, difftest.Compare(reports[0], r)...)
			}
			reports[i] = r
		})
	}
	return reports
}

// check fails the test for foreign accesses and misses outside knownLeaks,
// logs the known ones, and records which known leaks leaked.
func check(t *testing.T, project string, p path, r *difftest.Report, leaked map[string]bool) {
	t.Helper()
	under := r.CallsUnder(p.search)
	t.Logf("%d methods, %d calls (%d ok, %d under search_path %s), %d rows checked, %d foreign, %d misses, errors: %s",
		r.Methods, r.Calls, r.OK, under, p.search, r.Rows, len(r.Foreign), len(r.Misses), r.ErrorSummary())
	switch {
	case under == 0:
		t.Errorf("no call ran under search_path %s (%v): the path is not in place, nothing was tested", p.search, r.Paths)
	case under < r.Calls && p.compare:
		t.Errorf("%d of %d calls ran under search_path %s (%v)", under, r.Calls, p.search, r.Paths)
	}
	for _, f := range append(append([]difftest.Finding{}, r.Foreign...), r.Misses...) {
		key := project + "." + f.Method
		if why, ok := knownLeaks[key]; ok {
			leaked[key] = true
			t.Logf("known leak %s: %s [%s]", key, f, why)
			continue
		}
		t.Errorf("%s: %s", project, f)
	}
	if len(r.NeverOK) > 0 {
		t.Logf("never succeeded (checked while failing only): %s", strings.Join(r.NeverOK, ", "))
	}
	if testing.Verbose() {
		var ms []string
		for m := range r.FirstError {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		for _, m := range ms {
			t.Logf("error in %s: %s", m, r.FirstError[m])
		}
	}
}

func add(total, r *difftest.Report) {
	total.Methods += r.Methods
	total.Calls += r.Calls
	total.OK += r.OK
	total.Rows += r.Rows
	for k, v := range r.Paths {
		total.Paths[k] += v
	}
	for _, m := range r.NeverOK {
		total.NeverOK = append(total.NeverOK, r.Project+"."+m)
	}
	total.Foreign = append(total.Foreign, r.Foreign...)
	total.Misses = append(total.Misses, r.Misses...)
	for k, v := range r.Errors {
		total.Errors[k] += v
	}
	// Keys must stay distinct across projects for ForeignMethods.
	for i := len(total.Foreign) - len(r.Foreign); i < len(total.Foreign); i++ {
		total.Foreign[i].Method = r.Project + "." + total.Foreign[i].Method
	}
	for i := len(total.Misses) - len(r.Misses); i < len(total.Misses); i++ {
		total.Misses[i].Method = r.Project + "." + total.Misses[i].Method
	}
}

// openDirect opens a runtime on url whose connections all start with
// search_path = search.
func openDirect(t *testing.T, url, search string) *runtime.DB {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 2
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET search_path TO "+search)
		return err
	}
	rt, err := runtime.OpenConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}

// openPgBouncer opens a runtime through PgBouncer in transaction mode after
// leaving search_path = bravo, public on every server connection PgBouncer
// has for the database. Without a PgBouncer it skips, or fails under
// CI=true.
func openPgBouncer(t *testing.T, url, search string) *runtime.DB {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bouncerURL, err := difftest.PgBouncerURL(url)
	if err != nil {
		t.Fatal(err)
	}
	mode, size, err := difftest.PoolSettings(ctx, bouncerURL)
	if err != nil {
		// No admin console (another PgBouncer, named by
		// TENANTGEN_TEST_PGBOUNCER_URL): go on when the database answers.
		if perr := difftest.Ping(ctx, bouncerURL); perr != nil {
			msg := fmt.Sprintf("PgBouncer not reachable (scripts/ensure-pgbouncer.sh starts one): %v", perr)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		t.Logf("PgBouncer admin console not reachable, pool mode unchecked: %v", err)
		mode = "transaction"
	}
	if mode != "transaction" {
		t.Fatalf("PgBouncer pools by %q, not by transaction", mode)
	}
	if size <= 0 {
		size = 4 // scripts/ensure-pgbouncer.sh's default_pool_size
	}
	backends, err := difftest.Pollute(ctx, bouncerURL, search, size)
	if err != nil {
		t.Fatalf("leaving the decoy search_path on PgBouncer's server connections: %v", err)
	}
	t.Logf("search_path %s left on %d server connection(s)", search, len(backends))
	cfg, err := pgxpool.ParseConfig(bouncerURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 2
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	rt, err := runtime.OpenConfig(context.Background(), cfg, runtime.WithTransactionPooler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}
