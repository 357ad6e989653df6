package query

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate -f ../benchdb/tenantgen.yaml

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantgen/tenantgen/internal/bench"
	"github.com/tenantgen/tenantgen/internal/bench/benchdb"
	"github.com/tenantgen/tenantgen/runtime"
)

// The query path's schemas: q00000, q00001, ... are tenants; limitSchema is
// the one schema of the limit. They are created with plain SQL, not through
// goose, and kept across runs when -keep is given: creation only adds the
// ones missing.
const (
	limitSchema   = "q_limit"
	flatSchema    = "q_flat" // L-flat: every tenant's rows in one table
	queryTenantRe = `^q[0-9]{5}$`
)

func queryTenantName(i int) string { return fmt.Sprintf("q%05d", i) }

// setupTenants makes sure the first n tenant schemas and the limit's
// exist, each with benchdb's tenant set and rows rows, and, when flatRows >
// 0, flatSchema with that many rows. It returns how many tenant schemas it
// created and whether it created flatSchema.
func (q *queryBench) setupTenants(ctx context.Context, n, flatRows int) (int, bool, error) {
	conn, err := pgx.Connect(ctx, q.e.URL)
	if err != nil {
		return 0, false, err
	}
	defer conn.Close(ctx)
	ddl, err := bench.UpSQL(benchdb.Migrations().Tenant)
	if err != nil {
		return 0, false, err
	}
	flatCreated := false
	if flatRows > 0 {
		if flatCreated, err = ensureFlat(ctx, conn, ddl, flatRows); err != nil {
			return 0, false, err
		}
	}
	missing, err := missingSchemas(ctx, conn, n)
	if err != nil || len(missing) == 0 {
		return 0, flatCreated, err
	}
	return len(missing), flatCreated, q.createSchemas(ctx, missing, ddl)
}

// ensureFlat makes flatSchema hold the tenant set with flatRows rows, unless
// it does already, and says whether it created it.
func ensureFlat(ctx context.Context, conn *pgx.Conn, ddl string, flatRows int) (bool, error) {
	id := bench.Ident(flatSchema)
	var have int64 // the inserts of earlier runs add rows with higher ids
	err := conn.QueryRow(ctx, `SELECT count(*) FROM `+id+`.items WHERE id <= $1`, flatRows).Scan(&have)
	if err == nil && have == int64(flatRows) {
		return false, nil
	}
	bench.Logf("creating %s with %d rows", flatSchema, flatRows)
	_, err = conn.Exec(ctx, fmt.Sprintf(`DROP SCHEMA IF EXISTS %s CASCADE; BEGIN; CREATE SCHEMA %s; SET LOCAL search_path TO %s, public; %s
		INSERT INTO items (name, status, qty) SELECT '%s-' || g, 'active', g FROM generate_series(1, %d) g; COMMIT`,
		id, id, id, ddl, flatSchema, flatRows))
	if err == nil {
		_, err = conn.Exec(ctx, `VACUUM ANALYZE `+id+`.items`)
	}
	if err != nil {
		return false, fmt.Errorf("creating %s: %w", flatSchema, err)
	}
	return true, nil
}

// missingSchemas lists the limit's schema and the first n tenant schemas
// that do not exist yet.
func missingSchemas(ctx context.Context, conn *pgx.Conn, n int) ([]string, error) {
	have, err := bench.SchemasLike(ctx, conn, queryTenantRe+"|^"+limitSchema+"$")
	if err != nil {
		return nil, err
	}
	exists := map[string]bool{}
	for _, s := range have {
		exists[s] = true
	}
	var missing []string
	if !exists[limitSchema] {
		missing = append(missing, limitSchema)
	}
	for i := range n {
		if name := queryTenantName(i); !exists[name] {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

// createSchemas creates the schemas with plain SQL, -chunk per transaction
// on -setup-workers connections.
func (q *queryBench) createSchemas(ctx context.Context, missing []string, ddl string) error {
	bench.Logf("creating %d query-path schemas with plain SQL (%d per transaction, %d connections)", len(missing), q.c.chunk, q.c.setupWorkers)
	chunks := make(chan []string)
	go func() {
		defer close(chunks)
		for start := 0; start < len(missing); start += q.c.chunk {
			select {
			case chunks <- missing[start:min(start+q.c.chunk, len(missing))]:
			case <-ctx.Done():
				return
			}
		}
	}()
	p := &progress{total: len(missing), t0: time.Now()}
	var wg sync.WaitGroup
	for range max(1, q.c.setupWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.fail(q.createChunks(ctx, chunks, ddl, p))
		}()
	}
	wg.Wait()
	for range chunks {
		// What failed workers left: the sender must not block forever.
	}
	if p.err == nil {
		p.err = ctx.Err()
	}
	return p.err
}

// createChunks creates the chunks it receives on a connection of its own,
// until the first error.
func (q *queryBench) createChunks(ctx context.Context, chunks <-chan []string, ddl string, p *progress) error {
	c, err := pgconn.Connect(ctx, q.e.URL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for names := range chunks {
		var sb strings.Builder
		sb.WriteString("BEGIN;\n")
		for _, name := range names {
			id := bench.Ident(name)
			fmt.Fprintf(&sb, "CREATE SCHEMA %s;\nSET LOCAL search_path TO %s, public;\n%s\n", id, id, ddl)
			fmt.Fprintf(&sb, "INSERT INTO items (name, status, qty) SELECT '%s-' || g, 'active', g FROM generate_series(1, %d) g;\n", name, q.c.rows)
		}
		sb.WriteString("COMMIT;")
		if _, err := c.Exec(ctx, sb.String()).ReadAll(); err != nil {
			return fmt.Errorf("creating schemas %s..%s: %w", names[0], names[len(names)-1], err)
		}
		p.add(len(names))
	}
	return nil
}

// progress is the schema creation's, shared by its workers.
type progress struct {
	mu    sync.Mutex
	done  int
	total int
	t0    time.Time
	err   error // the first worker's error
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.done%2000 < n || p.done == p.total {
		bench.Logf("  %d/%d schemas (%.0f/s)", p.done, p.total, float64(p.done)/time.Since(p.t0).Seconds())
	}
}

func (p *progress) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil && p.err == nil {
		p.err = err
	}
}

// querySQL captures the SQL text the generated methods send, bound to
// limitSchema: the limit runs exactly that text, and the search_path
// strategies run it unqualified.
func querySQL() (sel, ins string, err error) {
	rec := &sqlRecorder{}
	q := benchdb.New(runtime.New(nil)).Tenant(runtime.MustTenant(limitSchema)).WithTx(rec)
	_, _ = q.GetItem(context.Background(), 1)
	_ = q.CreateItem(context.Background(), benchdb.CreateItemParams{})
	if len(rec.sql) != 2 {
		return "", "", fmt.Errorf("captured %d statements, want 2", len(rec.sql))
	}
	return rec.sql[0], rec.sql[1], nil
}

// sqlRecorder is a pgx.Tx that records the SQL sent to it and runs nothing.
type sqlRecorder struct {
	pgx.Tx
	sql []string
}

// Conn is nil: no connection is behind the recorder.
func (r *sqlRecorder) Conn() *pgx.Conn { return nil }

func (r *sqlRecorder) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	r.sql = append(r.sql, sql)
	return pgconn.CommandTag{}, nil
}

func (r *sqlRecorder) QueryRow(_ context.Context, sql string, _ ...any) pgx.Row {
	r.sql = append(r.sql, sql)
	return noRow{}
}

type noRow struct{}

func (noRow) Scan(...any) error { return pgx.ErrNoRows }
