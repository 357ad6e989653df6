package golang_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/internal/pgtest"
)

// TestQueryNamedLikeAMethod: a query named like a method tenantgen gives
// its receiver (Tenant, WithTx) is refused at its name line with a hint,
// instead of generating a package that does not compile. A shared query
// may be called Tenant: SharedQueries has no such method.
func TestQueryNamedLikeAMethod(t *testing.T) {
	tests := []struct {
		name, sql, err string
	}{
		{"tenant query Tenant", "-- name: Tenant :one\nSELECT id FROM tasks LIMIT 1;\n",
			"q.sql:1:1: query Tenant is named like the method TenantQueries.Tenant tenantgen generates"},
		{"tenant query WithTx", "-- a comment\n-- name: WithTx :exec\nDELETE FROM tasks;\n",
			"q.sql:2:1: query WithTx is named like the method TenantQueries.WithTx"},
		{"shared query WithTx", "-- name: WithTx :many\nSELECT id FROM plans;\n",
			"q.sql:1:1: query WithTx is named like the method SharedQueries.WithTx"},
		{"marked tenant query Tenant", "-- name: Tenant :many\n-- tenantgen:tenant\nSELECT id FROM plans;\n",
			"q.sql:1:1: query Tenant is named like the method TenantQueries.Tenant"},
		{"shared query Tenant", "-- name: Tenant :many\nSELECT id FROM plans;\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := pgtest.CopyDir(t, "../testdata/golden")
			if err := os.MkdirAll(filepath.Join(dir, "sql/queries"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sql/queries/q.sql"), []byte(tt.sql), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(filepath.Join(dir, config.DefaultFile))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Queries = "sql/queries"
			_, err = gen.Generate(cfg, gen.Options{})
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "hint: rename the query") {
				t.Fatalf("error %v, want one containing %q and a hint", err, tt.err)
			}
		})
	}
}
