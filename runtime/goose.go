package runtime

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	tgsql "github.com/tenantgen/tenantgen/sql"
)

const (
	registryVersionTable = "tenantgen_goose_db_version"
	versionTable         = "goose_db_version"
)

// session is a *sql.DB for goose whose every connection has one search
// path: goose's Provider runs on a *sql.DB, and a path set by a statement on
// one connection would not hold on the next. The path is applied when a
// connection opens and again each time database/sql hands a connection out,
// so one session can migrate tenant after tenant on the same server
// connection (a fresh connection per tenant costs more than a typical
// migration) without any of them running under another's path. The
// migration lock re-checks the path on the very connection goose uses.
type session struct {
	sqlDB *sql.DB
	mu    sync.Mutex
	path  string
}

func (db *DB) newSession(path string) (*session, error) {
	if db.pooler {
		return nil, errPoolerMigrations
	}
	s := &session{path: path}
	cc := db.pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["search_path"] = path
	db.citusSessionParams(cc.RuntimeParams)
	apply := func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SELECT set_config('search_path', $1, false)", s.searchPath())
		return err
	}
	s.sqlDB = stdlib.OpenDB(*cc, stdlib.OptionAfterConnect(apply), stdlib.OptionResetSession(apply))
	s.sqlDB.SetMaxOpenConns(2)
	return s, nil
}

func (s *session) searchPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path
}

func (s *session) setSearchPath(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.path = p
}

func (s *session) Close() error { return s.sqlDB.Close() }

// provider is a goose provider on a session.
type provider struct {
	*goose.Provider
	owned *session // closed with the provider when it was opened for it alone
}

func (p *provider) Close() error {
	if p.owned != nil {
		return p.owned.Close()
	}
	return nil
}

// newProvider opens a goose provider for one migration set on a session of
// its own. searchPath is the path its connections have; schema.table the
// version table, and schema the one the path must resolve to.
func (db *DB) newProvider(fsys fs.FS, searchPath, schema, table string, lockKey string) (*provider, error) {
	s, err := db.newSession(searchPath)
	if err != nil {
		return nil, err
	}
	p, err := db.providerOn(s, fsys, schema, table, lockKey)
	if err != nil {
		s.Close()
		return nil, err
	}
	p.owned = s
	return p, nil
}

// providerOn makes a goose provider on an existing session, whose path the
// caller has set.
func (db *DB) providerOn(s *session, fsys fs.FS, schema, table string, lockKey string) (*provider, error) {
	// goose's own postgres store pastes the table name into its SQL unquoted,
	// so a tenant named like a keyword (select, user, order) broke its
	// version table; this store quotes it.
	store, err := database.NewStoreFromQuerier(pgx.Identifier{schema, table}.Sanitize(), versionQuerier{schema, table})
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectCustom, s.sqlDB, fsys,
		goose.WithStore(store),
		goose.WithSessionLocker(advisoryLocker{id: lockID(lockKey), schema: schema}),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(goose.NopLogger()),
	)
	if err != nil {
		return nil, fmt.Errorf("goose: %w", err)
	}
	return &provider{Provider: p}, nil
}

var errPoolerMigrations = errors.New("tenantgen: migrations run under session advisory locks and set search_path per connection, which a transaction pooler does not keep: migrate with a runtime on a direct connection")

// lockID derives the advisory lock of one migration target, so that two
// migrators of the same schema wait for each other and different schemas
// migrate in parallel.
func lockID(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tenantgen:" + key))
	return int64(h.Sum64() >> 1)
}

// advisoryLocker is goose's session lock, but waiting in pg_advisory_lock
// instead of polling pg_try_advisory_lock once a second as goose's locker
// does: a migrator that finds a tenant locked by another resumes the moment
// the other is done, not up to a second later. It waits at most
// lockTimeout, as the polling locker did.
type advisoryLocker struct {
	id     int64
	schema string // the schema the connection's path must resolve to
}

const lockTimeout = 10 * time.Minute

func (l advisoryLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", l.id); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	// goose runs the migrations on this very connection: check where its
	// unqualified names land before anything runs.
	var current sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&current); err != nil || current.String != l.schema {
		_ = l.SessionUnlock(context.WithoutCancel(ctx), conn)
		if err == nil {
			err = fmt.Errorf("the migration connection resolves names in schema %q, not %q: refusing to migrate", current.String, l.schema)
		}
		return err
	}
	return nil
}

func (l advisoryLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", l.id).Scan(&ok); err != nil {
		return fmt.Errorf("releasing the migration lock: %w", err)
	}
	if !ok {
		return errors.New("releasing the migration lock: it was not held")
	}
	return nil
}

// versionQuerier is goose's postgres dialect with the version table's
// schema and name quoted.
type versionQuerier struct{ schema, table string }

func (q versionQuerier) ident() string { return pgx.Identifier{q.schema, q.table}.Sanitize() }

func (q versionQuerier) CreateTable(string) string {
	return `CREATE TABLE ` + q.ident() + ` (
		id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
		version_id bigint NOT NULL,
		is_applied boolean NOT NULL,
		tstamp timestamp NOT NULL DEFAULT now()
	)`
}

func (q versionQuerier) InsertVersion(string) string {
	return `INSERT INTO ` + q.ident() + ` (version_id, is_applied) VALUES ($1, $2)`
}

func (q versionQuerier) DeleteVersion(string) string {
	return `DELETE FROM ` + q.ident() + ` WHERE version_id=$1`
}

func (q versionQuerier) GetMigrationByVersion(string) string {
	return `SELECT tstamp, is_applied FROM ` + q.ident() + ` WHERE version_id=$1 ORDER BY tstamp DESC LIMIT 1`
}

func (q versionQuerier) ListMigrations(string) string {
	return `SELECT version_id, is_applied from ` + q.ident() + ` ORDER BY id DESC`
}

func (q versionQuerier) GetLatestVersion(string) string {
	return `SELECT max(version_id) FROM ` + q.ident()
}

func (q versionQuerier) TableExists(string) string {
	return `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = ` + quoteLiteral(q.schema) + ` AND tablename = ` + quoteLiteral(q.table) + `)`
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (db *DB) registryProvider() (*provider, error) {
	sub, err := fs.Sub(tgsql.Registry, "registry")
	if err != nil {
		return nil, err
	}
	return db.newProvider(sub, "public", "public", registryVersionTable, "registry")
}

func (db *DB) sharedProvider() (*provider, error) {
	return db.newProvider(db.migs.Shared, "public", "public", versionTable, "shared")
}
