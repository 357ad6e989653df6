package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TenantInfo is a tenant's registry row.
type TenantInfo struct {
	Tenant    Tenant
	Database  string
	State     TenantState
	CreatedAt time.Time
	Domains   []Domain
}

// Domain maps a host name to a tenant.
type Domain struct {
	Name    string
	Primary bool
}

// ErrTenantExists is returned when creating a tenant whose name or schema is taken.
var ErrTenantExists = errors.New("tenant already exists")

// ErrTenantNotFound is returned for a tenant the registry does not have.
var ErrTenantNotFound = errors.New("tenant not found")

// CreateOptions tune CreateTenant.
type CreateOptions struct {
	// Domains to map to the tenant; the first is primary.
	Domains []string
	// Node places the tenant on a Citus worker (host:port); see citus.go.
	Node string
	// Seed, when set, runs in the creation's transaction, after the
	// migrations and before the tenant becomes active: its first admin
	// user, default settings, demo data. tx is bound to the new tenant
	// (SQL naming "$tenant".table runs in its schema, and unqualified
	// names resolve there first), and generated queries run on it with
	// q.Tenant(t).WithTx(tx). When it fails, the creation fails and
	// leaves no tenant. See SeedSQL for a seed read from a file.
	Seed func(ctx context.Context, tx pgx.Tx) error

	// state is the state the creation ends in: active when empty; the
	// spare pool makes its spares with StateSpare.
	state TenantState
}

// CreateTenant creates a tenant: its registry row, its schema with every
// tenant migration applied, and its domains. It is all or nothing: when any
// step fails, the schema and the row are removed before the error returns.
//
// The registry row (state creating) and the schema are created in one
// transaction, under an advisory lock on the name held until the tenant is
// active, so that a creating row always means "schema made by a creator
// that holds or held the lock". A creator killed half-way leaves such a
// row: creating the tenant again waits for the lock (free as soon as the
// dead creator's connection is gone), removes the leftovers and starts
// over, while a live creator of the same name makes it wait and then fail
// with ErrTenantExists. A schema of the name that the registry does not
// know is never touched: the creation fails with ErrTenantExists.
//
// Then one transaction applies the whole tenant set with goose's version
// rows (see txmigrate.go; a NO TRANSACTION migration splits it), runs the
// seed, maps the domains and makes the tenant active: the tenant appears
// complete or not at all. With a spare pool (StartSparePool), a spare
// schema is claimed instead, when one is ready.
func (db *DB) CreateTenant(ctx context.Context, t Tenant, opts CreateOptions) (err error) {
	if t.IsZero() {
		return errZeroTenant
	}
	domains := make([]string, len(opts.Domains))
	for i, d := range opts.Domains {
		if domains[i], err = NormalizeDomain(d); err != nil {
			return err
		}
	}
	conn, unlock, err := db.lockTenantName(ctx, t)
	if err != nil {
		return fmt.Errorf("creating tenant %s: %w", t.name, err)
	}
	defer unlock()
	if p := db.sparePool(); p != nil && opts.state == "" {
		claimed, err := p.claim(ctx, conn, t, domains, opts)
		if err != nil {
			return fmt.Errorf("creating tenant %s: %w", t.name, err)
		}
		if claimed {
			unlock()
			db.tenantRecreated(t)
			db.registryChanged()
			db.logger.InfoContext(ctx, "tenantgen: tenant created from a spare", "tenant", t.name)
			return nil
		}
	}
	stale := false
	// The common case, a new name, in one round trip; anything else (a row
	// of the name, a schema of the name, no registry) takes reserveTenant,
	// which tells them apart.
	// On Citus the schema is distributed in the same transaction, which
	// reserveTenant does.
	citus, err := db.citusEnabledOn(ctx, conn)
	if err != nil {
		return fmt.Errorf("creating tenant %s: %w", t.name, err)
	}
	if citus || opts.Node != "" || !reserveNewTenant(ctx, conn, t) {
		if stale, err = db.reserveTenant(ctx, conn, t, opts); err != nil {
			return err
		}
	}
	if stale {
		db.logger.WarnContext(ctx, "tenantgen: removed the leftovers of an interrupted creation", "tenant", t.name)
	}
	// From here on the schema and the row are ours to remove on failure.
	defer db.removeOnFailure(ctx, conn, unlock, t, "creation of "+t.name, &err)
	plan, err := loadPlan(db.migs.Tenant)
	if err != nil {
		return fmt.Errorf("creating tenant %s: %w", t.name, err)
	}
	gs := &lazySession{db: db, path: tenantPath(t)}
	defer gs.close()
	run := &tenantUpRun{conn: conn, t: t, plan: plan, citus: citus,
		gooseRun: func(ctx context.Context, v int64) error {
			s, err := gs.get()
			if err != nil {
				return err
			}
			return db.gooseUpTo(s, t)(ctx, v)
		},
		// The seed, the domains and the state go in the transaction of the
		// last migrations: the tenant appears active all at once.
		final: func(ctx context.Context, tx pgx.Tx) error { return db.finishCreation(ctx, tx, t, domains, opts) },
	}
	if _, err = run.run(ctx); err != nil {
		return fmt.Errorf("creating tenant %s: %w", t.name, err)
	}
	// A schema with no tables cannot be placed: placing comes after the
	// migrations (a failure still removes the tenant, above).
	if err = db.citusPlaceTenant(ctx, conn, t, opts); err != nil {
		return fmt.Errorf("creating tenant %s: %w", t.name, err)
	}
	unlock() // before the callbacks, which may want a connection
	db.tenantRecreated(t)
	if opts.state != StateSpare {
		db.registryChanged()
	}
	db.logger.InfoContext(ctx, "tenantgen: tenant created", "tenant", t.name, "state", string(opts.finalState()))
	return nil
}

func (o CreateOptions) finalState() TenantState {
	if o.state == "" {
		return StateActive
	}
	return o.state
}

// reserveTenant writes t's creating row and schema, after removing the
// leftovers of a creator that died (a creating row: we hold the lock it
// held), and refuses a name that is taken.
func (db *DB) reserveTenant(ctx context.Context, conn *pgx.Conn, t Tenant, opts CreateOptions) (stale bool, err error) {
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// No need to wait for this commit to reach the disk: the creation's
		// last commit, which waits, flushes it too, and losing it in a crash
		// before then loses nothing the creation had finished.
		var state string
		err := tx.QueryRow(ctx, `SELECT state FROM public.tenantgen_tenants, set_config('synchronous_commit', 'off', true) WHERE name = $1 FOR UPDATE OF tenantgen_tenants`, t.name).Scan(&state)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case state == "creating":
			// Left by a creator that died: we hold the lock it held.
			stale = true
			if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+t.Ident()+" CASCADE"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM public.tenantgen_tenants WHERE name = $1`, t.name); err != nil {
				return err
			}
		default:
			return ErrTenantExists
		}
		if _, err := tx.Exec(ctx, `INSERT INTO public.tenantgen_tenants (name, state) VALUES ($1, 'creating')`, t.name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+t.Ident()); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "42P06" {
				return fmt.Errorf("a schema of that name exists and is not a tenant's: %w", ErrTenantExists)
			}
			return err
		}
		return db.citusPrepareTenant(ctx, tx, t, opts)
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P01" {
			return false, fmt.Errorf("creating tenant %s: the tenant registry is missing: run the shared migrations first (tenantgen migrate --shared): %w", t.name, err)
		}
		return false, fmt.Errorf("creating tenant %s: %w", t.name, err)
	}
	return stale, nil
}

// reserveNewTenant writes t's creating row and schema in one round trip,
// and reports whether it did; on any error it rolls back and reports false.
// Its commit need not wait for the disk: the creation's last commit, which
// waits, flushes it too, and losing it in a crash before then loses nothing
// the creation had finished.
func reserveNewTenant(ctx context.Context, conn *pgx.Conn, t Tenant) bool {
	_, err := conn.PgConn().Exec(ctx, "BEGIN; SET LOCAL synchronous_commit = off;"+
		"INSERT INTO public.tenantgen_tenants (name, state) VALUES ("+quoteLiteral(t.name)+", 'creating');"+
		"CREATE SCHEMA "+t.Ident()+"; COMMIT").ReadAll()
	if err == nil {
		return true
	}
	if !conn.IsClosed() {
		// An error inside the explicit block leaves it open and aborted.
		_, _ = conn.PgConn().Exec(context.WithoutCancel(ctx), "ROLLBACK").ReadAll()
	}
	return false
}

// finishCreation runs the seed, maps the domains and makes the tenant
// active, in the creation's last transaction.
func (db *DB) finishCreation(ctx context.Context, tx pgx.Tx, t Tenant, domains []string, opts CreateOptions) error {
	if opts.Seed != nil {
		if err := opts.Seed(ctx, bindTx(tx, t)); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	// One round trip for the domains and the state.
	b := &pgx.Batch{}
	for i, d := range domains {
		b.Queue(`INSERT INTO public.tenantgen_domains (domain, tenant, is_primary) VALUES ($1, $2, $3)`, d, t.name, i == 0)
	}
	b.Queue(`UPDATE public.tenantgen_tenants SET state = $2 WHERE name = $1 AND state = 'creating'`, t.name, string(opts.finalState()))
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for _, d := range domains {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("domain %s: %w", d, err)
		}
	}
	tag, err := br.Exec()
	if err == nil && tag.RowsAffected() != 1 {
		err = errors.New("its registry row went away during the creation")
	}
	if err != nil {
		return err
	}
	return br.Close()
}

// lazySession is a goose session opened on first use: creation needs one
// only for a migration goose must run itself.
type lazySession struct {
	db   *DB
	path string
	s    *session
}

func (l *lazySession) get() (*session, error) {
	if l.s == nil {
		s, err := l.db.newSession(l.path)
		if err != nil {
			return nil, err
		}
		l.s = s
	}
	return l.s, nil
}

func (l *lazySession) close() {
	if l.s != nil {
		l.s.Close()
	}
}

// removeOnFailure removes t (its schema and registry rows) when *err is
// set: the clean-up of a creation or import that failed after reserving
// the name. conn holds the name's lock; what names the step for the error.
func (db *DB) removeOnFailure(ctx context.Context, conn *pgx.Conn, unlock func(), t Tenant, what string, err *error) {
	if *err == nil {
		return
	}
	// Clean up with a context of its own: the caller's may be what failed.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var b beginner = conn
	if conn.IsClosed() {
		// Cancelled mid-statement: the lock went with the connection;
		// give it back to the pool and take another.
		unlock()
		b = db.pool
	}
	if cerr := removeTenant(cctx, b, t); cerr != nil {
		*err = errors.Join(*err, fmt.Errorf("cleaning up after the failed %s: %w", what, cerr))
	}
}

type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// lockTenantName takes the advisory lock that serializes the creation and
// the dropping of one tenant, on a pool connection that the caller uses for
// its statements (a pool of one connection must not deadlock). unlock
// releases the lock and gives the connection back, or closes it when the
// lock cannot be released: a pooled connection never keeps it. Calls
// after the first do nothing. A process that dies holding the lock loses
// it with its connection.
func (db *DB) lockTenantName(ctx context.Context, t Tenant) (*pgx.Conn, func(), error) {
	return db.lockTenantNames(ctx, t)
}

// lockTenantNames is lockTenantName for several names at once (a rename
// holds both), taken in name order so that two callers wanting the same
// names cannot deadlock.
func (db *DB) lockTenantNames(ctx context.Context, ts ...Tenant) (*pgx.Conn, func(), error) {
	if db.pooler {
		return nil, nil, errors.New("tenants are created and dropped under a session lock, which a transaction pooler does not keep: use a runtime on a direct connection")
	}
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.name
	}
	slices.Sort(names)
	names = slices.Compact(names)
	ids := make([]int64, len(names))
	for i, n := range names {
		ids[i] = lockID("lifecycle:" + n)
	}
	var taken int
	for _, id := range ids {
		if _, err := pc.Exec(ctx, `SELECT pg_advisory_lock($1)`, id); err != nil {
			if taken > 0 {
				// Do not give the pool a connection holding a lock.
				_ = pc.Conn().Close(context.WithoutCancel(ctx))
			}
			pc.Release()
			return nil, nil, fmt.Errorf("waiting for the tenant's lock: %w", err)
		}
		taken++
	}
	released := false
	unlock := func() {
		if released {
			return
		}
		released = true
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, id := range ids {
			var ok bool
			if err := pc.QueryRow(uctx, `SELECT pg_advisory_unlock($1)`, id).Scan(&ok); err != nil || !ok {
				_ = pc.Conn().Close(uctx)
				break
			}
		}
		pc.Release()
	}
	return pc.Conn(), unlock, nil
}

// removeTenant drops a tenant's schema and registry rows.
func removeTenant(ctx context.Context, b beginner, t Tenant) error {
	return pgx.BeginFunc(ctx, b, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+t.Ident()+" CASCADE"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM public.tenantgen_tenants WHERE name = $1`, t.name)
		return err
	})
}

// DropTenant drops a tenant's schema, with all its data, and its registry
// rows, in one transaction. confirm must equal the tenant's name: dropping is
// never the default of anything. It waits for a creation of the tenant in
// progress to end.
func (db *DB) DropTenant(ctx context.Context, t Tenant, confirm string) error {
	if t.IsZero() {
		return errZeroTenant
	}
	if confirm != t.name {
		return fmt.Errorf("dropping tenant %s: confirmation %q does not match the tenant name", t.name, confirm)
	}
	conn, unlock, err := db.lockTenantName(ctx, t)
	if err != nil {
		return fmt.Errorf("dropping tenant %s: %w", t.name, err)
	}
	defer unlock()
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM public.tenantgen_tenants WHERE name = $1`, t.name).Scan(&n); err != nil {
		return fmt.Errorf("dropping tenant %s: %w", t.name, err)
	}
	if n == 0 {
		return fmt.Errorf("dropping tenant %s: %w", t.name, ErrTenantNotFound)
	}
	if err := removeTenant(ctx, conn, t); err != nil {
		return fmt.Errorf("dropping tenant %s: %w", t.name, err)
	}
	unlock()
	db.tenantRecreated(t)
	db.registryChanged()
	db.logger.InfoContext(ctx, "tenantgen: tenant dropped", "tenant", t.name)
	return nil
}

// Tenants lists the registry, ordered by name.
func (db *DB) Tenants(ctx context.Context) ([]TenantInfo, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT t.name, t.database, t.state, t.created_at,
		       coalesce(array_agg(d.domain ORDER BY d.is_primary DESC, d.domain) FILTER (WHERE d.domain IS NOT NULL), '{}'),
		       coalesce(array_agg(d.is_primary ORDER BY d.is_primary DESC, d.domain) FILTER (WHERE d.domain IS NOT NULL), '{}')
		FROM public.tenantgen_tenants t LEFT JOIN public.tenantgen_domains d ON d.tenant = t.name
		GROUP BY t.name ORDER BY t.name`)
	if err != nil {
		return nil, fmt.Errorf("listing tenants: %w", err)
	}
	defer rows.Close()
	var out []TenantInfo
	for rows.Next() {
		var ti TenantInfo
		var name string
		var doms []string
		var prim []bool
		if err := rows.Scan(&name, &ti.Database, &ti.State, &ti.CreatedAt, &doms, &prim); err != nil {
			return nil, err
		}
		ti.Tenant = newTenant(name)
		for i := range doms {
			ti.Domains = append(ti.Domains, Domain{Name: doms[i], Primary: prim[i]})
		}
		out = append(out, ti)
	}
	return out, rows.Err()
}

// AddDomain maps domain to t. A primary domain demotes the tenant's others.
func (db *DB) AddDomain(ctx context.Context, t Tenant, domain string, primary bool) error {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if primary {
			if _, err := tx.Exec(ctx, `UPDATE public.tenantgen_domains SET is_primary = false WHERE tenant = $1`, t.name); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO public.tenantgen_domains (domain, tenant, is_primary) VALUES ($1, $2, $3)`, d, t.name, primary)
		return err
	})
	if err != nil {
		return fmt.Errorf("adding domain %s to %s: %w", d, t.name, err)
	}
	db.registryChanged()
	return nil
}

// RemoveDomain unmaps a domain.
func (db *DB) RemoveDomain(ctx context.Context, domain string) error {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM public.tenantgen_domains WHERE domain = $1`, d)
	if err != nil {
		return fmt.Errorf("removing domain %s: %w", d, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("removing domain %s: no such domain", d)
	}
	db.registryChanged()
	return nil
}

// TenantByDomain resolves a host name through the registry; the HTTP
// middleware caches it.
func (db *DB) TenantByDomain(ctx context.Context, domain string) (Tenant, bool, error) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return Tenant{}, false, nil
	}
	var name string
	err = db.pool.QueryRow(ctx, `SELECT d.tenant FROM public.tenantgen_domains d JOIN public.tenantgen_tenants t ON t.name = d.tenant WHERE d.domain = $1 AND t.state = 'active'`, d).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return Tenant{}, false, nil
	}
	if err != nil {
		return Tenant{}, false, fmt.Errorf("looking up domain %s: %w", d, err)
	}
	t, err := ParseTenant(name)
	return t, err == nil, err
}

// OnRegistryChange registers fn to run after this DB changes the registry
// (tenants or domains), so caches such as the HTTP middleware's can drop
// stale entries.
func (db *DB) OnRegistryChange(fn func()) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.onChange = append(db.onChange, fn)
}

func (db *DB) registryChanged() {
	db.announceRegistry() // notify.go: other processes' runtimes
	db.mu.Lock()
	fns := append([]func(){}, db.onChange...)
	db.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
