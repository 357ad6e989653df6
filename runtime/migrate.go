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

func hasSQL(fsys fs.FS) bool { return len(setVersions(fsys)) > 0 }

// setVersions lists the versions of one migration set, in order.
func setVersions(fsys fs.FS) []int64 {
	v, _ := Migrations{Shared: fsys}.Versions()
	return v
}

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

// ErrMigrationsFailed is returned when some tenants failed; the report says which.
var ErrMigrationsFailed = errors.New("some tenants failed to migrate")

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
	infos, err := db.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	if opts.Tenants == nil {
		for _, ti := range infos {
			if ti.State.migrated() {
				names = append(names, ti.Tenant.name)
			}
		}
	} else {
		// Only registered tenants, not being created: a schema the
		// registry does not know is not a tenant's, and must not get the
		// tenant set.
		state := make(map[string]TenantState, len(infos))
		for _, ti := range infos {
			state[ti.Tenant.name] = ti.State
		}
		seen := make(map[string]bool, len(opts.Tenants))
		for _, n := range opts.Tenants {
			if _, err := ParseTenant(n); err != nil {
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
				names = append(names, n)
			}
		}
	}
	tenants := make([]Tenant, 0, len(names))
	for _, n := range names {
		t, err := ParseTenant(n)
		if err != nil {
			return nil, err
		}
		tenants = append(tenants, t)
	}
	_, versions := db.migs.Versions()
	rep := &MigrateReport{Total: len(tenants), DownTo: opts.DownTo, DryRun: opts.DryRun}
	if len(versions) > 0 {
		rep.Target = versions[len(versions)-1]
	}
	current, err := db.TenantVersions(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("reading tenant versions: %w", err)
	}
	var todo []Tenant
	for _, t := range tenants {
		v := current[t.name]
		switch {
		case opts.DownTo != nil && v > *opts.DownTo:
			todo = append(todo, t)
		case opts.DownTo == nil && v < rep.Target:
			todo = append(todo, t)
		default:
			rep.UpToDate++
		}
	}
	if opts.DryRun {
		for _, t := range todo {
			to := rep.Target
			if opts.DownTo != nil {
				to = *opts.DownTo
			}
			rep.Results = append(rep.Results, TenantResult{Tenant: t.name, From: current[t.name], To: to})
		}
		rep.WouldMigrate = len(todo)
		return rep, nil
	}
	var plan []planned
	if opts.DownTo == nil {
		if plan, err = loadPlan(db.migs.Tenant); err != nil {
			return nil, err
		}
	}
	par := opts.Parallel
	if par <= 0 {
		par = 4
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		done    int
		failed  int
		stopped bool
	)
	sem := make(chan struct{}, par)
	// Sessions are reused from tenant to tenant: one server connection per
	// worker instead of one per tenant.
	sessions := make(chan *session, par)
	defer func() {
		close(sessions)
		for s := range sessions {
			s.Close()
		}
	}()
	getSession := func() (*session, error) {
		select {
		case s := <-sessions:
			return s, nil
		default:
			return db.newSession("public")
		}
	}
	results := make([]TenantResult, len(todo))
	for i, t := range todo {
		// Take the slot first and look at stopped after: a failure while
		// this loop waited for a slot must stop this tenant too.
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		mu.Lock()
		stop := stopped
		mu.Unlock()
		if stop || !acquired || ctx.Err() != nil {
			if acquired {
				<-sem
			}
			res := TenantResult{Tenant: t.name, From: current[t.name], To: current[t.name], Err: errNotStarted}
			if ctx.Err() != nil {
				res.Err = fmt.Errorf("not started: %w", ctx.Err())
			}
			mu.Lock()
			results[i] = res
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			dir, target := migrateUp, int64(0)
			if opts.DownTo != nil {
				dir, target = migrateDownTo, *opts.DownTo
			}
			var st runStats
			s, err := getSession()
			if err == nil {
				st, err = db.migrateTenantOn(ctx, s, t, dir, target, plan)
				sessions <- s
			}
			res := TenantResult{Tenant: t.name, From: current[t.name], Applied: st.applied, Note: st.note(), Err: err, Duration: time.Since(start)}
			if v, verr := db.TenantVersions(ctx, []string{t.name}); verr == nil {
				res.To = v[t.name]
			}
			if err != nil {
				db.logger.WarnContext(ctx, "tenantgen: tenant migration failed", "tenant", t.name, "err", err)
			}
			mu.Lock()
			defer mu.Unlock()
			results[i] = res
			done++
			if err != nil {
				failed++
				if opts.FailFast {
					stopped = true
				}
			}
			if opts.Progress != nil {
				// Under the lock: calls are serialized, in order.
				opts.Progress(done, len(todo), failed)
			}
		}()
	}
	wg.Wait()
	rep.Results = results
	if len(rep.Failed()) > 0 {
		return rep, ErrMigrationsFailed
	}
	return rep, nil
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
