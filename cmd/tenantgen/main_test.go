package main

import (
	"testing"

	"github.com/tenantgen/tenantgen/gen/sqlcrun"
	"github.com/tenantgen/tenantgen/internal/pgtest"
)

func TestMain(m *testing.M) {
	sqlcrun.ServeChild() // returns unless this process is a sqlc child
	pgtest.Main(m, "cli")
}
