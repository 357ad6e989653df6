package tenanthttp

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tenantgen/tenantgen/runtime"
)

// Subdomain returns a Resolver taking the tenant from the label of the Host
// directly left of base: with base "polls.local", thor.polls.local and
// eu.thor.polls.local are tenant thor. The Host is normalised as Domain
// does, so case, port and a trailing dot do not matter. No tenant is found
// for base itself, for hosts outside base, for "www" (the usual name of the
// public site), or for a label that is not a valid tenant name.
//
// It needs no registry, so it cannot tell whether the tenant exists: put it
// after a resolver that does, or let queries for a missing schema fail.
func Subdomain(base string) Resolver {
	b, err := runtime.NormalizeDomain(base)
	if err != nil {
		panic("tenanthttp: Subdomain: invalid base domain " + strconv.Quote(base))
	}
	return subdomain{suffix: "." + b}
}

type subdomain struct{ suffix string }

func (s subdomain) Resolve(r *http.Request) (runtime.Tenant, bool, error) {
	host, err := runtime.NormalizeDomain(r.Host)
	if err != nil {
		return runtime.Tenant{}, false, nil
	}
	rest, ok := strings.CutSuffix(host, s.suffix)
	if !ok || rest == "" {
		return runtime.Tenant{}, false, nil
	}
	label := rest[strings.LastIndexByte(rest, '.')+1:]
	if label == "www" {
		return runtime.Tenant{}, false, nil
	}
	t, err := runtime.ParseTenant(label)
	if err != nil {
		// A name that cannot be a tenant is a request for no tenant, not a
		// failure of the resolver.
		return runtime.Tenant{}, false, nil
	}
	return t, true, nil
}
