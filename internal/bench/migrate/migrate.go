// Package migrate is the fleet-migration benchmark family: runtime.MigrateTenants
// at several parallelism levels against a sequential loop of goose providers
// and against the DDL alone, on a fleet of fleetdb tenants.
package migrate

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/tenantgen/tenantgen/internal/bench"
	"github.com/tenantgen/tenantgen/internal/bench/fleet"
	"github.com/tenantgen/tenantgen/internal/bench/fleetdb"
	"github.com/tenantgen/tenantgen/runtime"
)

// Config sizes the family.
type Config struct {
	Fleet     int        // tenants per method
	Parallel  bench.Ints // MigrateTenants parallelism levels
	MigChunks int        // the methods take turns on this many chunks of the fleet
	// BaselineEvery: L and the goose loop, which are sequential, run on
	// every n-th chunk only and their time is scaled to the fleet.
	BaselineEvery int
}

// Flags registers c's flags on fs.
func (c *Config) Flags(fs *flag.FlagSet) {
	c.Parallel = bench.Ints{4, 8}
	fs.IntVar(&c.Fleet, "fleet", 1000, "fleet migration: tenants")
	fs.Var(&c.Parallel, "parallel", "fleet migration: MigrateTenants parallelism levels")
	fs.IntVar(&c.MigChunks, "migrate-chunks", 6, "fleet migration: the methods take turns on this many chunks of the fleet")
	fs.IntVar(&c.BaselineEvery, "baseline-every", 3, "fleet migration: run L and the goose loop, which are sequential, on every n-th chunk only and scale their time to the fleet (1: on all)")
}

func fleetNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s_%04d", prefix, i)
	}
	return out
}

// execChunks runs a script per chunk of per names on one connection, each
// made by script: one round trip per chunk.
func execChunks(ctx context.Context, url string, names []string, per int, script func(chunk []string) string) error {
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for start := 0; start < len(names); start += per {
		if _, err := conn.Exec(ctx, script(names[start:min(start+per, len(names))])).ReadAll(); err != nil {
			return err
		}
	}
	return nil
}

// createEmptySchemas creates the schemas, 500 per transaction, and, when
// register is set, their registry rows (active), as tenants whose tenant set
// was never applied.
func createEmptySchemas(ctx context.Context, url string, names []string, register bool) error {
	return execChunks(ctx, url, names, 500, func(chunk []string) string {
		var sb strings.Builder
		sb.WriteString("BEGIN;\n")
		for _, n := range chunk {
			fmt.Fprintf(&sb, "CREATE SCHEMA %s;\n", bench.Ident(n))
			if register {
				fmt.Fprintf(&sb, "INSERT INTO public.tenantgen_tenants (name, state) VALUES ('%s', 'active');\n", n)
			}
		}
		sb.WriteString("COMMIT;")
		return sb.String()
	})
}

// migrateLimit runs the tenant set's DDL for every schema as one script on
// one connection, as psql -f would (a transaction per tenant, 50 tenants per
// round trip): no version bookkeeping, no locks, no per-tenant connection.
func migrateLimit(ctx context.Context, url string, names []string, ddl string) error {
	return execChunks(ctx, url, names, 50, func(chunk []string) string {
		var sb strings.Builder
		for _, n := range chunk {
			fmt.Fprintf(&sb, "BEGIN;\nSET LOCAL search_path TO %s, public;\n%s\nCOMMIT;\n", bench.Ident(n), ddl)
		}
		return sb.String()
	})
}

// gooseLoop is what a user would write without tenantgen: for each tenant, a
// database/sql handle whose connections have the tenant's search_path, a
// goose provider with the tenant's version table, Up, close.
func gooseLoop(ctx context.Context, url string, names []string) (applied int, err error) {
	base, err := pgx.ParseConfig(url)
	if err != nil {
		return 0, err
	}
	migs := fleetdb.Migrations().Tenant
	for _, n := range names {
		cc := base.Copy()
		cc.RuntimeParams["search_path"] = bench.Ident(n) + ", public"
		db := stdlib.OpenDB(*cc)
		p, err := goose.NewProvider(goose.DialectPostgres, db, migs,
			goose.WithTableName(n+".goose_db_version"), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			db.Close()
			return applied, err
		}
		res, err := p.Up(ctx)
		applied += len(res)
		closeErr := p.Close()
		db.Close()
		if err != nil {
			return applied, fmt.Errorf("%s: %w", n, err)
		}
		if closeErr != nil && closeErr != sql.ErrConnDone {
			return applied, closeErr
		}
	}
	return applied, nil
}

type migRow struct {
	method, note string
	took         time.Duration
	tenants      int
}

// method is one way of migrating a chunk of tenants; its time is the sum
// over its chunks.
type method struct {
	key, name, note string
	run             func(names []string) (applied int, err error)
	took            time.Duration
	applied         int
}

// migration is one run of the family.
type migration struct {
	c        *Config
	f        *fleet.Fleet
	versions []int64
	sets     map[string][]string // each method's own tenants, by method key
	ran      map[string][]string // the tenants each method ran on
	methods  []*method
}

// results are what the report is made of.
type results struct {
	rows              []migRow
	limit, loop, best time.Duration
	bestPar           int
	noops             []time.Duration
	noop, noopLoop    time.Duration
	noopLoopTenants   int
}

// Run migrates the fleet with every method, then again with nothing to do.
func (c *Config) Run(ctx context.Context, e *bench.Env) (bench.Section, []bench.TargetRow, error) {
	if c.Fleet < 1 || len(c.Parallel) == 0 {
		return bench.Section{}, nil, fmt.Errorf("-fleet must be at least 1 and -parallel not empty")
	}
	f, err := fleet.Open(ctx, e)
	if err != nil {
		return bench.Section{}, nil, err
	}
	defer f.Close()
	_, versions := fleetdb.Migrations().Versions()
	m := &migration{c: c, f: f, versions: versions, ran: map[string][]string{}}
	if err := m.createSets(ctx); err != nil {
		return bench.Section{}, nil, err
	}
	m.methods = m.newMethods(ctx)
	if err := m.runChunks(ctx); err != nil {
		return bench.Section{}, nil, err
	}
	res, err := m.results()
	if err != nil {
		return bench.Section{}, nil, err
	}
	// Every set has the same tables.
	if err := checkFleet(ctx, f.URL, f.RT, m.ran, versions[len(versions)-1]); err != nil {
		return bench.Section{}, nil, err
	}
	if err := m.noopRuns(ctx, res); err != nil {
		return bench.Section{}, nil, err
	}
	return m.report(res)
}

// createSets creates every method's schemas, empty; those of MigrateTenants
// registered too (it migrates registered tenants only).
func (m *migration) createSets(ctx context.Context) error {
	c := m.c
	m.sets = map[string][]string{"mx": fleetNames("mx", c.Fleet), "ml": fleetNames("ml", c.Fleet)}
	for _, p := range c.Parallel {
		m.sets[fmt.Sprintf("mp%d", p)] = fleetNames(fmt.Sprintf("mp%d", p), c.Fleet)
	}
	t0 := time.Now()
	for key, names := range m.sets {
		if err := createEmptySchemas(ctx, m.f.URL, names, strings.HasPrefix(key, "mp")); err != nil {
			return fmt.Errorf("creating the fleet's schemas: %w", err)
		}
	}
	bench.Logf("  created %d empty schemas in %s", len(m.sets)*c.Fleet, time.Since(t0).Round(100*time.Millisecond))
	return nil
}

// newMethods lists L, the goose loop and MigrateTenants at each parallelism.
func (m *migration) newMethods(ctx context.Context) []*method {
	url, ddl, rt := m.f.URL, m.f.DDL, m.f.RT
	methods := []*method{
		{key: "mx", name: "L: the DDL as one script, one connection", note: "a transaction per tenant, 50 tenants per round trip, no version table",
			run: func(names []string) (int, error) {
				return len(m.versions) * len(names), migrateLimit(ctx, url, names, ddl)
			}},
		{key: "ml", name: "a loop of goose providers, one tenant after another", note: "what a user would write: sql.DB with the tenant's search_path + goose.Provider.Up per tenant",
			run: func(names []string) (int, error) { return gooseLoop(ctx, url, names) }},
	}
	for _, p := range m.c.Parallel {
		methods = append(methods, &method{key: fmt.Sprintf("mp%d", p), name: fmt.Sprintf("runtime.MigrateTenants, parallel %d", p), note: fmt.Sprintf("goose per tenant under the tenant's advisory lock, %d tenants at once", p),
			run: func(names []string) (int, error) {
				rep, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: names, Parallel: p})
				applied := 0
				if rep != nil {
					for _, r := range rep.Results {
						applied += r.Applied
					}
				}
				return applied, err
			}})
	}
	return methods
}

// chunks is how many chunks of the fleet the methods take turns on.
func (c *Config) chunks() int { return max(1, min(c.MigChunks, c.Fleet)) }

// runChunks runs the methods in turns, chunk by chunk of the fleet, so that
// background load falls on all of them alike. The sequential baselines'
// time is proportional to the tenant count: they run on every
// -baseline-every'th chunk only, and their time is scaled to the fleet.
func (m *migration) runChunks(ctx context.Context) error {
	c := m.c
	chunks := c.chunks()
	for i := range chunks {
		lo, hi := i*c.Fleet/chunks, (i+1)*c.Fleet/chunks
		// A different method goes first in each chunk: whatever the previous
		// chunk left behind (checkpoints, autovacuum of the catalogs) must not
		// always fall on the same one.
		for j := range m.methods {
			me := m.methods[(i/2+(i%2)*3+j)%len(m.methods)]
			if (me.key == "mx" || me.key == "ml") && i%max(1, c.BaselineEvery) != 0 {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			t0 := time.Now()
			n, err := me.run(m.sets[me.key][lo:hi])
			me.took += time.Since(t0)
			me.applied += n
			m.ran[me.key] = append(m.ran[me.key], m.sets[me.key][lo:hi]...)
			if err != nil {
				return fmt.Errorf("%s: %w", me.name, err)
			}
		}
		bench.Logf("  chunk %d/%d (%d tenants) done", i+1, chunks, hi-lo)
	}
	return nil
}

// scaled is d, measured on n tenants, scaled to the fleet.
func (c *Config) scaled(d time.Duration, n int) time.Duration {
	return time.Duration(float64(d) * float64(c.Fleet) / float64(n))
}

// results checks that every method applied every migration and sums up
// their times.
func (m *migration) results() (*results, error) {
	c := m.c
	res := &results{}
	for _, me := range m.methods {
		n := len(m.ran[me.key])
		if me.applied != len(m.versions)*n {
			return nil, fmt.Errorf("%s: applied %d migrations, want %d", me.name, me.applied, len(m.versions)*n)
		}
		took, note := c.scaled(me.took, n), me.note
		if n != c.Fleet {
			note += fmt.Sprintf("; measured on %d of the %d tenants, time scaled to %d", n, c.Fleet, c.Fleet)
		}
		res.rows = append(res.rows, migRow{me.name, note, took, c.Fleet})
		bench.Logf("  %-52s %8s  (%.1f ms/tenant, %d tenants run)", me.name, took.Round(10*time.Millisecond), float64(took.Microseconds())/1000/float64(c.Fleet), n)
		switch {
		case me.key == "mx":
			res.limit = took
		case me.key == "ml":
			res.loop = took
		case res.best == 0 || took < res.best:
			var p int
			fmt.Sscanf(me.key, "mp%d", &p)
			res.best, res.bestPar = took, p
		}
	}
	return res, nil
}

// noopRuns migrates the up-to-date fleet again: MigrateTenants (the median
// of 3) and the goose loop.
func (m *migration) noopRuns(ctx context.Context, res *results) error {
	c := m.c
	noopNames := m.sets[fmt.Sprintf("mp%d", res.bestPar)]
	for range 3 {
		t0 := time.Now()
		rep, err := m.f.RT.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: noopNames})
		if err != nil {
			return fmt.Errorf("no-op MigrateTenants: %w", err)
		}
		if rep.UpToDate != c.Fleet {
			return fmt.Errorf("no-op MigrateTenants: %d of %d up to date", rep.UpToDate, c.Fleet)
		}
		res.noops = append(res.noops, time.Since(t0))
	}
	res.noop = bench.Median(res.noops)
	bench.Logf("  no-op MigrateTenants: %s (runs: %v)", res.noop.Round(time.Millisecond), roundAll(res.noops))
	loopNames := m.ran["ml"]
	t0 := time.Now()
	if n, err := gooseLoop(ctx, m.f.URL, loopNames); err != nil || n != 0 {
		return fmt.Errorf("no-op goose loop: applied %d, %v", n, err)
	}
	res.noopLoop, res.noopLoopTenants = c.scaled(time.Since(t0), len(loopNames)), len(loopNames)
	bench.Logf("  no-op goose loop: %s for %d tenants", res.noopLoop.Round(10*time.Millisecond), c.Fleet)
	return nil
}

func (m *migration) report(res *results) (bench.Section, []bench.TargetRow, error) {
	c := m.c
	limit, loop, best, bestPar := res.limit, res.loop, res.best, res.bestPar
	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format, args...) }
	w("%d tenant schemas, empty and registered, brought to the latest version of [`fleetdb`](internal/bench/fleetdb)'s tenant set: %d migrations\n", c.Fleet, len(m.versions))
	w("creating 11 tables (FKs to each other and to a shared table, an enum, 6 secondary indexes, an ALTER TABLE). Each method gets\n")
	w("its own %d schemas, so all start from the same state. The methods take turns on chunks of the fleet (%d chunks of %d tenants),\n", c.Fleet, c.chunks(), c.Fleet/c.chunks())
	w("so that background load falls on all alike, a different one first in each; a method's time is the sum of its chunks.")
	if c.BaselineEvery > 1 {
		w(" L and the loop, which are sequential and so take time\n")
		w("in proportion to the tenant count, ran on every %s chunk only (%d of the %d tenants), and their time is scaled to the fleet\n", ordinal(c.BaselineEvery), len(m.ran["ml"]), c.Fleet)
		w("(`-baseline-every 1` runs them on all).")
	}
	w("\n\n")
	w("| method | wall time | per tenant | time / L | speed-up over the loop | how |\n|---|---|---|---|---|---|\n")
	for _, r := range res.rows {
		w("| %s | %s | %.1f ms | %.2f | %.2fx | %s |\n", r.method, r.took.Round(10*time.Millisecond), float64(r.took.Microseconds())/1000/float64(r.tenants),
			r.took.Seconds()/limit.Seconds(), loop.Seconds()/r.took.Seconds(), r.note)
	}
	w("\nThe same fleet once up to date, migrated again (nothing to do):\n\n")
	w("| no-op run | wall time | per tenant | speed-up over the loop | how |\n|---|---|---|---|---|\n")
	w("| a loop of goose providers | %s | %.1f ms | 1.00x | a provider per tenant, each reads its version table and finds nothing to do", res.noopLoop.Round(10*time.Millisecond), float64(res.noopLoop.Microseconds())/1000/float64(c.Fleet))
	if res.noopLoopTenants != c.Fleet {
		w("; measured on %d tenants, scaled", res.noopLoopTenants)
	}
	w(" |\n")
	w("| runtime.MigrateTenants | %s | %.2f ms | %.0fx | median of 3 runs (%s): the registry and every version read in a few queries, nothing else |\n\n",
		res.noop.Round(time.Millisecond), float64(res.noop.Microseconds())/1000/float64(c.Fleet), res.noopLoop.Seconds()/res.noop.Seconds(), fmtRunsMs(res.noops))
	w("MigrateTenants was given the tenant names (`Tenants:`, a chunk at a time above, the whole fleet for the no-op); it reads the\n")
	w("registry (%d active tenants here) to check them. Chunking costs it a little: the last tenants of each chunk run with fewer than\n", c.Fleet*len(c.Parallel))
	w("`parallel` at once.\n\n")

	speed := loop.Seconds() / best.Seconds()
	targets := []bench.TargetRow{{
		Family:   "fleet migration",
		Target:   fmt.Sprintf("MigrateTenants >= 3x faster than a sequential goose loop (%d tenants)", c.Fleet),
		Measured: fmt.Sprintf("%.2fx (parallel %d: %s vs %s)", speed, bestPar, best.Round(100*time.Millisecond), loop.Round(100*time.Millisecond)),
		Status:   bench.Status(speed >= 3),
	}, {
		Family:   "fleet migration",
		Target:   fmt.Sprintf("no-op MigrateTenants on %d up-to-date tenants in about a second", c.Fleet),
		Measured: res.noop.Round(time.Millisecond).String(),
		Status:   bench.Status(res.noop <= 1500*time.Millisecond),
	}}
	w("%s", migrateNotes(res.rows, limit, loop, best, bestPar, speed, c, len(m.versions)))
	return bench.Section{Title: "2. Fleet migration", Body: sb.String()}, targets, nil
}

func migrateNotes(rows []migRow, limit, loop, best time.Duration, bestPar int, speed float64, c *Config, nmig int) string {
	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format, args...) }
	w("Notes:\n\n")
	w("- Per tenant, goose creates and reads its version table and runs each migration in a transaction of its own with a version row,\n")
	w("  in the loop and under MigrateTenants alike: %.1f ms per tenant in the loop against %.1f ms for the DDL alone in L.\n",
		float64(loop.Microseconds())/1000/float64(c.Fleet), float64(limit.Microseconds())/1000/float64(c.Fleet))
	par := ""
	for _, r := range rows {
		if strings.HasPrefix(r.method, "runtime.MigrateTenants") {
			par += fmt.Sprintf("%s %s, ", strings.TrimPrefix(r.method, "runtime.MigrateTenants, "), r.took.Round(100*time.Millisecond))
		}
	}
	w("- MigrateTenants runs tenants in parallel (%s), but client and server share %d CPUs here. A sequential\n", strings.TrimSuffix(par, ", "), goruntime.NumCPU())
	w("  loop uses at most one CPU at a time, so running tenants at once can at best about multiply throughput by the CPU count,\n")
	w("  plus what overlapping commit flushes and round trips gains")
	var pt []time.Duration
	for _, r := range rows {
		if strings.HasPrefix(r.method, "runtime.MigrateTenants") {
			pt = append(pt, r.took)
		}
	}
	if len(pt) >= 2 && pt[len(pt)-1] > pt[0]*9/10 {
		w("; the CPUs were the limit here: the higher parallelism gained nothing")
	}
	w(".\n")
	if speed < 3 {
		w("- The 3x target is missed (%.2fx). Doing the loop's work per tenant in parallel gains about the CPU count (%d here) plus what\n", speed, goruntime.NumCPU())
		w("  overlapping waits gives; 3x takes less work per tenant. L does the DDL alone in %.1f ms per tenant; a runner doing only\n", float64(limit.Microseconds())/1000/float64(c.Fleet))
		w("  that on all %d CPUs would take about\n", goruntime.NumCPU())
		w("  %s (%.1fx over the loop). What would get MigrateTenants near it: a\n",
			(limit / time.Duration(goruntime.NumCPU())).Round(100*time.Millisecond), loop.Seconds()/(limit.Seconds()/float64(goruntime.NumCPU())))
		w("  tenant's pending migrations applied in one transaction with one version-table write, instead of goose's transaction and\n")
		w("  version row per migration (%d commits per tenant here, against L's one), and as few round trips per tenant as L's script.\n", nmig)
	}
	return sb.String()
}

// checkFleet checks that every set has the tenant set's tables, and that
// the goose-migrated ones are at the target version.
func checkFleet(ctx context.Context, url string, rt *runtime.DB, sets map[string][]string, target int64) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	want := -1
	for key, names := range sets {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
			WHERE s.nspname = $1 AND c.relkind IN ('r', 'i') AND c.relname <> 'goose_db_version' AND c.relname NOT LIKE 'goose_db_version%'`, names[len(names)-1]).Scan(&n); err != nil {
			return err
		}
		if want == -1 {
			want = n
		}
		if n != want || n == 0 {
			return fmt.Errorf("set %s: %d tables and indexes in %s, want %d", key, n, names[len(names)-1], want)
		}
		if key == "mx" {
			continue
		}
		vs, err := rt.TenantVersions(ctx, names)
		if err != nil {
			return err
		}
		for _, name := range names {
			if vs[name] != target {
				return fmt.Errorf("%s is at version %d, want %d", name, vs[name], target)
			}
		}
	}
	return nil
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

func fmtRunsMs(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = fmt.Sprintf("%d", d.Milliseconds())
	}
	return strings.Join(s, ", ") + " ms"
}

func ordinal(n int) string {
	switch n {
	case 2:
		return "second"
	case 3:
		return "third"
	}
	return fmt.Sprintf("%dth", n)
}
