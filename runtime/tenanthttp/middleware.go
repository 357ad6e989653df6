package tenanthttp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/tenantgen/tenantgen/runtime"
)

// Option configures Middleware.
type Option func(*config)

type config struct {
	notFound  http.Handler
	suspended http.Handler
	onError   func(http.ResponseWriter, *http.Request, error)
	logger    *slog.Logger
	optional  bool
}

// WithNotFound sets the handler for requests no resolver claims. The default
// answers 404 with the plain-text body "unknown tenant", which says no more
// than that: which tenants exist is not the client's business.
func WithNotFound(h http.Handler) Option {
	return func(c *config) { c.notFound = h }
}

// WithSuspended sets the handler for requests of a suspended tenant: those
// whose resolution failed with an error wrapping runtime.ErrTenantSuspended,
// as the Domain resolver's over a *runtime.DB does. The default answers 403
// with the plain-text body "tenant suspended". The request's context carries
// no tenant: the handler must not serve the tenant's data.
func WithSuspended(h http.Handler) Option {
	return func(c *config) { c.suspended = h }
}

// WithErrorHandler sets the handler for resolver errors. The default logs the
// error (see WithLogger) and answers 500 "tenant lookup failed", keeping the
// cause, which may name hosts and databases, out of the response.
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(c *config) { c.onError = h }
}

// WithLogger sets the logger of the default error handler. Without it the
// handler logs to slog.Default() as it is when the error happens, so a
// logger installed after the middleware is built is still used.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// Optional makes a request no resolver claims reach the app without a tenant
// instead of getting a 404, as django-tenants serves the public schema: for a
// marketing site or sign-up page on the bare domain. The app then tells the
// cases apart with TenantFrom.
func Optional() Option {
	return func(c *config) { c.optional = true }
}

// Middleware returns middleware that resolves each request's tenant with
// resolver and calls the next handler with the tenant in the request context
// (see TenantFrom), and with the request as the resolver rewrote it (see
// RequestResolver). Requests without a tenant and resolver errors are
// answered as the options say, without calling the next handler.
//
// It panics if resolver is nil: that is a wiring bug, better found at start-up
// than on the first request.
func Middleware(resolver Resolver, opts ...Option) func(http.Handler) http.Handler {
	if resolver == nil {
		panic("tenanthttp: Middleware: nil Resolver")
	}
	c := config{notFound: http.HandlerFunc(notFound), suspended: http.HandlerFunc(suspended)}
	for _, o := range opts {
		o(&c)
	}
	if c.onError == nil {
		c.onError = c.logError
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t, r2, ok, err := ResolveRequest(resolver, r)
			switch {
			case errors.Is(err, runtime.ErrTenantSuspended):
				c.suspended.ServeHTTP(w, r)
			case err != nil:
				c.onError(w, r, err)
			case ok && t.IsZero():
				// A custom resolver claimed the request for no tenant. Serving
				// it as tenant-less would hide the bug, and 404 would blame
				// the client.
				c.onError(w, r, errZeroTenant)
			case ok:
				next.ServeHTTP(w, r2.WithContext(runtime.WithTenant(r2.Context(), t)))
			case c.optional:
				next.ServeHTTP(w, r)
			default:
				c.notFound.ServeHTTP(w, r)
			}
		})
	}
}

var errZeroTenant = errors.New("tenanthttp: resolver matched the zero Tenant; build tenants with runtime.ParseTenant")

// TenantFrom returns the tenant Middleware stored in r's context.
func TenantFrom(r *http.Request) (runtime.Tenant, bool) {
	return runtime.TenantFromContext(r.Context())
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "unknown tenant", http.StatusNotFound)
}

func suspended(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "tenant suspended", http.StatusForbidden)
}

func (c *config) logError(w http.ResponseWriter, r *http.Request, err error) {
	l := c.logger
	if l == nil {
		l = slog.Default()
	}
	level := slog.LevelError
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away while we waited: nothing is wrong with us.
		level = slog.LevelDebug
	}
	l.LogAttrs(r.Context(), level, "tenanthttp: tenant lookup failed",
		slog.String("err", err.Error()),
		slog.String("host", clip(r.Host)),
		slog.String("method", r.Method),
		slog.String("path", clip(r.URL.Path)))
	http.Error(w, "tenant lookup failed", http.StatusInternalServerError)
}

// clip bounds what a client controls before it reaches the logs.
func clip(s string) string {
	const max = 256
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
