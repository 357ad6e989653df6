package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantgen/tenantgen/cmd/tenantgen-bench/fleetdb"
	"github.com/tenantgen/tenantgen/runtime"
)

// runCreate times runtime.CreateTenant with fleetdb's schema against the
// limit: the same DDL in one transaction on an open connection. The two
// alternate, one tenant each, so that background load falls on both alike.
func runCreate(ctx context.Context, b *bench) (section, []targetRow, error) {
	c := b.cfg
	rt, url, err := openFleetRuntime(ctx, b)
	if err != nil {
		return section{}, nil, err
	}
	defer rt.Close()
	ddl, err := upSQL(fleetdb.Migrations().Tenant)
	if err != nil {
		return section{}, nil, err
	}
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		return section{}, nil, err
	}
	defer conn.Close(ctx)

	var rtTimes, limTimes []time.Duration
	for i := range c.creates {
		if ctx.Err() != nil {
			return section{}, nil, ctx.Err()
		}
		t := runtime.MustTenant(fmt.Sprintf("cr_%04d", i))
		t0 := time.Now()
		if err := rt.CreateTenant(ctx, t, runtime.CreateOptions{Domains: []string{strings.ReplaceAll(t.Name(), "_", "-") + ".example.com"}}); err != nil {
			return section{}, nil, fmt.Errorf("CreateTenant %s: %w", t, err)
		}
		rtTimes = append(rtTimes, time.Since(t0))

		name := fmt.Sprintf("cx_%04d", i)
		t0 = time.Now()
		script := fmt.Sprintf("BEGIN;\nCREATE SCHEMA %s;\nSET LOCAL search_path TO %s, public;\n%s\nCOMMIT;", ident(name), ident(name), ddl)
		if _, err := conn.Exec(ctx, script).ReadAll(); err != nil {
			return section{}, nil, fmt.Errorf("creating %s with plain DDL: %w", name, err)
		}
		limTimes = append(limTimes, time.Since(t0))
	}
	rp50, rp99 := percentile(rtTimes, 0.5), percentile(rtTimes, 0.99)
	lp50, lp99 := percentile(limTimes, 0.5), percentile(limTimes, 0.99)
	logf("  CreateTenant p50 %s p99 %s; DDL in one transaction p50 %s p99 %s", rp50.Round(100*time.Microsecond), rp99.Round(100*time.Microsecond), lp50.Round(100*time.Microsecond), lp99.Round(100*time.Microsecond))

	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format, args...) }
	w("%d tenants created one after another with [`fleetdb`](cmd/tenantgen-bench/fleetdb)'s tenant set (5 migrations, 11 tables), each with one domain,\n", c.creates)
	w("alternating with the limit so that background load falls on both alike.\n\n")
	w("| method | p50 | p99 | p50 / L | p99 / L | what it does |\n|---|---|---|---|---|---|\n")
	w("| L: the tenant set's DDL in one transaction | %s | %s | 1.00 | 1.00 | `BEGIN; CREATE SCHEMA; SET LOCAL search_path; <DDL>; COMMIT` on an open connection, one round trip |\n", fmtMs(lp50), fmtMs(lp99))
	w("| runtime.CreateTenant | %s | %s | %.2f | %.2f | registry row, schema, goose (advisory lock, version table, a transaction per migration), domain, state active |\n",
		fmtMs(rp50), fmtMs(rp99), rp50.Seconds()/lp50.Seconds(), rp99.Seconds()/lp99.Seconds())
	w("| creation from a template schema | - | - | - | - | not offered yet: tenantgen has no template-based creation; cloning a template would skip replaying the migrations |\n\n")
	w("Notes:\n\n")
	_, versions := fleetdb.Migrations().Versions()
	w("- CreateTenant's extra time over L is its bookkeeping: goose's version table and %d migrations committed one by one with\n", len(versions))
	w("  their version rows, and the registry's statements; it is what makes creation all-or-nothing and resumable. Applying a new\n")
	w("  tenant's migrations in one transaction (they are all pending) would bring it near L.\n")
	return section{title: "3. Tenant creation", body: sb.String()}, nil, nil
}

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
