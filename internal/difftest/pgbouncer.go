package difftest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// PgBouncerURL returns the URL of database direct's database through the
// transaction-pooling PgBouncer of the tests: TENANTGEN_TEST_PGBOUNCER_URL,
// or scripts/ensure-pgbouncer.sh's on 127.0.0.1:6432 (see
// runtime/pgbouncer_test.go).
func PgBouncerURL(direct string) (string, error) {
	cfg, err := pgx.ParseConfig(direct)
	if err != nil {
		return "", err
	}
	var u *url.URL
	if raw := os.Getenv("TENANTGEN_TEST_PGBOUNCER_URL"); raw != "" {
		if u, err = url.Parse(raw); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return "", fmt.Errorf("TENANTGEN_TEST_PGBOUNCER_URL must be a postgres:// URL: %q", raw)
		}
	} else {
		u = &url.URL{Scheme: "postgres", Host: "127.0.0.1:6432", RawQuery: "sslmode=disable"}
		if cfg.Password != "" {
			u.User = url.UserPassword(cfg.User, cfg.Password)
		} else {
			u.User = url.User(cfg.User)
		}
	}
	u.Path = "/" + cfg.Database
	return u.String(), nil
}

// simple is a connection config on the simple protocol, which PgBouncer's
// admin console requires, for database dbname when not empty.
func simple(rawURL, dbname string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, err
	}
	if dbname != "" {
		cfg.Database = dbname
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return cfg, nil
}

// Ping connects to rawURL through PgBouncer and runs a query.
func Ping(ctx context.Context, rawURL string) error {
	cfg, err := simple(rawURL, "")
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SELECT 1")
	return err
}

// PoolSettings reads pool_mode and default_pool_size from PgBouncer's admin
// console.
func PoolSettings(ctx context.Context, bouncerURL string) (mode string, size int, err error) {
	cfg, err := simple(bouncerURL, "pgbouncer")
	if err != nil {
		return "", 0, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", 0, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SHOW CONFIG")
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return "", 0, err
		}
		if len(vals) < 2 {
			continue
		}
		switch fmt.Sprint(vals[0]) {
		case "pool_mode":
			mode = fmt.Sprint(vals[1])
		case "default_pool_size":
			size, _ = strconv.Atoi(fmt.Sprint(vals[1]))
		}
	}
	return mode, size, rows.Err()
}

// Pollute leaves search_path = path on n of PgBouncer's server connections
// for bouncerURL's database, as another client of the pooler would: n
// clients each open a transaction (so that each holds its own server
// connection), SET search_path in it (a session setting, kept after the
// commit) and commit together. It returns the server backends it set.
func Pollute(ctx context.Context, bouncerURL, path string, n int) (map[int32]bool, error) {
	cfg, err := simple(bouncerURL, "")
	if err != nil {
		return nil, err
	}
	backends := map[int32]bool{}
	var conns []*pgx.Conn
	defer func() {
		for _, c := range conns {
			c.Close(context.WithoutCancel(ctx))
		}
	}()
	for i := 0; i < n; i++ {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
		if _, err := c.Exec(ctx, "BEGIN"); err != nil {
			return nil, err
		}
		if _, err := c.Exec(ctx, "SET search_path TO "+path); err != nil {
			return nil, fmt.Errorf("setting search_path: %w", err)
		}
		var pid int32
		if err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			return nil, err
		}
		backends[pid] = true
	}
	for _, c := range conns {
		if _, err := c.Exec(ctx, "COMMIT"); err != nil {
			return nil, err
		}
	}
	return backends, nil
}
