package gen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
)

// TestQueryIsolationErrors: a query the isolation check refuses is reported
// at the offending name's line and column in the query file, with a hint,
// and nothing is written.
func TestQueryIsolationErrors(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"placeholder in a literal",
			"-- name: Hello :exec\n-- says hello\nUPDATE tasks\nSET title = 'hello from \"$tenant\"'\nWHERE id = $1;\n",
			"q.sql:4:25: query Hello: the query contains \"$tenant\""},
		{"current_schemas",
			"-- name: Path :one\nSELECT id,\n       current_schemas(true)\nFROM tasks LIMIT 1;\n",
			"q.sql:3:8: query Path: current_schemas() reports the connection's search_path"},
		{"parameter as a regclass",
			"-- name: Size :one\nSELECT pg_relation_size($1::regclass);\n",
			"q.sql:2:25: query Size: a regclass computed at run time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyProject(t, "testdata/golden")
			os.RemoveAll(filepath.Join(dir, "out"))
			if err := os.MkdirAll(filepath.Join(dir, "sql/queries"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sql/queries/q.sql"), []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(filepath.Join(dir, config.DefaultFile))
			if err != nil {
				t.Fatal(err)
			}
			_, err = gen.Generate(cfg, gen.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "hint:") {
				t.Fatalf("error does not contain %q and a hint:\n%.2000s", c.want, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
				t.Fatal("output written despite errors")
			}
		})
	}
}
