package tenanthttp

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantgen/tenantgen/runtime"
)

// PathPrefix returns a Resolver taking the tenant from the path segment after
// prefix: with prefix "/t/", /t/thor/polls is tenant thor. It is a
// RequestResolver: the app gets the request with prefix and tenant stripped
// (/polls; /t/thor becomes /), in URL.Path and URL.RawPath alike, so it
// routes as if mounted at / and a tenant's links can be built by prefixing
// them. RequestURI is left as received, as http.StripPrefix leaves it.
//
// The prefix is given a leading and trailing slash if it lacks them, and is
// matched against the escaped path, segment by segment as sent, so an
// escaped slash (%2F) never ends the tenant segment. Prefixes are best kept
// to characters that need no escaping. A path without the prefix, or whose
// segment is not a valid tenant name, is no tenant, and is not rewritten.
//
// Like Subdomain, it cannot tell whether the tenant exists.
func PathPrefix(prefix string) Resolver {
	if !strings.HasPrefix(prefix, "/") {
		prefix = "/" + prefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return pathPrefix(prefix)
}

type pathPrefix string

func (p pathPrefix) Resolve(r *http.Request) (runtime.Tenant, bool, error) {
	t, _, ok := p.match(r.URL)
	return t, ok, nil
}

func (p pathPrefix) ResolveRequest(r *http.Request) (runtime.Tenant, *http.Request, bool, error) {
	t, rest, ok := p.match(r.URL)
	if !ok {
		return runtime.Tenant{}, r, false, nil
	}
	path, err := url.PathUnescape(rest)
	if err != nil {
		// rest is a suffix of a valid escaped path, cut at a '/': it unescapes.
		return runtime.Tenant{}, r, false, nil
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path = path
	r2.URL.RawPath = ""
	if r2.URL.EscapedPath() != rest {
		// The client escaped something Path cannot say (%2F) or chose its own
		// escaping: keep it, as url.URL does.
		r2.URL.RawPath = rest
	}
	return t, r2, true, nil
}

// match returns the tenant named in u's path and the escaped path after it
// ("/" if nothing is).
func (p pathPrefix) match(u *url.URL) (t runtime.Tenant, rest string, ok bool) {
	after, ok := strings.CutPrefix(u.EscapedPath(), string(p))
	if !ok {
		return t, "", false
	}
	seg, rest := after, "/"
	if i := strings.IndexByte(after, '/'); i >= 0 {
		seg, rest = after[:i], after[i:]
	}
	name, err := url.PathUnescape(seg)
	if err != nil {
		return t, "", false
	}
	t, err = runtime.ParseTenant(name)
	if err != nil {
		return t, "", false
	}
	return t, rest, true
}
