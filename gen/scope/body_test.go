package scope_test

import (
	"strings"
	"testing"
)

// String bodies are read like statements: a shared routine or DO block
// whose body reaches a tenant object is rejected at the body's statement
// (PostgreSQL would accept it and fail when it runs, 42P01); routines whose
// transaction control PostgreSQL would refuse, and tenant DDL whose
// current_schema() would run in the application's session, are rejected.
func TestBodies(t *testing.T) {
	tests := []struct {
		name string
		more string // a second migration after base
		errs []wantDiag
	}{
		{
			name: "shared bodies that reach only shared objects, and tenant bodies",
			more: `-- +goose Up
-- tenantgen:shared
CREATE FUNCTION plan_count() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  k plan_kind := 'free';
  p plans%ROWTYPE;
  c CURSOR FOR SELECT * FROM plans;
BEGIN
  WITH tasks AS (SELECT id FROM plans) SELECT count(*) INTO n FROM tasks;
  EXECUTE 'SELECT count(*) FROM tasks' INTO n;
  RETURN n + plan_name(1)::int;
END
$$;
CREATE FUNCTION plan_names() RETURNS SETOF text LANGUAGE sql AS 'SELECT name FROM plans WHERE name <> ''x''';
CREATE PROCEDURE batch() LANGUAGE plpgsql AS $$ BEGIN UPDATE plans SET name = name; COMMIT; END $$;
CREATE FUNCTION c_fn() RETURNS int LANGUAGE c AS 'lib', 'sym';
DO $$ BEGIN PERFORM plan_name(1); END $$;
CREATE TABLE plan_log (schema text DEFAULT current_schema());
-- tenantgen:tenant
CREATE FUNCTION task_count() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT count(*) FROM tasks JOIN plans ON true); END $$;
CREATE FUNCTION tenant_schema() RETURNS text LANGUAGE sql STABLE AS 'SELECT current_schema()';
CREATE TABLE notes (id int, owner text DEFAULT tenant_schema());
CREATE PROCEDURE tidy() LANGUAGE plpgsql AS $$ BEGIN DELETE FROM tasks; END $$;
DO $$ BEGIN INSERT INTO tasks (title) VALUES (current_schema()); END $$;
INSERT INTO tasks (title) VALUES (current_schema());
`,
		},
		{
			name: "shared plpgsql bodies reaching tenant objects",
			more: `-- +goose Up
-- tenantgen:shared
CREATE FUNCTION task_count() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  SELECT count(*) INTO n FROM tasks;
  n := (SELECT max(id) FROM tasks);
  IF nextval('tenant_seq') > 0 THEN
    PERFORM touch();
  END IF;
  RETURN n;
END
$$;
CREATE FUNCTION vars() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  s task_status;
  r tasks%ROWTYPE;
  t tasks.title%TYPE;
  c CURSOR FOR SELECT * FROM tasks;
BEGIN
  RETURN 1;
END
$$;
CREATE PROCEDURE add_task(t text) LANGUAGE plpgsql AS $$ BEGIN INSERT INTO tasks (title) VALUES (t); END $$;
DO $$ BEGIN PERFORM 1 FROM tasks; END $$;
`,
			errs: []wantDiag{
				{f2 + ":7:31", "shared CREATE FUNCTION task_count depends on tenant table tasks (relation in the body)"},
				{f2 + ":8:29", "depends on tenant table tasks (relation in the body)"},
				{f2 + ":9:14", "depends on tenant sequence tenant_seq (sequence in the body)"},
				{f2 + ":10:13", "depends on tenant function touch (function in the body)"},
				{f2 + ":17:5", "shared CREATE FUNCTION vars depends on tenant type task_status (type in the body)"},
				{f2 + ":18:5", "depends on tenant table tasks"},
				{f2 + ":19:5", "depends on tenant table tasks"},
				{f2 + ":20:30", "depends on tenant table tasks"},
				{f2 + ":25:76", "shared CREATE PROCEDURE add_task depends on tenant table tasks"},
				{f2 + ":26:28", "shared DO block depends on tenant table tasks"},
			},
		},
		{
			name: "shared SQL bodies reaching tenant objects",
			more: `-- +goose Up
-- tenantgen:shared
CREATE FUNCTION titles() RETURNS SETOF text LANGUAGE sql AS 'SELECT ''t: '' || title FROM tasks';
CREATE FUNCTION n_tasks() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM tasks; END;
CREATE FUNCTION n2() RETURNS bigint LANGUAGE sql RETURN (SELECT count(*) FROM tasks);
CREATE FUNCTION statuses() RETURNS text LANGUAGE sql AS $body$ SELECT 'todo'::task_status::text $body$;
`,
			errs: []wantDiag{
				{f2 + ":3:91", "shared CREATE FUNCTION titles depends on tenant table tasks (relation in the body)"},
				{f2 + ":4:89", "shared CREATE FUNCTION n_tasks depends on tenant table tasks"},
				{f2 + ":5:79", "shared CREATE FUNCTION n2 depends on tenant table tasks"},
				{f2 + ":6:79", "shared CREATE FUNCTION statuses depends on tenant type task_status (type in the body)"},
			},
		},
		{
			name: "tenant bodies naming tenant objects as public ones",
			more: `-- +goose Up
-- tenantgen:tenant
CREATE FUNCTION f() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM public.tasks $$;
`,
			errs: []wantDiag{
				{f2 + ":3:76", "CREATE FUNCTION f names tenant table tasks as public.tasks"},
			},
		},
		{
			name: "bodies that do not parse",
			more: `-- +goose Up
-- tenantgen:shared
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN selct 1; END $$;
CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELEC 1 $$;
CREATE FUNCTION h() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT 1 FROM FROM);
END $$;
`,
			errs: []wantDiag{
				{f2 + ":3:56", `the plpgsql body does not parse: syntax error at or near "selct"`},
				{f2 + ":4:51", `the sql body does not parse: syntax error at or near "SELEC"`},
				{f2 + ":7:3", `the plpgsql body does not parse: syntax error at or near "FROM"`},
			},
		},
		{
			name: "COMMIT and ROLLBACK where PostgreSQL refuses them, or tenantgen cannot bind them",
			more: `-- +goose Up
-- tenantgen:tenant
CREATE PROCEDURE archive() LANGUAGE plpgsql AS $$
DECLARE
  r tasks%ROWTYPE;
BEGIN
  DELETE FROM tasks;
  COMMIT;
END
$$;
CREATE PROCEDURE undo() LANGUAGE plpgsql AS $$ BEGIN ROLLBACK; END $$ SET search_path = pg_catalog;
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN COMMIT; RETURN 1; END $$;
-- tenantgen:shared
CREATE PROCEDURE tune() LANGUAGE plpgsql SET work_mem = '64MB' AS $$ BEGIN COMMIT; END $$;
`,
			errs: []wantDiag{
				{f2 + ":8:3", "tenant CREATE PROCEDURE archive commits or rolls back, so it cannot get SET search_path FROM CURRENT (PostgreSQL refuses COMMIT in a routine with a SET clause, SQLSTATE 2D000), " +
					"and tenantgen cannot bind it otherwise: its DECLARE section names tenant table tasks"},
				{f2 + ":11:54", "CREATE PROCEDURE undo commits or rolls back, but has a SET clause"},
				{f2 + ":12:62", "CREATE FUNCTION f commits or rolls back: only procedures may"},
				{f2 + ":14:76", "CREATE PROCEDURE tune commits or rolls back, but has a SET clause"},
			},
		},
		{
			name: "current_schema() in tenant DDL that runs in the application's session",
			more: `-- +goose Up
-- tenantgen:tenant
CREATE TABLE notes (id int, owner text DEFAULT current_schema(), o2 name DEFAULT current_schema);
ALTER TABLE tasks ALTER COLUMN title SET DEFAULT pg_catalog.current_schemas(false)::text;
CREATE VIEW mine AS SELECT current_setting('search_path') AS p;
CREATE POLICY own ON tasks USING (title = current_schema());
CREATE FUNCTION sch() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT current_schema(); END;
`,
			errs: []wantDiag{
				{f2 + ":3:48", "tenant CREATE TABLE notes calls current_schema(), which PostgreSQL evaluates in the session that uses it"},
				{f2 + ":3:82", "tenant CREATE TABLE notes calls current_schema,"},
				{f2 + ":4:50", "tenant ALTER TABLE tasks calls current_schemas()"},
				{f2 + ":5:28", "tenant CREATE VIEW mine calls current_setting('search_path')"},
				{f2 + ":6:43", "tenant CREATE POLICY own calls current_schema()"},
				{f2 + ":7:69", "tenant CREATE FUNCTION sch calls current_schema()"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, diags := analyse(t, map[string]string{f1: base, f2: tt.more})
			checkDiags(t, diags, tt.errs)
		})
	}
}

// A tenant procedure that commits gets, in the tenant set, a DO block that
// creates it with the migration's search_path set inside it: at its start
// and after each COMMIT and ROLLBACK, not after SQL that only mentions
// COMMIT (ON COMMIT DROP) or inside strings. (The migrations package runs it
// on PostgreSQL.)
func TestBoundProcedure(t *testing.T) {
	m, sts, diags := analyse(t, map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:tenant
CREATE PROCEDURE batches() LANGUAGE plpgsql AS 'BEGIN
  CREATE TEMP TABLE seen (id int) ON COMMIT DROP;
  RAISE NOTICE ''COMMIT;'';
  UPDATE tasks SET title = lower(title);
  commit;
  IF true THEN ROLLBACK AND NO CHAIN; END IF;
END';
CREATE PROCEDURE plain() LANGUAGE plpgsql AS $$ BEGIN UPDATE tasks SET title = title; END $$;
`})
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	var bound []string
	for _, st := range sts {
		if text, ok := m.Bound[st]; ok {
			bound = append(bound, text)
		}
	}
	if len(bound) != 1 {
		t.Fatalf("%d statements bound, want 1 (batches)", len(bound))
	}
	text := bound[0]
	set := "PERFORM pg_catalog.set_config('search_path', $tenantgen_search_path$, true);"
	for _, want := range []string{
		"DO $tenantgen_do$\nBEGIN\n  EXECUTE pg_catalog.replace($tenantgen_ddl$CREATE PROCEDURE batches() LANGUAGE plpgsql AS $tenantgen$BEGIN " + set + "\n",
		"ON COMMIT DROP;\n  RAISE NOTICE 'COMMIT;';\n",
		"commit; " + set + "\n",
		"ROLLBACK AND NO CHAIN; " + set + " END IF;",
		"'$tenantgen_search_path$', pg_catalog.quote_literal(pg_catalog.current_setting('search_path')));\nEND\n$tenantgen_do$;",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("bound text lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, set); n != 3 {
		t.Errorf("search_path set %d times, want 3:\n%s", n, text)
	}
}

// Valid bodies of every plpgsql shape PostgreSQL accepts are not rejected: the
// plpgsql parser sees the real signature (trigger, event trigger, OUT and
// TABLE parameters, polymorphic types).
func TestValidBodiesAccepted(t *testing.T) {
	_, _, diags := analyse(t, map[string]string{f1: base, f2: `-- +goose Up
-- tenantgen:shared
CREATE FUNCTION ev() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE '%', tg_tag; END $$;
CREATE FUNCTION poly(a anyelement) RETURNS anyelement LANGUAGE plpgsql AS $$ DECLARE b a%TYPE; BEGIN b := a; RETURN b; END $$;
CREATE FUNCTION tab(n int) RETURNS TABLE (x int, y text) LANGUAGE plpgsql AS $$ BEGIN x := n; y := 'a'; RETURN NEXT; RETURN QUERY SELECT 1, 'b'::text; END $$;
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN NEW.name := upper(NEW.name); END IF; RETURN NEW; END $$;
CREATE FUNCTION outs(a int, OUT b int, OUT c int) LANGUAGE plpgsql AS $$ BEGIN b := a; c := a; END $$;
CREATE FUNCTION arr(a int[]) RETURNS int LANGUAGE plpgsql AS $$ DECLARE s int := 0; x int; BEGIN FOREACH x IN ARRAY a LOOP s := s + x; END LOOP; a[1] := 2; RETURN s; EXCEPTION WHEN others THEN GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE; RETURN -1; END $$;
CREATE FUNCTION sqlf(a int) RETURNS int LANGUAGE sql AS $$ SELECT a + $1 $$;
CREATE FUNCTION rec() RETURNS int LANGUAGE plpgsql AS $$ DECLARE r record; BEGIN FOR r IN SELECT * FROM plans LOOP RAISE NOTICE '%', r.name; END LOOP; RETURN 1; END $$;
CREATE FUNCTION assert_it() RETURNS void LANGUAGE plpgsql AS $$ BEGIN ASSERT (SELECT count(*) FROM plans) >= 0, 'x'; CALL nothing(); END $$;
`})
	for _, d := range diags {
		t.Error(d.Error())
	}
}
