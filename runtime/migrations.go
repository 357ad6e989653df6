package runtime

import "github.com/tenantgen/tenantgen/runtime/contract"

// Migrations are the two goose sets a generated package embeds; the type is
// the contract's, so that generated migrations.go does not import the runtime.
type Migrations = contract.Migrations
