package scope

import (
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
)

const verifySchema = `-- +goose Up
-- tenantgen:shared
CREATE TABLE plans (id serial PRIMARY KEY, name text);
CREATE SCHEMA extensions;
-- tenantgen:tenant
CREATE TYPE task_status AS ENUM ('todo', 'done');
CREATE TABLE tasks (id bigserial PRIMARY KEY, plan_id int REFERENCES plans (id), title text);
CREATE TABLE audit (id int, msg text);
CREATE SEQUENCE tenant_seq;
CREATE FUNCTION task_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tasks $$;
CREATE FUNCTION round(x float8, d int) RETURNS float8 LANGUAGE sql AS $$ SELECT x $$;
CREATE OPERATOR @~@ (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq);
`

// TestVerify feeds the verifier SQL as a buggy qualifier could emit it: it
// must refuse every name left to search_path, on its own walk.
func TestVerify(t *testing.T) {
	var d diag.List
	f := migfile.Parse("00001_init.sql", verifySchema, &d)
	m := Analyse([]*migfile.File{f}, &d)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sql string
		bad string // part of the error; "" when the SQL is proven
	}{
		{`SELECT * FROM "$tenant".tasks JOIN public.plans ON true`, ""},
		{`WITH RECURSIVE tasks AS (SELECT 1 UNION ALL SELECT 1 FROM tasks) SELECT * FROM tasks`, ""},
		{`WITH tasks AS (SELECT * FROM "$tenant".tasks) SELECT * FROM tasks`, ""},
		{`SELECT * FROM pg_class, pg_catalog.pg_namespace, information_schema.tables`, ""},
		{`SELECT nextval('"$tenant".tenant_seq'), 'public.plans'::regclass, '"$tenant".task_status[]'::regtype`, ""},
		{`SELECT pg_catalog.round(1.5, 1), "$tenant".round(1.5::float8, 1), lower('X')`, ""},
		{`SELECT 1 FROM "$tenant".tasks t FOR UPDATE OF t`, ""},
		{`SELECT (SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = '"$tenant"'::pg_catalog.regnamespace)`, ""},
		{`SELECT 1 OPERATOR("$tenant".@~@) 2 ORDER BY 1 USING OPERATOR(pg_catalog.<)`, ""},
		{`SELECT 1 @~@ 2`, "operator @~@ is left"},
		{`SELECT 1 FROM pg_class ORDER BY 1 USING @~@`, "operator @~@ is left"},
		{`SELECT 1 = ANY (SELECT 1) AND 1 @~@ ALL (SELECT 2)`, "operator @~@ is left"},
		{`SELECT 1 OPERATOR(public.@~@) 2`, "tenant operator @~@ is named public"},
		{`SELECT * FROM tasks`, "left to the connection's search_path"},
		{`WITH tasks AS (SELECT * FROM tasks) SELECT * FROM tasks`, "left to the connection's search_path"},
		{`WITH a AS (SELECT * FROM tasks), tasks AS (SELECT 1) SELECT * FROM a`, "left to the connection's search_path"},
		{`SELECT (WITH tasks AS (SELECT 1) SELECT 1), (SELECT count(*) FROM tasks)`, "left to the connection's search_path"},
		{`WITH audit AS (SELECT 1, 'x') INSERT INTO audit SELECT * FROM audit`, "left to the connection's search_path"},
		{`WITH tasks AS (SELECT 1 AS id) UPDATE tasks SET title = 'x'`, "left to the connection's search_path"},
		{`SELECT * FROM "$tenant".plans`, "not a tenant object"},
		{`SELECT * FROM public.tasks`, "tenant table tasks is named public.tasks"},
		{`SELECT 'x "$tenant" y'`, "not a schema qualifier tenantgen placed"},
		{`SELECT nextval('tenant_seq')`, "left to the connection's search_path"},
		{`SELECT 'task_status'::regtype`, "left to the connection's search_path"},
		{`SELECT $1::task_status`, "left to the connection's search_path"},
		{`SELECT task_count()`, "left to the connection's search_path"},
		{`SELECT round(1.5, 1)`, "left to the connection's search_path"},
		{`SELECT 'task_count'::regproc`, "left to search_path"},
		{`SELECT current_schema()`, "search_path"},
		{`SELECT current_schema`, "connection's schema"},
		{`SELECT $1::regclass`, "looked up through search_path"},
		{`SELECT * FROM nowhere`, "neither created by the schema files nor in pg_catalog"},
		{`SELECT * FROM elsewhere.tasks`, "schema the schema files neither create"},
		{`SELECT extensions.gen_random_uuid(), 'x'::extensions.citext`, ""},
	}
	for _, tt := range tests {
		err := m.verify(tt.sql)
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("%s\n\trefused: %v", tt.sql, err)
		case tt.bad != "" && err == nil:
			t.Errorf("%s\n\tproven, want %q", tt.sql, tt.bad)
		case tt.bad != "" && !strings.Contains(err.Error(), tt.bad):
			t.Errorf("%s\n\terror %q, want %q", tt.sql, err, tt.bad)
		}
	}
}
