package runtime

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A tenant dropped and recreated under the same name gets new OIDs for all
// its objects, while the statements pgx has prepared (QueryExecModeCacheStatement)
// or described (QueryExecModeCacheDescribe) for its SQL still name the old
// ones. The first call of each such statement on each connection fails:
// XX000 "cache lookup failed for type N" when a parameter had a tenant
// type, 0A000 "cached plan must not change result type" when a result
// column did. pgx then forgets that statement on that connection, so the
// second call works.
//
// The runtime keeps callers from seeing it twice over:
//   - what it knows is stale it resets: DropTenant, and CreateTenant of a
//     name this runtime has run queries for, mark every connection of the
//     pool stale; each forgets its prepared statements and descriptions
//     (DEALLOCATE ALL, once) the next time it is acquired;
//   - what it cannot know (another process dropped and recreated the
//     tenant, a migration changed a result type) it retries: a tenant query
//     on the pool that fails with one of those two errors before returning
//     a row is run again, once, on the same connection (where pgx has just
//     forgotten the statement). Both errors are raised before the statement
//     executes, and outside a transaction a failed statement commits
//     nothing, so the retry cannot apply anything twice. Inside TenantTx the
//     error is returned: the transaction is already aborted, and only the
//     caller can run it again.

// staleStatement reports whether err says a cached statement or description
// no longer matches the schema.
func staleStatement(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "0A000":
		return strings.Contains(pe.Message, "cached plan must not change result type")
	case "XX000":
		return strings.HasPrefix(pe.Message, "cache lookup failed for")
	}
	return false
}

// retryable reports whether a statement that failed with err on c may run
// again on c: its error is a stale statement's and c is not in a
// transaction.
func retryable(c *pgxpool.Conn, err error) bool {
	return staleStatement(err) && c.Conn().PgConn().TxStatus() == 'I'
}

// poolTenantDBTX runs tenant queries on connections of src (a pool, or the
// tenant's affine slots), each on a connection it holds for the query, so
// that a stale statement can be retried where pgx forgot it, and a query
// whose connection died before it was sent on another (retry.go). shared
// runs shared queries the same way, unbound.
type poolTenantDBTX struct {
	src    connSource
	shared bool
	tenantDBTX
}

func (c *poolTenantDBTX) sql(s string) string {
	if c.shared {
		return s
	}
	return c.tenantDBTX.sql(s)
}

func (c *poolTenantDBTX) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	conn, release, err := c.src.acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	sql = c.sql(sql)
	var tag pgconn.CommandTag
	exec := func(conn *pgxpool.Conn) (err error) {
		tag, err = conn.Exec(ctx, sql, args...)
		return err
	}
	_, release, err = retry(ctx, c.src, conn, release, sql, exec(conn), exec)
	if release != nil {
		release()
	}
	return tag, err
}

func (c *poolTenantDBTX) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	conn, release, err := c.src.acquire(ctx)
	if err != nil {
		return nil, err
	}
	sql = c.sql(sql)
	var rows pgx.Rows
	query := func(conn *pgxpool.Conn) (err error) {
		// An error here came before reaching the server (encoding) or
		// at once: pgx closed the rows.
		rows, err = conn.Query(ctx, sql, args...)
		return err
	}
	conn, release, err = retry(ctx, c.src, conn, release, sql, query(conn), query)
	if err != nil {
		if release != nil {
			release()
		}
		return rows, err
	}
	return &retryRows{Rows: rows, conn: conn, release: release, src: c.src, ctx: ctx, sql: sql, args: args}, nil
}

// retry runs attempt again, after it failed with err on conn, where the
// policy above allows: once on conn for a stale statement outside a
// transaction, and up to deadRetries times on a fresh connection for a
// connection found dead before the query was sent. It returns the
// connection the last attempt ran on, still held (nil when no connection
// could be had), with the function that gives it back, and that attempt's
// error.
func retry(ctx context.Context, src connSource, conn *pgxpool.Conn, release func(), sql string, err error, attempt func(*pgxpool.Conn) error) (*pgxpool.Conn, func(), error) {
	if err != nil && retryable(conn, err) {
		err = attempt(conn)
	}
	for try := 0; try < deadRetries && err != nil && deadBeforeSent(ctx, conn, sql, err); try++ {
		release()
		var aerr error
		if conn, release, aerr = acquireLive(ctx, src); aerr != nil {
			return nil, nil, aerr
		}
		err = attempt(conn)
	}
	return conn, release, err
}

// QueryRow sends the query at once, as pgx does, and reads it on Scan,
// through retryRows.
func (c *poolTenantDBTX) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := c.Query(ctx, sql, args...)
	return &retryRow{rows: rows, err: err}
}

func (c *poolTenantDBTX) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	conn, release, err := c.src.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	if c.shared {
		return conn.CopyFrom(ctx, table, columns, src)
	}
	return bindTenant(conn, c.tenant).CopyFrom(ctx, table, columns, src)
}

// SendBatch runs the batch on one connection of the tenant's home, given
// back when the results are closed.
func (c *poolTenantDBTX) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	conn, release, err := c.src.acquire(ctx)
	if err != nil {
		return errBatch{err}
	}
	var br pgx.BatchResults
	if c.shared {
		br = conn.SendBatch(ctx, b)
	} else {
		br = bindTenant(conn, c.tenant).SendBatch(ctx, b)
	}
	return &releasingBatch{BatchResults: br, release: release}
}

// retryRow is the first row of a query's retryRows, read as pgx reads a
// Row: ErrNoRows when there is none, the rest discarded.
type retryRow struct {
	rows pgx.Rows
	err  error
}

func (r *retryRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// retryRows is a query's rows that, when the first Next fails on a stale
// statement, runs the query again once on the same connection, and when it
// fails on a connection that died before the query was sent, once on
// another; it gives the connection back when closed or exhausted.
type retryRows struct {
	pgx.Rows
	conn    *pgxpool.Conn
	release func()
	src     connSource
	ctx     context.Context
	sql     string // bound
	args    []any
	started bool
}

func (r *retryRows) Next() bool {
	if r.conn == nil {
		return false
	}
	first := !r.started
	r.started = true
	if r.Rows.Next() {
		return true
	}
	if first && r.Rows.Err() != nil {
		err := r.Rows.Err()
		r.Rows.Close() // makes pgx forget a stale statement on this connection
		row := false
		query := func(conn *pgxpool.Conn) error {
			r.Rows, _ = conn.Query(r.ctx, r.sql, r.args...) // on failure: closed rows carrying the error
			if r.Rows.Next() {
				row = true
				return nil
			}
			r.Rows.Close()
			return r.Rows.Err()
		}
		conn, release, err := retry(r.ctx, r.src, r.conn, r.release, r.sql, err, query)
		r.conn, r.release = conn, release
		if conn == nil {
			r.Rows = &errRows{err: err}
			return false
		}
		if row {
			return true
		}
	}
	r.Close()
	return false
}

func (r *retryRows) Close() {
	r.Rows.Close()
	if r.conn != nil {
		r.release()
		r.conn = nil
	}
}

// staleKey is where a connection's CustomData records the value of
// DB.stale it has caught up with.
const staleKey = "tenantgen.stale"

// hookStale makes the connections of cfg's pool forget their cached
// statements when acquired after the runtime marked them stale; the hooks
// cfg already has run after it.
func (db *DB) hookStale(cfg *pgxpool.Config) {
	db.hooked = true
	connect := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		c.PgConn().CustomData()[staleKey] = db.stale.Load() // nothing cached yet
		if connect != nil {
			return connect(ctx, c)
		}
		return nil
	}
	prepare := cfg.PrepareConn
	if prepare == nil && cfg.BeforeAcquire != nil {
		// pgxpool ignores BeforeAcquire once PrepareConn is set.
		before := cfg.BeforeAcquire
		prepare = func(ctx context.Context, c *pgx.Conn) (bool, error) { return before(ctx, c), nil }
	}
	cfg.PrepareConn = func(ctx context.Context, c *pgx.Conn) (bool, error) {
		if !db.catchUp(ctx, c) {
			return false, nil // pgxpool destroys it and acquires another
		}
		if prepare != nil {
			return prepare(ctx, c)
		}
		return true, nil
	}
}

// catchUp makes c forget its prepared statements and descriptions if the
// runtime marked them stale since c last did; the steady state costs a map
// lookup and no round trip. It reports whether c is fit for use.
func (db *DB) catchUp(ctx context.Context, c *pgx.Conn) bool {
	gen := db.stale.Load()
	cd := c.PgConn().CustomData()
	if seen, ok := cd[staleKey].(uint64); ok && seen == gen {
		return true
	}
	// pgx can forget a connection's statements only all at once.
	if err := c.DeallocateAll(ctx); err != nil {
		return false
	}
	cd[staleKey] = gen
	return true
}

// noteBound records that queries were bound to t.
func (db *DB) noteBound(t Tenant) {
	db.boundMu.RLock()
	_, ok := db.bound[t.name]
	db.boundMu.RUnlock()
	if ok {
		return
	}
	db.boundMu.Lock()
	if db.bound == nil {
		db.bound = map[string]struct{}{}
	}
	db.bound[t.name] = struct{}{}
	db.boundCount.Store(int64(len(db.bound)))
	db.boundMu.Unlock()
}

// tenantRecreated is called after this runtime dropped t or created it
// (perhaps again, after another process dropped it): the pool's statements
// for t's SQL, if any, name objects that are gone. A listener for registry
// changes made by other processes calls resetTenant (notify.go).
func (db *DB) tenantRecreated(t Tenant) {
	db.pending.add(t.name) // for announceRegistry, to other processes
	db.resetTenant(t)
}

// resetTenant marks the pool's statements stale if any may be t's.
func (db *DB) resetTenant(t Tenant) {
	db.boundMu.RLock()
	_, ok := db.bound[t.name]
	db.boundMu.RUnlock()
	if !ok {
		return // a name this runtime never ran queries for: nothing cached
	}
	if db.hooked {
		db.stale.Add(1)
		return
	}
	// A pool this runtime did not configure has no hook to catch up in:
	// its connections are replaced instead (in-use ones when released).
	db.pool.Reset()
}
