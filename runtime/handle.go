package runtime

import "context"

// Handle is what a generated package's DB is made of: it hands out the
// package's shared queries S and tenant queries T, each bound to its
// scope. The generated package supplies how to build S and T over a DBTX;
// everything else is written here once, instead of in every package.
type Handle[S, T any] struct {
	rt     *DB
	shared func(DBTX) S
	tenant func(DBTX, Tenant) T
}

// NewHandle returns the handle of a generated package over rt.
func NewHandle[S, T any](rt *DB, shared func(DBTX) S, tenant func(DBTX, Tenant) T) Handle[S, T] {
	return Handle[S, T]{rt: rt, shared: shared, tenant: tenant}
}

// Runtime returns the runtime h was built on.
func (h Handle[S, T]) Runtime() *DB { return h.rt }

// Shared returns the shared queries.
func (h Handle[S, T]) Shared() S { return h.shared(h.rt.Shared()) }

// Tenant returns the tenant queries of t.
func (h Handle[S, T]) Tenant(t Tenant) T { return h.tenant(h.rt.Tenant(t), t) }

// FromContext returns the tenant queries of the tenant ctx carries, as set
// by the HTTP middleware or WithTenant.
func (h Handle[S, T]) FromContext(ctx context.Context) (T, error) {
	t, ok := TenantFromContext(ctx)
	if !ok {
		var zero T
		return zero, ErrNoTenant
	}
	return h.Tenant(t), nil
}

// SharedTx runs fn in a transaction. It commits when fn returns nil and
// rolls back otherwise, also when fn panics.
func (h Handle[S, T]) SharedTx(ctx context.Context, fn func(S) error) error {
	return h.rt.SharedTx(ctx, func(tx DBTX) error { return fn(h.shared(tx)) })
}

// TenantTx runs fn in a transaction in t's schema; see SharedTx.
func (h Handle[S, T]) TenantTx(ctx context.Context, t Tenant, fn func(T) error) error {
	return h.rt.TenantTx(ctx, t, func(tx DBTX) error { return fn(h.tenant(tx, t)) })
}
