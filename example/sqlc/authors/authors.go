// Package authors is sqlc's "authors" example (PostgreSQL) annotated for tenantgen; the
// differential isolation test (internal/difftest) runs its generated queries.
package authors

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate
