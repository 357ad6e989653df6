package scope_test

import (
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/scope"
)

const f4 = "00004_last.sql"

// modelState reads a name's scope from the model: "shared", "tenant" or "-"
// (absent). Names starting with "fn:" are routines.
func modelState(m *scope.Model, name string) string {
	var sc scope.Scope
	var ok bool
	if fn, isFn := strings.CutPrefix(name, "fn:"); isFn {
		sc, ok = m.FuncScopeOf("", fn)
	} else if schema, rel, q := strings.Cut(name, "."); q {
		sc, ok = m.ScopeOf(schema, rel)
	} else {
		sc, ok = m.ScopeOf("", name)
	}
	if !ok {
		return "-"
	}
	return sc.String()
}

// DROP and RENAME update the model, so an object can move between scopes
// over migrations; a Down section neither adds nor removes what the Ups
// leave.
func TestModelFollowsDropAndRename(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		errs  []wantDiag
		state map[string]string // name -> "shared", "tenant", "-"
		query map[string]string // SQL -> part of its qualified form
	}{
		{
			name: "a tenant table dropped and re-created shared",
			files: map[string]string{f1: base, f2: `-- +goose Up
DROP TABLE tasks;
-- +goose Down
CREATE TABLE tasks (id bigserial PRIMARY KEY, title text);
`, f3: `-- +goose Up
-- tenantgen:shared
CREATE TABLE tasks (id int PRIMARY KEY, title text);
-- +goose Down
DROP TABLE tasks;
`},
			state: map[string]string{"tasks": "shared", "tasks_id_seq": "-", "task_status": "tenant"},
			query: map[string]string{"SELECT title FROM tasks": "FROM public.tasks"},
		},
		{
			name: "a renamed tenant table frees its name for a shared one",
			files: map[string]string{f1: base, f2: `-- +goose Up
ALTER TABLE tasks RENAME TO old_tasks;
-- +goose Down
ALTER TABLE old_tasks RENAME TO tasks;
`, f3: `-- +goose Up
-- tenantgen:shared
CREATE TABLE tasks (id int);
`},
			state: map[string]string{"tasks": "shared", "old_tasks": "tenant", "tasks_id_seq": "tenant"},
			query: map[string]string{"SELECT id FROM old_tasks": `"$tenant".old_tasks`},
		},
		{
			name: "a shared table moved into the tenants, with its sequence and index",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:shared
CREATE TABLE notes (id serial PRIMARY KEY, body text);
CREATE INDEX notes_body_idx ON notes (body);
`, f3: `-- +goose Up
DROP TABLE notes;
`, f4: `-- +goose Up
-- tenantgen:tenant
CREATE TABLE notes (id serial PRIMARY KEY, body text);
CREATE INDEX notes_body_idx ON notes (body);
`},
			state: map[string]string{"notes": "tenant", "notes_id_seq": "tenant", "notes_body_idx": "tenant"},
			query: map[string]string{"SELECT nextval('notes_id_seq')": `'"$tenant".notes_id_seq'`},
		},
		{
			name: "DROP CASCADE takes the views over a table; DROP COLUMN its sequence",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE VIEW open_tasks AS SELECT * FROM tasks;
CREATE VIEW open_titles AS SELECT title FROM open_tasks;
CREATE TABLE notes (id serial, n bigserial);
ALTER TABLE notes DROP COLUMN n;
`, f3: `-- +goose Up
DROP TABLE tasks CASCADE;
-- tenantgen:shared
CREATE VIEW open_tasks AS SELECT 1 AS one;
CREATE SEQUENCE notes_n_seq;
`},
			state: map[string]string{"open_tasks": "shared", "open_titles": "-", "tasks": "-", "tasks_id_seq": "-",
				"notes_id_seq": "tenant", "notes_n_seq": "shared"},
		},
		{
			name: "one overload dropped, then the other",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE FUNCTION score(a int) RETURNS int LANGUAGE sql AS 'SELECT a';
CREATE FUNCTION score(a text, OUT b int) RETURNS int LANGUAGE sql AS 'SELECT 1';
`, f3: `-- +goose Up
DROP FUNCTION score(integer);
`, f4: `-- +goose Up
DROP FUNCTION score(text);
-- tenantgen:shared
CREATE FUNCTION score() RETURNS int LANGUAGE sql AS 'SELECT 1';
`},
			state: map[string]string{"fn:score": "shared"},
		},
		{
			name: "an overload renamed to another routine's name",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE FUNCTION score(a int) RETURNS int LANGUAGE sql AS 'SELECT a';
CREATE FUNCTION rank(a text) RETURNS int LANGUAGE sql AS 'SELECT 1';
ALTER FUNCTION rank(text) RENAME TO score;
`, f3: `-- +goose Up
-- tenantgen:shared
CREATE FUNCTION rank() RETURNS int LANGUAGE sql AS 'SELECT 1';
`},
			state: map[string]string{"fn:score": "tenant", "fn:rank": "shared"},
		},
		{
			name: "a renamed function and procedure, and DROP ROUTINE",
			files: map[string]string{f1: base, f2: `-- +goose Up
ALTER FUNCTION touch() RENAME TO touch_old;
-- tenantgen:tenant
CREATE PROCEDURE archive() LANGUAGE sql AS 'SELECT 1';
ALTER PROCEDURE archive() RENAME TO archive_all;
`, f3: `-- +goose Up
-- tenantgen:shared
CREATE FUNCTION touch() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE PROCEDURE archive() LANGUAGE sql AS 'SELECT 1';
DROP ROUTINE plan_name;
`},
			state: map[string]string{"fn:touch": "shared", "fn:touch_old": "tenant", "fn:archive": "shared",
				"fn:archive_all": "tenant", "fn:plan_name": "-"},
		},
		{
			name: "DROP SCHEMA takes its objects",
			files: map[string]string{f1: `-- +goose Up
CREATE SCHEMA billing;
-- tenantgen:shared
CREATE TABLE billing.invoices (id int);
CREATE TABLE billing.lines (id int);
ALTER TABLE billing.lines RENAME TO items;
`, f2: `-- +goose Up
DROP SCHEMA billing CASCADE;
`},
			state: map[string]string{"billing.invoices": "-", "billing.items": "-", "billing.lines": "-"},
		},
		{
			name: "SET SCHEMA moves a shared object",
			files: map[string]string{f1: base, f2: `-- +goose Up
CREATE SCHEMA billing;
ALTER TABLE plans SET SCHEMA billing;
ALTER FUNCTION plan_name(int) SET SCHEMA billing;
ALTER TYPE plan_kind SET SCHEMA billing;
-- +goose Down
ALTER TABLE billing.plans SET SCHEMA public;
`, f3: `-- +goose Up
-- tenantgen:tenant
CREATE TABLE plans (id int);
`},
			state: map[string]string{"billing.plans": "shared", "plans": "tenant", "billing.plan_kind": "shared", "plan_kind": "-",
				"billing.plans_id_seq": "shared", "plans_id_seq": "-"},
		},
		{
			name: "Down sections leave the model as the Ups made it",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE TABLE notes (id int);
DROP TABLE tasks;
ALTER TYPE task_status RENAME TO state;
-- +goose Down
ALTER TYPE state RENAME TO task_status;
ALTER TABLE tasks ADD COLUMN x int;
CREATE TABLE tasks (id int);
CREATE INDEX tasks_x_idx ON tasks (x);
DROP TABLE notes;
DROP TABLE plans;
`},
			state: map[string]string{"notes": "tenant", "tasks": "-", "tasks_x_idx": "-", "plans": "shared",
				"task_status": "-", "state": "tenant"},
		},
		{
			name: "aggregates and procedures are in the model with their scope",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE FUNCTION add_len(acc int, s text) RETURNS int LANGUAGE sql AS 'SELECT acc + length(s)';
CREATE AGGREGATE total_len(text) (sfunc = add_len, stype = int, initcond = '0');
CREATE PROCEDURE tidy() LANGUAGE sql AS 'SELECT 1';
-- tenantgen:shared
CREATE AGGREGATE plan_total(int) (sfunc = int4pl, stype = int);
-- +goose Down
DROP AGGREGATE plan_total(int);
DROP AGGREGATE total_len(text);
`, f3: `-- +goose Up
COMMENT ON AGGREGATE total_len(text) IS 'x';
GRANT EXECUTE ON PROCEDURE tidy() TO app;
`},
			state: map[string]string{"fn:total_len": "tenant", "fn:plan_total": "shared", "fn:tidy": "tenant", "total_len": "-"},
			query: map[string]string{"SELECT total_len(title), plan_total(1) FROM tasks": `"$tenant".total_len(title), public.plan_total(1)`},
		},

		// Errors.
		{
			name: "a statement on a dropped object says where it was dropped",
			files: map[string]string{f1: base, f2: `-- +goose Up
DROP TABLE tasks;
`, f3: `-- +goose Up
ALTER TABLE tasks ADD COLUMN x int;
CREATE INDEX ON tasks_id_seq (x);
`},
			errs: []wantDiag{
				{f3 + ":2:1", "cannot tell the scope of ALTER TABLE tasks: table tasks was dropped at 00002_more.sql:2:1"},
				{f3 + ":3:1", "sequence tasks_id_seq was dropped at 00002_more.sql:2:1"},
			},
		},
		{
			name: "a shared aggregate over a tenant function",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE FUNCTION add_len(acc int, s text) RETURNS int LANGUAGE sql AS 'SELECT acc + length(s)';
-- tenantgen:shared
CREATE AGGREGATE total_len(text) (sfunc = add_len, stype = int);
CREATE AGGREGATE max_status(task_status) (sfunc = max, stype = text);
`},
			errs: []wantDiag{
				{f2 + ":5:43", "shared CREATE AGGREGATE total_len depends on tenant function add_len (support function)"},
				{f2 + ":6:29", "shared CREATE AGGREGATE max_status depends on tenant type task_status"},
			},
		},
		{
			name: "a tenant object moved to a schema",
			files: map[string]string{f1: base, f2: `-- +goose Up
CREATE SCHEMA archive;
ALTER TABLE tasks SET SCHEMA archive;
`},
			errs: []wantDiag{
				{f2 + ":3:1", "tenant table tasks cannot move to schema archive"},
			},
		},
		{
			name: "a table re-created in the other scope while its old name is still there",
			files: map[string]string{f1: base, f2: `-- +goose Up
DROP INDEX tasks_pkey;
-- tenantgen:shared
CREATE TABLE tasks (id int);
`},
			errs: []wantDiag{
				{f2 + ":2:1", "cannot tell the scope of DROP INDEX tasks_pkey"},
				{f2 + ":4:14", "table tasks is shared here but tenant at 00001_init.sql:10:14"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, diags := analyse(t, tt.files)
			checkDiags(t, diags, tt.errs)
			for name, want := range tt.state {
				if got := modelState(m, name); got != want {
					t.Errorf("%s is %s, want %s", name, got, want)
				}
			}
			for sql, want := range tt.query {
				q, err := m.Query(sql)
				if err != nil {
					t.Errorf("Query(%q): %v", sql, err)
					continue
				}
				if !strings.Contains(q.Qualified, want) {
					t.Errorf("Query(%q) = %q, want it to contain %q", sql, q.Qualified, want)
				}
			}
		})
	}
}

// checkDiags wants exactly the diagnostics want, each with a hint.
func checkDiags(t *testing.T, diags diag.List, want []wantDiag) {
	t.Helper()
	if len(diags) != len(want) {
		t.Fatalf("got %d diagnostics, want %d:\n%v", len(diags), len(want), diags)
	}
	for i, w := range want {
		d := diags[i]
		if d.Pos.String() != w.pos || !strings.Contains(d.Msg, w.phrase) {
			t.Errorf("diagnostic %d:\n got %s: %s\nwant %s: ...%s...", i, d.Pos, d.Msg, w.pos, w.phrase)
		}
		if d.Hint == "" {
			t.Errorf("diagnostic %d has no hint: %s", i, d.Error())
		}
	}
}
