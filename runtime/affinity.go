package runtime

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Tenant-affine connections. With one shared pool, every backend sooner or
// later runs every tenant's statements, so each holds every tenant's catalog
// entries, plans and prepared statements: at thousands of tenants those
// caches thrash and the server spends its time reloading them. The runtime
// instead splits the pool's MaxConns connections into slots (pgxpools of
// one or a few connections) and routes each tenant to a home slot by
// rendezvous hashing of its name over the slot numbers, so each backend and
// each pgx statement cache sees about N/slots tenants.
//
//   - A tenant whose home is busy takes its second choice if that is free
//     (two choices), or waits for either a short while (SpillAfter), then
//     takes any free slot, in its own rendezvous order (so its spill goes
//     to the same few slots): a hot tenant uses every connection.
//   - Slots are numbers, not connections: a connection that dies or reaches
//     MaxConnLifetime is replaced inside its slot and no tenant moves. A
//     different MaxConns moves only the tenants whose first choice is a
//     slot added or removed (rendezvous hashing's property), not all.
//   - Shared queries take any free slot.
//   - Pool() is a separate, small control pool (lifecycle, migrations, the
//     caller's own statements), so that none of those pins a tenant's home.

// defaultSpillAfter is how long a query waits for its tenant's home slot
// before it takes another: a few point queries' time on a loaded server, so
// that an even load stays home and a hot tenant spills at once.
const defaultSpillAfter = 500 * time.Microsecond

// maxSlots bounds the slot count: past it, slots get several connections.
const maxSlots = 64

// statementsPerTenant is the statement cache room given to each tenant a
// connection is expected to serve, on top of the configured capacity.
const statementsPerTenant = 16

// WithoutAffinity turns tenant-affine connections off: every query runs on
// one shared pool of MaxConns connections, as the pool's Acquire gives them.
func WithoutAffinity() Option { return func(db *DB) { db.noAffinity = true } }

// WithSpillAfter sets how long a tenant query waits for a connection of its
// tenant's home slot before it takes any free one (default 500µs). Zero
// spills at once when the home is busy.
func WithSpillAfter(d time.Duration) Option {
	return func(db *DB) { db.spillAfter = max(d, 0); db.spillSet = true }
}

// slot is a home for the tenants that hash to it: a pool of a connection
// or a few, and a semaphore of the same size, so that the router can tell
// without blocking whether the slot has a connection free.
type slot struct {
	pool *pgxpool.Pool
	sem  chan struct{}
	seed uint64
}

func (s *slot) tryTake() bool {
	select {
	case s.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// router hands out connections of its slots.
type router struct {
	slots      []*slot
	spillAfter time.Duration
	next       atomic.Uint64 // rotates shared queries over the slots
	spills     atomic.Uint64 // queries run off their tenant's home
}

// slotSizes splits conns connections over min(conns, maxSlots) slots.
func slotSizes(conns int32) []int32 {
	n := min(int(conns), maxSlots)
	sizes := make([]int32, n)
	for i := range sizes {
		sizes[i] = conns / int32(n)
		if int32(i) < conns%int32(n) {
			sizes[i]++
		}
	}
	return sizes
}

// controlConns is the size of the control pool beside conns affine ones.
func controlConns(conns int32) int32 { return max(2, conns/4) }

// newRouter builds the slots from cfg (already configured by the runtime),
// with cfg.MaxConns connections in all. tenants estimates how many tenants
// the runtime will serve, to size each connection's statement cache.
func (db *DB) newRouter(ctx context.Context, cfg *pgxpool.Config) (*router, error) {
	sizes := slotSizes(cfg.MaxConns)
	r := &router{spillAfter: db.spillAfter}
	minConns := cfg.MinConns
	for i, size := range sizes {
		sc := cfg.Copy()
		sc.MaxConns = size
		sc.MinConns = min(size, minConns)
		minConns -= sc.MinConns
		db.sizeCaches(sc, len(sizes))
		p, err := pgxpool.NewWithConfig(ctx, sc)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("tenantgen: connecting slot %d: %w", i, err)
		}
		r.slots = append(r.slots, &slot{pool: p, sem: make(chan struct{}, size), seed: mix(uint64(i) + 1)})
	}
	return r, nil
}

// sizeCaches makes each new connection's statement and description caches
// hold the statements of the tenants it is expected to serve: its share of
// the tenants this runtime knows of (registry at Open, or bound since),
// twice over for the second choice. pgx cannot grow a connection's cache,
// so a connection sized for less than half of today's share is replaced
// when next acquired: once per doubling of the fleet.
func (db *DB) sizeCaches(cfg *pgxpool.Config, slots int) {
	base := cfg.ConnConfig.StatementCacheCapacity
	baseDesc := cfg.ConnConfig.DescriptionCacheCapacity
	if base <= 0 && baseDesc <= 0 {
		return // caching off: nothing to size
	}
	share := func() int { return 2 * (db.knownTenants() + slots - 1) / slots }
	connect := cfg.BeforeConnect
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		room := min(share()*statementsPerTenant, math.MaxInt32/2)
		if base > 0 {
			cc.StatementCacheCapacity = base + room
		}
		if baseDesc > 0 {
			cc.DescriptionCacheCapacity = baseDesc + room
		}
		if connect != nil {
			return connect(ctx, cc)
		}
		return nil
	}
	after := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		c.PgConn().CustomData()[sizedKey] = share()
		if after != nil {
			return after(ctx, c)
		}
		return nil
	}
	prepare := cfg.PrepareConn
	cfg.PrepareConn = func(ctx context.Context, c *pgx.Conn) (bool, error) {
		if sized, ok := c.PgConn().CustomData()[sizedKey].(int); ok && share() > 2*max(sized, 8) {
			return false, nil // pgxpool destroys it and connects anew
		}
		if prepare != nil {
			return prepare(ctx, c)
		}
		return true, nil
	}
}

// sizedKey is where a connection's CustomData records the tenant share its
// caches were sized for.
const sizedKey = "tenantgen.sized"

// knownTenants is the larger of the registry's size at Open and the number
// of tenants bound since.
func (db *DB) knownTenants() int {
	return int(max(db.boundCount.Load(), db.registered.Load()))
}

// countTenants reads the registry's size, for sizing caches; a missing
// registry (shared migrations not run yet) counts zero.
func (db *DB) countTenants(ctx context.Context) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM public.tenantgen_tenants`).Scan(&n); err == nil {
		db.registered.Store(n)
	}
}

func (r *router) close() {
	for _, s := range r.slots {
		s.pool.Close()
	}
}

// mix is splitmix64's finalizer: a cheap, well-spread 64-bit hash.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// nameHash is FNV-1a of a tenant name.
func nameHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// home is the slot whose score for h is highest (rendezvous hashing).
func (r *router) home(h uint64) int {
	first, _ := r.top2(h)
	return first
}

// top2 are the slots of the highest and second-highest scores for h: the
// tenant's home and its second choice (the same slot when there is one).
func (r *router) top2(h uint64) (first, second int) {
	var s1, s2 uint64
	first, second = 0, 0
	for i, s := range r.slots {
		sc := mix(h ^ s.seed)
		switch {
		case i == 0:
			s1, s2 = sc, 0
		case sc > s1:
			second, s2 = first, s1
			first, s1 = i, sc
		case i == 1 || sc > s2:
			second, s2 = i, sc
		}
	}
	return first, second
}

// order is every slot by descending score for h: where h's queries go
// when their home is busy.
func (r *router) order(h uint64) []int {
	idx := make([]int, len(r.slots))
	scores := make([]uint64, len(r.slots))
	for i, s := range r.slots {
		idx[i], scores[i] = i, mix(h^s.seed)
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	return idx
}

// acquire takes a connection for a tenant of hash h: of its home slot or
// its second choice (two choices: an even load stays on two connections per
// tenant) if one is free or frees up within spillAfter; else of the first
// free slot in h's order (a hot tenant spreads over all); else of whichever
// of the two frees up first, looking again for any other now and then.
// release gives it back.
func (r *router) acquire(ctx context.Context, h uint64) (*pgxpool.Conn, func(), error) {
	i1, i2 := r.top2(h)
	home, second := r.slots[i1], r.slots[i2]
	if home.tryTake() {
		return r.take(ctx, home)
	}
	if second.tryTake() {
		return r.take(ctx, second)
	}
	wait := r.spillAfter
	for {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case home.sem <- struct{}{}:
				t.Stop()
				return r.take(ctx, home)
			case second.sem <- struct{}{}:
				t.Stop()
				return r.take(ctx, second)
			case <-ctx.Done():
				t.Stop()
				return nil, nil, ctx.Err()
			case <-t.C:
			}
		}
		for _, i := range r.order(h)[min(2, len(r.slots)):] {
			if s := r.slots[i]; s.tryTake() {
				r.spills.Add(1)
				return r.take(ctx, s)
			}
		}
		// Every slot is busy: wait on the two again, for at least 100µs
		// between looks at the others.
		wait = max(r.spillAfter, 100*time.Microsecond)
	}
}

// acquireAny takes a connection of any slot, for shared queries.
func (r *router) acquireAny(ctx context.Context) (*pgxpool.Conn, func(), error) {
	n := uint64(len(r.slots))
	start := r.next.Add(1)
	for i := uint64(0); i < n; i++ {
		if s := r.slots[(start+i)%n]; s.tryTake() {
			return r.take(ctx, s)
		}
	}
	// All busy: wait as a tenant query would, for two slots of a rotating
	// pick, looking at the others now and then.
	return r.acquire(ctx, mix(start))
}

// take acquires a connection of s, whose semaphore the caller holds.
func (r *router) take(ctx context.Context, s *slot) (*pgxpool.Conn, func(), error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		<-s.sem
		return nil, nil, err
	}
	return c, func() { c.Release(); <-s.sem }, nil
}

// AffinityStats describes the affine slots; zero when affinity is off.
type AffinityStats struct {
	Slots  int    // slots (homes) tenants are spread over
	Conns  int32  // connections the slots hold at most, in all
	Spills uint64 // queries run off their tenant's two first slots (or, for shared ones, off a busy pick)
}

// AffinityStats reports the affine slots' figures.
func (db *DB) AffinityStats() AffinityStats {
	if db.router == nil {
		return AffinityStats{}
	}
	st := AffinityStats{Slots: len(db.router.slots), Spills: db.router.spills.Load()}
	for _, s := range db.router.slots {
		st.Conns += int32(cap(s.sem))
	}
	return st
}

// HomeSlot is the slot tenant t's queries run on when it is free, or -1
// when affinity is off.
func (db *DB) HomeSlot(t Tenant) int {
	if db.router == nil {
		return -1
	}
	return db.router.home(nameHash(t.name))
}
