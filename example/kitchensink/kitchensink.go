// Package kitchensink exercises every query kind and sqlc option tenantgen
// passes through; its generated package db is pinned by golden tests and run
// against two tenants by its tests.
package kitchensink

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate
