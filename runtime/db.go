// Package runtime runs tenantgen-generated queries: it binds each one to its
// tenant's schema on pgx connections it routes by tenant (affinity.go),
// carries the current tenant in a context, creates and drops tenants, and migrates the fleet.
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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is the runtime: one set of connections for every tenant, each
// tenant's queries on its home connections (affinity.go) unless turned off.
type DB struct {
	pool  *pgxpool.Pool // the control pool when router is set
	owned bool
	// router holds the tenant-affine connections (affinity.go); nil when
	// affinity is off or the pool is the caller's (New).
	router     *router
	noAffinity bool
	spillAfter time.Duration
	spillSet   bool
	registered atomic.Int64 // registry size at Open, for cache sizing
	boundCount atomic.Int64 // len(bound), read without the lock
	listener   *listener    // registry notifications (notify.go)
	noListen   bool
	origin     string       // names this runtime in its notifications
	pending    pendingNames // tenants recreated since the last announcement

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
//
// Unless WithoutAffinity is given, the cfg.MaxConns connections are
// tenant-affine (affinity.go): each tenant's queries, transactions and
// batches run on a small home set of them, with the rest of cfg (tracer,
// hooks, exec mode, lifetimes) applying to each. Pool() is then a separate
// control pool of max(2, MaxConns/4) connections for lifecycle, migrations
// and the caller's own statements.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, opts ...Option) (*DB, error) {
	db := newDB(opts)
	if !db.spillSet {
		db.spillAfter = defaultSpillAfter
	}
	if db.pooler {
		if err := checkPoolerMode(cfg.ConnConfig.DefaultQueryExecMode); err != nil {
			return nil, err
		}
		withTypeFallbacks(cfg)
	} else {
		ConfigurePool(cfg)
	}
	db.hookStale(cfg)
	if db.noAffinity || cfg.MaxConns < 2 {
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("tenantgen: connecting: %w", err)
		}
		db.pool, db.owned = pool, true
		return db, db.startListener(ctx, cfg)
	}
	control := cfg.Copy()
	control.MaxConns = controlConns(cfg.MaxConns)
	control.MinConns = 0
	pool, err := pgxpool.NewWithConfig(ctx, control)
	if err != nil {
		return nil, fmt.Errorf("tenantgen: connecting: %w", err)
	}
	db.pool, db.owned = pool, true
	db.countTenants(ctx)
	if db.router, err = db.newRouter(ctx, cfg); err != nil {
		pool.Close()
		return nil, err
	}
	if err := db.startListener(ctx, cfg); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// New wraps an existing pool. Configure it with ConfigurePool first.
func New(pool *pgxpool.Pool, opts ...Option) *DB {
	db := newDB(opts)
	db.pool = pool
	return db
}

func newDB(opts []Option) *DB {
	db := &DB{logger: slog.Default(), origin: newOrigin()}
	for _, o := range opts {
		o(db)
	}
	return db
}

// Pool returns the underlying pool: with tenant-affine connections (the
// default of Open and OpenConfig), the control pool, which generated
// queries do not use.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Close closes the pools if Open created them, and stops listening for
// registry notifications.
func (db *DB) Close() {
	db.stopListener()
	if db.router != nil {
		db.router.close()
	}
	if db.owned {
		db.pool.Close()
	}
}

// Shared returns the DBTX that shared queries run on: with affinity, any
// free affine connection.
func (db *DB) Shared() DBTX {
	if db.router != nil {
		return &poolTenantDBTX{src: anySource{db.router}, shared: true}
	}
	return db.pool
}

// Tenant returns a DBTX bound to t.
func (db *DB) Tenant(t Tenant) DBTX {
	if t.IsZero() {
		return errDBTX{errZeroTenant}
	}
	db.noteBound(t)
	return db.bindRouted(t)
}

// source is where t's queries take their connections.
func (db *DB) source(t Tenant) connSource {
	if db.router != nil {
		return tenantSource{db.router, nameHash(t.name)}
	}
	return poolSource{db.pool}
}

func (db *DB) sharedSource() connSource {
	if db.router != nil {
		return anySource{db.router}
	}
	return poolSource{db.pool}
}

func (db *DB) bindRouted(t Tenant) *poolTenantDBTX {
	return &poolTenantDBTX{src: db.source(t), tenantDBTX: tenantDBTX{db: nil, tenant: t}}
}

// SharedTx runs fn in a transaction on the shared scope. The transaction
// commits when fn returns nil and rolls back otherwise, also when fn panics
// (the panic goes on after the rollback).
func (db *DB) SharedTx(ctx context.Context, fn func(DBTX) error) error {
	return db.inTx(ctx, db.sharedSource(), pgx.TxOptions{}, func(tx pgx.Tx) error { return fn(tx) })
}

// TenantTx runs fn in a transaction bound to t; see SharedTx.
func (db *DB) TenantTx(ctx context.Context, t Tenant, fn func(DBTX) error) error {
	if t.IsZero() {
		return errZeroTenant
	}
	db.noteBound(t)
	return db.inTx(ctx, db.source(t), pgx.TxOptions{}, func(tx pgx.Tx) error { return fn(BindTenant(tx, t)) })
}

// inTx runs fn in a transaction on a connection of src: a tenant's home.
func (db *DB) inTx(ctx context.Context, src connSource, opts pgx.TxOptions, fn func(pgx.Tx) error) (err error) {
	conn, release, err := src.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := conn.BeginTx(ctx, opts)
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
