package runtime

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Tenant is a validated tenant name: the name of its PostgreSQL schema. The
// zero Tenant is no tenant. Build one with ParseTenant.
type Tenant struct {
	name  string
	ident string // name quoted, made once: every tenant query's SQL needs it
}

var tenantNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ErrInvalidTenant is wrapped by every tenant name validation error.
var ErrInvalidTenant = errors.New("invalid tenant name")

// ParseTenant validates a tenant name: lower-case letters, digits and
// underscores, starting with a letter or underscore, at most 63 bytes (the
// PostgreSQL identifier limit), not starting with pg_, and not public or
// information_schema.
func ParseTenant(name string) (Tenant, error) {
	switch {
	case !tenantNameRe.MatchString(name):
		return Tenant{}, fmt.Errorf("%w %q: use 1 to 63 lower-case letters, digits and underscores, not starting with a digit", ErrInvalidTenant, truncate(name))
	case strings.HasPrefix(name, "pg_"):
		return Tenant{}, fmt.Errorf("%w %q: names starting with pg_ are reserved by PostgreSQL", ErrInvalidTenant, name)
	case name == "public" || name == "information_schema":
		return Tenant{}, fmt.Errorf("%w %q: the schema is not a tenant's", ErrInvalidTenant, name)
	}
	return newTenant(name), nil
}

func newTenant(name string) Tenant {
	return Tenant{name: name, ident: pgx.Identifier{name}.Sanitize()}
}

// MustTenant is ParseTenant for names known to be valid; it panics otherwise.
func MustTenant(name string) Tenant {
	t, err := ParseTenant(name)
	if err != nil {
		panic(err)
	}
	return t
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// String returns the tenant's name, which is also its schema's. (There is
// no Name method besides: one accessor, the one fmt uses.)
func (t Tenant) String() string { return t.name }

// IsZero reports whether t is the zero Tenant.
func (t Tenant) IsZero() bool { return t.name == "" }

// Ident is the schema name quoted as an SQL identifier.
func (t Tenant) Ident() string { return t.ident }

type tenantKey struct{}

// WithTenant returns a context carrying t, as the HTTP middleware does.
func WithTenant(ctx context.Context, t Tenant) context.Context {
	return context.WithValue(ctx, tenantKey{}, t)
}

// TenantFromContext returns the tenant ctx carries.
func TenantFromContext(ctx context.Context) (Tenant, bool) {
	t, ok := ctx.Value(tenantKey{}).(Tenant)
	return t, ok && !t.IsZero()
}

// ErrNoTenant is returned when a tenant query is asked for from a context
// that carries no tenant.
var ErrNoTenant = errors.New("tenantgen: no tenant in context")

var errZeroTenant = errors.New("tenantgen: zero Tenant; build one with runtime.ParseTenant")
