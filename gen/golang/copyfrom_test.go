package golang

import (
	"go/ast"
	"go/token"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/plan"
	"github.com/tenantgen/tenantgen/gen/scope"
)

// :copyfrom has no SQL constant to qualify: the table sqlc hands CopyFrom
// decides its scope, and a tenant table named public.<table> is rejected as
// the same text in any other query is.
func TestCopyFromScope(t *testing.T) {
	var diags diag.List
	f := migfile.Parse("00001_init.sql", `-- +goose Up
-- tenantgen:shared
CREATE TABLE plans (id int, name text);
-- tenantgen:tenant
CREATE TABLE tasks (id int, title text);
`, &diags)
	model := scope.Analyse([]*migfile.File{f}, &diags)
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	tests := []struct {
		ident     string // the table identifier sqlc emits
		scope     migfile.Scope
		err       string
		qualified bool // the placeholder schema is put in front
	}{
		{ident: `"tasks"`, scope: migfile.Tenant, qualified: true},
		{ident: `"plans"`, scope: migfile.Shared},
		{ident: `"public", "plans"`, scope: migfile.Shared},
		{ident: `"public", "tasks"`, err: "query CopyRows: tenant table tasks is named public.tasks: drop the qualifier"},
	}
	for _, tt := range tests {
		t.Run(tt.ident, func(t *testing.T) {
			src := `package db

func (q *Queries) CopyRows(ctx context.Context, arg []CopyRowsParams) (int64, error) {
	return q.db.CopyFrom(ctx, []string{` + tt.ident + `}, []string{"id"}, &iteratorForCopyRows{rows: arg})
}
`
			fset := token.NewFileSet()
			file, err := parseFile(fset, "copyfrom.go", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			var diags diag.List
			pos := diag.Pos{File: "sql/queries/copy.sql", Line: 1, Col: 1}
			r := &rewriter{model: model, sources: map[string]plan.Source{"CopyRows": {Pos: pos}}, diags: &diags}
			r.plan(map[string]*ast.File{"copyfrom.go": file})
			if tt.err != "" {
				if len(diags) != 1 || !strings.Contains(diags[0].Msg, tt.err) || diags[0].Pos != pos || diags[0].Hint == "" {
					t.Fatalf("diagnostics %v, want one at %s containing %q, with a hint", diags, pos, tt.err)
				}
				return
			}
			if len(diags) != 0 {
				t.Fatal(diags)
			}
			if q := r.queries["CopyRows"]; q == nil || q.Scope != tt.scope {
				t.Fatalf("planned %+v, want scope %s", q, tt.scope)
			}
			if err := r.rewrite("copyfrom.go", file); err != nil {
				t.Fatal(err)
			}
			out := string(apply(fset, []byte(src), r.edits))
			if got := strings.Contains(out, `[]string{"$tenant", "tasks"}`); got != tt.qualified {
				t.Errorf("qualified %v, want %v:\n%s", got, tt.qualified, out)
			}
		})
	}
}
