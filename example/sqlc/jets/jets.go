// Package jets is sqlc's "jets" example (PostgreSQL) annotated for tenantgen; the
// differential isolation test (internal/difftest) runs its generated queries.
package jets

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate
