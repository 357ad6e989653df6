// Package types exercises tenant-scoped types in parameters and results:
// enums, arrays of enums, domains and composite types created in every
// tenant schema, so that each tenant has its own OIDs for them.
package types

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate
