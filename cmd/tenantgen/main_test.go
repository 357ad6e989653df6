package main

import (
	"os"
	"testing"

	"github.com/tenantgen/tenantgen/gen/sqlcrun"
	"github.com/tenantgen/tenantgen/internal/pgtest"
)

func TestMain(m *testing.M) {
	sqlcrun.ServeChild() // returns unless this process is a sqlc child
	// generate's stamps (and those of the tenantgen binaries the tests run)
	// go to a directory of the tests' own, not the user's cache. Not
	// XDG_CACHE_HOME: go's build cache lives there too.
	if dir, err := os.MkdirTemp("", "tenantgen-test-stamps-"); err == nil {
		os.Setenv("TENANTGEN_CACHE", dir)
	}
	pgtest.Main(m, "cli")
}
