package scope_test

import (
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/scope"
)

func baseModel(t testing.TB, more string) (*scope.Model, []*migfile.File, diag.List) {
	var diags diag.List
	files := []*migfile.File{migfile.Parse(f1, base, &diags)}
	if len(diags) != 0 {
		t.Fatalf("base schema: %v", diags)
	}
	if more != "" {
		f := migfile.Parse(f2, more, &diags)
		if f == nil {
			return nil, nil, diags
		}
		files = append(files, f)
	}
	return scope.Analyse(files, &diags), files, diags
}

// FuzzAnalyse runs a second migration file of arbitrary content after the
// base schema: the analysis must not panic, and every statement must either
// get a scope or be the subject of a diagnostic.
func FuzzAnalyse(f *testing.F) {
	for _, s := range []string{
		"-- +goose Up\nALTER TABLE tasks ADD COLUMN due date;\n-- +goose Down\nALTER TABLE tasks DROP COLUMN due;\n",
		"-- +goose Up\n-- tenantgen:shared\nCREATE VIEW v AS SELECT * FROM tasks;\n",
		"-- +goose Up\n-- tenantgen:tenant\nCREATE TABLE public.x (id serial, s task_status REFERENCES plans);\n",
		"-- +goose Up\nDROP TABLE tasks, plans;\nGRANT ALL ON tasks TO app;\nCOMMENT ON COLUMN tasks.id IS 'x';\n",
		"-- +goose Up\nALTER TABLE tasks RENAME TO plans;\nALTER TYPE task_status RENAME VALUE 'a' TO 'b';\n",
		"-- +goose Up\nCREATE TRIGGER t AFTER INSERT ON plans EXECUTE FUNCTION touch();\nDROP TRIGGER t ON plans;\n",
		"-- +goose Up\nCREATE EXTENSION x;\nCREATE SCHEMA s;\nGRANT USAGE ON SCHEMA s TO app;\nALTER SCHEMA s RENAME TO t;\n",
		"-- +goose Up\n-- tenantgen:shared\nCREATE TABLE p2 (id int DEFAULT nextval('tenant_seq'::regclass)) INHERITS (tasks);\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, more string) {
		m, files, diags := baseModel(t, more)
		if m == nil {
			return
		}
		reported := map[string]bool{}
		for _, d := range diags {
			reported[d.Pos.String()] = true
		}
		for _, file := range files {
			for _, st := range file.Statements {
				if _, ok := m.Scopes[st]; ok {
					continue
				}
				if !reported[st.Pos.String()] {
					t.Fatalf("statement %q has no scope and no diagnostic", st.Text)
				}
			}
		}
	})
}

// FuzzQuery checks that Query never panics and that, when it succeeds on a
// query PostgreSQL parses, the qualified query parses too, names the
// placeholder schema exactly when it touches tenant objects, and passes
// unqualifiedModelNames: a walk independent of both the qualifier and the
// verifier.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"SELECT t.id, p.name FROM tasks t JOIN plans p ON p.id = t.plan_id WHERE t.status = $1::task_status",
		"WITH tasks AS (SELECT 1) SELECT * FROM tasks",
		"INSERT INTO tasks (title) VALUES ($1) RETURNING id",
		"UPDATE tasks SET title = $1 FROM plans WHERE plans.id = tasks.plan_id",
		"DELETE FROM tasks USING plans WHERE plan_name(plans.id) = $1",
		"SELECT nextval('tenant_seq'), touch(), task_status 'todo', CAST($1 AS task_status[])",
		`SELECT * FROM "tasks" JOIN "plans" USING (id)`,
		"SELECT setval('tasks_id_seq'::regclass, 1)",
		// Adversarial cases of issue 11.
		"WITH tasks AS (SELECT tenant, title FROM tasks WHERE id > 0) SELECT tasks.tenant, (SELECT count(*) FROM nodes) AS n FROM tasks",
		"WITH audit AS (SELECT tenant, 'title ' || title AS msg FROM tasks) INSERT INTO audit (tenant, msg) SELECT tenant, msg FROM audit",
		"SELECT setval(pg_get_serial_sequence('tasks','id'), coalesce(max(id),0)+1000)::bigint FROM tasks",
		"WITH RECURSIVE nodes AS (SELECT 1 AS id UNION ALL SELECT id + 1 FROM nodes WHERE id < 3) SELECT id FROM nodes, tasks",
		"WITH a AS (SELECT id FROM tasks), tasks AS (SELECT id FROM a) SELECT id FROM tasks",
		"SELECT (WITH tasks AS (SELECT 1) SELECT count(*) FROM tasks), (SELECT count(*) FROM tasks)",
		"WITH tasks AS (SELECT 1 AS id) MERGE INTO tasks t USING tasks s ON t.id = s.id WHEN MATCHED THEN DELETE",
		"SELECT CAST('tasks' AS regclass), 'nodes'::pg_catalog.regclass, 'task_status[]'::regtype, 'task_count()'::regprocedure",
		"SELECT pg_relation_size('tasks'), has_table_privilege(current_user, 'nodes', 'INSERT'), to_regclass('audit_id_seq')",
		"SELECT $1::regclass, nextval($2)",
		"SELECT t.id FROM tasks t FOR UPDATE OF t SKIP LOCKED",
		`INSERT INTO audit (msg) VALUES ('hello from "$tenant"')`,
		"SELECT current_schema(), current_schema, current_schemas(false) FROM tasks",
		"SELECT round(amount, 1), round(amount::float8, 1), lower(t), lower(title), tsum(1) FROM tasks t",
		"CALL bump(2)",
		"SELECT title COLLATE tcoll, floatrange(1, 2), floatmultirange(), '{}'::_task_status, t.lower FROM tasks t",
		"SELECT id @~@ 1, id @~@ ANY($1::int8[]) FROM tasks WHERE id @~@ ALL (SELECT 1::int8) ORDER BY id USING @~@",
	} {
		f.Add(s)
	}
	m, _, _ := baseModel(f, isoSchema)
	f.Fuzz(func(t *testing.T, sql string) {
		q, err := m.Query(sql)
		if err != nil {
			return
		}
		tree, err := pg_query.Parse(q.Qualified)
		if err != nil {
			t.Fatalf("qualified query does not parse: %v\n in: %s\nout: %s", err, sql, q.Qualified)
		}
		hasTenant := len(q.Tenant) > 0
		if (q.Scope == scope.Tenant) != hasTenant {
			t.Fatalf("scope %s with tenant objects %q", q.Scope, q.Tenant)
		}
		if strings.Contains(sql, scope.Placeholder) {
			t.Fatalf("accepted a query whose text holds the placeholder: %s", sql)
		}
		if hasTenant != strings.Contains(q.Qualified, scope.Placeholder+".") {
			t.Fatalf("tenant objects %q but qualified query %s", q.Tenant, q.Qualified)
		}
		if bad := unqualifiedModelNames(m, tree); len(bad) > 0 {
			t.Fatalf("accepted with names left to search_path %q\n in: %s\nout: %s", bad, sql, q.Qualified)
		}
	})
}

// unqualifiedModelNames is the fuzz target's own, cruder check: a relation,
// type or routine the schema files define may appear unqualified only as a
// relation that is also the name of some CTE of the query (FOR UPDATE OF
// lists aside), and a string literal may hold the placeholder only as a
// qualifier at its start or as the whole literal.
func unqualifiedModelNames(m *scope.Model, tree *pg_query.ParseResult) []string {
	ctes := map[string]bool{}
	var bad []string
	var walk func(msg protoreflect.Message, collect bool)
	walk = func(msg protoreflect.Message, collect bool) {
		switch v := msg.Interface().(type) {
		case *pg_query.CommonTableExpr:
			if collect {
				ctes[v.Ctename] = true
			}
		case *pg_query.LockingClause:
			return
		case *pg_query.RangeVar:
			if _, ok := m.ScopeOf("", v.Relname); ok && v.Schemaname == "" && !collect && !ctes[v.Relname] {
				bad = append(bad, v.Relname)
			}
		case *pg_query.TypeName:
			if len(v.Names) == 1 {
				if _, ok := m.ScopeOf("", v.Names[0].GetString_().GetSval()); ok && !collect {
					bad = append(bad, "type "+v.Names[0].GetString_().GetSval())
				}
			}
		case *pg_query.FuncCall:
			if len(v.Funcname) == 1 && !collect {
				name := v.Funcname[0].GetString_().GetSval()
				if _, ok := m.FuncScopeOf("", name); ok {
					bad = append(bad, "function "+name)
				}
			}
		case *pg_query.A_Const:
			if s := v.GetSval(); s != nil && !collect && strings.Contains(s.Sval, scope.Placeholder) &&
				!strings.HasPrefix(s.Sval, scope.Placeholder+".") && s.Sval != scope.Placeholder {
				bad = append(bad, "literal "+s.Sval)
			}
		}
		msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message(), collect)
				}
			case fd.Message() != nil && !fd.IsMap():
				walk(v.Message(), collect)
			}
			return true
		})
	}
	for _, st := range tree.Stmts {
		walk(st.ProtoReflect(), true)
		walk(st.ProtoReflect(), false)
	}
	return bad
}
