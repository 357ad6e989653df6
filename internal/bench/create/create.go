// Package create is the tenant-creation benchmark family: runtime.CreateTenant
// with fleetdb's tenant set against the same DDL in one transaction.
package create

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantgen/tenantgen/internal/bench"
	"github.com/tenantgen/tenantgen/internal/bench/fleet"
	"github.com/tenantgen/tenantgen/internal/bench/fleetdb"
	"github.com/tenantgen/tenantgen/runtime"
)

// Config sizes the family.
type Config struct {
	Creates int // tenants created per method
}

// Flags registers c's flags on fs.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.IntVar(&c.Creates, "creates", 100, "tenant creation: tenants created per method")
}

// Run times runtime.CreateTenant with fleetdb's schema against the limit:
// the same DDL in one transaction on an open connection. The two alternate,
// one tenant each, so that background load falls on both alike.
func (c *Config) Run(ctx context.Context, e *bench.Env) (bench.Section, []bench.TargetRow, error) {
	if c.Creates < 1 {
		return bench.Section{}, nil, fmt.Errorf("-creates must be at least 1")
	}
	f, err := fleet.Open(ctx, e)
	if err != nil {
		return bench.Section{}, nil, err
	}
	defer f.Close()
	conn, err := pgconn.Connect(ctx, f.URL)
	if err != nil {
		return bench.Section{}, nil, err
	}
	defer conn.Close(ctx)

	var rtTimes, limTimes []time.Duration
	for i := range c.Creates {
		if ctx.Err() != nil {
			return bench.Section{}, nil, ctx.Err()
		}
		d, err := createOne(ctx, f.RT, i)
		if err != nil {
			return bench.Section{}, nil, err
		}
		rtTimes = append(rtTimes, d)
		if d, err = createLimit(ctx, conn, i, f.DDL); err != nil {
			return bench.Section{}, nil, err
		}
		limTimes = append(limTimes, d)
	}
	return c.report(rtTimes, limTimes), nil, nil
}

// createOne times runtime.CreateTenant of the i-th tenant, with a domain.
func createOne(ctx context.Context, rt *runtime.DB, i int) (time.Duration, error) {
	t := runtime.MustTenant(fmt.Sprintf("cr_%04d", i))
	t0 := time.Now()
	if err := rt.CreateTenant(ctx, t, runtime.CreateOptions{Domains: []string{strings.ReplaceAll(t.String(), "_", "-") + ".example.com"}}); err != nil {
		return 0, fmt.Errorf("CreateTenant %s: %w", t, err)
	}
	return time.Since(t0), nil
}

// createLimit times the limit for the i-th tenant: schema and DDL in one
// transaction, one round trip.
func createLimit(ctx context.Context, conn *pgconn.PgConn, i int, ddl string) (time.Duration, error) {
	name := bench.Ident(fmt.Sprintf("cx_%04d", i))
	t0 := time.Now()
	script := fmt.Sprintf("BEGIN;\nCREATE SCHEMA %s;\nSET LOCAL search_path TO %s, public;\n%s\nCOMMIT;", name, name, ddl)
	if _, err := conn.Exec(ctx, script).ReadAll(); err != nil {
		return 0, fmt.Errorf("creating %s with plain DDL: %w", name, err)
	}
	return time.Since(t0), nil
}

func (c *Config) report(rtTimes, limTimes []time.Duration) bench.Section {
	rp50, rp99 := bench.Percentile(rtTimes, 0.5), bench.Percentile(rtTimes, 0.99)
	lp50, lp99 := bench.Percentile(limTimes, 0.5), bench.Percentile(limTimes, 0.99)
	bench.Logf("  CreateTenant p50 %s p99 %s; DDL in one transaction p50 %s p99 %s", rp50.Round(100*time.Microsecond), rp99.Round(100*time.Microsecond), lp50.Round(100*time.Microsecond), lp99.Round(100*time.Microsecond))

	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format, args...) }
	w("%d tenants created one after another with [`fleetdb`](internal/bench/fleetdb)'s tenant set (5 migrations, 11 tables), each with one domain,\n", c.Creates)
	w("alternating with the limit so that background load falls on both alike.\n\n")
	w("| method | p50 | p99 | p50 / L | p99 / L | what it does |\n|---|---|---|---|---|---|\n")
	w("| L: the tenant set's DDL in one transaction | %s | %s | 1.00 | 1.00 | `BEGIN; CREATE SCHEMA; SET LOCAL search_path; <DDL>; COMMIT` on an open connection, one round trip |\n", bench.FmtMs(lp50), bench.FmtMs(lp99))
	w("| runtime.CreateTenant | %s | %s | %.2f | %.2f | registry row, schema, goose (advisory lock, version table, a transaction per migration), domain, state active |\n",
		bench.FmtMs(rp50), bench.FmtMs(rp99), rp50.Seconds()/lp50.Seconds(), rp99.Seconds()/lp99.Seconds())
	w("| creation from a template schema | - | - | - | - | not offered yet: tenantgen has no template-based creation; cloning a template would skip replaying the migrations |\n\n")
	w("Notes:\n\n")
	_, versions := fleetdb.Migrations().Versions()
	w("- CreateTenant's extra time over L is its bookkeeping: goose's version table and %d migrations committed one by one with\n", len(versions))
	w("  their version rows, and the registry's statements; it is what makes creation all-or-nothing and resumable. Applying a new\n")
	w("  tenant's migrations in one transaction (they are all pending) would bring it near L.\n")
	return bench.Section{Title: "3. Tenant creation", Body: sb.String()}
}
