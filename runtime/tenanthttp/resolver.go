package tenanthttp

import (
	"net/http"
	"strconv"

	"github.com/tenantgen/tenantgen/runtime"
)

// Resolver finds the tenant a request is for. It reports ok false, with a nil
// error, when the request names no tenant it knows: that is not a failure, and
// First moves on to the next resolver. An error means the resolver could not
// tell (its registry is unreachable, say) and stops resolution.
//
// A Resolver is called concurrently by every request and must be safe for
// that. It must not modify the request.
type Resolver interface {
	Resolve(r *http.Request) (t runtime.Tenant, ok bool, err error)
}

// ResolverFunc adapts a function to a Resolver.
type ResolverFunc func(r *http.Request) (runtime.Tenant, bool, error)

// Resolve calls f(r).
func (f ResolverFunc) Resolve(r *http.Request) (runtime.Tenant, bool, error) { return f(r) }

// RequestResolver is a Resolver that, when it matches, also rewrites the
// request the app will see, as PathPrefix strips /t/<tenant> from the path.
//
// It is an optional interface, not a change to Resolver, so the common
// resolvers stay one-method types and ResolverFunc stays a plain func. The
// rewrite travels with the match, in one call, rather than being a separate
// step the middleware asks for afterwards, because only the resolver that
// matched may rewrite, and inside First only First knows which one that was:
// First implements RequestResolver by forwarding its winner's rewritten
// request. A resolver wrapping others should do the same, through
// ResolveRequest.
//
// ResolveRequest must not modify r: a rewrite returns a copy (see
// http.StripPrefix). When ok is false, or on error, the request returned is
// ignored.
type RequestResolver interface {
	Resolver
	ResolveRequest(r *http.Request) (t runtime.Tenant, rewritten *http.Request, ok bool, err error)
}

// ResolveRequest resolves r with res, through its ResolveRequest method if it
// is a RequestResolver. The request returned is the one to hand on: r itself
// unless res matched and rewrote it. Middleware and First use it; so should
// any resolver that wraps others.
func ResolveRequest(res Resolver, r *http.Request) (runtime.Tenant, *http.Request, bool, error) {
	rr, ok := res.(RequestResolver)
	if !ok {
		t, ok, err := res.Resolve(r)
		return t, r, ok, err
	}
	t, r2, ok, err := rr.ResolveRequest(r)
	if err != nil || !ok {
		return runtime.Tenant{}, r, false, err
	}
	if r2 == nil {
		r2 = r
	}
	return t, r2, true, nil
}

// First returns a Resolver trying resolvers in order: the first that matches
// wins, and its rewrite of the request (see RequestResolver) is kept. An
// error stops the search rather than falling through, so that an unreachable
// registry fails the request instead of letting a later, perhaps less
// trusted, resolver pick the tenant.
func First(resolvers ...Resolver) Resolver {
	for i, res := range resolvers {
		if res == nil {
			panic("tenanthttp: First: resolver " + strconv.Itoa(i) + " is nil")
		}
	}
	return first(append([]Resolver(nil), resolvers...))
}

type first []Resolver

func (f first) Resolve(r *http.Request) (runtime.Tenant, bool, error) {
	t, _, ok, err := f.ResolveRequest(r)
	return t, ok, err
}

func (f first) ResolveRequest(r *http.Request) (runtime.Tenant, *http.Request, bool, error) {
	for _, res := range f {
		t, r2, ok, err := ResolveRequest(res, r)
		if err != nil || ok {
			return t, r2, ok, err
		}
	}
	return runtime.Tenant{}, r, false, nil
}

// The built-in resolvers that rewrite, or may wrap one that does.
var (
	_ RequestResolver = first(nil)
	_ RequestResolver = pathPrefix("/")
	_ Resolver        = (*DomainResolver)(nil)
)
