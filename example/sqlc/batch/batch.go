// Package batch is sqlc's "batch" example (PostgreSQL) annotated for tenantgen; the
// differential isolation test (internal/difftest) runs its generated queries.
package batch

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate
