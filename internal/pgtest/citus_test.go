package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m, "pgtest") }

// A Citus database is made on every node, with the extension, and the
// workers are registered with the coordinator: what citus_schema_move and
// create_reference_table need.
func TestCitusDatabaseOnEveryNode(t *testing.T) {
	ctx := context.Background()
	for name, u := range map[string]string{"package": CitusURL(t), "test": NewCitusDatabase(t)} {
		var workers int
		if err := execOn(ctx, u); err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_dist_node WHERE isactive AND noderole = 'primary' AND shouldhaveshards`).Scan(&workers)
		conn.Close(ctx)
		if err != nil || workers != len(CitusWorkers()) {
			t.Fatalf("%s database: %d workers with shards, %v; want %d", name, workers, err, len(CitusWorkers()))
		}
		for _, w := range CitusWorkers() {
			if err := execOn(ctx, WithDatabase(withHostPort(u, w), databaseName(u)), "SELECT citus_version()"); err != nil {
				t.Errorf("%s database on %s: %v", name, w, err)
			}
		}
	}
}

func TestWithHostPort(t *testing.T) {
	for _, c := range []struct{ in, hp, want string }{
		{"postgres://u@127.0.0.1:5441/db?sslmode=disable", "127.0.0.1:5442", "postgres://u@127.0.0.1:5442/db?sslmode=disable"},
		{"postgres://u@127.0.0.1:5441/db", "", "postgres://u@127.0.0.1:5441/db"},
		{"host=127.0.0.1 port=5441", "h:5443", "host=127.0.0.1 port=5441 host=h port=5443"},
	} {
		if got := withHostPort(c.in, c.hp); got != c.want {
			t.Errorf("withHostPort(%q, %q) = %q, want %q", c.in, c.hp, got, c.want)
		}
	}
}
