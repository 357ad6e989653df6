package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/scope"
)

// TestQueryMarkers: a query file's markers are read with the schema files'
// grammar. "-- tenantgen:tenant please" used to be ignored in a query file
// while a schema file refuses it.
func TestQueryMarkers(t *testing.T) {
	tests := []struct {
		name, sql string
		scope     migfile.Scope // of the marker found, Unknown for none
		err       string
	}{
		{"tenant", "-- name: Q :many\n-- tenantgen:tenant\nSELECT 1;\n", migfile.Tenant, ""},
		{"shared above", "-- tenantgen:shared\n-- name: Q :many\nSELECT 1;\n", migfile.Shared, ""},
		{"none", "-- name: Q :many\n-- lists things\nSELECT 1;\n", migfile.Unknown, ""},
		{"trailing words", "-- name: Q :many\n-- tenantgen:tenant please\nSELECT 1;\n", migfile.Unknown,
			`q.sql:2:1: unexpected "please" after -- tenantgen:tenant`},
		{"misspelt", "-- name: Q :many\n  -- tenantgen:tenat\nSELECT 1;\n", migfile.Unknown,
			`q.sql:2:3: unknown tenantgen marker "tenat"`},
		{"not a line of its own", "-- name: Q :many\n-- see -- tenantgen:shared\nSELECT 1;\n", migfile.Unknown,
			`q.sql:2:1: malformed tenantgen marker`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "q.sql"), []byte(tt.sql), 0o644); err != nil {
				t.Fatal(err)
			}
			// The schema side's verdict on the same comment, for comparison.
			var schemaDiags diag.List
			migfile.Parse("00001_x.sql", "-- +goose Up\n"+strings.Split(tt.sql, "\n")[1]+"\nCREATE TABLE t (id int);\n", &schemaDiags)
			var diags diag.List
			srcs := ReadSources(dir, filepath.Base, &diags)
			if tt.err != "" {
				if len(diags) != 1 || !strings.Contains(diags[0].Error(), tt.err) || diags[0].Hint == "" {
					t.Fatalf("diagnostics %v, want one containing %q with a hint", diags, tt.err)
				}
				if len(schemaDiags) == 0 && !strings.Contains(tt.name, "above") {
					t.Errorf("the schema side accepts what the query side refuses")
				}
				return
			}
			if len(diags) != 0 {
				t.Fatal(diags)
			}
			got := migfile.Unknown
			if m := srcs["Q"].Marker; m != nil {
				got = m.Scope
			}
			if got != tt.scope {
				t.Fatalf("marker %s, want %s", got, tt.scope)
			}
		})
	}
}

// TestNew: the scope of a query is the objects' unless its marker moves a
// shared query to the tenant side; a shared marker on a tenant query is
// refused, for SQL queries and COPY alike.
func TestNew(t *testing.T) {
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
	marker := func(sc migfile.Scope) Source {
		return Source{Pos: diag.Pos{File: "q.sql", Line: 1, Col: 1}, Marker: &migfile.Marker{Scope: sc}}
	}
	tests := []struct {
		name   string
		stmt   *Statement
		copy   *Copy
		src    Source
		scope  migfile.Scope
		sql    string
		copyTo bool
		err    string
	}{
		{name: "tenant by its objects", stmt: &Statement{SQL: "-- name: Q :many\nSELECT id FROM tasks"}, scope: migfile.Tenant,
			sql: `SELECT id FROM "$tenant".tasks`},
		{name: "shared by its objects", stmt: &Statement{SQL: "-- name: Q :many\nSELECT id FROM plans"}, scope: migfile.Shared,
			sql: `SELECT id FROM public.plans`},
		{name: "marked tenant", stmt: &Statement{SQL: "-- name: Q :many\nSELECT id FROM plans"}, src: marker(migfile.Tenant), scope: migfile.Tenant},
		{name: "marked shared, tenant objects", stmt: &Statement{SQL: "-- name: Q :many\nSELECT id FROM tasks"}, src: marker(migfile.Shared),
			err: "q.sql:1:1: query Q is marked shared but uses tenant tasks"},
		{name: "copy into tenant", copy: &Copy{Table: "tasks"}, scope: migfile.Tenant, copyTo: true},
		{name: "copy into shared", copy: &Copy{Table: "plans"}, scope: migfile.Shared},
		{name: "copy marked tenant into shared", copy: &Copy{Table: "plans"}, src: marker(migfile.Tenant), scope: migfile.Tenant},
		{name: "copy marked shared into tenant", copy: &Copy{Table: "tasks"}, src: marker(migfile.Shared),
			err: "query Q is marked shared but copies into tenant table tasks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stmts []Statement
			var copies []Copy
			if tt.stmt != nil {
				st := *tt.stmt
				st.Name, st.Kind = "Q", "many"
				stmts = append(stmts, st)
			}
			if tt.copy != nil {
				c := *tt.copy
				c.Name = "Q"
				copies = append(copies, c)
			}
			var diags diag.List
			p := New(model, map[string]Source{"Q": tt.src}, stmts, copies, &diags)
			if tt.err != "" {
				if len(diags) != 1 || !strings.Contains(diags[0].Error(), tt.err) || p.Queries["Q"] != nil {
					t.Fatalf("diagnostics %v, want one containing %q and no plan", diags, tt.err)
				}
				return
			}
			if len(diags) != 0 {
				t.Fatal(diags)
			}
			q := p.Queries["Q"]
			if q == nil || q.Scope != tt.scope || q.CopyIntoTenant != tt.copyTo {
				t.Fatalf("planned %+v, want scope %s, copy into tenant %v", q, tt.scope, tt.copyTo)
			}
			if tt.sql != "" && !strings.HasSuffix(q.Qualified, tt.sql) {
				t.Fatalf("qualified %q, want it to end in %q", q.Qualified, tt.sql)
			}
		})
	}
}
