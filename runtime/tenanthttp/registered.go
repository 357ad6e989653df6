package tenanthttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tenantgen/tenantgen/runtime"
)

// StateByName is what Registered asks the registry; *runtime.DB is one.
// It returns an error wrapping runtime.ErrTenantNotFound for a tenant the
// registry does not have.
type StateByName interface {
	TenantState(ctx context.Context, t runtime.Tenant) (runtime.TenantState, error)
}

// RegisteredResolver is returned by Registered.
type RegisteredResolver struct {
	states  StateByName
	res     Resolver
	timeout time.Duration
	now     func() time.Time
	cache   *domainCache // keyed by tenant name
}

// Registered wraps a resolver that takes the tenant from the request alone
// (Subdomain, Header, PathPrefix) so that only the registry's tenants get
// through: an active tenant matches, a suspended one resolves to an error
// wrapping runtime.ErrTenantSuspended (Middleware's suspended response,
// WithSuspended), and a name the registry does not have, or is still
// creating, does not match. Answers are cached as Domain's are (the same
// options; call Invalidate on registry changes, as with
// rt.OnRegistryChange). The wrapped resolver's rewrite of the request, if
// any, is kept.
func Registered(states StateByName, res Resolver, opts ...DomainOption) *RegisteredResolver {
	if states == nil || res == nil {
		panic("tenanthttp: Registered: nil StateByName or Resolver")
	}
	c := domainConfig{ttl: DefaultCacheTTL, maxEntries: DefaultCacheSize, timeout: DefaultLookupTimeout, now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	return &RegisteredResolver{states: states, res: res, timeout: c.timeout, now: c.now, cache: newDomainCache(c.ttl, c.maxEntries)}
}

// Invalidate forgets every cached state.
func (g *RegisteredResolver) Invalidate() { g.cache.reset() }

// Resolve implements Resolver.
func (g *RegisteredResolver) Resolve(r *http.Request) (runtime.Tenant, bool, error) {
	t, _, ok, err := g.ResolveRequest(r)
	return t, ok, err
}

// ResolveRequest implements RequestResolver.
func (g *RegisteredResolver) ResolveRequest(r *http.Request) (runtime.Tenant, *http.Request, bool, error) {
	t, r2, ok, err := ResolveRequest(g.res, r)
	if err != nil || !ok || t.IsZero() {
		return t, r2, ok, err
	}
	e, hit, gen := g.cache.get(t.String(), g.now())
	if !hit {
		if e, err = g.fetch(r.Context(), t); err != nil {
			return runtime.Tenant{}, r, false, err
		}
		g.cache.put(t.String(), gen, t, e.found, e.suspended, g.now())
	}
	switch {
	case e.suspended:
		return runtime.Tenant{}, r, false, suspendedError(t)
	case !e.found:
		return runtime.Tenant{}, r, false, nil
	}
	return t, r2, true, nil
}

func (g *RegisteredResolver) fetch(ctx context.Context, t runtime.Tenant) (cacheEntry, error) {
	if g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	st, err := g.states.TenantState(ctx, t)
	switch {
	case errors.Is(err, runtime.ErrTenantNotFound):
		return cacheEntry{}, nil
	case err != nil:
		return cacheEntry{}, fmt.Errorf("tenanthttp: looking up the state of tenant %s: %w", t.String(), err)
	}
	return cacheEntry{tenant: t, found: st == runtime.StateActive || st == runtime.StateSuspended, suspended: st == runtime.StateSuspended}, nil
}

var _ RequestResolver = (*RegisteredResolver)(nil)
