package runtime

import "io/fs"

// Migrations are the two goose sets a generated package embeds.
type Migrations struct {
	Shared fs.FS // applied to public
	Tenant fs.FS // applied to every tenant schema
}
