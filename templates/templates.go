// Package templates holds the files `tenantgen init` writes into a new
// project, embedded in the binary.
package templates

import "embed"

// Init is the project skeleton. Files ending in .tmpl lose the suffix when
// written (so that Go files here are not compiled as part of this package).
//
//go:embed all:init
var Init embed.FS
