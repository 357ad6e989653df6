package tenanthttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tenantgen/tenantgen/runtime"
)

// DomainLookup is the domain registry: which tenant, if any, a host name
// belongs to. Domain calls it with names normalised by the rules Domain
// documents, so the registry should store them in that form. ok false with a
// nil error means no tenant has the domain.
type DomainLookup interface {
	TenantByDomain(ctx context.Context, domain string) (t runtime.Tenant, ok bool, err error)
}

// DomainOption configures Domain.
type DomainOption func(*domainConfig)

type domainConfig struct {
	ttl        time.Duration
	maxEntries int
	timeout    time.Duration
	now        func() time.Time
}

// Defaults of the DomainOptions.
const (
	DefaultCacheTTL      = 30 * time.Second
	DefaultCacheSize     = 10000
	DefaultLookupTimeout = 5 * time.Second
)

// WithCacheTTL sets how long an answer, found or not, is reused (default
// DefaultCacheTTL). It bounds how stale a domain change can be where
// Invalidate is not called, as in other processes. d <= 0 turns caching off.
func WithCacheTTL(d time.Duration) DomainOption {
	return func(c *domainConfig) { c.ttl = d }
}

// WithCacheSize bounds the number of cached answers (default
// DefaultCacheSize), so a client sending made-up Host headers cannot grow
// the cache without limit. n <= 0 turns caching off.
func WithCacheSize(n int) DomainOption {
	return func(c *domainConfig) { c.maxEntries = n }
}

// WithLookupTimeout bounds each DomainLookup call (default
// DefaultLookupTimeout); d <= 0 means no bound. A lookup is shared by every
// request waiting for its domain, so it does not end when the request that
// started it does (each waiter still stops waiting when its own request
// ends): this timeout is what ends it.
func WithLookupTimeout(d time.Duration) DomainOption {
	return func(c *domainConfig) { c.timeout = d }
}

// WithClock replaces time.Now for cache expiry, for tests.
func WithClock(now func() time.Time) DomainOption {
	return func(c *domainConfig) { c.now = now }
}

// DomainResolver resolves a request's tenant by its Host, through a
// DomainLookup and a cache. Build it with Domain; it is safe for concurrent
// use.
type DomainResolver struct {
	lookup  DomainLookup
	timeout time.Duration
	now     func() time.Time
	cache   *domainCache
	calls   singleflight.Group
}

// Domain returns a Resolver looking the request's Host up in lookup, the way
// django-tenants maps domains to tenants.
//
// The Host is normalised first: port and one trailing dot dropped, letters
// lower-cased, IPv6 literals written canonically without brackets ("::1").
// A Host that cannot be a host name (longer than 253 bytes, bytes other than
// letters, digits, '-', '_' and '.', empty labels or labels over 63 bytes,
// IPv6 zones) resolves to no tenant without a lookup.
//
// Answers, found and not found, are cached (see WithCacheTTL and
// WithCacheSize); errors are not. Concurrent lookups of one domain are made
// once and shared. Call Invalidate when domains change.
//
// The Host is what the client asked for. Behind a proxy, make the proxy pass
// it on; or, if the proxy is trusted to set X-Forwarded-Host, wrap the
// resolver in a ResolverFunc resolving a copy of the request whose Host is
// taken from that header.
func Domain(lookup DomainLookup, opts ...DomainOption) *DomainResolver {
	if lookup == nil {
		panic("tenanthttp: Domain: nil DomainLookup")
	}
	c := domainConfig{
		ttl:        DefaultCacheTTL,
		maxEntries: DefaultCacheSize,
		timeout:    DefaultLookupTimeout,
		now:        time.Now,
	}
	for _, o := range opts {
		o(&c)
	}
	return &DomainResolver{
		lookup:  lookup,
		timeout: c.timeout,
		now:     c.now,
		cache:   newDomainCache(c.ttl, c.maxEntries),
	}
}

// Resolve looks up the tenant of r's Host.
func (d *DomainResolver) Resolve(r *http.Request) (runtime.Tenant, bool, error) {
	domain, err := runtime.NormalizeDomain(r.Host)
	if err != nil {
		return runtime.Tenant{}, false, nil
	}
	return d.resolve(r.Context(), domain)
}

// Invalidate forgets every cached answer, so the next request of each domain
// asks the DomainLookup again. Lookups in flight finish for the requests
// already waiting on them, but their answers are not cached and later
// requests do not wait on them. Call it when a domain is added, moved or
// removed.
func (d *DomainResolver) Invalidate() {
	d.cache.reset()
}

type domainAnswer struct {
	tenant    runtime.Tenant
	found     bool
	suspended bool
}

// StateLookup is a DomainLookup that also tells a suspended tenant from an
// unknown one; *runtime.DB is one. The Domain resolver uses it when its
// lookup has it, and resolves a suspended tenant's domain to an error
// wrapping runtime.ErrTenantSuspended, which Middleware answers with its
// suspended response (WithSuspended).
type StateLookup interface {
	TenantStateByDomain(ctx context.Context, domain string) (runtime.Tenant, runtime.TenantState, bool, error)
}

// suspendedError is the resolution of a suspended tenant's domain.
func suspendedError(t runtime.Tenant) error {
	return fmt.Errorf("tenanthttp: tenant %s: %w", t.String(), runtime.ErrTenantSuspended)
}

// lookupDomain asks the registry, through StateLookup when it can.
func (d *DomainResolver) lookupDomain(ctx context.Context, domain string) (domainAnswer, error) {
	if sl, ok := d.lookup.(StateLookup); ok {
		t, st, found, err := sl.TenantStateByDomain(ctx, domain)
		return domainAnswer{tenant: t, found: found, suspended: found && st == runtime.StateSuspended}, err
	}
	t, found, err := d.lookup.TenantByDomain(ctx, domain)
	return domainAnswer{tenant: t, found: found}, err
}

func (d *DomainResolver) resolve(ctx context.Context, domain string) (runtime.Tenant, bool, error) {
	e, hit, gen := d.cache.get(domain, d.now())
	if hit {
		if e.suspended {
			return runtime.Tenant{}, false, suspendedError(e.tenant)
		}
		return e.tenant, e.found, nil
	}
	// The generation is part of the key so that a request arriving after
	// Invalidate does not join a lookup started before it.
	key := strconv.FormatUint(gen, 10) + " " + domain
	ch := d.calls.DoChan(key, func() (any, error) {
		return d.fetch(context.WithoutCancel(ctx), domain, gen)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return runtime.Tenant{}, false, res.Err
		}
		a := res.Val.(domainAnswer)
		if a.suspended {
			return runtime.Tenant{}, false, suspendedError(a.tenant)
		}
		return a.tenant, a.found, nil
	case <-ctx.Done():
		return runtime.Tenant{}, false, fmt.Errorf("tenanthttp: waiting for the tenant of domain %q: %w", domain, context.Cause(ctx))
	}
}

// fetch calls the DomainLookup, shared by every request waiting for domain,
// and caches its answer.
func (d *DomainResolver) fetch(ctx context.Context, domain string, gen uint64) (a domainAnswer, err error) {
	// A request may have missed the cache just before the previous lookup of
	// domain stored its answer, and reached here just after that lookup
	// finished: take the answer rather than looking again.
	if e, hit, g := d.cache.get(domain, d.now()); hit && g == gen {
		return domainAnswer{e.tenant, e.found, e.suspended}, nil
	}
	// singleflight.DoChan re-panics on a goroutine of its own, where no
	// recover (net/http's included) can catch it; an error is kinder.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("tenanthttp: looking up the tenant of domain %q: DomainLookup panicked: %v", domain, p)
		}
	}()
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	ans, err := d.lookupDomain(ctx, domain)
	t, found := ans.tenant, ans.found
	switch {
	case err != nil:
		return a, fmt.Errorf("tenanthttp: looking up the tenant of domain %q: %w", domain, err)
	case found && t.IsZero():
		return a, fmt.Errorf("tenanthttp: looking up the tenant of domain %q: %w", domain, errLookupZeroTenant)
	}
	if !found {
		t = runtime.Tenant{}
	}
	d.cache.put(domain, gen, t, found, ans.suspended, d.now())
	return domainAnswer{t, found, ans.suspended}, nil
}

var errLookupZeroTenant = errors.New("DomainLookup found the zero Tenant")
