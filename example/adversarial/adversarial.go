// Package adversarial holds queries written to slip past the generator's
// qualification (issue 11): its generated package db is run query by query
// by the differential isolation test (internal/difftest), on connections
// whose search_path names another tenant.
package adversarial

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate
