package runtime

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// boundTx is a transaction whose statements are bound to one tenant, as
// BindTenant binds a DBTX, while staying a pgx.Tx: a seed can hand it to
// generated code's WithTx (binding SQL already bound changes nothing: it has
// no placeholder left).
type boundTx struct {
	pgx.Tx
	b *tenantDBTX
}

func bindTx(tx pgx.Tx, t Tenant) pgx.Tx { return &boundTx{Tx: tx, b: bindTenant(tx, t)} }

func (t *boundTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.b.Exec(ctx, sql, args...)
}

func (t *boundTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.b.Query(ctx, sql, args...)
}

func (t *boundTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.b.QueryRow(ctx, sql, args...)
}

func (t *boundTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return t.b.CopyFrom(ctx, table, columns, src)
}

func (t *boundTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.b.SendBatch(ctx, b)
}

// SeedSQL returns a seed (CreateOptions.Seed) running sql, a script of any
// number of statements, in the new tenant's transaction: unqualified names
// resolve in the tenant's schema first, then public, and the placeholder
// "$tenant" is bound to the tenant's schema. It is `tenant create --seed`.
func SeedSQL(sql string) func(context.Context, pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		// Exec without arguments sends the script in one simple query,
		// which may hold many statements.
		_, err := tx.Exec(ctx, sql)
		return err
	}
}

// SeedFile is SeedSQL with the script read from path now, so that a missing
// file fails before any tenant is made.
func SeedFile(path string) (func(context.Context, pgx.Tx) error, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the seed: %w", err)
	}
	return SeedSQL(string(data)), nil
}
