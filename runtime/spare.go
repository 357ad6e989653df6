package runtime

// Instant sign-up: a pool of spare tenant schemas, created and migrated
// ahead of time (registry state spare), so that CreateTenant renames one
// and seeds it instead of running the tenant set's DDL while the new
// customer waits.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// sparePools maps each DB to its running pool: DB is shared with other
// work, and the pool is optional and started late.
var sparePools sync.Map // *DB -> *SparePool

func (db *DB) sparePool() *SparePool {
	p, _ := sparePools.Load(db)
	sp, _ := p.(*SparePool)
	return sp
}

// SparePool keeps K spare tenant schemas ready for CreateTenant to claim.
// Spares are registry rows of state spare named tg_spare_<random>, created
// like tenants (the whole tenant set in one transaction) and migrated with
// the fleet by MigrateTenants. A claim renames the oldest spare at the
// latest version to the new tenant's name, maps its domains, runs its seed
// and makes it active, in one transaction under both names' locks; two
// sign-ups never get the same spare (the claim locks the spare's row, and
// concurrent claims skip locked rows). With no spare ready, CreateTenant
// creates the tenant the usual way.
type SparePool struct {
	db    *DB
	k     int
	every time.Duration

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	claimed int
	made    int
	lastErr error
}

// SpareStats is what a pool did so far.
type SpareStats struct {
	Claimed int   // spares claimed by CreateTenant
	Made    int   // spares created by this pool
	LastErr error // the last refill error, nil after a successful refill
}

// StartSparePool starts keeping k spares ready for db's CreateTenant: it
// fills the pool before returning, then refills it in the background after
// each claim and every interval (which also migrates spares behind the
// tenant set). Stop it with Stop; one pool per DB.
func (db *DB) StartSparePool(ctx context.Context, k int, interval time.Duration) (*SparePool, error) {
	if k <= 0 {
		return nil, errors.New("tenantgen: a spare pool needs at least one spare")
	}
	if interval <= 0 {
		interval = time.Minute
	}
	p := &SparePool{db: db, k: k, every: interval, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if err := p.Fill(ctx); err != nil {
		return nil, err
	}
	if _, loaded := sparePools.LoadOrStore(db, p); loaded {
		return nil, errors.New("tenantgen: this DB already has a spare pool")
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	go p.loop(bg)
	return p, nil
}

// Stop stops refilling and claiming; the spares stay for the next pool.
func (p *SparePool) Stop() {
	sparePools.CompareAndDelete(p.db, p)
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
}

// Stats returns the pool's counters.
func (p *SparePool) Stats() SpareStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return SpareStats{Claimed: p.claimed, Made: p.made, LastErr: p.lastErr}
}

func (p *SparePool) loop(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-tick.C:
		}
		err := p.Fill(ctx)
		if err != nil && ctx.Err() == nil {
			p.db.logger.WarnContext(ctx, "tenantgen: refilling the spare pool", "err", err)
		}
		p.mu.Lock()
		p.lastErr = err
		p.mu.Unlock()
	}
}

// Fill migrates the spares that are behind and creates spares until there
// are K.
func (p *SparePool) Fill(ctx context.Context) error {
	names, err := p.spares(ctx)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		rep, err := p.db.MigrateTenants(ctx, MigrateOptions{Tenants: names, Parallel: 1})
		if err != nil && !errors.Is(err, ErrMigrationsFailed) {
			return fmt.Errorf("migrating spares: %w", err)
		}
		if rep != nil && len(rep.Failed()) > 0 {
			return fmt.Errorf("migrating spare %s: %w", rep.Failed()[0].Tenant, rep.Failed()[0].Err)
		}
	}
	for n := len(names); n < p.k; n++ {
		t, err := ParseTenant("tg_spare_" + randomHex(8))
		if err != nil {
			return err
		}
		if err := p.db.CreateTenant(ctx, t, CreateOptions{state: StateSpare}); err != nil {
			return fmt.Errorf("creating a spare: %w", err)
		}
		p.mu.Lock()
		p.made++
		p.mu.Unlock()
	}
	return nil
}

// Ready counts the spares in the registry.
func (p *SparePool) Ready(ctx context.Context) (int, error) {
	names, err := p.spares(ctx)
	return len(names), err
}

func (p *SparePool) spares(ctx context.Context) ([]string, error) {
	rows, err := p.db.pool.Query(ctx, `SELECT name FROM public.tenantgen_tenants WHERE state = 'spare' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing spares: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// claim turns a spare into t, on conn, which holds t's lifecycle lock. It
// reports false, having changed nothing, when t already has a registry row
// (CreateTenant's usual path deals with it) or no spare at the latest
// version is free.
func (p *SparePool) claim(ctx context.Context, conn *pgx.Conn, t Tenant, domains []string, opts CreateOptions) (claimed bool, err error) {
	_, files := p.db.migs.Versions()
	var latest int64
	if len(files) > 0 {
		latest = files[len(files)-1]
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM public.tenantgen_tenants WHERE name = $1`, t.name).Scan(&n); err != nil || n > 0 {
			return err
		}
		spare, err := p.pickSpare(ctx, tx, t, latest)
		if err != nil || spare.IsZero() {
			return err
		}
		if err := renameSchema(ctx, tx, spare, t); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE public.tenantgen_tenants SET state = 'creating', created_at = now() WHERE name = $1`, t.name); err != nil {
			return err
		}
		var path string
		if err := tx.QueryRow(ctx, `SELECT current_setting('search_path')`).Scan(&path); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, tenantPath(t)); err != nil {
			return err
		}
		if err := p.db.finishCreation(ctx, tx, t, domains, opts); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, false)", path); err != nil {
			return err
		}
		claimed = true
		return nil
	})
	if err != nil {
		return false, err
	}
	if claimed {
		p.mu.Lock()
		p.claimed++
		p.mu.Unlock()
		p.poke()
	}
	return claimed, nil
}

// pickSpare locks the oldest free spare at the latest version, skipping the
// ones other claims hold; the zero Tenant when there is none. It locks one
// row at a time: rows it held without using them would make concurrent
// sign-ups miss spares that are free.
func (p *SparePool) pickSpare(ctx context.Context, tx pgx.Tx, t Tenant, latest int64) (Tenant, error) {
	behind := []string{} // not nil: NULL would match no row
	for range 4 {
		var name string
		err := tx.QueryRow(ctx, `SELECT name FROM public.tenantgen_tenants WHERE state = 'spare' AND name <> ALL($1) ORDER BY created_at, name LIMIT 1 FOR UPDATE SKIP LOCKED`, behind).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			break
		}
		if err != nil {
			return Tenant{}, err
		}
		spare := newTenant(name)
		// No migration of either runs meanwhile.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1), pg_advisory_xact_lock($2)`, lockID("tenant:"+spare.name), lockID("tenant:"+t.name)); err != nil {
			return Tenant{}, err
		}
		v, err := schemaVersion(ctx, tx, spare)
		if err != nil {
			return Tenant{}, err
		}
		if v == latest {
			return spare, nil
		}
		behind = append(behind, name)
		p.poke() // the refill migrates it
	}
	return Tenant{}, nil
}

// poke asks the background loop to refill now.
func (p *SparePool) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// schemaVersion is the tenant-set version goose recorded in t's schema, 0
// without a version table.
func schemaVersion(ctx context.Context, q DBTX, t Tenant) (int64, error) {
	table := pgx.Identifier{t.name, versionTable}.Sanitize()
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var v int64
	err := q.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM `+table).Scan(&v)
	return v, err
}
