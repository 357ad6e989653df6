package runtime

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A pooled connection whose backend was terminated (a restart, a failover,
// pg_terminate_backend, an idle timeout on a proxy) is found dead only when
// the next query is written to it; the pool destroys it when released.
// Outside a transaction the runtime runs such a query again, on another
// connection (pinged first), when that cannot apply anything twice:
//   - pgx says nothing of it reached the server (pgconn.SafeToRetry), or
//   - it is a plain SELECT and the connection is gone: an idle backend
//     killed sends its FATAL 57P01 before our query arrives, and pgx reads it
//     as the query's error. A SELECT that was running instead ran in its own
//     transaction, which the termination rolled back. (A SELECT calling a
//     function that writes could, in the instant between its commit and its
//     reply, run twice: generated reads do not write.)
// Writes that were sent are never retried: whether they committed is
// unknown. A query runs at most deadRetries more times: one retry, and
// one more for the rare second kill of the retry's own fresh connection
// (measured: 1 in ~70 retries with a backend killed every 25 ms).

// deadRetries bounds the reruns of a query whose connection was dead.
const deadRetries = 2

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

// deadBeforeSent reports whether sql, which failed with err on c outside a
// transaction, may run again on another connection: c is closed, ctx still
// live, and the query either never reached the server or is a plain read.
func deadBeforeSent(ctx context.Context, c *pgxpool.Conn, sql string, err error) bool {
	if err == nil || ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if !c.Conn().IsClosed() {
		return false
	}
	return pgconn.SafeToRetry(err) || plainSelect(sql)
}

// plainSelect reports whether sql, past comments and spaces, starts with
// SELECT (not WITH, which may modify data).
func plainSelect(sql string) bool {
	for {
		sql = strings.TrimLeft(sql, " \t\r\n")
		switch {
		case strings.HasPrefix(sql, "--"):
			i := strings.IndexByte(sql, '\n')
			if i < 0 {
				return false
			}
			sql = sql[i+1:]
		case strings.HasPrefix(sql, "/*"):
			i := strings.Index(sql, "*/")
			if i < 0 {
				return false
			}
			sql = sql[i+2:]
		default:
			return len(sql) > 6 && strings.EqualFold(sql[:6], "select") && !isIdentByte(sql[6])
		}
	}
}

func isIdentByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
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

// acquireLive takes a connection for a retry, pinging it first: when one
// backend was killed, others of the pool may have been too (a restart), and
// the retry must not be spent on one of them. It gives up after a few dead
// ones, returning the last error.
func acquireLive(ctx context.Context, src connSource) (*pgxpool.Conn, func(), error) {
	var err error
	for range 4 {
		var c *pgxpool.Conn
		var release func()
		if c, release, err = src.acquire(ctx); err != nil {
			return nil, nil, err
		}
		if err = c.Ping(ctx); err == nil {
			return c, release, nil
		}
		release() // closed by the failed ping: the pool destroys it
		if ctx.Err() != nil {
			return nil, nil, err
		}
	}
	return nil, nil, err
}
