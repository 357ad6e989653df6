package main

// The tenant commands beyond create, list, drop and domain: rename,
// suspend and resume, export and import, and the Citus placement commands.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantgen/tenantgen/runtime"
)

func newTenantRename(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "rename OLD NEW",
		Short: "Rename a tenant: schema, registry row and domains, at once",
		Long: `Renames the tenant's schema, its registry row and its domains in one
transaction, under both names' locks, and re-pins the functions whose
search_path was pinned to the old schema. Queries bound to the old name fail
from then on.`,
		Example: "  tenantgen tenant rename thor asgard",
	}
	df := addDBFlags(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		names, err := tenantArgs(args)
		if err != nil {
			return err
		}
		if len(names) != 2 {
			return usagef("name the tenant and its new name")
		}
		ctx := cmd.Context()
		db, err := df.open(ctx, false)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.RenameTenant(ctx, names[0], names[1]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "renamed tenant %s to %s\n", names[0], names[1])
		return nil
	}
	return c
}

// newTenantState makes suspend or resume: the same shape, another call.
func newTenantState(e *env, suspend bool) *cobra.Command {
	c := &cobra.Command{
		Use:     "suspend NAME...",
		Short:   "Suspend tenants: data kept and migrated, requests refused (403)",
		Example: "  tenantgen tenant suspend loki",
	}
	verb, change := "suspended", (*runtime.DB).SuspendTenant
	if !suspend {
		c.Use, c.Short, c.Example = "resume NAME...", "Make suspended tenants active again", "  tenantgen tenant resume loki"
		verb, change = "resumed", (*runtime.DB).ResumeTenant
	}
	df := addDBFlags(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		names, err := tenantArgs(args)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		db, err := df.open(ctx, false)
		if err != nil {
			return err
		}
		defer db.Close()
		return eachTenant(ctx, e, names, verb, func(t runtime.Tenant) error {
			if err := change(db, ctx, t); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s tenant %s\n", verb, t)
			return nil
		})
	}
	return c
}

// eachTenant runs fn for every name: one name returns its error as is;
// several report each failure, go on with the others, and exit 1 naming
// the failed ones.
func eachTenant(ctx context.Context, e *env, names []runtime.Tenant, verb string, fn func(runtime.Tenant) error) error {
	if len(names) == 1 {
		return fn(names[0])
	}
	var failed []string
	for _, t := range names {
		if err := fn(t); err != nil {
			if ctx.Err() != nil {
				return err // interrupted: the rest is not attempted
			}
			fmt.Fprintf(e.stderr, "tenantgen: tenant %s: %s\n", t, strings.TrimPrefix(err.Error(), "tenantgen: "))
			failed = append(failed, t.String())
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(e.stderr, "tenantgen: %d of %d tenants not %s: %s (the others were)\n", len(failed), len(names), verb, strings.Join(failed, ", "))
		return errProblems
	}
	return nil
}

func newTenantExport(e *env) *cobra.Command {
	var out, pgBin string
	c := &cobra.Command{
		Use:   "export NAME -o FILE [--pg-bin DIR]",
		Short: "Write one tenant (schema, data, registry rows, versions) to a file",
		Long: `Writes the tenant to FILE: a tar of manifest.json (the registry row, domains,
the tenant-set version and every goose_db_version row) and schema.dump
(pg_dump --format=custom of the schema), in one snapshot, under the tenant's
locks. pg_dump comes from --pg-bin, else the PATH, else the newest
/usr/lib/postgresql/*/bin; it should be at least the server's version.`,
		Example: "  tenantgen tenant export thor -o thor.tenant",
	}
	df := addDBFlags(c)
	c.Flags().StringVarP(&out, "output", "o", "", "the file to write (- for stdout)")
	c.Flags().StringVar(&pgBin, "pg-bin", "", "directory of pg_dump and pg_restore")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		names, err := tenantArgs(args)
		if err != nil {
			return err
		}
		if len(names) != 1 {
			return usagef("export one tenant at a time")
		}
		if out == "" {
			return usagef("name the export file with -o FILE")
		}
		return runExport(cmd.Context(), e, df, names[0], out, runtime.ExportOptions{BinDir: pgBin})
	}
	return c
}

func runExport(ctx context.Context, e *env, df *dbFlags, t runtime.Tenant, out string, opts runtime.ExportOptions) (err error) {
	db, err := df.open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if out == "-" {
		return db.ExportTenant(ctx, t, e.stdout, opts)
	}
	// A temporary file renamed into place: a failed export leaves no
	// half-written file under the name asked for.
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("exporting tenant %s: %w", t, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	start := time.Now()
	if err := db.ExportTenant(ctx, t, f, opts); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("exporting tenant %s: %w", t, err)
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return fmt.Errorf("exporting tenant %s: %w", t, err)
	}
	// The file keeps CreateTemp's mode 0600: it holds all the tenant's data.
	fmt.Fprintf(e.stdout, "exported tenant %s to %s (%s)\n", t, out, time.Since(start).Round(time.Millisecond))
	return nil
}

func newTenantImport(e *env) *cobra.Command {
	var as, pgBin string
	var domains []string
	c := &cobra.Command{
		Use:   "import FILE [--as NEW] [--domain D ...] [--pg-bin DIR]",
		Short: "Restore a tenant export into this database",
		Long: `Restores a file written by tenant export and registers the tenant in its
exported state, under its name or --as NEW, with its exported domains or the
--domain ones (with --as, the exported domains are not imported unless given).
It refuses an export whose tenant-set version is not the generated files'
latest, and a taken name; any failure leaves nothing behind. The exported name
must be free in this database while the import runs (pg_restore restores under
it). pg_restore is found like export's pg_dump.`,
		Example: `  tenantgen tenant import thor.tenant
  tenantgen tenant import thor.tenant --as thor_copy --domain copy.thor.io`,
	}
	df := addDBFlags(c)
	c.Flags().StringVar(&as, "as", "", "import under this name")
	c.Flags().StringArrayVar(&domains, "domain", nil, "domains instead of the exported ones (repeatable; the first is primary)")
	c.Flags().StringVar(&pgBin, "pg-bin", "", "directory of pg_dump and pg_restore")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usagef("name one export file")
		}
		opts := runtime.ImportOptions{ExportOptions: runtime.ExportOptions{BinDir: pgBin}, Domains: domains}
		if as != "" {
			t, err := runtime.ParseTenant(as)
			if err != nil {
				return usageError{err.Error()}
			}
			opts.As = t
		}
		return runImport(cmd.Context(), e, df, args[0], opts)
	}
	return c
}

func runImport(ctx context.Context, e *env, df *dbFlags, file string, opts runtime.ImportOptions) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("importing: %w", err)
	}
	defer f.Close()
	// The migrations are needed: the export's version is checked against
	// the generated files'.
	db, err := df.open(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	t, err := db.ImportTenant(ctx, f, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "imported tenant %s from %s (%s)\n", t, file, time.Since(start).Round(time.Millisecond))
	return nil
}

func newTenantMove(e *env) *cobra.Command {
	var node string
	c := &cobra.Command{
		Use:   "move --node HOST:PORT NAME...",
		Short: "Citus: move tenants to a worker, online (citus_schema_move)",
		Long: `Moves each tenant's schema, all its tables at once, to the Citus worker
HOST:PORT with citus_schema_move, online: reads and writes go on during the
copy. A tenant already there is left alone.`,
		Example: "  tenantgen tenant move --node 10.0.0.3:5432 thor",
	}
	df := addDBFlags(c)
	c.Flags().StringVar(&node, "node", "", "the worker to move to (host:port, as tenant list shows)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		names, err := tenantArgs(args)
		if err != nil {
			return err
		}
		if node == "" {
			return usagef("name the worker with --node HOST:PORT")
		}
		ctx := cmd.Context()
		db, err := df.open(ctx, false)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := requireCitus(ctx, db, "tenant move"); err != nil {
			return err
		}
		return eachTenant(ctx, e, names, "moved", func(t runtime.Tenant) error {
			start := time.Now()
			if err := db.MoveTenant(ctx, t, node); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "tenant %s is on %s (%s)\n", t, node, time.Since(start).Round(time.Millisecond))
			return nil
		})
	}
	return c
}

func newTenantRebalance(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "rebalance",
		Short: "Citus: spread tenants over the workers (Citus's rebalancer), online",
		Long: `Runs Citus's rebalancer (rebalance_table_shards; each tenant schema moves as
one colocation group, online) and prints the workers' tenant counts when it
is done.`,
		Example: "  tenantgen tenant rebalance",
		Args:    noArgs,
	}
	df := addDBFlags(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		db, err := df.open(ctx, false)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := requireCitus(ctx, db, "tenant rebalance"); err != nil {
			return err
		}
		start := time.Now()
		if err := db.RebalanceTenants(ctx); err != nil {
			return err
		}
		nodes, err := db.CitusNodes(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "rebalanced (%s)\n", time.Since(start).Round(time.Millisecond))
		for _, n := range nodes {
			fmt.Fprintf(e.stdout, "node %s: %d tenant(s)\n", n.Node, n.Tenants)
		}
		return nil
	}
	return c
}
