// Package bench is what tenantgen's benchmark families share: the server
// connection and the throwaway databases they run in (Env), the report they
// write together (BENCHMARKS.md) and small measuring and formatting helpers.
//
// Each family is a package of its own under internal/bench (query, migrate,
// create, generate; fleet is what migrate and create share, synth the
// generation input, benchdb and fleetdb the generated packages they run),
// with its own Config and flags; the command internal/bench/cmd/tenantgen-bench
// runs them. Binding overhead, which needs no fleet, is a plain testing.B
// benchmark in internal/bench/bind.
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/internal/pgtest"
)

// layoutVersion names what a reusable bench database holds; a database with
// another layout is dropped and created again.
const layoutVersion = "tenantgen-bench layout 1"

// Config is where the families run: flags every family shares.
type Config struct {
	URL  string // the server; default: the tests' (pgtest.AdminURL)
	DB   string // the throwaway database; the fleet families use DB+"_fleet"
	Keep bool   // keep DB (the query path's tenants) for the next run
}

// Flags registers c's flags on fs.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "url", "", "server URL (default $TENANTGEN_TEST_DATABASE_URL, else "+pgtest.DefaultURL+")")
	fs.StringVar(&c.DB, "db", "tenantgen_bench", "name of the throwaway database (fleet migration and creation use <db>_fleet)")
	fs.BoolVar(&c.Keep, "keep", false, "keep the database (and its query-path tenants) for the next run instead of dropping it")
}

// Env is the state shared by the families: the admin connection (on the
// server's maintenance database, so it is not counted among the bench
// database's connections) and the bench database.
type Env struct {
	cfg     Config
	admin   *pgx.Conn
	URL     string // the bench database's URL
	machine machine

	dropped string // what happened to it at the end

	// fleetURL is the second database, of the fleet-migration and creation
	// families: made afresh by the first of them, always dropped at the end
	// (dropping a database is much faster than dropping thousands of
	// schemas).
	fleetURL string
}

// fleetDB is the name of the fleet families' database.
func (e *Env) fleetDB() string { return e.cfg.DB + "_fleet" }

// Open connects to the server and makes sure the bench database exists
// with the given layout (what the query path keeps in it, e.g. its row
// count): one with another layout is dropped and created again.
func Open(ctx context.Context, c Config, layout string) (*Env, error) {
	if c.URL == "" {
		c.URL = pgtest.AdminURL()
	}
	e := &Env{cfg: c, URL: pgtest.WithDatabase(c.URL, c.DB)}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(cctx, c.URL)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", pgtest.Redact(c.URL), err)
	}
	e.admin = admin
	if err := e.ensureDB(ctx, layoutVersion+" "+layout); err != nil {
		e.Close()
		return nil, fmt.Errorf("preparing database %s: %w", c.DB, err)
	}
	e.machine = readMachine(ctx, admin)
	return e, nil
}

// ensureDB reuses the bench database when its layout is want, and creates
// it (again) otherwise.
func (e *Env) ensureDB(ctx context.Context, want string) error {
	var exists bool
	if err := e.admin.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, e.cfg.DB).Scan(&exists); err != nil {
		return err
	}
	if exists {
		have := ""
		if conn, err := pgx.Connect(ctx, e.URL); err == nil {
			_ = conn.QueryRow(ctx, `SELECT value FROM public.tenantgen_bench_meta WHERE key = 'layout'`).Scan(&have)
			conn.Close(ctx)
		}
		if have == want {
			Logf("reusing database %s (%s)", e.cfg.DB, have)
			return nil
		}
		Logf("database %s exists with layout %q, not %q: dropping it", e.cfg.DB, have, want)
		if _, err := e.admin.Exec(ctx, "DROP DATABASE "+Ident(e.cfg.DB)+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	if _, err := e.admin.Exec(ctx, "CREATE DATABASE "+Ident(e.cfg.DB)); err != nil {
		return fmt.Errorf("creating the bench database: %w", err)
	}
	conn, err := pgx.Connect(ctx, e.URL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE TABLE public.tenantgen_bench_meta (key text PRIMARY KEY, value text NOT NULL);
		INSERT INTO public.tenantgen_bench_meta VALUES ('layout', '`+want+`')`)
	return err
}

// OpenFleet creates the fleet database the first time it is asked for, and
// returns its URL.
func (e *Env) OpenFleet(ctx context.Context) (string, error) {
	if e.fleetURL != "" {
		return e.fleetURL, nil
	}
	name := Ident(e.fleetDB())
	if _, err := e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := e.admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	e.fleetURL = pgtest.WithDatabase(e.cfg.URL, e.fleetDB())
	return e.fleetURL, nil
}

// Finish drops the fleet database, and the bench database unless Keep, and
// remembers what it did for the report.
func (e *Env) Finish(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	e.machine.loadEnd = loadAvg()
	if e.fleetURL != "" {
		t0 := time.Now()
		if _, err := e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+Ident(e.fleetDB())+" WITH (FORCE)"); err != nil {
			Logf("dropping %s: %v", e.fleetDB(), err)
		} else {
			Logf("dropped database %s in %s", e.fleetDB(), time.Since(t0).Round(100*time.Millisecond))
		}
	}
	if e.cfg.Keep {
		e.dropped = "kept (`-keep`)"
		return
	}
	if _, err := e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+Ident(e.cfg.DB)+" WITH (FORCE)"); err != nil {
		Logf("dropping %s: %v", e.cfg.DB, err)
		e.dropped = fmt.Sprintf("could not be dropped: %v", err)
		return
	}
	Logf("dropped database %s", e.cfg.DB)
	e.dropped = "dropped at the end of the run"
}

// Close closes the admin connection.
func (e *Env) Close() {
	if e.admin != nil {
		e.admin.Close(context.Background())
	}
}

// PoolConfig is the bench database's pool config with maxConns connections.
func (e *Env) PoolConfig(maxConns int) (*pgxpool.Config, error) {
	return PoolConfig(e.URL, maxConns)
}

// PoolConfig is url's pool config with at most maxConns connections and no
// idle minimum.
func PoolConfig(url string, maxConns int) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(maxConns)
	cfg.MinConns = 0
	return cfg, nil
}

// ServerConns counts the client connections to the bench database with the
// given application_name.
func (e *Env) ServerConns(ctx context.Context, app string) int {
	var n int
	err := e.admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND backend_type = 'client backend'`, e.cfg.DB, app).Scan(&n)
	if err != nil {
		return -1
	}
	return n
}

// SchemasLike lists the schemas whose names match the POSIX regexp re.
func SchemasLike(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, re string) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname ~ $1 ORDER BY nspname`, re)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// UpSQL returns the Up sections of a goose migration set, in version order,
// as one script without the goose annotations: the DDL alone, which the
// baselines run without goose's bookkeeping.
func UpSQL(fsys fs.FS) (string, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", errors.New("no migration files")
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return "", err
		}
		writeUp(&sb, string(data))
	}
	return sb.String(), nil
}

// writeUp writes the lines of a goose file's Up sections.
func writeUp(sb *strings.Builder, file string) {
	up := false
	for _, line := range strings.Split(file, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "-- +goose Up"):
			up = true
			continue
		case strings.HasPrefix(t, "-- +goose Down"):
			up = false
			continue
		case strings.HasPrefix(t, "-- +goose"):
			continue
		}
		if up {
			sb.WriteString(line)
			sb.WriteByte('\n')
		}
	}
}

// Ident quotes s as an SQL identifier.
func Ident(s string) string { return pgx.Identifier{s}.Sanitize() }
