package query

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/internal/bench"
	"github.com/tenantgen/tenantgen/internal/bench/benchdb"
	"github.com/tenantgen/tenantgen/runtime"
)

// A strategy is one way of running the point SELECT and the one-row INSERT
// for tenant ti. Every strategy gets the same pool size (except the pool per
// tenant, which needs one per tenant) and the same prepare-counting tracer.
type strategy struct {
	key   string
	label string
	open  func(ctx context.Context, q *queryBench, n int, app string) (target, error)
}

type target interface {
	// do runs op ("select" or "insert") for tenant ti, through the
	// strategy's pool as an application would, or on conn when it is not
	// nil (to warm a given connection up).
	do(ctx context.Context, conn *pgxpool.Conn, op string, ti int, arg int64) error
	// warmSets says which tenants each pool serves.
	warmSets(n int) []warmSet
	pools() []*pgxpool.Pool
	close()
}

type warmSet struct {
	pool   *pgxpool.Pool
	lo, hi int // tenants [lo, hi)
}

// errMismatch is a row of another tenant than the one asked for.
var errMismatch = errors.New("row of another tenant")

const defaultCache = 512 // pgx's statement and description cache capacity

func strategies(bigCache int) []strategy {
	tg := func(key, label string, mode pgx.QueryExecMode, stmtCache, descCache int) strategy {
		return strategy{key, label, func(ctx context.Context, q *queryBench, n int, app string) (target, error) {
			return q.openTenantgen(ctx, app, mode, stmtCache, descCache)
		}}
	}
	big := itoa(bigCache)
	return []strategy{
		{"limit", "L: raw pgx, one schema, statement cache (the limit)", func(ctx context.Context, q *queryBench, n int, app string) (target, error) {
			return q.openLimit(ctx, app, limitSchema)
		}},
		{"limit-flat", "L-flat: raw pgx, one schema, one table holding every tenant's rows (N x rows), statement cache", func(ctx context.Context, q *queryBench, n int, app string) (target, error) {
			return q.openLimit(ctx, app, flatSchema)
		}},
		{"naive", "naive: `SET search_path` + query, shared pool, statement cache", func(ctx context.Context, q *queryBench, n int, app string) (target, error) {
			return q.openNaive(ctx, app, pgx.QueryExecModeCacheStatement)
		}},
		{"naive-exec", "naive, exec mode: `SET search_path` + query, shared pool, QueryExecModeExec", func(ctx context.Context, q *queryBench, n int, app string) (target, error) {
			return q.openNaive(ctx, app, pgx.QueryExecModeExec)
		}},
		{"raw-qualified", "raw pgx, the tenant-qualified SQL tenantgen sends, statement cache 512: what tenantgen costs over raw pgx, and what N schemas cost the server", func(ctx context.Context, q *queryBench, n int, app string) (target, error) {
			return q.openRawQualified(ctx, app)
		}},
		{"ppt", "a pool per tenant (search_path per pool, statement cache)", func(ctx context.Context, q *queryBench, n int, app string) (target, error) {
			return q.openPoolPerTenant(ctx, app, n)
		}},
		tg("tg-cache", "tenantgen, CacheStatement, cache 512 (pgx default)", pgx.QueryExecModeCacheStatement, defaultCache, defaultCache),
		tg("tg-cache-big", "tenantgen, CacheStatement, cache "+big, pgx.QueryExecModeCacheStatement, bigCache, defaultCache),
		tg("tg-describe", "tenantgen, CacheDescribe, cache 512", pgx.QueryExecModeCacheDescribe, defaultCache, defaultCache),
		tg("tg-describe-big", "tenantgen, CacheDescribe, cache "+big, pgx.QueryExecModeCacheDescribe, defaultCache, bigCache),
		tg("tg-exec", "tenantgen, Exec (no server-side statements)", pgx.QueryExecModeExec, defaultCache, defaultCache),
	}
}

// prepCounter counts the statements pgx prepares (named for the statement
// cache, unnamed for a describe): one per cache miss.
type prepCounter struct{ n atomic.Int64 }

func (p *prepCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (p *prepCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (p *prepCounter) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	p.n.Add(1)
	return ctx
}
func (p *prepCounter) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

func (q *queryBench) config(maxConns int, app string) (*pgxpool.Config, error) {
	cfg, err := q.e.PoolConfig(maxConns)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.Tracer = &q.preps
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	return cfg, nil
}

// newPool opens a pool of the strategy's size with cfg's settings edited by
// edit, when not nil.
func (q *queryBench) newPool(ctx context.Context, app string, edit func(*pgxpool.Config)) (*pgxpool.Pool, error) {
	cfg, err := q.config(q.c.poolSize, app)
	if err != nil {
		return nil, err
	}
	if edit != nil {
		edit(cfg)
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

func scanItem(row pgx.Row, prefix string) error {
	var it benchdb.Item
	if err := row.Scan(&it.ID, &it.Name, &it.Status, &it.Qty, &it.CreatedAt); err != nil {
		return err
	}
	if !strings.HasPrefix(it.Name, prefix) {
		return errMismatch
	}
	return nil
}

// limit: one schema, the generated SQL text bound to it once, raw pgx.
type limitTarget struct {
	pool     *pgxpool.Pool
	schema   string
	sel, ins string
	flatRows int64 // L-flat: tenant ti's row j is row ti*rows+j of the one table
}

// openLimit opens the limit on schema (limitSchema, or flatSchema: one
// table with every tenant's rows).
func (q *queryBench) openLimit(ctx context.Context, app, schema string) (target, error) {
	pool, err := q.newPool(ctx, app, nil)
	if err != nil {
		return nil, err
	}
	from := bench.Ident(limitSchema) + "."
	to := bench.Ident(schema) + "."
	t := &limitTarget{pool: pool, schema: schema, sel: strings.ReplaceAll(q.limitSel, from, to), ins: strings.ReplaceAll(q.limitIns, from, to)}
	if schema == flatSchema {
		t.flatRows = int64(q.c.rows)
	}
	return t, nil
}

func (t *limitTarget) do(ctx context.Context, conn *pgxpool.Conn, op string, ti int, arg int64) error {
	var db runtime.DBTX = t.pool
	if conn != nil {
		db = conn
	}
	if op == "select" {
		arg += int64(ti) * t.flatRows
		return scanItem(db.QueryRow(ctx, t.sel, arg), t.schema+"-")
	}
	_, err := db.Exec(ctx, t.ins, t.schema+"-i", benchdb.ItemStatusActive, int32(arg))
	return err
}

func (t *limitTarget) warmSets(int) []warmSet { return []warmSet{{t.pool, 0, 1}} }
func (t *limitTarget) pools() []*pgxpool.Pool { return []*pgxpool.Pool{t.pool} }
func (t *limitTarget) close()                 { t.pool.Close() }

// naive: take a connection, SET search_path, run the unqualified query.
type naiveTarget struct {
	q    *queryBench
	pool *pgxpool.Pool
}

func (q *queryBench) openNaive(ctx context.Context, app string, mode pgx.QueryExecMode) (target, error) {
	pool, err := q.newPool(ctx, app, func(cfg *pgxpool.Config) { cfg.ConnConfig.DefaultQueryExecMode = mode })
	if err != nil {
		return nil, err
	}
	return &naiveTarget{q, pool}, nil
}

func (t *naiveTarget) do(ctx context.Context, conn *pgxpool.Conn, op string, ti int, arg int64) error {
	if conn == nil {
		var err error
		if conn, err = t.pool.Acquire(ctx); err != nil {
			return err
		}
		defer conn.Release()
	}
	if _, err := conn.Exec(ctx, t.q.setPath[ti]); err != nil {
		return err
	}
	if op == "select" {
		return scanItem(conn.QueryRow(ctx, t.q.plainSel, arg), t.q.prefix[ti])
	}
	_, err := conn.Exec(ctx, t.q.plainIns, t.q.insName[ti], benchdb.ItemStatusActive, int32(arg))
	return err
}

func (t *naiveTarget) warmSets(n int) []warmSet { return []warmSet{{t.pool, 0, n}} }
func (t *naiveTarget) pools() []*pgxpool.Pool   { return []*pgxpool.Pool{t.pool} }
func (t *naiveTarget) close()                   { t.pool.Close() }

// pool per tenant: each pool's connections have the tenant's search_path.
type pptTarget struct {
	q  *queryBench
	ps []*pgxpool.Pool
}

func (q *queryBench) openPoolPerTenant(ctx context.Context, app string, n int) (target, error) {
	t := &pptTarget{q: q}
	for i := range n {
		cfg, err := q.config(max(1, q.c.poolSize/n), app)
		if err != nil {
			t.close()
			return nil, err
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = q.names[i]
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.close()
			return nil, err
		}
		t.ps = append(t.ps, p)
	}
	return t, nil
}

func (t *pptTarget) do(ctx context.Context, conn *pgxpool.Conn, op string, ti int, arg int64) error {
	var db runtime.DBTX = t.ps[ti]
	if conn != nil {
		db = conn
	}
	if op == "select" {
		return scanItem(db.QueryRow(ctx, t.q.plainSel, arg), t.q.prefix[ti])
	}
	_, err := db.Exec(ctx, t.q.plainIns, t.q.insName[ti], benchdb.ItemStatusActive, int32(arg))
	return err
}

func (t *pptTarget) warmSets(int) []warmSet {
	out := make([]warmSet, len(t.ps))
	for i, p := range t.ps {
		out[i] = warmSet{p, i, i + 1}
	}
	return out
}
func (t *pptTarget) pools() []*pgxpool.Pool { return t.ps }
func (t *pptTarget) close() {
	for _, p := range t.ps {
		p.Close()
	}
}

// tenantgen: the generated handle, db.Tenant(t).GetItem(...), as an
// application calls it (a new handle per call).
type tgTarget struct {
	q  *queryBench
	rt *runtime.DB
	db *benchdb.DB
}

func (q *queryBench) openTenantgen(ctx context.Context, app string, mode pgx.QueryExecMode, stmtCache, descCache int) (target, error) {
	cfg, err := q.config(q.c.poolSize, app)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.DefaultQueryExecMode = mode
	cfg.ConnConfig.StatementCacheCapacity = stmtCache
	cfg.ConnConfig.DescriptionCacheCapacity = descCache
	rt, err := runtime.OpenConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &tgTarget{q, rt, benchdb.New(rt)}, nil
}

func (t *tgTarget) do(ctx context.Context, conn *pgxpool.Conn, op string, ti int, arg int64) error {
	q := t.db.Tenant(t.q.tenants[ti])
	if conn != nil {
		q = q.WithTx(connTx{c: conn})
	}
	if op == "select" {
		it, err := q.GetItem(ctx, arg)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(it.Name, t.q.prefix[ti]) {
			return errMismatch
		}
		return nil
	}
	return q.CreateItem(ctx, benchdb.CreateItemParams{Name: t.q.insName[ti], Status: benchdb.ItemStatusActive, Qty: int32(arg)})
}

func (t *tgTarget) warmSets(n int) []warmSet { return []warmSet{{t.rt.Pool(), 0, n}} }

// connTx runs the generated methods on one pooled connection, outside any
// transaction, through TenantQueries.WithTx: only to warm that connection.
type connTx struct {
	pgx.Tx
	c *pgxpool.Conn
}

func (t connTx) Conn() *pgx.Conn { return t.c.Conn() }

func (t connTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.c.Exec(ctx, sql, args...)
}

func (t connTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.c.Query(ctx, sql, args...)
}

func (t connTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.c.QueryRow(ctx, sql, args...)
}
func (t *tgTarget) pools() []*pgxpool.Pool { return []*pgxpool.Pool{t.rt.Pool()} }
func (t *tgTarget) close()                 { t.rt.Close() }

// raw-qualified: raw pgx running the exact text tenantgen would send for the
// tenant (prepared per tenant, one pool).
type rawTarget struct {
	q    *queryBench
	pool *pgxpool.Pool
}

func (q *queryBench) openRawQualified(ctx context.Context, app string) (target, error) {
	pool, err := q.newPool(ctx, app, nil)
	if err != nil {
		return nil, err
	}
	return &rawTarget{q, pool}, nil
}

func (t *rawTarget) do(ctx context.Context, conn *pgxpool.Conn, op string, ti int, arg int64) error {
	var db runtime.DBTX = t.pool
	if conn != nil {
		db = conn
	}
	if op == "select" {
		return scanItem(db.QueryRow(ctx, t.q.qualSel[ti], arg), t.q.prefix[ti])
	}
	_, err := db.Exec(ctx, t.q.qualIns[ti], t.q.insName[ti], benchdb.ItemStatusActive, int32(arg))
	return err
}

func (t *rawTarget) warmSets(n int) []warmSet { return []warmSet{{t.pool, 0, n}} }
func (t *rawTarget) pools() []*pgxpool.Pool   { return []*pgxpool.Pool{t.pool} }
func (t *rawTarget) close()                   { t.pool.Close() }
