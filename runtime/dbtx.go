package runtime

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/runtime/contract"
)

// DBTX is what generated queries run on: *pgxpool.Pool, *pgx.Conn and pgx.Tx
// all satisfy it.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// tenantDBTX binds a DBTX to one tenant. It keeps no state on the
// connection: the tenant is in the SQL text itself, so nothing a failed,
// cancelled or panicking query leaves behind can reach another tenant's
// query, and it works unchanged behind PgBouncer's transaction pooling.
type tenantDBTX struct {
	db     DBTX
	tenant Tenant
}

func bindTenant(db DBTX, t Tenant) *tenantDBTX {
	return &tenantDBTX{db: db, tenant: t}
}

func (c *tenantDBTX) sql(s string) string {
	return contract.Bind(s, c.tenant.ident)
}

func (c *tenantDBTX) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.db.Exec(ctx, c.sql(sql), args...)
}

func (c *tenantDBTX) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return c.db.Query(ctx, c.sql(sql), args...)
}

func (c *tenantDBTX) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return c.db.QueryRow(ctx, c.sql(sql), args...)
}

func (c *tenantDBTX) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if len(table) == 2 && table[0] == contract.SchemaName {
		table = pgx.Identifier{c.tenant.name, table[1]}
	}
	return c.db.CopyFrom(ctx, table, columns, src)
}

// SendBatch sends a copy of b with its SQL bound to the tenant: rewriting
// b itself would leave it bound to this tenant, and a batch reused for
// another tenant would then run in this one's schema.
func (c *tenantDBTX) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	bound := *b
	bound.QueuedQueries = make([]*pgx.QueuedQuery, len(b.QueuedQueries))
	for i, q := range b.QueuedQueries {
		cp := *q
		cp.SQL = c.sql(q.SQL)
		bound.QueuedQueries[i] = &cp
	}
	return c.db.SendBatch(ctx, &bound)
}

// BindTenant returns db (a pool, connection or transaction) bound to t, for
// generated queries to run on. On a *pgxpool.Pool, a query whose cached
// statement went stale (see stale.go) is retried once; on a connection or
// transaction its error is returned. Arrays of tenant-scoped types work on
// connections of pools made by Open, OpenConfig or configured with
// ConfigurePool, and on any connection or transaction passed here.
func BindTenant(db DBTX, t Tenant) DBTX {
	if t.IsZero() {
		return errDBTX{errZeroTenant}
	}
	switch c := db.(type) {
	case *pgxpool.Pool:
		return bindPool(c, t)
	case pgx.Tx:
		if conn := c.Conn(); conn != nil {
			installTypeFallbacks(conn.TypeMap())
		}
	case *pgx.Conn:
		installTypeFallbacks(c.TypeMap())
	}
	return bindTenant(db, t)
}

func bindPool(p *pgxpool.Pool, t Tenant) *poolTenantDBTX {
	return &poolTenantDBTX{src: poolSource{p}, tenantDBTX: tenantDBTX{db: p, tenant: t}}
}
