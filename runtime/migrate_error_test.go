package runtime_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tenantgen/tenantgen/runtime"
)

// A failed fleet migration's error names the failed tenants, matches
// ErrMigrationsFailed, also wrapped, and hands the results to errors.As.
func TestMigrateError(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		failed []runtime.TenantResult
		want   string
	}{
		{"one", []runtime.TenantResult{{Tenant: "acme", Err: boom}}, "some tenants failed to migrate: acme"},
		{"two", []runtime.TenantResult{{Tenant: "acme", Err: boom}, {Tenant: "globex", Err: boom}}, "some tenants failed to migrate: acme, globex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fmt.Errorf("deploy: %w", &runtime.MigrateError{Failed: tt.failed})
			if !errors.Is(err, runtime.ErrMigrationsFailed) {
				t.Fatalf("errors.Is(%v, ErrMigrationsFailed) = false", err)
			}
			if got := err.Error(); got != "deploy: "+tt.want {
				t.Fatalf("Error() = %q, want %q", got, "deploy: "+tt.want)
			}
			var me *runtime.MigrateError
			if !errors.As(err, &me) || len(me.Failed) != len(tt.failed) {
				t.Fatalf("errors.As: %v %+v", me, me)
			}
		})
	}
}
