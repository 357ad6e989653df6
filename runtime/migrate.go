package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"
	"golang.org/x/sync/errgroup"

	"github.com/tenantgen/tenantgen/runtime/contract"
)

type direction int

const (
	migrateUp direction = iota
	migrateDownTo
)

// MigrateShared applies tenantgen's registry migrations and then the shared
// set to public. It returns the number of migrations applied.
func (db *DB) MigrateShared(ctx context.Context) (int, error) {
	n := 0
	reg, err := db.registryProvider()
	if err != nil {
		return 0, err
	}
	res, err := reg.Up(ctx)
	reg.Close()
	n += len(res)
	if err != nil {
		return n, fmt.Errorf("migrating the tenant registry: %w", err)
	}
	if !hasSQL(db.migs.Shared) {
		return n, nil
	}
	p, err := db.sharedProvider()
	if err != nil {
		return n, err
	}
	defer p.Close()
	res, err = p.Up(ctx)
	n += len(res)
	if err != nil {
		return n, fmt.Errorf("migrating shared: %w", err)
	}
	return n, nil
}

// SharedVersion is the version of the shared set applied to public.
func (db *DB) SharedVersion(ctx context.Context) (int64, error) {
	var v *int64
	err := db.pool.QueryRow(ctx, `SELECT max(version_id) FROM public.goose_db_version`).Scan(&v)
	if err != nil {
		if isUndefinedTable(err) {
			return 0, nil
		}
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

func tenantPath(t Tenant) string { return t.Ident() + ", public" }

// migrateTenantOn migrates one tenant on a session, which it points at the
// tenant's schema: up in one transaction (see txmigrate.go), down by goose.
func (db *DB) migrateTenantOn(ctx context.Context, s *session, t Tenant, dir direction, version int64, plan []planned) (runStats, error) {
	s.setSearchPath(tenantPath(t))
	if dir == migrateUp {
		return db.upOnSession(ctx, s, t, plan)
	}
	p, err := db.providerOn(s, db.migs.Tenant, t.name, versionTable, "tenant:"+t.name)
	if err != nil {
		return runStats{}, err
	}
	res, err := p.DownTo(ctx, version)
	st := runStats{applied: len(res)}
	var pe *goose.PartialError
	if errors.As(err, &pe) {
		st.applied = len(pe.Applied)
	}
	return st, gooseError(db.migs.Tenant, err)
}

// upOnSession runs the one-transaction runner on one of the session's
// connections, and goose on the session for the migrations goose must run.
func (db *DB) upOnSession(ctx context.Context, s *session, t Tenant, plan []planned) (runStats, error) {
	c, err := s.sqlDB.Conn(ctx)
	if err != nil {
		return runStats{}, err
	}
	defer c.Close()
	var st runStats
	err = c.Raw(func(dc any) error {
		conn, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("tenantgen: unexpected driver connection %T", dc)
		}
		citus, err := db.citusEnabledOn(ctx, conn.Conn())
		if err != nil {
			return err
		}
		run := &tenantUpRun{conn: conn.Conn(), t: t, plan: plan, gooseRun: db.gooseUpTo(s, t), citus: citus}
		st, err = run.run(ctx)
		return err
	})
	return st, err
}

// gooseUpTo runs goose on s up to one version: the runner hands it the
// migrations it cannot run in its transactions.
func (db *DB) gooseUpTo(s *session, t Tenant) func(ctx context.Context, version int64) error {
	return func(ctx context.Context, version int64) error {
		p, err := db.providerOn(s, db.migs.Tenant, t.name, versionTable, "tenant:"+t.name)
		if err != nil {
			return err
		}
		_, err = p.UpTo(ctx, version)
		return gooseError(db.migs.Tenant, err)
	}
}

// gooseError names the failed version of a goose run, and says plainly what
// a failed NO TRANSACTION migration leaves.
func gooseError(fsys fs.FS, err error) error {
	var pe *goose.PartialError
	if err == nil || !errors.As(err, &pe) {
		return err
	}
	src := pe.Failed.Source
	if noTransaction(fsys, src.Path) {
		// goose records nothing for the failed version, but what ran
		// before the failing statement stays.
		return fmt.Errorf("version %d (%s) runs without a transaction (-- +goose NO TRANSACTION) and failed part-way: "+
			"the statements before the failing one stay applied and the version is not recorded, so a rerun runs the whole file again; "+
			"make its statements idempotent (IF NOT EXISTS) or repair the schema by hand: %w", src.Version, src.Path, pe.Err)
	}
	return fmt.Errorf("version %d (%s): %w", src.Version, src.Path, pe.Err)
}

func hasSQL(fsys fs.FS) bool { return len(contract.SetVersions(fsys)) > 0 }

// TenantVersions returns the tenant-set version applied in each named
// schema (0 when none), in a constant number of round trips whatever the
// number of tenants: a fleet that is up to date is checked at once instead
// of running goose per tenant.
func (db *DB) TenantVersions(ctx context.Context, names []string) (map[string]int64, error) {
	out := make(map[string]int64, len(names))
	rows, err := db.pool.Query(ctx, `
		SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relname = 'goose_db_version' AND c.relkind = 'r' AND n.nspname = ANY($1)`, names)
	if err != nil {
		return nil, err
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		out[n] = 0
	}
	// Chunks keep the locks one statement takes under the lock table's size.
	const chunk = 500
	for start := 0; start < len(have); start += chunk {
		part := have[start:min(start+chunk, len(have))]
		var b strings.Builder
		args := make([]any, 0, len(part))
		for i, n := range part {
			if i > 0 {
				b.WriteString(" UNION ALL ")
			}
			args = append(args, n)
			fmt.Fprintf(&b, "SELECT $%d::text, coalesce(max(version_id), 0) FROM %s.goose_db_version", i+1, pgx.Identifier{n}.Sanitize())
		}
		rows, err := db.pool.Query(ctx, b.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var n string
			var v int64
			if err := rows.Scan(&n, &v); err != nil {
				rows.Close()
				return nil, err
			}
			out[n] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MigrateOptions tune MigrateTenants.
type MigrateOptions struct {
	Tenants  []string // default: every active, suspended or spare tenant of the registry
	Parallel int      // tenants migrated at once; default 4
	FailFast bool     // stop starting tenants after the first failure
	DryRun   bool     // report what would run, change nothing
	// DownTo, when set, migrates down to that version instead of up.
	DownTo *int64
	// Progress, when set, is called after each tenant finishes, one call
	// at a time.
	Progress func(done, total, failed int)
}

// TenantResult is one tenant's outcome.
type TenantResult struct {
	Tenant   string
	From, To int64 // versions before and after
	Applied  int   // migrations run
	// Note says when the run was not one transaction: split at migrations
	// goose ran itself (NO TRANSACTION), naming them.
	Note     string
	Err      error
	Duration time.Duration
}

// MigrateReport sums up a fleet migration.
type MigrateReport struct {
	Target   int64 // latest tenant-set version
	Total    int   // tenants considered
	UpToDate int   // tenants that needed nothing
	// DownTo is the version a down migration went to, nil for up.
	DownTo *int64
	// DryRun is set for a dry run, whose Results are what would run:
	// WouldMigrate of them, none applied.
	DryRun       bool
	WouldMigrate int
	Results      []TenantResult
}

// Failed lists the results with errors.
func (r *MigrateReport) Failed() []TenantResult {
	var out []TenantResult
	for _, res := range r.Results {
		if res.Err != nil {
			out = append(out, res)
		}
	}
	return out
}

// ErrMigrationsFailed is what a *MigrateError matches with errors.Is.
var ErrMigrationsFailed = errors.New("some tenants failed to migrate")

// MigrateError is MigrateTenants' error when some tenants failed: it lists
// them, so that a caller holding only the error knows which, and it matches
// ErrMigrationsFailed.
type MigrateError struct {
	Failed []TenantResult // the results with errors, in the run's order
}

func (e *MigrateError) Error() string {
	names := make([]string, len(e.Failed))
	for i, r := range e.Failed {
		names[i] = r.Tenant
	}
	return fmt.Sprintf("%s: %s", ErrMigrationsFailed, strings.Join(names, ", "))
}

// Is makes errors.Is(err, ErrMigrationsFailed) hold.
func (e *MigrateError) Is(target error) bool { return target == ErrMigrationsFailed }

var errNotStarted = errors.New("not started: an earlier tenant failed")

// MigrateTenants brings tenant schemas to the latest tenant-set version (or
// down to DownTo), several at once. Each tenant migrates on its own
// connection under its own advisory lock, each migration in its own
// transaction; one tenant's failure neither stops nor touches the others
// (unless FailFast), and a rerun resumes where the failed ones stopped.
func (db *DB) MigrateTenants(ctx context.Context, opts MigrateOptions) (*MigrateReport, error) {
	if db.pooler && !opts.DryRun {
		return nil, errPoolerMigrations
	}
	tenants, err := db.tenantsToMigrate(ctx, opts.Tenants)
	if err != nil {
		return nil, err
	}
	_, versions := db.migs.Versions()
	rep := &MigrateReport{Total: len(tenants), DownTo: opts.DownTo, DryRun: opts.DryRun}
	if len(versions) > 0 {
		rep.Target = versions[len(versions)-1]
	}
	names := make([]string, len(tenants))
	for i, t := range tenants {
		names[i] = t.name
	}
	current, err := db.TenantVersions(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("reading tenant versions: %w", err)
	}
	todo := rep.needing(tenants, current)
	if opts.DryRun {
		rep.dryRun(todo, current)
		return rep, nil
	}
	var plan []planned
	if opts.DownTo == nil {
		if plan, err = loadPlan(db.migs.Tenant); err != nil {
			return nil, err
		}
	}
	rep.Results = db.migrateAll(ctx, todo, current, plan, opts)
	if failed := rep.Failed(); len(failed) > 0 {
		return rep, &MigrateError{Failed: failed}
	}
	return rep, nil
}

// tenantsToMigrate returns the tenants named, or, when names is nil, every
// registered tenant whose state takes migrations.
func (db *DB) tenantsToMigrate(ctx context.Context, names []string) ([]Tenant, error) {
	infos, err := db.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	if names == nil {
		var out []Tenant
		for _, ti := range infos {
			if ti.State.migrated() {
				out = append(out, ti.Tenant)
			}
		}
		return out, nil
	}
	// Only registered tenants, not being created: a schema the registry
	// does not know is not a tenant's, and must not get the tenant set.
	state := make(map[string]TenantState, len(infos))
	for _, ti := range infos {
		state[ti.Tenant.name] = ti.State
	}
	seen := make(map[string]bool, len(names))
	out := make([]Tenant, 0, len(names))
	for _, n := range names {
		t, err := ParseTenant(n)
		if err != nil {
			return nil, err
		}
		switch st, ok := state[n]; {
		case !ok:
			return nil, fmt.Errorf("migrating tenant %s: %w", n, ErrTenantNotFound)
		case !st.migrated():
			return nil, fmt.Errorf("migrating tenant %s: it is %s", n, st)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// needing returns the tenants whose version is not the one r goes to, and
// counts the others as up to date.
func (r *MigrateReport) needing(tenants []Tenant, current map[string]int64) []Tenant {
	var todo []Tenant
	for _, t := range tenants {
		v := current[t.name]
		switch {
		case r.DownTo != nil && v > *r.DownTo:
			todo = append(todo, t)
		case r.DownTo == nil && v < r.Target:
			todo = append(todo, t)
		default:
			r.UpToDate++
		}
	}
	return todo
}

// dryRun fills r with what migrating todo would do.
func (r *MigrateReport) dryRun(todo []Tenant, current map[string]int64) {
	to := r.Target
	if r.DownTo != nil {
		to = *r.DownTo
	}
	for _, t := range todo {
		r.Results = append(r.Results, TenantResult{Tenant: t.name, From: current[t.name], To: to})
	}
	r.WouldMigrate = len(todo)
}

// fleetRun is one MigrateTenants run over several tenants at once.
type fleetRun struct {
	db      *DB
	opts    MigrateOptions
	plan    []planned
	current map[string]int64
	total   int
	// Sessions are reused from tenant to tenant: one server connection per
	// worker instead of one per tenant.
	sessions chan *session

	mu           sync.Mutex // guards what follows, and serializes Progress
	results      []TenantResult
	done, failed int
	stopped      bool
}

// migrateAll migrates todo, opts.Parallel (default 4) tenants at once, and
// returns one result per tenant, in todo's order.
func (db *DB) migrateAll(ctx context.Context, todo []Tenant, current map[string]int64, plan []planned, opts MigrateOptions) []TenantResult {
	par := opts.Parallel
	if par <= 0 {
		par = 4
	}
	r := &fleetRun{db: db, opts: opts, plan: plan, current: current, total: len(todo),
		sessions: make(chan *session, par), results: make([]TenantResult, len(todo))}
	defer r.closeSessions()
	// A plain group, not WithContext: one tenant's failure must not cancel
	// the others; FailFast only stops starting new ones.
	var g errgroup.Group
	g.SetLimit(par)
	for i, t := range todo {
		g.Go(func() error {
			r.migrateOne(ctx, i, t)
			return nil
		})
	}
	_ = g.Wait() // every goroutine returns nil: its outcome is in results
	return r.results
}

// migrateOne migrates t, the i-th tenant, unless the run has stopped. It
// runs in a slot of the group: a failure while it waited for the slot
// stops it too.
func (r *fleetRun) migrateOne(ctx context.Context, i int, t Tenant) {
	from := r.current[t.name]
	r.mu.Lock()
	stop := r.stopped
	r.mu.Unlock()
	if stop || ctx.Err() != nil {
		res := TenantResult{Tenant: t.name, From: from, To: from, Err: errNotStarted}
		if ctx.Err() != nil {
			res.Err = fmt.Errorf("not started: %w", ctx.Err())
		}
		r.mu.Lock()
		r.results[i] = res
		r.mu.Unlock()
		return
	}
	start := time.Now()
	dir, target := migrateUp, int64(0)
	if r.opts.DownTo != nil {
		dir, target = migrateDownTo, *r.opts.DownTo
	}
	var st runStats
	s, err := r.session()
	if err == nil {
		st, err = r.db.migrateTenantOn(ctx, s, t, dir, target, r.plan)
		r.sessions <- s
	}
	res := TenantResult{Tenant: t.name, From: from, Applied: st.applied, Note: st.note(), Err: err, Duration: time.Since(start)}
	if v, verr := r.db.TenantVersions(ctx, []string{t.name}); verr == nil {
		res.To = v[t.name]
	}
	if err != nil {
		r.db.logger.WarnContext(ctx, "tenantgen: tenant migration failed", "tenant", t.name, "err", err)
	}
	r.finish(i, res)
}

// finish records the i-th result and reports progress.
func (r *fleetRun) finish(i int, res TenantResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results[i] = res
	r.done++
	if res.Err != nil {
		r.failed++
		if r.opts.FailFast {
			r.stopped = true
		}
	}
	if r.opts.Progress != nil {
		// Under the lock: calls are serialized, in order.
		r.opts.Progress(r.done, r.total, r.failed)
	}
}

// session returns an idle session of the run, or a new one.
func (r *fleetRun) session() (*session, error) {
	select {
	case s := <-r.sessions:
		return s, nil
	default:
		return r.db.newSession("public")
	}
}

func (r *fleetRun) closeSessions() {
	close(r.sessions)
	for s := range r.sessions {
		s.Close()
	}
}

func isUndefinedTable(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "42P01"
}

// noTransaction reports whether a migration file opts out of transactions.
func noTransaction(fsys fs.FS, path string) bool {
	if fsys == nil {
		return false
	}
	data, err := fs.ReadFile(fsys, path)
	if err != nil {
		data, err = fs.ReadFile(fsys, strings.TrimPrefix(path, "/"))
		if err != nil {
			return false
		}
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.EqualFold(strings.Join(strings.Fields(line), " "), "-- +goose NO TRANSACTION") {
			return true
		}
	}
	return false
}
