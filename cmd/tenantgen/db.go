package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/runtime"
)

func init() {
	register(command{"migrate", "[--shared | --tenants] [--tenant NAME ...] [--parallel N] [--dry-run] [--fail-fast] [--down-to V]", "apply migrations: shared first, then every tenant", runMigrate})
	register(command{"tenant", "create|list|drop|domain ...", "create, list and drop tenants, map domains", runTenant})
	register(command{"status", "[--json]", "show the shared version and each tenant's, with pending counts", runStatus})
}

// dbFlags are the flags of commands that talk to the database.
type dbFlags struct {
	url, config *string
}

func addDBFlags(fs *flag.FlagSet) dbFlags {
	return dbFlags{
		url:    fs.String("database-url", "", "PostgreSQL URL (default $DATABASE_URL)"),
		config: fs.String("f", config.DefaultFile, "config file, for the generated migration sets"),
	}
}

// open connects the runtime with the migration sets of the config's package.
func (f dbFlags) open(ctx context.Context, needMigrations bool) (*runtime.DB, error) {
	url := *f.url
	if url == "" {
		url = os.Getenv("DATABASE_URL")
	}
	if url == "" {
		return nil, usageError{"no database: pass --database-url or set DATABASE_URL"}
	}
	var migs runtime.Migrations
	cfg, err := config.Load(*f.config)
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

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "migrate")
	df := addDBFlags(fs)
	shared := fs.Bool("shared", false, "migrate public only")
	tenantsOnly := fs.Bool("tenants", false, "migrate tenant schemas only")
	var names stringList
	fs.Var(&names, "tenant", "migrate this tenant only (repeatable)")
	parallel := fs.Int("parallel", 4, "tenants migrated at once")
	dry := fs.Bool("dry-run", false, "show what would run")
	failFast := fs.Bool("fail-fast", false, "stop at the first failing tenant")
	downTo := fs.Int64("down-to", -1, "migrate tenants down to this version")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *shared && (*tenantsOnly || len(names) > 0):
		return usageError{"--shared excludes --tenants and --tenant"}
	case *parallel < 1:
		return usageError{"--parallel must be at least 1"}
	case *downTo >= 0 && *shared:
		return usageError{"--down-to applies to tenants"}
	}
	db, err := df.open(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if !*tenantsOnly && len(names) == 0 && *downTo < 0 {
		if *dry {
			fmt.Fprintln(e.stdout, "shared: would apply pending shared migrations")
		} else {
			n, err := db.MigrateShared(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "shared: %d migration(s) applied\n", n)
		}
	}
	if *shared {
		return nil
	}
	opts := runtime.MigrateOptions{Parallel: *parallel, DryRun: *dry, FailFast: *failFast}
	if len(names) > 0 {
		opts.Tenants = names
	}
	if *downTo >= 0 {
		opts.DownTo = downTo
	}
	start := time.Now()
	opts.Progress = progressPrinter(e.stderr, start)
	rep, err := db.MigrateTenants(ctx, opts)
	if rep == nil {
		return err
	}
	fmt.Fprintf(e.stdout, "tenants: %d total, %d up to date, %d migrated, %d failed (target version %d, %s)\n",
		rep.Total, rep.UpToDate, len(rep.Results)-len(rep.Failed()), len(rep.Failed()), rep.Target, time.Since(start).Round(time.Millisecond))
	if *dry {
		for _, r := range rep.Results {
			fmt.Fprintf(e.stdout, "  %s: %d -> %d\n", r.Tenant, r.From, r.To)
		}
	}
	if failed := rep.Failed(); len(failed) > 0 {
		fmt.Fprintln(e.stderr, "failed tenants (rerun to resume):")
		for _, r := range failed {
			fmt.Fprintf(e.stderr, "  %s (at version %d): %v\n", r.Tenant, r.To, r.Err)
		}
		return errProblems
	}
	return err
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

func runTenant(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{"missing subcommand: create, list, drop, domain"}
	}
	sub, args := args[0], args[1:]
	fs := flags(e, "tenant "+sub)
	df := addDBFlags(fs)
	switch sub {
	case "create":
		var domains stringList
		fs.Var(&domains, "domain", "domain of the tenant (repeatable; the first is primary)")
		if err := parse(fs, args); err != nil {
			return err
		}
		names, err := tenantArgs(fs)
		if err != nil {
			return err
		}
		db, err := df.open(ctx, true)
		if err != nil {
			return err
		}
		defer db.Close()
		for _, t := range names {
			start := time.Now()
			if err := db.CreateTenant(ctx, t, runtime.CreateOptions{Domains: domains}); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "created tenant %s (%s)\n", t, time.Since(start).Round(time.Millisecond))
		}
		return nil
	case "drop":
		confirm := fs.String("confirm", "", "the tenant's name again: dropping deletes all its data")
		if err := parse(fs, args); err != nil {
			return err
		}
		names, err := tenantArgs(fs)
		if err != nil {
			return err
		}
		if len(names) != 1 {
			return usageError{"drop one tenant at a time"}
		}
		if *confirm != names[0].Name() {
			return usageError{fmt.Sprintf("dropping %s deletes its schema and all its data: repeat its name with --confirm %s", names[0], names[0])}
		}
		db, err := df.open(ctx, false)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.DropTenant(ctx, names[0], *confirm); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "dropped tenant %s\n", names[0])
		return nil
	case "list":
		asJSON := fs.Bool("json", false, "print JSON")
		if err := parse(fs, args); err != nil {
			return err
		}
		db, err := df.open(ctx, false)
		if err != nil {
			return err
		}
		defer db.Close()
		infos, err := db.Tenants(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
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
			}
			out := []row{}
			for _, ti := range infos {
				r := row{Name: ti.Tenant.Name(), Database: ti.Database, State: string(ti.State), Created: ti.CreatedAt, Domains: []dom{}}
				for _, d := range ti.Domains {
					r.Domains = append(r.Domains, dom{d.Name, d.Primary})
				}
				out = append(out, r)
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TENANT\tSTATE\tDATABASE\tDOMAINS")
		for _, ti := range infos {
			var ds []string
			for _, d := range ti.Domains {
				s := d.Name
				if d.Primary {
					s += "*"
				}
				ds = append(ds, s)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ti.Tenant, ti.State, ti.Database, strings.Join(ds, " "))
		}
		return tw.Flush()
	case "domain":
		primary := fs.Bool("primary", false, "make it the tenant's primary domain")
		// The verb may come before the flags (domain add --primary thor x)
		// or after them (domain --primary add thor x).
		verb := ""
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			verb, args = args[0], args[1:]
		}
		if err := parse(fs, args); err != nil {
			return err
		}
		rest := fs.Args()
		if verb == "" && len(rest) > 0 {
			verb = rest[0]
			if err := parse(fs, rest[1:]); err != nil { // flags after the verb
				return err
			}
			rest = fs.Args()
		}
		switch {
		case verb == "add" && len(rest) == 2, verb == "remove" && len(rest) == 1:
		default:
			return usageError{"usage: tenant domain add [--primary] TENANT DOMAIN | tenant domain remove DOMAIN"}
		}
		db, err := df.open(ctx, false)
		if err != nil {
			return err
		}
		defer db.Close()
		if verb == "remove" {
			return db.RemoveDomain(ctx, rest[0])
		}
		t, err := runtime.ParseTenant(rest[0])
		if err != nil {
			return usageError{err.Error()}
		}
		return db.AddDomain(ctx, t, rest[1], *primary)
	}
	return usageError{fmt.Sprintf("unknown subcommand %q: use create, list, drop, domain", sub)}
}

func tenantArgs(fs *flag.FlagSet) ([]runtime.Tenant, error) {
	if fs.NArg() == 0 {
		return nil, usageError{"name at least one tenant"}
	}
	var out []runtime.Tenant
	for _, a := range fs.Args() {
		t, err := runtime.ParseTenant(a)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		out = append(out, t)
	}
	return out, nil
}

func runStatus(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "status")
	df := addDBFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	db, err := df.open(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	fmt.Fprintf(e.stdout, "shared: version %d of %d (%d pending)\n", st.Shared.Version, st.Shared.Latest, st.Shared.Pending)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tSTATE\tVERSION\tLATEST\tPENDING\tNOTE")
	for _, t := range st.Tenants {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", t.Tenant, t.State, t.Version, t.Latest, t.Pending, t.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d tenants: %d up to date, %d behind, %d ahead\n", len(st.Tenants), st.UpToDate, st.Behind, st.Ahead)
	return nil
}
