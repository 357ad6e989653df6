package scope_test

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/scope"
)

// analyse parses files (name -> content) in name order, as the generator
// orders them by version, and analyses them. Diagnostics of both steps are
// returned sorted.
func analyse(t *testing.T, files map[string]string) (*scope.Model, []*migfile.Statement, diag.List) {
	t.Helper()
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var diags diag.List
	var parsed []*migfile.File
	var sts []*migfile.Statement
	for _, n := range names {
		f := migfile.Parse(n, files[n], &diags)
		if f == nil {
			t.Fatalf("%s does not parse:\n%v", n, diags)
		}
		parsed = append(parsed, f)
		sts = append(sts, f.Statements...)
	}
	m := scope.Analyse(parsed, &diags)
	var sorted diag.List
	if err := diags.Err(); err != nil {
		sorted = err.(diag.List)
	}
	return m, sts, sorted
}

// scopesOf lists the scope of each statement in order: "shared", "tenant",
// or "-" when the analysis gave it none.
func scopesOf(m *scope.Model, sts []*migfile.Statement) []string {
	var out []string
	for _, st := range sts {
		sc, ok := m.Scopes[st]
		switch {
		case !ok:
			out = append(out, "-")
		default:
			out = append(out, sc.String())
		}
	}
	return out
}

type wantDiag struct {
	pos    string // exact "file:line:col"
	phrase string // part of the message
}

// base is the first migration most cases build on.
const base = `-- +goose Up
-- tenantgen:shared
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TABLE plans (id serial PRIMARY KEY, name text NOT NULL);
CREATE TYPE plan_kind AS ENUM ('free', 'paid');
CREATE FUNCTION plan_name(p int) RETURNS text LANGUAGE sql AS $$ SELECT name FROM plans WHERE id = p $$;

-- tenantgen:tenant
CREATE TYPE task_status AS ENUM ('todo', 'done');
CREATE TABLE tasks (
  id bigserial PRIMARY KEY,
  plan_id int REFERENCES plans (id),
  status task_status NOT NULL DEFAULT 'todo',
  title text
);
CREATE SEQUENCE tenant_seq;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.title := lower(NEW.title);
  RETURN NEW;
END
$$;

-- +goose Down
DROP FUNCTION touch();
DROP SEQUENCE tenant_seq;
DROP TABLE tasks;
DROP TYPE task_status;
DROP FUNCTION plan_name(int);
DROP TYPE plan_kind;
DROP TABLE plans;
DROP EXTENSION pgcrypto;
`

var baseScopes = []string{
	"shared", "shared", "shared", "shared",
	"tenant", "tenant", "tenant", "tenant",
	"tenant", "tenant", "tenant", "tenant", "shared", "shared", "shared", "shared",
}

const f1, f2, f3 = "00001_init.sql", "00002_more.sql", "00003_later.sql"

func TestAnalyse(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		scopes []string   // per statement, all files in order; nil: not checked
		errs   []wantDiag // exactly these, sorted by position
	}{
		{
			name:   "markers, and inference in the Down section",
			files:  map[string]string{f1: base},
			scopes: baseScopes,
		},
		{
			name: "inference in a later file, Up and Down",
			files: map[string]string{f1: base, f2: `-- +goose Up
ALTER TABLE tasks ADD COLUMN due date;
ALTER TABLE plans ADD COLUMN kind plan_kind;
ALTER TABLE IF EXISTS tasks ADD COLUMN plan_kind plan_kind;
CREATE INDEX tasks_due_idx ON tasks (due);
CREATE UNIQUE INDEX ON plans (name);
ALTER TYPE task_status ADD VALUE 'doing';
ALTER SEQUENCE tenant_seq RESTART;
ALTER FUNCTION touch() SECURITY DEFINER;
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON tasks USING (true);
-- +goose Down
DROP POLICY own ON tasks;
DROP INDEX tasks_due_idx;
ALTER TABLE plans DROP COLUMN kind;
ALTER TABLE tasks DROP COLUMN due, DROP COLUMN plan_kind;
`},
			scopes: append(append([]string{}, baseScopes...),
				"tenant", "shared", "tenant", "tenant", "shared", "tenant", "tenant", "tenant", "tenant", "tenant",
				"tenant", "tenant", "shared", "tenant"),
		},
		{
			name: "a marker that agrees with the inferred scope",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
ALTER TABLE tasks ADD COLUMN due date;
-- tenantgen:shared
ALTER TABLE plans ADD COLUMN note text;
`},
			scopes: append(append([]string{}, baseScopes...), "tenant", "shared"),
		},
		{
			name: "serial and identity sequences",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE TABLE notes (id int GENERATED ALWAYS AS IDENTITY, n smallserial);
-- +goose Down
ALTER SEQUENCE tasks_id_seq RESTART;
ALTER SEQUENCE plans_id_seq RESTART;
GRANT USAGE ON SEQUENCE tasks_id_seq, notes_id_seq, notes_n_seq TO app;
DROP SEQUENCE IF EXISTS plans_id_seq;
ALTER TABLE tasks ADD COLUMN seq serial;
ALTER SEQUENCE tasks_seq_seq RESTART;
`},
			scopes: append(append([]string{}, baseScopes...), "tenant", "tenant", "shared", "tenant", "shared", "tenant", "tenant"),
		},
		{
			name: "renames carry the scope to the new name",
			files: map[string]string{f1: base, f2: `-- +goose Up
ALTER TABLE tasks RENAME TO todos;
ALTER TABLE todos ADD COLUMN x int;
ALTER TABLE todos RENAME COLUMN x TO y;
ALTER TABLE todos RENAME CONSTRAINT tasks_pkey TO todos_pkey;
ALTER TYPE task_status RENAME TO todo_status;
ALTER TYPE todo_status RENAME VALUE 'todo' TO 'open';
ALTER FUNCTION touch() RENAME TO touch_todo;
COMMENT ON FUNCTION touch_todo() IS 'lower-cases titles';
ALTER SEQUENCE tenant_seq RENAME TO todo_seq;
ALTER SEQUENCE todo_seq RESTART;
ALTER TABLE plans RENAME TO tiers;
INSERT INTO tiers (name) VALUES ('free');
-- +goose Down
ALTER TABLE tiers RENAME TO plans;
ALTER SEQUENCE todo_seq RENAME TO tenant_seq;
ALTER FUNCTION touch_todo() RENAME TO touch;
ALTER TYPE todo_status RENAME TO task_status;
ALTER TABLE todos RENAME TO tasks;
`},
			scopes: append(append([]string{}, baseScopes...),
				"tenant", "tenant", "tenant", "tenant", "tenant", "tenant", "tenant", "tenant", "tenant", "tenant", "shared", "shared",
				"shared", "tenant", "tenant", "tenant", "tenant"),
		},
		{
			name: "DROP of several objects of one scope",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE TABLE a (id int);
CREATE TABLE b (id int);
CREATE INDEX a_idx ON a (id);
CREATE INDEX b_idx ON b (id);
-- +goose Down
DROP INDEX a_idx, b_idx;
DROP TABLE IF EXISTS a, b, never_created CASCADE;
DROP TYPE plan_kind, plan_kind;
DROP FUNCTION touch(), touch;
`},
			scopes: append(append([]string{}, baseScopes...), "tenant", "tenant", "tenant", "tenant", "tenant", "tenant", "shared", "tenant"),
		},
		{
			name: "COMMENT ON",
			files: map[string]string{f1: base, f2: `-- +goose Up
COMMENT ON TABLE tasks IS 'work';
COMMENT ON COLUMN tasks.title IS 'what';
COMMENT ON COLUMN public.plans.name IS 'label';
COMMENT ON COLUMN plans.name IS 'label';
COMMENT ON TYPE task_status IS 'x';
COMMENT ON TYPE plan_kind IS 'x';
COMMENT ON FUNCTION touch() IS 'x';
COMMENT ON FUNCTION plan_name(int) IS 'x';
COMMENT ON SEQUENCE tenant_seq IS 'x';
COMMENT ON CONSTRAINT tasks_pkey ON tasks IS 'x';
COMMENT ON EXTENSION pgcrypto IS 'x';
COMMENT ON SCHEMA public IS 'x';
`},
			scopes: append(append([]string{}, baseScopes...),
				"tenant", "tenant", "shared", "shared", "tenant", "shared", "tenant", "shared", "tenant", "tenant", "shared", "shared"),
		},
		{
			name: "GRANT and REVOKE",
			files: map[string]string{f1: base, f2: `-- +goose Up
GRANT SELECT, INSERT ON tasks TO app;
GRANT SELECT ON TABLE plans TO app;
REVOKE ALL ON tasks FROM app;
GRANT EXECUTE ON FUNCTION touch() TO app;
GRANT EXECUTE ON FUNCTION plan_name(int) TO app;
GRANT USAGE ON TYPE task_status TO app;
GRANT USAGE ON SEQUENCE tenant_seq TO app;
GRANT USAGE ON SCHEMA public TO app;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO app;
`},
			scopes: append(append([]string{}, baseScopes...),
				"tenant", "shared", "tenant", "tenant", "shared", "tenant", "tenant", "shared", "shared"),
		},
		{
			name: "triggers on tenant tables calling tenant functions",
			files: map[string]string{f1: base, f2: `-- +goose Up
CREATE TRIGGER tasks_touch BEFORE INSERT OR UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TRIGGER tasks_touch ON tasks IS 'x';
ALTER TRIGGER tasks_touch ON tasks RENAME TO tasks_lower;
-- +goose Down
DROP TRIGGER IF EXISTS tasks_lower ON tasks;
`},
			scopes: append(append([]string{}, baseScopes...), "tenant", "tenant", "tenant", "tenant"),
		},
		{
			name: "INSERT, UPDATE and DELETE",
			files: map[string]string{f1: base, f2: `-- +goose Up
INSERT INTO plans (name) VALUES ('free'), ('paid');
INSERT INTO tasks (title) SELECT name FROM plans;
UPDATE tasks SET title = plan_name(plan_id);
UPDATE plans SET name = upper(name);
DELETE FROM tasks WHERE plan_id IN (SELECT id FROM plans);
-- +goose Down
DELETE FROM plans;
`},
			scopes: append(append([]string{}, baseScopes...), "shared", "tenant", "tenant", "shared", "tenant", "shared"),
		},
		{
			name: "tenant objects may depend on shared ones, qualified or not",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE TABLE subscriptions (
  id int PRIMARY KEY,
  plan_id int NOT NULL REFERENCES plans (id),
  plan2_id int REFERENCES public.plans (id) ON DELETE CASCADE,
  kind plan_kind,
  kind2 public.plan_kind,
  label text DEFAULT plan_name(1),
  label2 text DEFAULT public.plan_name(2),
  n bigint DEFAULT nextval('plans_id_seq')
);
ALTER TABLE tasks ADD CONSTRAINT tasks_plan_fk FOREIGN KEY (plan_id) REFERENCES public.plans (id);
CREATE VIEW task_plans AS SELECT t.id, p.name FROM tasks t JOIN plans p ON p.id = t.plan_id;
CREATE MATERIALIZED VIEW plan_counts AS SELECT plan_id, count(*) FROM tasks GROUP BY plan_id;
CREATE FUNCTION kind_of(t tasks) RETURNS plan_kind LANGUAGE sql AS $$ SELECT 'free'::plan_kind $$;
`},
			scopes: append(append([]string{}, baseScopes...), "tenant", "tenant", "tenant", "tenant", "tenant"),
		},
		{
			name: "CREATE EXTENSION and CREATE SCHEMA are shared without a marker",
			files: map[string]string{f1: `-- +goose Up
CREATE EXTENSION IF NOT EXISTS citext;
CREATE SCHEMA billing;
-- tenantgen:shared
CREATE EXTENSION hstore;
CREATE TABLE billing.invoices (id int);
-- +goose Down
ALTER TABLE billing.invoices ADD COLUMN x int;
DROP TABLE billing.invoices;
DROP SCHEMA billing;
DROP EXTENSION hstore, citext;
`},
			scopes: []string{"shared", "shared", "shared", "shared", "shared", "shared", "shared", "shared"},
		},
		{
			name: "public-qualified shared objects are the same objects",
			files: map[string]string{f1: `-- +goose Up
-- tenantgen:shared
CREATE TABLE public.plans (id int);
-- +goose Down
DROP TABLE plans;
`, f2: `-- +goose Up
ALTER TABLE plans ADD COLUMN name text;
ALTER TABLE public.plans ADD COLUMN note text;
`},
			scopes: []string{"shared", "shared", "shared", "shared"},
		},
		{
			name: "an object dropped in Up and re-created in Down keeps its scope",
			files: map[string]string{f1: base, f2: `-- +goose Up
DROP TABLE tasks;
DROP TYPE plan_kind;
-- +goose Down
CREATE TABLE tasks (id int);
CREATE TYPE plan_kind AS ENUM ('free');
CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
`},
			scopes: append(append([]string{}, baseScopes...), "tenant", "shared", "tenant", "shared", "tenant"),
		},

		// Errors.
		{
			name: "no marker and nothing to infer from",
			files: map[string]string{f1: `-- +goose Up
CREATE TABLE things (id int);
SELECT 1;
-- tenantgen:tenant
CREATE TABLE tasks (id int);
-- +goose Down
SELECT 2;
DROP TABLE tasks;
`},
			scopes: []string{"-", "-", "tenant", "-", "tenant"},
			errs: []wantDiag{
				{f1 + ":2:1", "cannot tell the scope of CREATE TABLE things: no tenantgen marker is in force"},
				{f1 + ":3:1", "cannot tell the scope of this statement"},
				{f1 + ":7:1", "cannot tell the scope of this statement"},
			},
		},
		{
			name: "unmarked statement on an object the files never create",
			files: map[string]string{f1: base, f2: `-- +goose Up
ALTER TABLE ghosts ADD COLUMN x int;
DROP TABLE IF EXISTS ghosts;
COMMENT ON COLUMN ghosts.x IS 'boo';
GRANT SELECT ON ghosts TO app;
INSERT INTO ghosts VALUES (1);
CREATE INDEX ON ghosts (x);
`},
			errs: []wantDiag{
				{f2 + ":2:1", "cannot tell the scope of ALTER TABLE ghosts: ghosts is not created by these schema files"},
				{f2 + ":3:1", "cannot tell the scope of DROP TABLE ghosts: ghosts is not created"},
				{f2 + ":4:1", "cannot tell the scope of COMMENT ON COLUMN ghosts"},
				{f2 + ":5:1", "cannot tell the scope of GRANT: ghosts is not created"},
				{f2 + ":6:1", "cannot tell the scope of INSERT INTO ghosts"},
				{f2 + ":7:1", "cannot tell the scope of CREATE INDEX ON ghosts"},
			},
		},
		{
			name: "marker contradicting the object's scope",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:shared
ALTER TABLE tasks ADD COLUMN due date;
CREATE INDEX ON tasks (due);
COMMENT ON COLUMN tasks.due IS 'x';
-- tenantgen:tenant
INSERT INTO plans (name) VALUES ('x');
GRANT SELECT ON plans TO app;
-- +goose Down
-- tenantgen:shared
DROP TABLE tasks;
`},
			scopes: append(append([]string{}, baseScopes...), "-", "-", "-", "-", "-", "-"),
			errs: []wantDiag{
				{f2 + ":3:1", "ALTER TABLE tasks acts on table tasks, which is tenant (defined at 00001_init.sql:10:14), but the marker in force says shared"},
				{f2 + ":4:1", "CREATE INDEX ON tasks acts on table tasks, which is tenant"},
				{f2 + ":5:1", "COMMENT ON COLUMN tasks acts on table tasks, which is tenant"},
				{f2 + ":7:1", "INSERT INTO plans acts on table plans, which is shared (defined at 00001_init.sql:4:14), but the marker in force says tenant"},
				{f2 + ":8:1", "GRANT acts on table plans, which is shared"},
				{f2 + ":11:1", "DROP TABLE tasks acts on table tasks, which is tenant"},
			},
		},
		{
			name: "extensions and schemas are shared only",
			files: map[string]string{f1: `-- +goose Up
-- tenantgen:tenant
CREATE EXTENSION pgcrypto;
CREATE SCHEMA thor;
-- +goose Down
-- tenantgen:tenant
DROP EXTENSION pgcrypto;
`},
			errs: []wantDiag{
				{f1 + ":3:1", "CREATE EXTENSION pgcrypto is shared only, but the marker at line 2 says tenant"},
				{f1 + ":4:1", "CREATE SCHEMA thor is shared only"},
				{f1 + ":7:1", "DROP EXTENSION is shared only, but the marker at line 6 says tenant"},
			},
		},
		{
			name: "shared view over a tenant table",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:shared
CREATE VIEW all_tasks AS SELECT id, title FROM tasks;
CREATE VIEW tenant_plans AS SELECT p.* FROM plans p JOIN tasks t ON t.plan_id = p.id;
`},
			errs: []wantDiag{
				{f2 + ":3:48", "shared CREATE VIEW all_tasks depends on tenant table tasks"},
				{f2 + ":4:58", "shared CREATE VIEW tenant_plans depends on tenant table tasks"},
			},
		},
		{
			name: "shared table with a column of a tenant enum type",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:shared
CREATE TABLE audit (id int, status task_status);
ALTER TABLE plans ADD COLUMN default_status task_status[];
CREATE TYPE pair AS (a int, s task_status);
`},
			errs: []wantDiag{
				{f2 + ":3:36", "shared CREATE TABLE audit depends on tenant type task_status (type)"},
				{f2 + ":4:45", "shared ALTER TABLE plans depends on tenant type task_status"},
				{f2 + ":5:31", "shared CREATE TYPE pair depends on tenant type task_status"},
			},
		},
		{
			name: "shared table default calling a tenant function or sequence",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE FUNCTION next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
-- tenantgen:shared
CREATE TABLE codes (code text DEFAULT next_code(), n bigint DEFAULT nextval('tenant_seq'));
ALTER TABLE plans ALTER COLUMN name SET DEFAULT next_code();
CREATE TABLE codes2 (n bigint DEFAULT nextval('tasks_id_seq'::regclass));
`},
			errs: []wantDiag{
				{f2 + ":5:39", "shared CREATE TABLE codes depends on tenant function next_code (function)"},
				{f2 + ":5:77", "shared CREATE TABLE codes depends on tenant sequence tenant_seq"},
				{f2 + ":6:49", "shared ALTER TABLE plans depends on tenant function next_code"},
				{f2 + ":7:47", "shared CREATE TABLE codes2 depends on tenant sequence tasks_id_seq"},
			},
		},
		{
			name: "shared function whose signature uses a tenant type",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:shared
CREATE FUNCTION status_label(s task_status) RETURNS text LANGUAGE sql AS $$ SELECT s::text $$;
CREATE FUNCTION default_status() RETURNS task_status LANGUAGE sql AS $$ SELECT 'todo' $$;
CREATE FUNCTION all_tasks() RETURNS SETOF tasks LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION ok_fn(p plans) RETURNS plan_kind LANGUAGE sql AS $$ SELECT 'free' $$;
`},
			errs: []wantDiag{
				{f2 + ":3:32", "shared CREATE FUNCTION status_label depends on tenant type task_status"},
				{f2 + ":4:42", "shared CREATE FUNCTION default_status depends on tenant type task_status"},
				{f2 + ":5:43", "shared CREATE FUNCTION all_tasks depends on tenant table tasks"},
			},
		},
		{
			name: "shared foreign key to a tenant table",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:shared
CREATE TABLE usage (task_id bigint REFERENCES tasks (id));
ALTER TABLE plans ADD COLUMN task_id bigint, ADD FOREIGN KEY (task_id) REFERENCES tasks (id);
CREATE TABLE usage2 (task_id bigint, FOREIGN KEY (task_id) REFERENCES tasks);
`},
			errs: []wantDiag{
				{f2 + ":3:47", "shared CREATE TABLE usage depends on tenant table tasks (foreign key)"},
				{f2 + ":4:83", "shared ALTER TABLE plans depends on tenant table tasks (foreign key)"},
				{f2 + ":5:71", "shared CREATE TABLE usage2 depends on tenant table tasks (foreign key)"},
			},
		},
		{
			name: "shared trigger, index and data statements that use tenant objects",
			files: map[string]string{f1: base, f2: `-- +goose Up
CREATE TRIGGER plans_touch BEFORE UPDATE ON plans FOR EACH ROW EXECUTE FUNCTION touch();
CREATE INDEX plans_seq_idx ON plans ((nextval('tenant_seq')));
INSERT INTO plans (name) SELECT title FROM tasks;
UPDATE plans SET name = 'x' WHERE id IN (SELECT plan_id FROM tasks);
`},
			errs: []wantDiag{
				{f2 + ":2:1", "shared CREATE TRIGGER plans_touch depends on tenant function touch (trigger function)"},
				{f2 + ":3:47", "shared CREATE INDEX ON plans depends on tenant sequence tenant_seq"},
				{f2 + ":4:44", "shared INSERT INTO plans depends on tenant table tasks"},
				{f2 + ":5:62", "shared UPDATE plans depends on tenant table tasks"},
			},
		},
		{
			name: "tenant objects created with a schema-qualified name",
			files: map[string]string{f1: `-- +goose Up
-- tenantgen:tenant
CREATE TABLE public.tasks (id int);
CREATE TABLE thor.tasks (id int);
CREATE VIEW public.v AS SELECT 1;
CREATE SEQUENCE thor.s;
CREATE TYPE public.st AS ENUM ('a');
CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TABLE ok (id int);
CREATE INDEX ok_idx ON public.ok (id);
`},
			errs: []wantDiag{
				{f1 + ":3:14", "tenant table public.tasks is created with a schema-qualified name"},
				{f1 + ":4:14", "tenant table thor.tasks is created with a schema-qualified name"},
				{f1 + ":5:13", "tenant view public.v is created with a schema-qualified name"},
				{f1 + ":6:17", "tenant sequence thor.s is created with a schema-qualified name"},
				{f1 + ":7:1", "tenant type public.st is created with a schema-qualified name"},
				{f1 + ":8:1", "tenant function public.f is created with a schema-qualified name"},
				{f1 + ":10:24", "CREATE INDEX ON ok names tenant table ok as public.ok"},
			},
		},
		{
			name: "the same name in both scopes",
			files: map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:shared
CREATE TABLE tasks (id int);
CREATE TABLE task_status (id int);
CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
-- tenantgen:tenant
CREATE TYPE plan_kind AS ENUM ('x');
CREATE SEQUENCE plans_id_seq;
CREATE INDEX plan_name ON tasks (title);
ALTER TABLE tasks RENAME TO plans;
`},
			errs: []wantDiag{
				{f2 + ":3:14", "table tasks is shared here but tenant at 00001_init.sql:10:14"},
				{f2 + ":4:14", "table task_status is shared here but tenant at 00001_init.sql:9:1"},
				{f2 + ":5:1", "function touch is shared here but tenant at 00001_init.sql:17:1"},
				{f2 + ":7:1", "type plan_kind is tenant here but shared at 00001_init.sql:5:1"},
				{f2 + ":8:17", "sequence plans_id_seq is tenant here but shared at 00001_init.sql:4:14"},
				{f2 + ":10:1", "table plans is tenant here but shared at 00001_init.sql:4:14"},
			},
		},
		{
			name: "one statement on objects of both scopes",
			files: map[string]string{f1: base, f2: `-- +goose Up
DROP TABLE tasks, plans;
GRANT SELECT ON plans, tasks TO app;
DROP FUNCTION touch(), plan_name(int);
`},
			errs: []wantDiag{
				{f2 + ":2:1", "DROP TABLE tasks acts on tasks (tenant) and plans (shared) at once"},
				{f2 + ":3:1", "GRANT acts on plans (shared) and tasks (tenant) at once"},
				{f2 + ":4:1", "DROP FUNCTION touch acts on touch (tenant) and plan_name (shared) at once"},
			},
		},
		{
			name: "every error is collected, across files",
			files: map[string]string{
				f1: `-- +goose Up
-- tenantgen:tenat
CREATE TABLE a (id int);
-- tenantgen:tenant
CREATE TABLE public.b (id int);
CREATE EXTENSION x;
CREATE TABLE c (id int);
`,
				f2: `-- +goose Up
-- tenantgen:shared
CREATE VIEW v AS SELECT * FROM c;
ALTER TABLE c ADD COLUMN x int;
-- +goose Down
DROP VIEW v;
DROP TABLE nowhere;
`,
				f3: `-- +goose Up
-- tenantgen:shared
CREATE TABLE c (id int);
`,
			},
			errs: []wantDiag{
				{f1 + ":2:1", `unknown tenantgen marker "tenat"`},
				{f1 + ":3:1", "cannot tell the scope of CREATE TABLE a"},
				{f1 + ":5:14", "tenant table public.b is created with a schema-qualified name"},
				{f1 + ":6:1", "CREATE EXTENSION x is shared only"},
				{f2 + ":3:32", "shared CREATE VIEW v depends on tenant table c"},
				{f2 + ":4:1", "ALTER TABLE c acts on table c, which is tenant"},
				{f2 + ":7:1", "cannot tell the scope of DROP TABLE nowhere"},
				{f3 + ":3:14", "table c is shared here but tenant at 00001_init.sql:7:14"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, sts, diags := analyse(t, tt.files)
			if len(diags) != len(tt.errs) {
				t.Fatalf("got %d diagnostics, want %d:\n%v", len(diags), len(tt.errs), diags)
			}
			for i, w := range tt.errs {
				d := diags[i]
				if d.Pos.String() != w.pos || !strings.Contains(d.Msg, w.phrase) {
					t.Errorf("diagnostic %d:\n got %s: %s\nwant %s: ...%s...", i, d.Pos, d.Msg, w.pos, w.phrase)
				}
				if d.Hint == "" {
					t.Errorf("diagnostic %d has no hint: %s", i, d.Error())
				}
			}
			if tt.scopes != nil {
				if got := scopesOf(m, sts); !reflect.DeepEqual(got, tt.scopes) {
					var lines []string
					for i, st := range sts {
						g := "?"
						if i < len(got) {
							g = got[i]
						}
						lines = append(lines, g+"\t"+strings.SplitN(st.Text, "\n", 2)[0])
					}
					t.Errorf("scopes\n got %q\nwant %q\n%s", got, tt.scopes, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

// The second of two errors in one file is not hidden by the first, and the
// scopes of the valid statements around them are still decided.
func TestAnalyseKeepsGoing(t *testing.T) {
	m, sts, diags := analyse(t, map[string]string{f1: `-- +goose Up
CREATE TABLE a (id int);
-- tenantgen:shared
CREATE TABLE b (id int);
-- tenantgen:tenant
CREATE EXTENSION e;
CREATE TABLE c (id int);
`})
	if len(diags) != 2 {
		t.Fatalf("diags %v", diags)
	}
	if got := scopesOf(m, sts); !reflect.DeepEqual(got, []string{"-", "shared", "-", "tenant"}) {
		t.Errorf("scopes %q", got)
	}
}

func TestModelLookups(t *testing.T) {
	m, _, diags := analyse(t, map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE TABLE notes (id int GENERATED BY DEFAULT AS IDENTITY);
CREATE INDEX notes_idx ON notes (id);
ALTER TABLE notes RENAME TO memos;
`})
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	rels := []struct {
		schema, name string
		want         scope.Scope
		ok           bool
	}{
		{"", "plans", scope.Shared, true},
		{"public", "plans", scope.Shared, true},
		{"", "plans_id_seq", scope.Shared, true},
		{"", "plan_kind", scope.Shared, true},
		{"", "tasks", scope.Tenant, true},
		{"", "tasks_id_seq", scope.Tenant, true},
		{"", "task_status", scope.Tenant, true},
		{"", "tenant_seq", scope.Tenant, true},
		{"", "notes_id_seq", scope.Tenant, true},
		{"", "notes_idx", scope.Tenant, true},
		{"", "memos", scope.Tenant, true},
		{"thor", "tasks", migfile.Unknown, false},
		{"", "nothing", migfile.Unknown, false},
		{"", "touch", migfile.Unknown, false}, // a function, not a relation
	}
	for _, r := range rels {
		got, ok := m.ScopeOf(r.schema, r.name)
		if got != r.want || ok != r.ok {
			t.Errorf("ScopeOf(%q, %q) = %s, %v; want %s, %v", r.schema, r.name, got, ok, r.want, r.ok)
		}
	}
	for name, want := range map[string]scope.Scope{"touch": scope.Tenant, "plan_name": scope.Shared, "tasks": migfile.Unknown} {
		if got, _ := m.FuncScopeOf("", name); got != want {
			t.Errorf("FuncScopeOf(%q) = %s, want %s", name, got, want)
		}
	}
	var names []string
	for _, o := range m.TenantObjects() {
		if o.Scope != scope.Tenant {
			t.Errorf("TenantObjects holds %s %s", o.Scope, o.Name)
		}
		names = append(names, o.Kind+" "+o.Name)
	}
	// notes was renamed: only memos is left, with its sequence and index.
	want := []string{"table memos", "sequence notes_id_seq", "index notes_idx", "type task_status",
		"table tasks", "sequence tasks_id_seq", "sequence tenant_seq", "function touch"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("TenantObjects\n got %q\nwant %q", names, want)
	}
	if o := m.TenantObjects()[4]; o.Pos.String() != f1+":10:14" {
		t.Errorf("tasks defined at %s", o.Pos)
	}
}

func TestQuery(t *testing.T) {
	m, _, diags := analyse(t, map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE TABLE "Notes" (id serial PRIMARY KEY, body text);
CREATE FUNCTION task_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tasks $$;
`})
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	tests := []struct {
		name   string
		sql    string
		want   string
		scope  scope.Scope
		tenant []string
	}{
		{
			name:  "shared table",
			sql:   "SELECT id, name FROM plans WHERE id = $1",
			want:  "SELECT id, name FROM public.plans WHERE id = $1",
			scope: scope.Shared,
		},
		{
			name:   "tenant table",
			sql:    "SELECT id, title FROM tasks WHERE id = $1",
			want:   `SELECT id, title FROM "$tenant".tasks WHERE id = $1`,
			scope:  scope.Tenant,
			tenant: []string{"tasks"},
		},
		{
			name:   "join of both, with aliases",
			sql:    "SELECT t.id, p.name FROM tasks AS t JOIN plans p ON p.id = t.plan_id",
			want:   `SELECT t.id, p.name FROM "$tenant".tasks AS t JOIN public.plans p ON p.id = t.plan_id`,
			scope:  scope.Tenant,
			tenant: []string{"tasks"},
		},
		{
			name:  "already qualified names are left alone",
			sql:   "SELECT * FROM public.plans JOIN pg_catalog.pg_class ON true",
			want:  "SELECT * FROM public.plans JOIN pg_catalog.pg_class ON true",
			scope: scope.Shared,
		},
		{
			name:  "unknown names are left alone",
			sql:   "SELECT * FROM pg_tables, generate_series(1, 2)",
			want:  "SELECT * FROM pg_tables, generate_series(1, 2)",
			scope: scope.Shared,
		},
		{
			name:  "CTE named like a tenant table",
			sql:   "WITH tasks AS (SELECT 1 AS id) SELECT id FROM tasks",
			want:  "WITH tasks AS (SELECT 1 AS id) SELECT id FROM tasks",
			scope: scope.Shared,
		},
		{
			name:   "CTE names left alone, tables in and around it qualified",
			sql:    "WITH recent AS (SELECT id FROM tasks ORDER BY id DESC LIMIT 10) SELECT r.id, p.name FROM recent r, plans p",
			want:   `WITH recent AS (SELECT id FROM "$tenant".tasks ORDER BY id DESC LIMIT 10) SELECT r.id, p.name FROM recent r, public.plans p`,
			scope:  scope.Tenant,
			tenant: []string{"tasks"},
		},
		{
			name:   "INSERT target, RETURNING, ON CONFLICT",
			sql:    "INSERT INTO tasks (title, status) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title RETURNING id",
			want:   `INSERT INTO "$tenant".tasks (title, status) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title RETURNING id`,
			scope:  scope.Tenant,
			tenant: []string{"tasks"},
		},
		{
			name:   "INSERT from a CTE",
			sql:    "WITH p AS (SELECT id FROM plans) INSERT INTO tasks (plan_id) SELECT id FROM p",
			want:   `WITH p AS (SELECT id FROM public.plans) INSERT INTO "$tenant".tasks (plan_id) SELECT id FROM p`,
			scope:  scope.Tenant,
			tenant: []string{"tasks"},
		},
		{
			name:   "UPDATE with FROM",
			sql:    "UPDATE tasks SET title = p.name FROM plans p WHERE p.id = tasks.plan_id",
			want:   `UPDATE "$tenant".tasks SET title = p.name FROM public.plans p WHERE p.id = tasks.plan_id`,
			scope:  scope.Tenant,
			tenant: []string{"tasks"},
		},
		{
			name:   "DELETE with a subquery",
			sql:    "DELETE FROM tasks WHERE plan_id IN (SELECT id FROM plans WHERE name = $1)",
			want:   `DELETE FROM "$tenant".tasks WHERE plan_id IN (SELECT id FROM public.plans WHERE name = $1)`,
			scope:  scope.Tenant,
			tenant: []string{"tasks"},
		},
		{
			name:  "shared INSERT and DELETE",
			sql:   "INSERT INTO plans (name) VALUES ($1); DELETE FROM plans WHERE id = $2",
			want:  "INSERT INTO public.plans (name) VALUES ($1); DELETE FROM public.plans WHERE id = $2",
			scope: scope.Shared,
		},
		{
			name:   "cast to a tenant enum type",
			sql:    "UPDATE tasks SET status = $1::task_status WHERE id = $2",
			want:   `UPDATE "$tenant".tasks SET status = $1::"$tenant".task_status WHERE id = $2`,
			scope:  scope.Tenant,
			tenant: []string{"task_status", "tasks"},
		},
		{
			name:   "tenant enum casts alone make a tenant query",
			sql:    "SELECT $1::task_status, CAST($2 AS task_status[]), 'todo'::task_status",
			want:   `SELECT $1::"$tenant".task_status, CAST($2 AS "$tenant".task_status[]), 'todo'::"$tenant".task_status`,
			scope:  scope.Tenant,
			tenant: []string{"task_status"},
		},
		{
			name:  "cast to a shared type",
			sql:   "SELECT $1::plan_kind",
			want:  "SELECT $1::public.plan_kind",
			scope: scope.Shared,
		},
		{
			name:   "tenant and shared function calls",
			sql:    "SELECT task_count(), plan_name($1), now()",
			want:   `SELECT "$tenant".task_count(), public.plan_name($1), now()`,
			scope:  scope.Tenant,
			tenant: []string{"task_count"},
		},
		{
			name:   "nextval of a tenant sequence",
			sql:    "SELECT nextval('tenant_seq'), currval('tasks_id_seq'::regclass)",
			want:   `SELECT nextval('"$tenant".tenant_seq'), currval('"$tenant".tasks_id_seq'::regclass)`,
			scope:  scope.Tenant,
			tenant: []string{"tasks_id_seq", "tenant_seq"},
		},
		{
			name:  "nextval of a shared sequence",
			sql:   "SELECT setval('plans_id_seq', 1)",
			want:  "SELECT setval('public.plans_id_seq', 1)",
			scope: scope.Shared,
		},
		{
			name:   "quoted identifiers",
			sql:    `SELECT "tasks".id FROM "tasks", "Notes" WHERE "Notes".id = nextval('"Notes_id_seq"')`,
			want:   `SELECT "tasks".id FROM "$tenant"."tasks", "$tenant"."Notes" WHERE "Notes".id = nextval('"$tenant"."Notes_id_seq"')`,
			scope:  scope.Tenant,
			tenant: []string{"Notes", "Notes_id_seq", "tasks"},
		},
		{
			name:   "unquoted names fold to lower case",
			sql:    "SELECT * FROM Tasks JOIN PLANS ON true WHERE nextval('Tenant_Seq') > 0",
			want:   `SELECT * FROM "$tenant".Tasks JOIN public.PLANS ON true WHERE nextval('"$tenant".Tenant_Seq') > 0`,
			scope:  scope.Tenant,
			tenant: []string{"tasks", "tenant_seq"},
		},
		{
			name:   "quoted names right after a keyword",
			sql:    `SELECT * FROM"tasks"JOIN"plans"USING(id)`,
			want:   `SELECT * FROM "$tenant"."tasks"JOIN public."plans"USING(id)`,
			scope:  scope.Tenant,
			tenant: []string{"tasks"},
		},
		{
			name:   "multibyte text before the names",
			sql:    "SELECT 'é — ü' AS x, id FROM tasks",
			want:   `SELECT 'é — ü' AS x, id FROM "$tenant".tasks`,
			scope:  scope.Tenant,
			tenant: []string{"tasks"},
		},
		{
			name:   "sqlc header comment",
			sql:    "-- name: ListTasks :many\nSELECT * FROM tasks\nORDER BY id",
			want:   "-- name: ListTasks :many\nSELECT * FROM \"$tenant\".tasks\nORDER BY id",
			scope:  scope.Tenant,
			tenant: []string{"tasks"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := m.Query(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			if q.Qualified != tt.want {
				t.Errorf("Qualified\n got %s\nwant %s", q.Qualified, tt.want)
			}
			if q.Scope != tt.scope {
				t.Errorf("Scope %s, want %s", q.Scope, tt.scope)
			}
			got := q.Tenant
			if got == nil {
				got = []string{}
			}
			want := tt.tenant
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Tenant %q, want %q", got, want)
			}
		})
	}
	if _, err := m.Query("SELEC 1"); err == nil {
		t.Error("Query accepted invalid SQL")
	}
}

func TestQueryRejectsPublicTenantNames(t *testing.T) {
	var d diag.List
	f := migfile.Parse("00001_init.sql", "-- +goose Up\n-- tenantgen:tenant\nCREATE TABLE tasks (id int);\n", &d)
	m := scope.Analyse([]*migfile.File{f}, &d)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Query("SELECT id FROM public.tasks"); err == nil || !strings.Contains(err.Error(), "public.tasks") {
		t.Fatalf("public.tasks accepted: %v", err)
	}
}
