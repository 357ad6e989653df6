package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tenantgen/tenantgen/runtime"
)

// dbFlags are the flags of commands that talk to the database.
type dbFlags struct {
	url    string
	config *configFlag
}

func addDBFlags(c *cobra.Command) *dbFlags {
	f := &dbFlags{config: addConfigFlag(c, "config file, for the generated migration sets")}
	c.Flags().StringVar(&f.url, "database-url", "", "PostgreSQL URL (default $DATABASE_URL)")
	return f
}

// databaseURL is --database-url, else $DATABASE_URL.
func (f *dbFlags) databaseURL() (string, error) {
	if f.url != "" {
		return f.url, nil
	}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u, nil
	}
	return "", usagef("no database: pass --database-url or set DATABASE_URL")
}

// open connects the runtime with the migration sets of the config's
// package; commands that need no migrations work without a config.
func (f *dbFlags) open(ctx context.Context, needMigrations bool) (*runtime.DB, error) {
	url, err := f.databaseURL()
	if err != nil {
		return nil, err
	}
	var migs runtime.Migrations
	cfg, err := f.config.load()
	switch {
	case err == nil:
		dir := cfg.Abs(cfg.Out)
		migs.Shared = os.DirFS(filepath.Join(dir, "migrations", "shared"))
		migs.Tenant = os.DirFS(filepath.Join(dir, "migrations", "tenant"))
	case needMigrations:
		return nil, err
	}
	// The CLI reports what it did itself; the runtime only adds warnings.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return runtime.Open(ctx, url, runtime.WithMigrations(migs), runtime.WithLogger(logger))
}

// migrateOpts are migrate's flags.
type migrateOpts struct {
	shared, tenantsOnly, dry, failFast bool
	names                              []string
	parallel                           int
	downTo                             int64
}

func newMigrate(e *env) *cobra.Command {
	var o migrateOpts
	c := &cobra.Command{
		Use:   "migrate [--shared | --tenants] [--tenant NAME ...] [--parallel N] [--dry-run] [--fail-fast] [--down-to V]",
		Short: "Apply migrations: shared first, then every tenant",
		Long: `With no flag, migrates public first (tenantgen's registry, then your shared
set) and then every tenant schema, N at a time. Failed tenants are listed and
the exit code is 1; the other tenants are migrated, and a rerun resumes.`,
		Example: `  tenantgen migrate
  tenantgen migrate --tenants --parallel 16
  tenantgen migrate --tenant thor --dry-run
  tenantgen migrate --tenant thor --down-to 1`,
		Args: noArgs,
	}
	df := addDBFlags(c)
	fl := c.Flags()
	fl.BoolVar(&o.shared, "shared", false, "migrate public only")
	fl.BoolVar(&o.tenantsOnly, "tenants", false, "migrate tenant schemas only")
	fl.StringArrayVar(&o.names, "tenant", nil, "migrate this tenant only (repeatable)")
	fl.IntVar(&o.parallel, "parallel", 4, "tenants migrated at once")
	fl.BoolVar(&o.dry, "dry-run", false, "show what would run")
	fl.BoolVar(&o.failFast, "fail-fast", false, "stop at the first failing tenant")
	fl.Int64Var(&o.downTo, "down-to", -1, "migrate tenants down to this version")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return runMigrate(cmd.Context(), e, df, o)
	}
	return c
}

func runMigrate(ctx context.Context, e *env, df *dbFlags, o migrateOpts) error {
	switch {
	case o.shared && (o.tenantsOnly || len(o.names) > 0):
		return usagef("--shared excludes --tenants and --tenant")
	case o.parallel < 1:
		return usagef("--parallel must be at least 1")
	case o.downTo >= 0 && o.shared:
		return usagef("--down-to applies to tenants")
	}
	db, err := df.open(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if !o.tenantsOnly && len(o.names) == 0 && o.downTo < 0 {
		if o.dry {
			fmt.Fprintln(e.stdout, "shared: would apply pending shared migrations")
		} else {
			n, err := db.MigrateShared(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "shared: %d migration(s) applied\n", n)
		}
	}
	if o.shared {
		return nil
	}
	opts := runtime.MigrateOptions{Parallel: o.parallel, DryRun: o.dry, FailFast: o.failFast}
	if len(o.names) > 0 {
		opts.Tenants = o.names
	}
	if o.downTo >= 0 {
		opts.DownTo = &o.downTo
	}
	start := time.Now()
	opts.Progress = progressPrinter(e.stderr, start)
	rep, err := db.MigrateTenants(ctx, opts)
	if rep == nil {
		return err
	}
	printMigrateReport(e.stdout, rep, time.Since(start))
	if failed := rep.Failed(); len(failed) > 0 {
		fmt.Fprintln(e.stderr, "tenantgen: failed tenants (rerun to resume):")
		for _, r := range failed {
			fmt.Fprintf(e.stderr, "  %s (at version %d): %v\n", r.Tenant, r.To, r.Err)
		}
		return errProblems
	}
	return err
}

// printMigrateReport sums up a tenant migration: a dry run counts what
// would migrate, a down migration names its target, and a tenant's note
// (a run split at NO TRANSACTION migrations) is shown under it.
func printMigrateReport(w io.Writer, rep *runtime.MigrateReport, took time.Duration) {
	failed := len(rep.Failed())
	target := fmt.Sprintf("target version %d", rep.Target)
	if rep.DownTo != nil {
		target = fmt.Sprintf("down to version %d", *rep.DownTo)
	}
	verb := "migrated"
	n := len(rep.Results) - failed
	if rep.DryRun {
		verb, n = "would migrate", rep.WouldMigrate
	}
	fmt.Fprintf(w, "tenants: %d total, %d up to date, %d %s, %d failed (%s, %s)\n",
		rep.Total, rep.UpToDate, n, verb, failed, target, took.Round(time.Millisecond))
	for _, r := range rep.Results {
		switch {
		case rep.DryRun:
			fmt.Fprintf(w, "  %s: %d -> %d\n", r.Tenant, r.From, r.To)
		case r.Note != "":
			fmt.Fprintf(w, "  %s: %s\n", r.Tenant, r.Note)
		}
	}
}

// progressPrinter redraws one status line on a terminal; elsewhere it
// prints a plain line every 10% of the run.
func progressPrinter(w io.Writer, start time.Time) func(done, total, failed int) {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	lastDecile := -1
	return func(done, total, failed int) {
		elapsed := time.Since(start)
		rate := float64(done) / elapsed.Seconds()
		eta := time.Duration(0)
		if rate > 0 {
			eta = time.Duration(float64(total-done) / rate * float64(time.Second))
		}
		line := fmt.Sprintf("%d/%d tenants, %d failed, %.1f/s, ETA %s", done, total, failed, rate, eta.Round(time.Second))
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
			if done == total {
				fmt.Fprintln(w)
			}
			return
		}
		if d := done * 10 / max(total, 1); d != lastDecile {
			lastDecile = d
			fmt.Fprintln(w, line)
		}
	}
}

func newTenant(e *env) *cobra.Command {
	return group("tenant", "Create, list, drop, rename, suspend, export and move tenants",
		`  tenantgen tenant create thor --domain thor.polls.local
  tenantgen tenant list
  tenantgen tenant domain add thor thor.io --primary
  tenantgen tenant drop thor --confirm thor`,
		newTenantCreate(e), newTenantList(e), newTenantDrop(e), newTenantDomain(e),
		newTenantRename(e), newTenantState(e, true), newTenantState(e, false),
		newTenantExport(e), newTenantImport(e), newTenantMove(e), newTenantRebalance(e))
}

// createOpts are tenant create's flags.
type createOpts struct {
	domains []string
	seed    string
	node    string
}

func newTenantCreate(e *env) *cobra.Command {
	var o createOpts
	c := &cobra.Command{
		Use:   "create NAME... [--domain D ...] [--seed FILE.sql] [--node HOST:PORT]",
		Short: "Create tenants: schema, every tenant migration, registry row, domains",
		Long: `Creates each tenant's schema, applies the tenant migration set to it, runs the
seed, and registers it with its domains (the first is primary), all or nothing
per tenant. Names are lower-case identifiers: letters, digits and _.

--seed runs a SQL script in each new tenant's creation transaction (unqualified
names resolve in the tenant's schema first; "$tenant".t names its table); a
failing seed leaves no tenant. --node places the tenants on a Citus worker.

With several names each is reported on its own line; when any fails the others
are still created, the failed ones are listed and the exit code is 1.`,
		Example: `  tenantgen tenant create thor --domain thor.polls.local
  tenantgen tenant create potter loki --seed seed.sql
  tenantgen tenant create thor --node 10.0.0.3:5432`,
	}
	df := addDBFlags(c)
	fl := c.Flags()
	fl.StringArrayVar(&o.domains, "domain", nil, "domain of the tenant (repeatable; the first is primary)")
	fl.StringVar(&o.seed, "seed", "", "SQL script run in each new tenant's creation transaction")
	fl.StringVar(&o.node, "node", "", "Citus worker (host:port) to place the tenants on")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		names, err := tenantArgs(args)
		if err != nil {
			return err
		}
		if len(names) > 1 && len(o.domains) > 0 {
			return usagef("--domain maps one tenant's domains: create tenants with domains one at a time")
		}
		return runCreate(cmd.Context(), e, df, names, o)
	}
	return c
}

func runCreate(ctx context.Context, e *env, df *dbFlags, names []runtime.Tenant, o createOpts) error {
	opts := runtime.CreateOptions{Domains: o.domains, Node: o.node}
	if o.seed != "" {
		// Read now: a missing file fails before any tenant is made.
		seed, err := runtime.SeedFile(o.seed)
		if err != nil {
			return err
		}
		opts.Seed = seed
	}
	db, err := df.open(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if o.node != "" {
		if err := requireCitus(ctx, db, "--node"); err != nil {
			return err
		}
	}
	return eachTenant(ctx, e, names, "created", func(t runtime.Tenant) error {
		return createOne(ctx, e, db, t, opts)
	})
}

func createOne(ctx context.Context, e *env, db *runtime.DB, t runtime.Tenant, opts runtime.CreateOptions) error {
	start := time.Now()
	if err := db.CreateTenant(ctx, t, opts); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created tenant %s (%s)\n", t, time.Since(start).Round(time.Millisecond))
	return nil
}

// requireCitus refuses a Citus-only flag or command on plain PostgreSQL,
// before anything is done.
func requireCitus(ctx context.Context, db *runtime.DB, what string) error {
	info, err := db.Citus(ctx)
	if err != nil {
		return err
	}
	if !info.Enabled {
		return fmt.Errorf("%s needs Citus: this database is not a Citus coordinator (no citus extension)", what)
	}
	return nil
}

func newTenantDrop(e *env) *cobra.Command {
	var confirm string
	c := &cobra.Command{
		Use:     "drop NAME --confirm NAME",
		Short:   "Drop a tenant's schema, with all its data, and its registry rows",
		Example: "  tenantgen tenant drop loki --confirm loki",
	}
	df := addDBFlags(c)
	c.Flags().StringVar(&confirm, "confirm", "", "the tenant's name again: dropping deletes all its data")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		names, err := tenantArgs(args)
		if err != nil {
			return err
		}
		if len(names) != 1 {
			return usagef("drop one tenant at a time")
		}
		if confirm != names[0].String() {
			return usagef("dropping %s deletes its schema and all its data: repeat its name with --confirm %s", names[0], names[0])
		}
		ctx := cmd.Context()
		db, err := df.open(ctx, false)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.DropTenant(ctx, names[0], confirm); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "dropped tenant %s\n", names[0])
		return nil
	}
	return c
}

func newTenantList(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the registry: tenants, their state, database and domains",
		Long: `Lists every registered tenant. The primary domain is starred. --json prints
an array of {"name", "database", "state", "created_at", "domains": [{"domain",
"primary"}]}, and on Citus "node": the worker (host:port) holding the tenant's
schema, read live from Citus (also the NODE column).`,
		Example: "  tenantgen tenant list\n  tenantgen tenant list --json",
		Args:    noArgs,
	}
	df := addDBFlags(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		db, err := df.open(ctx, false)
		if err != nil {
			return err
		}
		defer db.Close()
		infos, err := db.Tenants(ctx)
		if err != nil {
			return err
		}
		nodes, err := tenantNodes(ctx, db)
		if err != nil {
			return err
		}
		if asJSON {
			return printTenantsJSON(e.stdout, infos, nodes)
		}
		return printTenants(e.stdout, infos, nodes)
	}
	return c
}

// tenantNodes maps tenants to their Citus node; nil on plain PostgreSQL,
// where listings have no node column.
func tenantNodes(ctx context.Context, db *runtime.DB) (map[string]string, error) {
	info, err := db.Citus(ctx)
	if err != nil || !info.Enabled {
		return nil, err
	}
	return db.TenantNodes(ctx)
}

func printTenantsJSON(w io.Writer, infos []runtime.TenantInfo, nodes map[string]string) error {
	type dom struct {
		Domain  string `json:"domain"`
		Primary bool   `json:"primary"`
	}
	type row struct {
		Name     string    `json:"name"`
		Database string    `json:"database"`
		State    string    `json:"state"`
		Created  time.Time `json:"created_at"`
		Domains  []dom     `json:"domains"`
		Node     *string   `json:"node,omitempty"` // Citus only; "" before the schema has tables
	}
	out := []row{}
	for _, ti := range infos {
		r := row{Name: ti.Tenant.String(), Database: ti.Database, State: string(ti.State), Created: ti.CreatedAt, Domains: []dom{}}
		if nodes != nil {
			n := nodes[ti.Tenant.String()]
			r.Node = &n
		}
		for _, d := range ti.Domains {
			r.Domains = append(r.Domains, dom{d.Name, d.Primary})
		}
		out = append(out, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func printTenants(w io.Writer, infos []runtime.TenantInfo, nodes map[string]string) error {
	tw := newTable(w)
	if nodes != nil {
		fmt.Fprintln(tw, "TENANT\tSTATE\tDATABASE\tNODE\tDOMAINS")
	} else {
		fmt.Fprintln(tw, "TENANT\tSTATE\tDATABASE\tDOMAINS")
	}
	for _, ti := range infos {
		var ds []string
		for _, d := range ti.Domains {
			s := d.Name
			if d.Primary {
				s += "*"
			}
			ds = append(ds, s)
		}
		if nodes != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ti.Tenant, ti.State, ti.Database, orDash(nodes[ti.Tenant.String()]), strings.Join(ds, " "))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ti.Tenant, ti.State, ti.Database, strings.Join(ds, " "))
	}
	return tw.Flush()
}

func newTenantDomain(e *env) *cobra.Command {
	var primary bool
	add := &cobra.Command{
		Use:     "add TENANT DOMAIN [--primary]",
		Short:   "Map a domain to a tenant",
		Example: "  tenantgen tenant domain add thor thor.io --primary",
	}
	addDF := addDBFlags(add)
	add.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) != 2 {
			return usagef("name the tenant and the domain")
		}
		t, err := runtime.ParseTenant(args[0])
		if err != nil {
			return usageError{err.Error()}
		}
		db, err := addDF.open(cmd.Context(), false)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.AddDomain(cmd.Context(), t, args[1], primary)
	}
	remove := &cobra.Command{
		Use:     "remove DOMAIN",
		Short:   "Unmap a domain",
		Example: "  tenantgen tenant domain remove www.thor.io",
	}
	removeDF := addDBFlags(remove)
	remove.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usagef("name one domain")
		}
		if primary {
			return usagef("--primary applies to domain add")
		}
		db, err := removeDF.open(cmd.Context(), false)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.RemoveDomain(cmd.Context(), args[0])
	}
	c := group("domain", "Map domains to tenants (add, remove)",
		"  tenantgen tenant domain add thor thor.io --primary\n  tenantgen tenant domain remove www.thor.io", add, remove)
	// On domain itself, so that it may also come before the verb.
	c.PersistentFlags().BoolVar(&primary, "primary", false, "make it the tenant's primary domain")
	return c
}

func tenantArgs(args []string) ([]runtime.Tenant, error) {
	if len(args) == 0 {
		return nil, usagef("name at least one tenant")
	}
	var out []runtime.Tenant
	for _, a := range args {
		t, err := runtime.ParseTenant(a)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		out = append(out, t)
	}
	return out, nil
}

func newStatus(e *env) *cobra.Command {
	var asJSON, check bool
	c := &cobra.Command{
		Use:   "status [--json] [--check]",
		Short: "Show the shared version and each tenant's, with pending counts",
		Long: `Shows the version of the shared set in public and of the tenant set in every
registered tenant, against the generated migration files.

--check exits 1 when public has pending migrations or any tenant is behind,
ahead of the files, or not active (a create or drop that failed): a gate for
CI and deploys. --json prints the status as one object; see the README.`,
		Example: "  tenantgen status\n  tenantgen status --check --json",
		Args:    noArgs,
	}
	df := addDBFlags(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&check, "check", false, "exit 1 unless every schema is at the files' version and every tenant active")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		db, err := df.open(ctx, true)
		if err != nil {
			return err
		}
		defer db.Close()
		st, err := db.Status(ctx)
		if err != nil {
			return err
		}
		cs, err := citusStatus(ctx, db, st)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(cs); err != nil {
				return err
			}
		} else if err := printStatus(e.stdout, cs); err != nil {
			return err
		}
		if check {
			if why := statusProblems(st); why != "" {
				fmt.Fprintf(e.stderr, "tenantgen: status check failed: %s\n", why)
				return errProblems
			}
		}
		return nil
	}
	return c
}

// statusOut is status's output: the runtime's FleetStatus, and on Citus
// each tenant's node and the workers with their tenant counts. Plain
// PostgreSQL gets exactly the FleetStatus fields.
type statusOut struct {
	*runtime.FleetStatus
	Tenants []tenantStatusOut `json:"tenants"`
	Nodes   []nodeOut         `json:"nodes,omitempty"`
	citus   bool
}

type tenantStatusOut struct {
	runtime.TenantStatus
	Node *string `json:"node,omitempty"`
}

type nodeOut struct {
	Node    string `json:"node"`
	Tenants int    `json:"tenants"`
}

func citusStatus(ctx context.Context, db *runtime.DB, st *runtime.FleetStatus) (*statusOut, error) {
	out := &statusOut{FleetStatus: st, Tenants: []tenantStatusOut{}}
	nodes, err := tenantNodes(ctx, db)
	if err != nil {
		return nil, err
	}
	out.citus = nodes != nil
	for _, t := range st.Tenants {
		ts := tenantStatusOut{TenantStatus: t}
		if out.citus {
			n := nodes[t.Tenant]
			ts.Node = &n
		}
		out.Tenants = append(out.Tenants, ts)
	}
	if out.citus {
		workers, err := db.CitusNodes(ctx)
		if err != nil {
			return nil, err
		}
		for _, w := range workers {
			out.Nodes = append(out.Nodes, nodeOut{w.Node, w.Tenants})
		}
	}
	return out, nil
}

func printStatus(w io.Writer, st *statusOut) error {
	fmt.Fprintf(w, "shared: version %d of %d (%d pending)\n", st.Shared.Version, st.Shared.Latest, st.Shared.Pending)
	tw := newTable(w)
	if st.citus {
		fmt.Fprintln(tw, "TENANT\tSTATE\tNODE\tVERSION\tLATEST\tPENDING\tNOTE")
	} else {
		fmt.Fprintln(tw, "TENANT\tSTATE\tVERSION\tLATEST\tPENDING\tNOTE")
	}
	for _, t := range st.Tenants {
		if st.citus {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", t.Tenant, t.State, orDash(*t.Node), t.Version, t.Latest, t.Pending, t.Note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", t.Tenant, t.State, t.Version, t.Latest, t.Pending, t.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d tenants: %d up to date, %d behind, %d ahead\n", len(st.Tenants), st.UpToDate, st.Behind, st.Ahead)
	for _, n := range st.Nodes {
		fmt.Fprintf(w, "node %s: %d tenant(s)\n", n.Node, n.Tenants)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// table aligns tab-separated columns; Flush writes them to w without the
// trailing blanks of empty last columns.
type table struct {
	*tabwriter.Writer
	buf bytes.Buffer
	w   io.Writer
}

func newTable(w io.Writer) *table {
	t := &table{w: w}
	t.Writer = tabwriter.NewWriter(&t.buf, 0, 4, 2, ' ', 0)
	return t
}

func (t *table) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	for _, l := range strings.SplitAfter(t.buf.String(), "\n") {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(t.w, strings.TrimRight(l, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// statusProblems says what makes status --check fail; "" when nothing.
func statusProblems(st *runtime.FleetStatus) string {
	var why []string
	if st.Shared.Pending > 0 {
		why = append(why, fmt.Sprintf("public has %d pending migration(s)", st.Shared.Pending))
	}
	if st.Behind > 0 {
		why = append(why, fmt.Sprintf("%d tenant(s) behind", st.Behind))
	}
	if st.Ahead > 0 {
		why = append(why, fmt.Sprintf("%d tenant(s) ahead of the files", st.Ahead))
	}
	var inactive []string
	for _, t := range st.Tenants {
		// Suspended and spare tenants are migrated like active ones;
		// any other state (creating, dropping) is a lifecycle step that
		// did not finish.
		switch t.State {
		case runtime.StateActive, runtime.StateSuspended, runtime.StateSpare:
		default:
			inactive = append(inactive, t.Tenant+" ("+string(t.State)+")")
		}
	}
	if len(inactive) > 0 {
		why = append(why, "unfinished: "+strings.Join(inactive, ", "))
	}
	return strings.Join(why, "; ")
}
