// Package sql holds tenantgen's own SQL: the migrations of the tenant
// registry that the runtime keeps in public, next to the application's
// shared tables, under a version table of its own.
package sql

import "embed"

// Registry is the registry's goose migration set, in the registry folder.
//
//go:embed registry/*.sql
var Registry embed.FS
