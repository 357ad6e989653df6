// Package booktest is sqlc's "booktest" example (PostgreSQL) annotated for tenantgen; the
// differential isolation test (internal/difftest) runs its generated queries.
package booktest

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate
