// Command tenantgen-bench measures tenantgen against baselines measured in the
// same run and writes BENCHMARKS.md. It needs a PostgreSQL server
// (TENANTGEN_TEST_DATABASE_URL, default the local one) on which it creates the
// database tenantgen_bench (the query path's 10,000 tenant schemas; dropped
// at the end unless -keep is given, and reused by the next run if kept) and
// tenantgen_bench_fleet (fleet migration and creation; always dropped).
//
// Families, one file each: query.go (the query path through a generated
// tenant handle), migrate.go (fleet migration), create.go (tenant creation),
// generate.go (code generation on a synthetic input from ./synth).
//
//	go run ./cmd/tenantgen-bench -out BENCHMARKS.md
//	go run ./cmd/tenantgen-bench -only query -dur 3s -keep
//	go run ./cmd/tenantgen-bench -write-synth /tmp/synth   # the generation input only
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/tenantgen/tenantgen/cmd/tenantgen-bench/synth"
	_ "github.com/tenantgen/tenantgen/gen/golang" // installs the Go emitter for gen.Generate
	"github.com/tenantgen/tenantgen/gen/sqlcrun"
)

// config holds the flags.
type config struct {
	out     string
	url     string
	dbName  string
	keep    bool
	only    map[string]bool
	verbose bool

	// query path
	dur, warmup  time.Duration
	rounds       int
	steady       bool
	warmExecs    int
	keys         map[string]bool // strategies to measure (L always)
	poolSize     int
	conc         []int
	tenants      []int
	zipfN        []int
	zipfS        float64
	pptTenants   int
	rows         int
	bigCache     int
	chunk        int
	setupWorkers int

	// fleet migration and creation
	fleet     int
	parallel  []int
	migChunks int
	// baselineEvery: L and the goose loop run on every n-th chunk only.
	baselineEvery int
	creates       int

	// generation
	synthTables, synthQueries, genRuns int
	sqlcBin, tenantgenBin              string
}

func main() {
	sqlcrun.ServeChild() // the generation family runs gen.Generate in process, which runs sqlc as a child of this binary
	var c config
	var only, conc, tenants, zipfN, parallel, writeSynth, keys string
	flag.StringVar(&c.out, "out", "", "write the report to this file (default: stdout)")
	flag.StringVar(&c.url, "url", "", "server URL (default $TENANTGEN_TEST_DATABASE_URL, else "+defaultURL+")")
	flag.StringVar(&c.dbName, "db", "tenantgen_bench", "name of the throwaway database (fleet migration and creation use <db>_fleet)")
	flag.BoolVar(&c.keep, "keep", false, "keep the database (and its query-path tenants) for the next run instead of dropping it")
	flag.StringVar(&only, "only", "query,migrate,create,generate", "benchmark families to run")
	flag.BoolVar(&c.verbose, "v", false, "also log the first error of each query-path cell")

	flag.DurationVar(&c.dur, "dur", 600*time.Millisecond, "query path: measured time per strategy and cell (and as much for L next to it), split into -rounds slices")
	flag.IntVar(&c.rounds, "rounds", 6, "query path: slices per cell; L and the strategy alternate, one slice each per round")
	flag.DurationVar(&c.warmup, "warmup", 100*time.Millisecond, "query path: unmeasured run before a cell's first slices, after the explicit warm-up (every connection runs the query for every tenant, where N <= 512)")
	flag.BoolVar(&c.steady, "steady", true, "query path: also measure the steady state (warm connections) at the largest tenant count, c=1")
	flag.StringVar(&keys, "strategies", "", "query path: measure only these strategies (comma-separated keys; L is always measured)")
	flag.IntVar(&c.warmExecs, "warm-execs", 6, "query path: explicit warm-up executions of each tenant's statement per connection (PostgreSQL plans a prepared statement afresh for its first 5 executions)")
	flag.IntVar(&c.poolSize, "pool", 8, "query path: pool size (max connections) of every strategy")
	flag.StringVar(&conc, "conc", "1,16", "query path: concurrency levels (goroutines)")
	flag.StringVar(&tenants, "tenants", "1,100,10000", "query path: tenant counts, uniform access")
	flag.StringVar(&zipfN, "zipf", "10000", "query path: tenant counts also measured with Zipf-skewed access")
	flag.Float64Var(&c.zipfS, "zipf-s", 1.1, "query path: Zipf exponent s (> 1)")
	flag.IntVar(&c.pptTenants, "ppt-tenants", 20, "query path: the one tenant count > 1 at which a pool per tenant is measured (it needs a server connection per tenant); 0 to skip")
	flag.IntVar(&c.rows, "rows", 100, "query path: rows per tenant table")
	flag.IntVar(&c.bigCache, "big-cache", 16384, "query path: the larger statement/description cache capacity measured")
	flag.IntVar(&c.chunk, "chunk", 200, "tenants per transaction when creating schemas with plain SQL")
	flag.IntVar(&c.setupWorkers, "setup-workers", 2, "connections creating query-path tenant schemas at once")

	flag.IntVar(&c.fleet, "fleet", 1000, "fleet migration: tenants")
	flag.StringVar(&parallel, "parallel", "4,8", "fleet migration: MigrateTenants parallelism levels")
	flag.IntVar(&c.migChunks, "migrate-chunks", 6, "fleet migration: the methods take turns on this many chunks of the fleet")
	flag.IntVar(&c.baselineEvery, "baseline-every", 3, "fleet migration: run L and the goose loop, which are sequential, on every n-th chunk only and scale their time to the fleet (1: on all)")
	flag.IntVar(&c.creates, "creates", 100, "tenant creation: tenants created per method")

	flag.IntVar(&c.synthTables, "synth-tables", 200, "generation: tables of the synthetic input (half shared, half tenant)")
	flag.IntVar(&c.synthQueries, "synth-queries", 1000, "generation: queries of the synthetic input")
	flag.IntVar(&c.genRuns, "gen-runs", 5, "generation: runs per tool (the median is reported)")
	flag.StringVar(&c.sqlcBin, "sqlc", "", "generation: a sqlc binary to use (default: build github.com/sqlc-dev/sqlc/cmd/sqlc from the module cache)")
	flag.StringVar(&c.tenantgenBin, "tenantgen", "", "generation: a tenantgen binary to use (default: build ./cmd/tenantgen)")
	flag.StringVar(&writeSynth, "write-synth", "", "only write the synthetic generation input into this directory, then exit")
	flag.Parse()

	if writeSynth != "" {
		if err := synth.Write(writeSynth, synth.Options{Tables: c.synthTables, Queries: c.synthQueries}); err != nil {
			fatal(err)
		}
		fmt.Fprintf(os.Stderr, "synthetic input written to %s (tenantgen.yaml and sqlc.yaml)\n", writeSynth)
		return
	}
	var err error
	if c.conc, err = intList(conc); err == nil {
		if c.tenants, err = intList(tenants); err == nil {
			if c.zipfN, err = intList(zipfN); err == nil {
				c.parallel, err = intList(parallel)
			}
		}
	}
	if err != nil {
		fatal(err)
	}
	if c.zipfS <= 1 {
		fatal(fmt.Errorf("-zipf-s must be > 1"))
	}
	if keys != "" {
		c.keys = map[string]bool{"limit": true}
		for _, k := range strings.Split(keys, ",") {
			c.keys[strings.TrimSpace(k)] = true
		}
	}
	c.only = map[string]bool{}
	for _, f := range strings.Split(only, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case "query", "migrate", "create", "generate":
			c.only[f] = true
		case "":
		default:
			fatal(fmt.Errorf("-only: unknown family %q (query, migrate, create, generate)", f))
		}
	}
	if c.url == "" {
		c.url = os.Getenv("TENANTGEN_TEST_DATABASE_URL")
	}
	if c.url == "" {
		c.url = defaultURL
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	report, err := run(ctx, &c)
	if report != nil {
		if werr := writeReport(c.out, report); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fatal(err)
	}
}

// run runs the selected families and returns the report, also a partial one
// when a family fails.
func run(ctx context.Context, c *config) (*bytes.Buffer, error) {
	start := time.Now()
	b := &bench{cfg: c}
	if err := b.open(ctx); err != nil {
		return nil, err
	}
	defer b.close()
	b.machine = readMachine(ctx, b)

	var sections []section
	var targets []targetRow
	var runErr error
	families := []struct {
		name string
		run  func(context.Context, *bench) (section, []targetRow, error)
	}{
		{"query", runQuery},
		{"migrate", runMigrate},
		{"create", runCreate},
		{"generate", runGenerate},
	}
	for _, f := range families {
		if !c.only[f.name] {
			continue
		}
		logf("== %s", f.name)
		t0 := time.Now()
		s, t, err := f.run(ctx, b)
		s.took = time.Since(t0)
		logf("== %s done in %s", f.name, s.took.Round(time.Second))
		if s.title != "" {
			sections = append(sections, s)
		}
		targets = append(targets, t...)
		if err != nil {
			runErr = fmt.Errorf("%s: %w", f.name, err)
			break
		}
	}
	b.machine.loadEnd = loadAvg()
	b.dropped = b.finish(ctx)
	return renderReport(b, sections, targets, time.Since(start), runErr), runErr
}

func writeReport(path string, buf *bytes.Buffer) error {
	if path == "" {
		_, err := os.Stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	logf("report written to %s", path)
	return nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(f, "%d", &n); err != nil || n < 0 {
			return nil, fmt.Errorf("not a list of counts: %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

var logStart = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(logStart).Seconds(), fmt.Sprintf(format, args...))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "tenantgen-bench:", err)
	os.Exit(1)
}
