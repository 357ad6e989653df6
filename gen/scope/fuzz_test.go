package scope_test

import (
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

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
// query PostgreSQL parses, the qualified query parses too and names the
// placeholder schema exactly when it touches tenant objects.
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
	} {
		f.Add(s)
	}
	m, _, _ := baseModel(f, "")
	f.Fuzz(func(t *testing.T, sql string) {
		q, err := m.Query(sql)
		if err != nil {
			return
		}
		if _, err := pg_query.Parse(q.Qualified); err != nil {
			t.Fatalf("qualified query does not parse: %v\n in: %s\nout: %s", err, sql, q.Qualified)
		}
		hasTenant := len(q.Tenant) > 0
		if (q.Scope == scope.Tenant) != hasTenant {
			t.Fatalf("scope %s with tenant objects %q", q.Scope, q.Tenant)
		}
		if hasTenant != strings.Contains(q.Qualified, scope.Placeholder+".") && !strings.Contains(sql, scope.Placeholder) {
			t.Fatalf("tenant objects %q but qualified query %s", q.Tenant, q.Qualified)
		}
	})
}
