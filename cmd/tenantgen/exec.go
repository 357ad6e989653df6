package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/tenantgen/tenantgen/runtime"
)

func newPsql(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "psql --tenant NAME [-- PSQL-ARGS...]",
		Short: "Run psql in a tenant's schema (search_path NAME, public)",
		Long: `Runs psql connected to the database with search_path set to the tenant's
schema, then public (through PGOPTIONS). psql's own flags go after --.`,
		Example: `  tenantgen psql --tenant thor
  tenantgen psql --tenant thor -- -c 'SELECT count(*) FROM questions'`,
	}
	return inTenant(e, c, true)
}

func newExec(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "exec --tenant NAME -- CMD [ARGS...]",
		Short: "Run a command connected to a tenant's schema, like django's tenant_command",
		Long: `Runs CMD with the environment of a libpq client connected to the database
in the tenant's schema: PGOPTIONS sets search_path to the tenant, then public;
PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE and DATABASE_URL
come from the database URL. The exit status is the command's.`,
		Example: `  tenantgen exec --tenant thor -- pg_dump --schema thor
  tenantgen exec --tenant thor -- go run ./cmd/backfill`,
	}
	return inTenant(e, c, false)
}

func inTenant(e *env, c *cobra.Command, psql bool) *cobra.Command {
	df := addDBFlags(c)
	var tenant string
	c.Flags().StringVar(&tenant, "tenant", "", "the tenant whose schema comes first in search_path")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return runInTenant(cmd.Context(), e, df, tenant, args, psql)
	}
	return c
}

// runInTenant runs a command with the environment of a libpq client
// connected to the database, search_path set to the tenant's schema and
// public: PGOPTIONS gets -c search_path="NAME",public (after what it
// already holds), PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD and
// PGSSLMODE come from the database URL, and DATABASE_URL is the URL. libpq
// and pgx both read PGOPTIONS unless the connection string sets options.
func runInTenant(ctx context.Context, e *env, df *dbFlags, tenant string, argv []string, psql bool) error {
	if tenant == "" {
		return usagef("--tenant is required")
	}
	t, err := runtime.ParseTenant(tenant)
	if err != nil {
		return usageError{err.Error()}
	}
	if psql {
		argv = append([]string{"psql"}, argv...)
	} else if len(argv) == 0 {
		return usagef("name the command to run, after --")
	}
	dbURL, err := df.databaseURL()
	if err != nil {
		return err
	}
	db, err := df.open(ctx, false)
	if err != nil {
		return err
	}
	var state string
	err = db.Pool().QueryRow(ctx, `SELECT state FROM public.tenantgen_tenants WHERE name = $1`, t.String()).Scan(&state)
	db.Close()
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("tenant %s: %w", t, runtime.ErrTenantNotFound)
	case err != nil:
		return fmt.Errorf("looking up tenant %s: %w", t, err)
	case state != "active":
		fmt.Fprintf(e.stderr, "tenantgen: note: tenant %s is %s, not active\n", t, state)
	}
	environ, err := tenantEnv(dbURL, t)
	if err != nil {
		return err
	}
	if connParam(dbURL, "options") != "" {
		fmt.Fprintln(e.stderr, "tenantgen: note: the database URL sets options, which libpq prefers to PGOPTIONS: connect without it to get the tenant's search_path")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		if psql {
			fmt.Fprintf(e.stderr, "tenantgen: %v\n\thint: install the PostgreSQL client (psql), or use tenantgen exec with another client\n", err)
		} else {
			fmt.Fprintf(e.stderr, "tenantgen: %v\n", err)
		}
		return exitStatus(127)
	}
	// Not CommandContext: an interrupt is the command's to handle (psql
	// cancels its query on ^C), and main ignores it while we wait.
	cmd := exec.Command(path, argv[1:]...)
	cmd.Env = environ
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, e.stdout, e.stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitStatus(128 + int(ws.Signal()))
		}
		return exitStatus(ee.ExitCode())
	}
	return err
}

// tenantEnv is the process environment with the tenant's connection
// variables set.
func tenantEnv(dbURL string, t runtime.Tenant) ([]string, error) {
	cfg, err := pgconn.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("parsing the database URL: %w", err)
	}
	vars := map[string]string{
		"DATABASE_URL": dbURL,
		"PGOPTIONS":    strings.TrimSpace(os.Getenv("PGOPTIONS") + " -c search_path=" + t.Ident() + ",public"),
		"PGHOST":       cfg.Host,
		"PGDATABASE":   cfg.Database,
		"PGUSER":       cfg.User,
	}
	if cfg.Port != 0 {
		vars["PGPORT"] = strconv.Itoa(int(cfg.Port))
	}
	if cfg.Password != "" {
		vars["PGPASSWORD"] = cfg.Password
	}
	if m := connParam(dbURL, "sslmode"); m != "" {
		vars["PGSSLMODE"] = m
	}
	// os/exec keeps the last of duplicate variables.
	environ := os.Environ()
	for k, v := range vars {
		if v != "" {
			environ = append(environ, k+"="+v)
		}
	}
	return environ, nil
}

// connParam reads one parameter of a postgres:// URL or of a keyword/value
// connection string (unquoted values only).
func connParam(s, key string) string {
	if u, err := url.Parse(s); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Query().Get(key)
	}
	for _, f := range strings.Fields(s) {
		if k, v, ok := strings.Cut(f, "="); ok && k == key {
			return v
		}
	}
	return ""
}
