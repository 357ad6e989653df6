package runtime

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// errDBTX fails every call with err, for misuse that must not reach the
// database (a zero Tenant).
type errDBTX struct{ err error }

func (e errDBTX) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, e.err
}

func (e errDBTX) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, e.err }

func (e errDBTX) QueryRow(context.Context, string, ...any) pgx.Row { return errRow{e.err} }

func (e errDBTX) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, e.err
}

func (e errDBTX) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults { return errBatch{e.err} }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow{b.err} }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }
