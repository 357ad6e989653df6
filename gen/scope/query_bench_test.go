package scope_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/scope"
)

// BenchmarkQueryLargeModel times Query on a 1000-table model: the catalog
// of signatures and columns must be built once, not per query.
func BenchmarkQueryLargeModel(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("-- +goose Up\n-- tenantgen:tenant\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, "CREATE TABLE t%d (id bigserial PRIMARY KEY, a text, b int, c numeric, d text, e text, f int, g int, h text, i text);\n", i)
	}
	var d diag.List
	f := migfile.Parse("00001_x.sql", sb.String(), &d)
	m := scope.Analyse([]*migfile.File{f}, &d)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Query("SELECT id, a FROM t5 WHERE b = $1"); err != nil {
			b.Fatal(err)
		}
	}
}
