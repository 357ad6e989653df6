package contract_test

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/scope"
	"github.com/tenantgen/tenantgen/runtime"
	"github.com/tenantgen/tenantgen/runtime/contract"
)

// TestGeneratorAndRuntimeAgree ties the two sides of the contract: SQL the
// generator qualifies, bound by the runtime's tenant, names exactly the
// tenant's schema for tenant objects and public for shared ones.
func TestGeneratorAndRuntimeAgree(t *testing.T) {
	const schema = "-- +goose Up\n" +
		"-- tenantgen:shared\nCREATE TABLE plans (id int PRIMARY KEY);\n" +
		"-- tenantgen:tenant\nCREATE TABLE tasks (id int PRIMARY KEY, plan_id int REFERENCES plans);\n"
	var diags diag.List
	f := migfile.Parse("00001_init.sql", schema, &diags)
	m := scope.Analyse([]*migfile.File{f}, &diags)
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	q, err := m.Query("-- name: Get :many\nSELECT t.id FROM tasks t JOIN plans p ON p.id = t.plan_id")
	if err != nil {
		t.Fatal(err)
	}
	tenant := runtime.MustTenant("alpha")
	bound := contract.Bind(q.Qualified, tenant.Ident())
	tree, err := pg_query.Parse(bound)
	if err != nil {
		t.Fatalf("bound SQL does not parse: %v\n%s", err, bound)
	}
	got := map[string]string{}
	from := tree.Stmts[0].Stmt.GetSelectStmt().FromClause[0].GetJoinExpr()
	for _, n := range []*pg_query.Node{from.Larg, from.Rarg} {
		rv := n.GetRangeVar()
		got[rv.Relname] = rv.Schemaname
	}
	if got["tasks"] != "alpha" || got["plans"] != contract.SharedSchema {
		t.Errorf("bound SQL names %v, want tasks in alpha and plans in public:\n%s", got, bound)
	}
}

func TestPlaceholderIsNoTenant(t *testing.T) {
	if _, err := runtime.ParseTenant(contract.SchemaName); err == nil {
		t.Fatalf("%q is a valid tenant name: a real tenant could collide with the placeholder", contract.SchemaName)
	}
	if got := contract.Bind(`SELECT 1 FROM `+contract.Placeholder+`.t`, `"b"`); got != `SELECT 1 FROM "b".t` {
		t.Errorf("Bind = %q", got)
	}
}
