package scope_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/scope"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime/contract"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, "scope")
}

// TestQueryIsolationOnDirtyPath runs qualified queries bound to tenant
// alpha on a connection whose search_path another client left at
// "beta, public" (what PgBouncer's transaction pooling can hand out), and
// checks that each reads and writes only alpha, and that the emitted SQL is
// valid (FOR UPDATE OF, pg_catalog.round, current_schema's rewrite).
func TestQueryIsolationOnDirtyPath(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t)
	m := isoModel(t)
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
	}
	exec("DROP SCHEMA IF EXISTS alpha CASCADE; DROP SCHEMA IF EXISTS beta CASCADE; CREATE SCHEMA alpha; CREATE SCHEMA beta")
	for _, target := range []string{"public", "alpha", "beta"} {
		exec("SET search_path = " + target + ", public")
		for _, f := range m.Files {
			for _, st := range f.Statements {
				want := scope.Tenant
				if target == "public" {
					want = scope.Shared
				}
				if sc, ok := m.Scopes[st]; ok && sc == want && st.Section == migfile.Up {
					exec(st.Text)
				}
			}
		}
	}
	for _, s := range []string{"alpha", "beta"} {
		exec(fmt.Sprintf(`INSERT INTO %[1]s.tasks (title, tenant, amount) VALUES ('a', '%[1]s', 1.25), ('b', '%[1]s', 2.25);
			INSERT INTO %[1]s.nodes (parent) VALUES (1)`, s))
	}
	exec("INSERT INTO beta.nodes (parent) SELECT 1 FROM generate_series(1, 5)")
	exec("SET search_path = beta, public")

	// raw runs SQL as is, one runs a query as tenantgen qualifies it,
	// bound to alpha.
	raw := func(sql string) []string {
		t.Helper()
		rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				out = append(out, fmt.Sprint(v))
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
		return out
	}
	one := func(sql string) []string {
		t.Helper()
		q, err := m.Query(sql)
		if err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
		return raw(contract.Bind(q.Qualified, pgx.Identifier{"alpha"}.Sanitize()))
	}
	check := func(name string, got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	check("TaskTitlesWrapped", one(`WITH tasks AS (SELECT tenant, title FROM tasks WHERE id > 0)
		SELECT tasks.tenant, tasks.title, (SELECT count(*) FROM nodes) AS n FROM tasks ORDER BY 2`),
		"alpha", "a", "1", "alpha", "b", "1")
	one(`WITH audit AS (SELECT tenant, 'title ' || title AS msg FROM tasks)
		INSERT INTO audit (tenant, msg) SELECT tenant, msg FROM audit`)
	check("RecordTaskTitles in alpha", raw("SELECT count(*) FROM alpha.audit"), "2")
	check("RecordTaskTitles in beta", raw("SELECT count(*) FROM beta.audit"), "0")
	before := raw("SELECT last_value FROM beta.tasks_id_seq")
	one("SELECT setval(pg_get_serial_sequence('tasks','id'), coalesce(max(id),0)+1000)::bigint FROM tasks")
	check("ResetTaskSeq leaves beta", raw("SELECT last_value FROM beta.tasks_id_seq"), before...)
	check("ResetTaskSeq moves alpha", raw("SELECT last_value FROM alpha.tasks_id_seq"), "1002")
	check("round of numeric stays exact", one("SELECT round(amount, 1)::text FROM tasks ORDER BY id"), "1.3", "2.3")
	check("user round by float8", one("SELECT round(amount::float8, 1)::text FROM tasks ORDER BY id"), "1.25", "2.25")
	check("lower of a row", one("SELECT lower(t) FROM tasks t ORDER BY id"), "a", "b")
	check("FOR UPDATE OF", one("SELECT t.title FROM tasks t ORDER BY id FOR UPDATE OF t"), "a", "b")
	check("current_schema", one("SELECT current_schema(), count(*) FROM tasks"), "alpha", "2")
	check("names in strings", one("SELECT pg_relation_size('nodes') > 0, nextval('node_ids'), has_table_privilege('tasks', 'SELECT')"), "true", "2", "true")
	check("tenant aggregate", one("SELECT tsum(parent) FROM nodes"), "1")
	check("tenant operator", one("SELECT count(*) FROM tasks WHERE id @~@ 1"), "2")
	check("tenant collation", one("SELECT count(DISTINCT title COLLATE tcoll) FROM tasks"), "2")
	check("range constructor", one("SELECT floatrange(1, 2)::text, floatmultirange(floatrange(1, 2))::text"), "[1,2)", "{[1,2)}")
	one("CALL bump()")
}
