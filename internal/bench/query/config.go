package query

import (
	"flag"
	"fmt"
	"time"

	"github.com/tenantgen/tenantgen/internal/bench"
)

// Config sizes the query path; its fields are set by Flags.
type Config struct {
	verbose bool

	dur, warmup time.Duration
	rounds      int
	steady      bool
	warmExecs   int
	keys        bench.Names // strategies to measure (L always); nil: all
	poolSize    int
	conc        bench.Ints
	tenants     bench.Ints
	zipfN       bench.Ints
	zipfS       float64
	pptTenants  int
	rows        int
	bigCache    int

	// setup of the tenant schemas
	chunk        int
	setupWorkers int
}

// Flags registers c's flags on fs, with their defaults: the full run.
func (c *Config) Flags(fs *flag.FlagSet) {
	c.conc, c.tenants, c.zipfN = bench.Ints{1, 16}, bench.Ints{1, 100, 10000}, bench.Ints{10000}
	fs.BoolVar(&c.verbose, "v", false, "also log the first error of each query-path cell")
	fs.DurationVar(&c.dur, "dur", 600*time.Millisecond, "query path: measured time per strategy and cell (and as much for L next to it), split into -rounds slices")
	fs.IntVar(&c.rounds, "rounds", 6, "query path: slices per cell; L and the strategy alternate, one slice each per round")
	fs.DurationVar(&c.warmup, "warmup", 100*time.Millisecond, "query path: unmeasured run before a cell's first slices, after the explicit warm-up (every connection runs the query for every tenant, where N <= 512)")
	fs.BoolVar(&c.steady, "steady", true, "query path: also measure the steady state (warm connections) at the largest tenant count, c=1")
	fs.Var(&c.keys, "strategies", "query path: measure only these strategies (comma-separated keys; L is always measured)")
	fs.IntVar(&c.warmExecs, "warm-execs", 6, "query path: explicit warm-up executions of each tenant's statement per connection (PostgreSQL plans a prepared statement afresh for its first 5 executions)")
	fs.IntVar(&c.poolSize, "pool", 8, "query path: pool size (max connections) of every strategy")
	fs.Var(&c.conc, "conc", "query path: concurrency levels (goroutines)")
	fs.Var(&c.tenants, "tenants", "query path: tenant counts, uniform access")
	fs.Var(&c.zipfN, "zipf", "query path: tenant counts also measured with Zipf-skewed access")
	fs.Float64Var(&c.zipfS, "zipf-s", 1.1, "query path: Zipf exponent s (> 1)")
	fs.IntVar(&c.pptTenants, "ppt-tenants", 20, "query path: the one tenant count > 1 at which a pool per tenant is measured (it needs a server connection per tenant); 0 to skip")
	fs.IntVar(&c.rows, "rows", 100, "query path: rows per tenant table")
	fs.IntVar(&c.bigCache, "big-cache", 16384, "query path: the larger statement/description cache capacity measured")
	fs.IntVar(&c.chunk, "chunk", 200, "tenants per transaction when creating schemas with plain SQL")
	fs.IntVar(&c.setupWorkers, "setup-workers", 2, "connections creating query-path tenant schemas at once")
}

// Layout is what the query path keeps in the bench database, which a later
// run reuses only when it asks for the same.
func (c *Config) Layout() string { return fmt.Sprintf("rows=%d", c.rows) }

// check refuses sizes the measurement cannot use.
func (c *Config) check() error {
	switch {
	case c.zipfS <= 1:
		return fmt.Errorf("-zipf-s must be > 1")
	case c.rows < 1 || c.poolSize < 1 || c.chunk < 1:
		return fmt.Errorf("-rows, -pool and -chunk must be at least 1")
	case len(c.conc) == 0:
		return fmt.Errorf("-conc must name at least one concurrency level")
	case c.dur <= 0:
		return fmt.Errorf("-dur must be positive")
	}
	if c.keys != nil {
		c.keys["limit"] = true // every ratio is to L
	}
	return nil
}
