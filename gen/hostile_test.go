package gen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
)

// TestHostileInput feeds the generator files no one should write: each must
// give a positioned error, no panic, and write nothing.
func TestHostileInput(t *testing.T) {
	huge := "-- +goose Up\n-- tenantgen:tenant\n" + strings.Repeat("CREATE TABLE t (id int);\nDROP TABLE t;\n", 50000) + "CREATE TABLE x (id int REFERENCES nowhere_tenant (id);\n"
	cases := []struct {
		name, file, content, want string
		queries                   bool
	}{
		{"binary junk", "sql/schema/00009_junk.sql", "\x00\x01\x02\xff\xfe garbage", "00009_junk.sql:1:1: invalid UTF-8 or NUL byte", false},
		{"unterminated dollar quote", "sql/schema/00009_dq.sql", "-- +goose Up\n-- tenantgen:tenant\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1;\n", "00009_dq.sql:3:", false},
		{"unknown marker", "sql/schema/00009_m.sql", "-- +goose Up\n-- tenantgen:tenat\nCREATE TABLE m (id int);\n", `00009_m.sql:2:1: unknown tenantgen marker "tenat"`, false},
		{"huge file", "sql/schema/00009_huge.sql", huge, "00009_huge.sql:100003:", false},
		{"binary junk query", "sql/queries/junk.sql", "-- name: X :one\n\x00\xff\xfe;", "junk.sql:2:1: invalid UTF-8 or NUL byte", true},
		{"query syntax", "sql/queries/bad.sql", "-- name: Bad :one\nSELEC id FROM tasks;\n", "bad.sql:2:", true},
		{"shared-marked tenant query", "sql/queries/scope.sql", "-- name: Leaky :many\n-- tenantgen:shared\nSELECT id FROM tasks;\n", "scope.sql:1:1: query Leaky is marked shared but uses tenant tasks", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyProject(t, "testdata/golden")
			os.RemoveAll(filepath.Join(dir, "out"))
			if c.queries {
				if err := os.MkdirAll(filepath.Join(dir, "sql/queries"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, c.file), []byte(c.content), 0o644); err != nil {
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
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error does not contain %q:\n%.2000s", c.want, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
				t.Fatal("output written despite errors")
			}
		})
	}
}
