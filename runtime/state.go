package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// TenantState is a tenant's state in the registry.
type TenantState string

const (
	// StateCreating: the schema is being made (or its maker died; the next
	// CreateTenant of the name cleans up).
	StateCreating TenantState = "creating"
	// StateActive: serving.
	StateActive TenantState = "active"
	// StateSuspended: kept and migrated with the fleet, but the HTTP
	// middleware refuses its requests (tenanthttp.WithSuspended).
	StateSuspended TenantState = "suspended"
	// StateSpare: a pre-created schema of the spare pool (see
	// WithSparePool), migrated with the fleet, waiting to be claimed.
	StateSpare TenantState = "spare"
	// StateDropping is reserved for a drop in progress.
	StateDropping TenantState = "dropping"
)

// migrated reports whether the fleet migration brings a tenant in state s
// up to date: every state but a creation in progress, whose creator
// migrates it.
func (s TenantState) migrated() bool {
	return s == StateActive || s == StateSuspended || s == StateSpare
}

// ErrTenantSuspended is wrapped by the errors of lookups that found the
// tenant suspended; tenanthttp answers them with its suspended response.
var ErrTenantSuspended = errors.New("tenant suspended")

// SuspendTenant suspends an active tenant: its data, domains and
// migrations stay, and tenanthttp's middleware answers its requests with the
// suspended response (403 by default) as soon as its cache hears of it
// (OnRegistryChange).
func (db *DB) SuspendTenant(ctx context.Context, t Tenant) error {
	return db.setState(ctx, t, StateActive, StateSuspended)
}

// ResumeTenant makes a suspended tenant active again.
func (db *DB) ResumeTenant(ctx context.Context, t Tenant) error {
	return db.setState(ctx, t, StateSuspended, StateActive)
}

func (db *DB) setState(ctx context.Context, t Tenant, from, to TenantState) error {
	if t.IsZero() {
		return errZeroTenant
	}
	var was TenantState
	err := db.pool.QueryRow(ctx, `
		WITH old AS (SELECT state FROM public.tenantgen_tenants WHERE name = $1 FOR UPDATE),
		     upd AS (UPDATE public.tenantgen_tenants SET state = $3 WHERE name = $1 AND state = $2 RETURNING 1)
		SELECT state FROM old`, t.name, string(from), string(to)).Scan(&was)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("setting tenant %s %s: %w", t.name, to, ErrTenantNotFound)
	case err != nil:
		return fmt.Errorf("setting tenant %s %s: %w", t.name, to, err)
	case was == to:
		return nil // already there: nothing changed, nothing to tell
	case was != from:
		return fmt.Errorf("setting tenant %s %s: it is %s, not %s", t.name, to, was, from)
	}
	db.registryChanged()
	db.logger.InfoContext(ctx, "tenantgen: tenant state changed", "tenant", t.name, "state", string(to))
	return nil
}

// TenantStateByDomain resolves a host name to its tenant and the tenant's
// state, for lookups that must tell a suspended tenant from an unknown one
// (tenanthttp's Domain resolver uses it when its lookup has it). ok is false
// for a domain no active or suspended tenant has.
func (db *DB) TenantStateByDomain(ctx context.Context, domain string) (Tenant, TenantState, bool, error) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return Tenant{}, "", false, nil
	}
	var name string
	var state TenantState
	err = db.pool.QueryRow(ctx, `SELECT d.tenant, t.state FROM public.tenantgen_domains d JOIN public.tenantgen_tenants t ON t.name = d.tenant WHERE d.domain = $1 AND t.state IN ('active', 'suspended')`, d).Scan(&name, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return Tenant{}, "", false, nil
	}
	if err != nil {
		return Tenant{}, "", false, fmt.Errorf("looking up domain %s: %w", d, err)
	}
	t, err := ParseTenant(name)
	return t, state, err == nil, err
}

// TenantState returns t's state; ErrTenantNotFound without a registry row.
func (db *DB) TenantState(ctx context.Context, t Tenant) (TenantState, error) {
	var s TenantState
	err := db.pool.QueryRow(ctx, `SELECT state FROM public.tenantgen_tenants WHERE name = $1`, t.name).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("tenant %s: %w", t.name, ErrTenantNotFound)
	}
	return s, err
}
