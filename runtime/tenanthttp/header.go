package tenanthttp

import (
	"net/http"
	"strings"

	"github.com/tenantgen/tenantgen/runtime"
)

// Header returns a Resolver taking the tenant's name from the request header
// name, as in "X-Tenant: thor". A missing header, or a value that is not a
// valid tenant name, is no tenant.
//
// Any client can send any header: use it only where a trusted proxy or
// gateway sets the header (and strips it from what clients send), or for
// internal services and tests. Like Subdomain, it cannot tell whether the
// tenant exists.
func Header(name string) Resolver {
	if name == "" {
		panic("tenanthttp: Header: empty header name")
	}
	return header(http.CanonicalHeaderKey(name))
}

type header string

func (h header) Resolve(r *http.Request) (runtime.Tenant, bool, error) {
	v := strings.TrimSpace(r.Header.Get(string(h)))
	if v == "" {
		return runtime.Tenant{}, false, nil
	}
	t, err := runtime.ParseTenant(v)
	if err != nil {
		return runtime.Tenant{}, false, nil
	}
	return t, true, nil
}
