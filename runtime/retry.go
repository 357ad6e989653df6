package runtime

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A pooled connection whose backend was terminated (a restart, a failover,
// pg_terminate_backend, an idle timeout on a proxy) is found dead only when
// the next query is written to it. pgx reports that case as safe to retry
// (pgconn.SafeToRetry: nothing reached the server), and the pool destroys
// the connection when it is released. Outside a transaction the runtime
// runs such a query once more, on another connection, so that a killed
// backend costs its callers nothing.

// connSource hands out connections, each with the function that gives it
// back.
type connSource interface {
	acquire(ctx context.Context) (*pgxpool.Conn, func(), error)
}

// poolSource takes connections of one pool.
type poolSource struct{ pool *pgxpool.Pool }

func (s poolSource) acquire(ctx context.Context) (*pgxpool.Conn, func(), error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c, c.Release, nil
}

// tenantSource takes connections of a tenant's home slot (affinity.go).
type tenantSource struct {
	r    *router
	hash uint64
}

func (s tenantSource) acquire(ctx context.Context) (*pgxpool.Conn, func(), error) {
	return s.r.acquire(ctx, s.hash)
}

// anySource takes connections of any slot, for shared queries.
type anySource struct{ r *router }

func (s anySource) acquire(ctx context.Context) (*pgxpool.Conn, func(), error) {
	return s.r.acquireAny(ctx)
}

// deadBeforeSent reports whether a query that failed with err on c, outside
// a transaction, may run again on another connection: c is closed and
// nothing of the query reached the server.
func deadBeforeSent(c *pgxpool.Conn, err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return c.Conn().IsClosed() && pgconn.SafeToRetry(err)
}

// errRows are the rows of a query that could not be sent.
type errRows struct {
	pgx.Rows
	err error
}

func (r *errRows) Next() bool                                   { return false }
func (r *errRows) Err() error                                   { return r.err }
func (r *errRows) Close()                                       {}
func (r *errRows) Scan(...any) error                            { return r.err }
func (r *errRows) Values() ([]any, error)                       { return nil, r.err }
func (r *errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (r *errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (r *errRows) RawValues() [][]byte                          { return nil }
func (r *errRows) Conn() *pgx.Conn                              { return nil }

// releasingBatch gives its connection back when the batch is closed.
type releasingBatch struct {
	pgx.BatchResults
	release func()
	done    bool
}

func (b *releasingBatch) Close() error {
	err := b.BatchResults.Close()
	if !b.done {
		b.done = true
		b.release()
	}
	return err
}
