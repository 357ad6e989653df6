// Package runtime runs tenantgen-generated queries: it binds each one to its
// tenant's schema on one shared pgx pool, carries the current tenant in a
// context, creates and drops tenants, and migrates the fleet.
//
// Binding is by schema-qualified SQL: the generator qualifies every tenant
// object of a query with a placeholder that the runtime replaces with the
// tenant's quoted schema. No session state (search_path) is ever changed, so
// a connection cannot carry one tenant into another's query, whatever fails,
// and the statement cache never sees one SQL text meaning two schemas.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is the runtime: one pool for every tenant.
type DB struct {
	pool   *pgxpool.Pool
	owned  bool
	logger *slog.Logger
	migs   Migrations
	pooler bool
	citus  citusState // citus.go

	mu       sync.Mutex
	onChange []func()

	// stale counts the times this runtime made its pool's cached
	// statements stale (stale.go); hooked says that the pool's connections
	// catch up with it when acquired, so that it need not be reset.
	stale  atomic.Uint64
	hooked bool
	// bound holds the names of the tenants this runtime has bound
	// queries to: only their recreation can leave stale statements.
	boundMu sync.RWMutex
	bound   map[string]struct{}
}

// Option configures a DB.
type Option func(*DB)

// WithLogger sets the logger for lifecycle and migration events.
func WithLogger(l *slog.Logger) Option { return func(db *DB) { db.logger = l } }

// WithMigrations gives the DB the generated migration sets, for Migrate and
// CreateTenant.
func WithMigrations(m Migrations) Option { return func(db *DB) { db.migs = m } }

// WithTransactionPooler declares that the pool connects through a
// transaction pooler such as PgBouncer in transaction mode, where a server
// connection serves other clients between transactions. Generated queries
// stay correct there because they carry their schema in their SQL; this
// option makes the rest fit: no search_path startup parameter (PgBouncer
// rejects it or drops it silently), and OpenConfig refuses the pgx exec
// modes that break behind a pooler: QueryExecModeCacheStatement (named
// prepared statements, which PgBouncer before 1.21 does not track) and
// QueryExecModeDescribeExec (it describes and executes the unnamed statement
// in two round trips, which the pooler may send to two server connections:
// measured to read another client's statement, and rows). Use
// QueryExecModeExec, QueryExecModeCacheDescribe or
// QueryExecModeSimpleProtocol. Migrations use session advisory locks: run
// them on a direct connection.
func WithTransactionPooler() Option { return func(db *DB) { db.pooler = true } }

func checkPoolerMode(m pgx.QueryExecMode) error {
	switch m {
	case pgx.QueryExecModeExec, pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeSimpleProtocol:
		return nil
	}
	return fmt.Errorf("tenantgen: exec mode %s is unsafe behind a transaction pooler: set DefaultQueryExecMode to QueryExecModeExec, QueryExecModeCacheDescribe or QueryExecModeSimpleProtocol", m)
}

// ConfigurePool prepares a pool config for tenantgen: every connection starts
// with search_path public, so an unqualified name can only ever mean a shared
// object, and can send and read arrays of tenant-scoped types (types.go).
func ConfigurePool(cfg *pgxpool.Config) {
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = "public"
	withTypeFallbacks(cfg)
}

// withTypeFallbacks makes every new connection of cfg's pool handle arrays
// of tenant-scoped types, before any other AfterConnect hook runs.
func withTypeFallbacks(cfg *pgxpool.Config) {
	next := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		installTypeFallbacks(c.TypeMap())
		if next != nil {
			return next(ctx, c)
		}
		return nil
	}
}

// Open connects a new pool to url (see pgxpool.ParseConfig) and returns a DB
// that closes it on Close.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("tenantgen: parsing database URL: %w", err)
	}
	return OpenConfig(ctx, cfg, opts...)
}

// OpenConfig is Open with a pool config, to set pool size, tracer, exec mode.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, opts ...Option) (*DB, error) {
	db := newDB(opts)
	if db.pooler {
		if err := checkPoolerMode(cfg.ConnConfig.DefaultQueryExecMode); err != nil {
			return nil, err
		}
		withTypeFallbacks(cfg)
	} else {
		ConfigurePool(cfg)
	}
	db.hookStale(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("tenantgen: connecting: %w", err)
	}
	db.pool, db.owned = pool, true
	return db, nil
}

// New wraps an existing pool. Configure it with ConfigurePool first.
func New(pool *pgxpool.Pool, opts ...Option) *DB {
	db := newDB(opts)
	db.pool = pool
	return db
}

func newDB(opts []Option) *DB {
	db := &DB{logger: slog.Default()}
	for _, o := range opts {
		o(db)
	}
	return db
}

// Pool returns the underlying pool.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Close closes the pool if Open created it.
func (db *DB) Close() {
	if db.owned {
		db.pool.Close()
	}
}

// Shared returns the DBTX that shared queries run on.
func (db *DB) Shared() DBTX { return db.pool }

// Tenant returns a DBTX bound to t.
func (db *DB) Tenant(t Tenant) DBTX {
	if t.IsZero() {
		return errDBTX{errZeroTenant}
	}
	db.noteBound(t)
	return bindPool(db.pool, t)
}

// SharedTx runs fn in a transaction on the shared scope. The transaction
// commits when fn returns nil and rolls back otherwise, also when fn panics
// (the panic goes on after the rollback).
func (db *DB) SharedTx(ctx context.Context, fn func(DBTX) error) error {
	return db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error { return fn(tx) })
}

// TenantTx runs fn in a transaction bound to t; see SharedTx.
func (db *DB) TenantTx(ctx context.Context, t Tenant, fn func(DBTX) error) error {
	if t.IsZero() {
		return errZeroTenant
	}
	db.noteBound(t)
	return db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error { return fn(BindTenant(tx, t)) })
}

func (db *DB) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) (err error) {
	tx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(context.WithoutCancel(ctx)); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	return tx.Commit(ctx)
}
