// Package ondeck is sqlc's "ondeck" example (PostgreSQL) annotated for tenantgen; the
// differential isolation test (internal/difftest) runs its generated queries.
package ondeck

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate
