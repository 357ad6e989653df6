package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// layout names what a reusable bench database holds; a database with another
// layout is dropped and created again.
const layoutVersion = "tenantgen-bench layout 1"

// bench is the state shared by the families: the admin connection (on the
// server's maintenance database, so it is not counted among the bench
// database's connections) and the bench database.
type bench struct {
	cfg     *config
	admin   *pgx.Conn
	url     string // the bench database's URL
	machine machine

	reused  bool   // the database existed with the right layout
	layout  string // what it held
	dropped string // what happened to it at the end

	// fleetURL is the second database, of the fleet-migration and creation
	// families: made afresh by the first of them, always dropped at the end
	// (dropping a database is much faster than dropping thousands of
	// schemas).
	fleetURL string
}

func (b *bench) fleetDB() string { return b.cfg.dbName + "_fleet" }

// openFleet creates the fleet database the first time it is asked for.
func (b *bench) openFleet(ctx context.Context) (string, error) {
	if b.fleetURL != "" {
		return b.fleetURL, nil
	}
	name := ident(b.fleetDB())
	if _, err := b.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := b.admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	u, err := withDatabase(b.cfg.url, b.fleetDB())
	if err != nil {
		return "", err
	}
	b.fleetURL = u
	return u, nil
}

func (b *bench) open(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(cctx, b.cfg.url)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", redact(b.cfg.url), err)
	}
	b.admin = admin
	b.url, err = withDatabase(b.cfg.url, b.cfg.dbName)
	if err != nil {
		return err
	}
	want := fmt.Sprintf("%s rows=%d", layoutVersion, b.cfg.rows)
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, b.cfg.dbName).Scan(&exists); err != nil {
		return err
	}
	if exists {
		have := ""
		if conn, err := pgx.Connect(ctx, b.url); err == nil {
			_ = conn.QueryRow(ctx, `SELECT value FROM public.tenantgen_bench_meta WHERE key = 'layout'`).Scan(&have)
			conn.Close(ctx)
		}
		if have == want {
			b.reused = true
			logf("reusing database %s (%s)", b.cfg.dbName, have)
		} else {
			logf("database %s exists with layout %q, not %q: dropping it", b.cfg.dbName, have, want)
			if _, err := admin.Exec(ctx, "DROP DATABASE "+ident(b.cfg.dbName)+" WITH (FORCE)"); err != nil {
				return err
			}
			exists = false
		}
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(b.cfg.dbName)); err != nil {
			return fmt.Errorf("creating the bench database: %w", err)
		}
		conn, err := pgx.Connect(ctx, b.url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `CREATE TABLE public.tenantgen_bench_meta (key text PRIMARY KEY, value text NOT NULL);
			INSERT INTO public.tenantgen_bench_meta VALUES ('layout', '`+want+`')`); err != nil {
			return err
		}
	}
	b.layout = want
	return nil
}

// finish drops the bench database unless -keep, and says what it did.
func (b *bench) finish(ctx context.Context) string {
	ctx = context.WithoutCancel(ctx)
	if b.fleetURL != "" {
		t0 := time.Now()
		if _, err := b.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(b.fleetDB())+" WITH (FORCE)"); err != nil {
			logf("dropping %s: %v", b.fleetDB(), err)
		} else {
			logf("dropped database %s in %s", b.fleetDB(), time.Since(t0).Round(100*time.Millisecond))
		}
	}
	if b.cfg.keep {
		return "kept (`-keep`)"
	}
	if _, err := b.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(b.cfg.dbName)+" WITH (FORCE)"); err != nil {
		logf("dropping %s: %v", b.cfg.dbName, err)
		return fmt.Sprintf("could not be dropped: %v", err)
	}
	logf("dropped database %s", b.cfg.dbName)
	return "dropped at the end of the run"
}

func (b *bench) close() {
	if b.admin != nil {
		b.admin.Close(context.Background())
	}
}

// poolConfig is the bench database's pool config with maxConns connections.
func (b *bench) poolConfig(maxConns int) (*pgxpool.Config, error) {
	return poolConfig(b.url, maxConns)
}

func poolConfig(url string, maxConns int) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(maxConns)
	cfg.MinConns = 0
	return cfg, nil
}

// serverConns counts the client connections to the bench database with the
// given application_name.
func (b *bench) serverConns(ctx context.Context, app string) int {
	var n int
	err := b.admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND backend_type = 'client backend'`, b.cfg.dbName, app).Scan(&n)
	if err != nil {
		return -1
	}
	return n
}

// schemasLike lists the schemas whose names match the POSIX regexp re.
func schemasLike(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, re string) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname ~ $1 ORDER BY nspname`, re)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// dropSchemas drops the schemas matching re, perTx per transaction so that
// the locks of one transaction fit in the lock table.
func dropSchemas(ctx context.Context, conn *pgx.Conn, re string, perTx int) (int, error) {
	names, err := schemasLike(ctx, conn, re)
	if err != nil {
		return 0, err
	}
	for start := 0; start < len(names); start += perTx {
		var sb strings.Builder
		sb.WriteString("BEGIN;\n")
		for _, n := range names[start:min(start+perTx, len(names))] {
			fmt.Fprintf(&sb, "DROP SCHEMA %s CASCADE;\n", ident(n))
		}
		sb.WriteString("COMMIT;")
		if _, err := conn.Exec(ctx, sb.String()); err != nil {
			return start, err
		}
	}
	return len(names), nil
}

// upSQL returns the Up sections of a goose migration set, in version order,
// as one script without the goose annotations: the DDL alone.
func upSQL(fsys fs.FS) (string, error) {
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
		up := false
		for _, line := range strings.Split(string(data), "\n") {
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
	return sb.String(), nil
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func withDatabase(raw, db string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("the server URL must be a postgres:// URL")
	}
	u.Path = "/" + db
	return u.String(), nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
