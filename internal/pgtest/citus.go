package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The Citus cluster of ../shared/citus/setup-citus.sh (scripts/ensure-citus.sh
// starts it): a coordinator and two workers on one machine.
const (
	DefaultCitusURL     = "postgres://postgres@127.0.0.1:5441/postgres?sslmode=disable"
	DefaultCitusWorkers = "127.0.0.1:5442,127.0.0.1:5443"
)

// CitusAdminURL is the maintenance database of the Citus coordinator
// (TENANTGEN_TEST_CITUS_URL).
func CitusAdminURL() string {
	if u := os.Getenv("TENANTGEN_TEST_CITUS_URL"); u != "" {
		return u
	}
	return DefaultCitusURL
}

// CitusWorkers lists the workers' host:port (TENANTGEN_TEST_CITUS_WORKERS,
// comma-separated). A database is only usable by Citus when it exists, with
// the extension, on every node, so the test helpers create it on each.
func CitusWorkers() []string {
	raw := os.Getenv("TENANTGEN_TEST_CITUS_WORKERS")
	if raw == "" {
		raw = DefaultCitusWorkers
	}
	var out []string
	for _, w := range strings.Split(raw, ",") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

var (
	citusOnce    sync.Once
	citusURL     string
	citusErr     error
	citusCreated string // the package's Citus database, when pgtest made one apart
)

// CitusURL returns a Citus database of the test package: the package
// database itself when TENANTGEN_TEST_DATABASE_URL is a Citus coordinator,
// otherwise one created on CitusAdminURL the first time it is asked for
// (dropped on every node when the package ends). Without a cluster it skips
// the test, or fails it under CI=true.
func CitusURL(t testing.TB) string {
	t.Helper()
	if mainIsCitus {
		return URL(t)
	}
	citusOnce.Do(func() {
		if created == "" {
			citusErr = fmt.Errorf("the package has no database (pgtest.Main not run?): %v", dbErr)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		name := created + "_citus"
		if err := createCitusDatabase(ctx, CitusAdminURL(), name); err != nil {
			citusErr = err
			return
		}
		citusCreated = name
		citusURL = WithDatabase(CitusAdminURL(), name)
	})
	if citusURL == "" {
		skipOrFail(t, fmt.Sprintf("Citus cluster not usable at %s (workers %s): %v; start it with scripts/ensure-citus.sh (make test-citus does)",
			Redact(CitusAdminURL()), strings.Join(CitusWorkers(), ", "), citusErr))
	}
	return citusURL
}

// NewCitusDatabase creates a Citus database of the test's own on every
// node, dropped on every node when the test ends, and returns the
// coordinator's URL.
func NewCitusDatabase(t testing.TB) string {
	t.Helper()
	admin := CitusAdminURL()
	if mainIsCitus {
		admin = adminOf(URL(t))
	} else if created == "" {
		skipOrFail(t, fmt.Sprintf("no package database (pgtest.Main not run, or PostgreSQL unreachable): %v", dbErr))
	}
	name := fmt.Sprintf("%s_c%d", created, dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := createCitusDatabase(ctx, admin, name); err != nil {
		_ = dropCitusDatabase(ctx, admin, name)
		skipOrFail(t, fmt.Sprintf("Citus cluster not usable at %s (workers %s): %v; start it with scripts/ensure-citus.sh (make test-citus does)",
			Redact(admin), strings.Join(CitusWorkers(), ", "), err))
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := dropCitusDatabase(ctx, admin, name); err != nil {
			t.Errorf("dropping Citus database %s: %v", name, err)
		}
	})
	return WithDatabase(admin, name)
}

// citusHint says what to do when the package server that failed is the
// Citus coordinator (make test-citus points the packages at it).
func citusHint() string {
	h1, p1, err1 := hostPort(AdminURL())
	h2, p2, err2 := hostPort(CitusAdminURL())
	if err1 != nil || err2 != nil || h1 != h2 || p1 != p2 {
		return ""
	}
	return " (the Citus coordinator of make test-citus: start the cluster with scripts/ensure-citus.sh)"
}

func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// mainIsCitus is set by Main when the package's server is a Citus
// coordinator: the whole package then runs on Citus.
var mainIsCitus bool

// isCitusServer reports whether the server preloads Citus.
func isCitusServer(ctx context.Context, conn *pgx.Conn) bool {
	var yes bool
	err := conn.QueryRow(ctx, `SELECT current_setting('shared_preload_libraries') ~ '(^|[ ,])citus($|[ ,])'`).Scan(&yes)
	return err == nil && yes
}

// createDatabase makes a database for Main: on every node of a Citus
// cluster when admin is its coordinator.
func createDatabase(ctx context.Context, admin *pgx.Conn, adminURL, name string) error {
	if isCitusServer(ctx, admin) {
		mainIsCitus = true
		return createCitusDatabase(ctx, adminURL, name)
	}
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
		return err
	}
	_, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// dropDatabases drops what Main and CitusURL created.
func dropDatabases(ctx context.Context, admin *pgx.Conn, adminURL string) {
	// Leftover Citus databases keep a maintenance worker on every node and
	// starve later moves: say so when one stays.
	warn := func(name string, err error) {
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: dropping database %s: %v\n", name, err)
		}
	}
	if created != "" {
		if mainIsCitus {
			warn(created, dropCitusDatabase(ctx, adminURL, created))
		} else {
			_, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{created}.Sanitize()+" WITH (FORCE)")
			warn(created, err)
		}
	}
	if citusCreated != "" {
		warn(citusCreated, dropCitusDatabase(ctx, CitusAdminURL(), citusCreated))
	}
}

// createCitusDatabase creates name with the citus extension on the
// workers and the coordinator, and registers the workers with it.
func createCitusDatabase(ctx context.Context, coordAdmin, name string) error {
	if err := dropCitusDatabase(ctx, coordAdmin, name); err != nil {
		return err
	}
	ident := pgx.Identifier{name}.Sanitize()
	nodes := append([]string{""}, CitusWorkers()...) // "" is the coordinator
	for _, hp := range nodes {
		admin := withHostPort(coordAdmin, hp)
		if err := execOn(ctx, admin, "CREATE DATABASE "+ident); err != nil {
			return fmt.Errorf("node %s: %w", nodeName(hp), err)
		}
		if err := execOn(ctx, WithDatabase(admin, name), "CREATE EXTENSION IF NOT EXISTS citus"); err != nil {
			return fmt.Errorf("node %s: %w", nodeName(hp), err)
		}
	}
	host, port, err := hostPort(coordAdmin)
	if err != nil {
		return err
	}
	stmts := []string{fmt.Sprintf("SELECT citus_set_coordinator_host(%s, %d)", quote(host), port)}
	for _, w := range CitusWorkers() {
		h, p, err := splitHostPort(w)
		if err != nil {
			return err
		}
		stmts = append(stmts, fmt.Sprintf("SELECT citus_add_node(%s, %d)", quote(h), p))
	}
	if err := registerNodes(ctx, coordAdmin, WithDatabase(coordAdmin, name), stmts); err != nil {
		return fmt.Errorf("registering the Citus nodes: %w", err)
	}
	return nil
}

// registerNodes runs stmts on dbURL while holding an advisory lock in the
// coordinator's maintenance database. Registering a worker writes the role
// tenantgen connects as on that worker, a cluster-wide catalog row: two test
// packages registering at once (go test runs packages in parallel) fail with
// "tuple concurrently updated" (XX000). The lock serializes them across
// processes.
func registerNodes(ctx context.Context, coordAdmin, dbURL string, stmts []string) error {
	lock, err := pgx.Connect(ctx, coordAdmin)
	if err != nil {
		return err
	}
	defer lock.Close(context.Background())
	const key = 0x74676369 // "tgci"
	if _, err := lock.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("locking node registration: %w", err)
	}
	return execOn(ctx, dbURL, stmts...) // closing lock releases it
}

// dropCitusDatabase drops name on the coordinator first (whose metadata
// points at the workers), then on each worker. Each Citus database keeps a
// maintenance worker on every node, so leftovers starve later moves.
func dropCitusDatabase(ctx context.Context, coordAdmin, name string) error {
	stmt := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
	var errs []string
	for _, hp := range append([]string{""}, CitusWorkers()...) {
		if err := execOn(ctx, withHostPort(coordAdmin, hp), stmt); err != nil {
			errs = append(errs, fmt.Sprintf("node %s: %v", nodeName(hp), err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func execOn(ctx context.Context, connURL string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func nodeName(hp string) string {
	if hp == "" {
		return "coordinator"
	}
	return hp
}

// withHostPort points a URL at another node; "" keeps it.
func withHostPort(raw, hp string) string {
	if hp == "" {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		h, p, _ := splitHostPort(hp)
		return strings.TrimSpace(raw) + fmt.Sprintf(" host=%s port=%d", h, p)
	}
	u.Host = hp
	return u.String()
}

func hostPort(raw string) (string, int, error) {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return "", 0, err
	}
	return cfg.Host, int(cfg.Port), nil
}

func splitHostPort(hp string) (string, int, error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("Citus worker %q: want host:port: %w", hp, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("Citus worker %q: bad port: %w", hp, err)
	}
	return h, n, nil
}

func databaseName(raw string) string {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return ""
	}
	return cfg.Database
}

// adminOf is the maintenance database of the server of raw.
func adminOf(raw string) string { return WithDatabase(raw, "postgres") }

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
