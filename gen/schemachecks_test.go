package gen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
)

// TestSchemaChecksThroughGenerate: what the schema analysis now rejects
// (issue 11 §2-3) stops tenantgen generate with a positioned error and a
// hint, and nothing is written; moving a table between scopes over
// migrations generates.
func TestSchemaChecksThroughGenerate(t *testing.T) {
	cases := []struct {
		name, file, content, want string
	}{
		{"shared body reading a tenant table", "sql/schema/00009_fn.sql",
			"-- +goose Up\n-- tenantgen:shared\nCREATE FUNCTION n() RETURNS bigint LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN (SELECT count(*) FROM tasks);\nEND\n$$;\n",
			"00009_fn.sql:5:32: shared CREATE FUNCTION n depends on tenant table tasks (relation in the body)"},
		{"shared DO block writing a tenant table", "sql/schema/00009_do.sql",
			"-- +goose Up\n-- tenantgen:shared\nDO $$ BEGIN INSERT INTO tasks (title) VALUES ('x'); END $$;\n",
			"00009_do.sql:3:25: shared DO block depends on tenant table tasks"},
		{"current_schema() in a tenant default", "sql/schema/00009_cs.sql",
			"-- +goose Up\nALTER TABLE tasks ADD COLUMN owner text DEFAULT current_schema();\n",
			"00009_cs.sql:2:49: tenant ALTER TABLE tasks calls current_schema()"},
		{":copyfrom into public.<tenant table>", "sql/queries/copy.sql",
			"-- name: CopyTasks :copyfrom\nINSERT INTO public.tasks (title) VALUES ($1);\n",
			"copy.sql:1:1: query CopyTasks: tenant table tasks is named public.tasks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyProject(t, "testdata/golden")
			os.RemoveAll(filepath.Join(dir, "out"))
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, c.file)), 0o755); err != nil {
				t.Fatal(err)
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
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "hint: ") {
				t.Fatalf("error does not contain %q and a hint:\n%.2000s", c.want, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
				t.Fatal("output written despite errors")
			}
		})
	}

	t.Run("a tenant table moved to shared", func(t *testing.T) {
		dir := copyProject(t, "testdata/golden")
		move := "-- +goose Up\nDROP TABLE task_log;\n-- tenantgen:shared\nCREATE TABLE task_log (id bigserial PRIMARY KEY, note text NOT NULL);\n" +
			"-- +goose Down\nDROP TABLE task_log;\n"
		if err := os.WriteFile(filepath.Join(dir, "sql/schema/00009_move.sql"), []byte(move), 0o644); err != nil {
			t.Fatal(err)
		}
		out := generate(t, dir)
		if sc, ok := out.Model.ScopeOf("", "task_log"); !ok || sc.String() != "shared" {
			t.Fatalf("task_log is %s (%v), want shared", sc, ok)
		}
	})
}
