// Package tenanthttp is tenantgen's net/http middleware: it works out which
// tenant a request is for and stores it in the request's context with
// runtime.WithTenant, where the generated FromContext helpers (and
// runtime.TenantFromContext) find it.
//
// How a tenant is found is a Resolver's job, and resolvers compose with
// First, so an app can accept, say, a path prefix, then a trusted header,
// then its registered domains:
//
//	res := tenanthttp.First(
//		tenanthttp.PathPrefix("/t/"),
//		tenanthttp.Domain(registry),
//	)
//	http.ListenAndServe(addr, tenanthttp.Middleware(res)(mux))
//
// A request no resolver claims gets a 404 ("unknown tenant"), or, with
// Optional, reaches the app without a tenant: the public site of
// django-tenants. A resolver error (a registry that cannot be read) gets a
// 500 and is logged; resolution fails closed, so an outage never silently
// routes a request to another resolver's tenant.
//
// Resolvers that must change the request, as PathPrefix strips its prefix so
// the app routes as if mounted at /, implement RequestResolver; the
// middleware and First call it through ResolveRequest. See RequestResolver
// for why this is an optional interface rather than part of Resolver.
//
// Only Domain checks that a tenant exists (its registry is the list of
// tenants). Subdomain, Header and PathPrefix check only that the name is a
// valid tenant name; a request for a tenant that does not exist then fails
// at its first query.
package tenanthttp
