package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/internal/pgtest"
)

func TestGenerateVetDiffExitCodes(t *testing.T) {
	dir := pgtest.CopyDir(t, "../../example/polls")
	cfg := filepath.Join(dir, "tenantgen.yaml")
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := cli("diff", "-f", cfg); code != 0 || out != "" {
		t.Fatalf("diff on a current project: %d %q %q", code, out, errs)
	}
	if code, _, errs := cli("vet", "-f", cfg); code != 0 {
		t.Fatalf("vet: %d %s", code, errs)
	}
	// A new migration makes the generated files stale.
	extra := "-- +goose Up\nALTER TABLE questions ADD COLUMN closed boolean NOT NULL DEFAULT false;\n-- +goose Down\nALTER TABLE questions DROP COLUMN closed;\n"
	if err := os.WriteFile(filepath.Join(dir, "sql/schema/00002_closed.sql"), []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := cli("diff", "-f", cfg)
	if code != 1 || !strings.Contains(out, "+++ b/") || !strings.Contains(out, "migrations/tenant/00002_closed.sql") || !strings.Contains(out, "+\tClosed") {
		t.Fatalf("diff on a stale project: exit %d\n%s", code, out)
	}
	if code, _, errs := cli("generate", "-f", cfg); code != 0 {
		t.Fatalf("generate: %d %s", code, errs)
	}
	if code, out, _ := cli("diff", "-f", cfg); code != 0 {
		t.Fatalf("diff after generate: %d\n%s", code, out)
	}
	// Bad input: exit 1, positioned messages, nothing written.
	bad := "-- +goose Up\n-- tenantgen:shared\nCREATE TABLE leak (q bigint REFERENCES questions (id));\n"
	if err := os.WriteFile(filepath.Join(dir, "sql/schema/00003_leak.sql"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := cli("generate", "-f", cfg)
	if code != 1 || !strings.Contains(errs, "00003_leak.sql:3:40: shared CREATE TABLE leak depends on tenant table questions (foreign key)") {
		t.Fatalf("generate with a shared->tenant foreign key: %d\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "db/migrations/shared/00003_leak.sql")); !os.IsNotExist(err) {
		t.Fatal("written despite errors")
	}
	// Usage errors exit 2.
	for _, args := range [][]string{{"generate", "extra"}, {"generate", "-nope"}, {"frobnicate"}, {}} {
		if code, _, _ := cli(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	// A config named with -f that is not there is a typo, not a missing
	// project: no init hint.
	if code, _, errs := cli("generate", "-f", filepath.Join(dir, "missing.yaml")); code != 1 || !strings.Contains(errs, "missing.yaml: no such file") || strings.Contains(errs, "tenantgen init") {
		t.Errorf("missing config: %d %s", code, errs)
	}
}

// TestDiffApplies applies what diff prints with git apply and with patch to
// copies of a stale project: both must end up with the files generate
// writes, new, changed and deleted ones alike.
func TestDiffApplies(t *testing.T) {
	dir := pgtest.CopyDir(t, "../../example/polls")
	t.Chdir(dir)
	// A new migration (new files, changed models) and a removed query file
	// (a deleted file).
	extra := "-- +goose Up\nALTER TABLE questions ADD COLUMN closed boolean NOT NULL DEFAULT false;\n-- +goose Down\nALTER TABLE questions DROP COLUMN closed;\n"
	if err := os.WriteFile("sql/schema/00002_closed.sql", []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove("sql/queries/plans.sql"); err != nil {
		t.Fatal(err)
	}
	var patch, errb bytes.Buffer
	if code := run(context.Background(), []string{"diff"}, &patch, &errb); code != 1 {
		t.Fatalf("diff: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"--- /dev/null\n+++ b/db/migrations/tenant/00002_closed.sql\n@@ -0,0 +1,", "--- a/db/plans.sql.go\n+++ /dev/null\n"} {
		if !strings.Contains(patch.String(), want) {
			t.Fatalf("diff lacks %q:\n%s", want, patch.String())
		}
	}
	copies := map[string][]string{
		"git":   {"git", "apply", "-p1"},
		"patch": {"patch", "-p1", "--quiet"},
	}
	for name := range copies {
		if _, err := exec.LookPath(copies[name][0]); err != nil {
			t.Skipf("no %s", copies[name][0])
		}
	}
	applied := map[string]string{}
	for name, argv := range copies {
		c := pgtest.CopyDir(t, dir)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = c
		cmd.Stdin = strings.NewReader(patch.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s refuses the diff: %v\n%s\n%s", name, err, out, patch.String())
		}
		applied[name] = c
	}
	if code := run(context.Background(), []string{"generate"}, &bytes.Buffer{}, &errb); code != 0 {
		t.Fatalf("generate: %s", errb.String())
	}
	want := tree(t, filepath.Join(dir, "db"))
	for name, c := range applied {
		got := tree(t, filepath.Join(c, "db"))
		for p, content := range want {
			if got[p] != content {
				t.Errorf("%s: %s differs from what generate writes", name, p)
			}
		}
		for p := range got {
			if _, ok := want[p]; !ok {
				t.Errorf("%s: %s left behind", name, p)
			}
		}
	}
}

// tree reads every file below dir, by slash path.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestQueryErrors: query errors point at the misspelt name, with a hint
// from the schema, and come with the schema's errors; a statement of no
// scope has no follow-on error on its Down statement.
func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		name, schema, queries string
		want                  string // the whole of stderr
	}{{
		name:    "relation",
		queries: "-- name: ListQuestons :many\n-- with a comment\nSELECT * FROM questons ORDER BY id;\n",
		want: `sql/queries/extra.sql:3:15: relation "questons" does not exist
	hint: queries are checked against every table of sql/schema, shared and tenant (did you mean "questions"?)
`,
	}, {
		name:    "qualified column",
		queries: "-- name: Texts :many\nSELECT q.id, q.txt FROM questions q;\n",
		want: `sql/queries/extra.sql:2:16: column "txt" does not exist
	hint: questions has columns id, text, created_at (did you mean "text"?)
`,
	}, {
		name:    "column in a later query",
		queries: "-- name: A :many\nSELECT 1 AS one;\n\n-- name: Vote :exec\nINSERT INTO votes (choice, cast_at) VALUES ($1, now());\n",
		want: `sql/queries/extra.sql:5:20: column "choice" does not exist
	hint: votes has columns id, choice_id, cast_at (did you mean "choice_id"?)
`,
	}, {
		name:    "schema and queries at once, no follow-on on Down",
		schema:  "-- +goose Up\nCREATE TABLE orphan (id int);\n-- tenantgen:tenat\n\n-- +goose Down\nDROP TABLE orphan;\n",
		queries: "-- name: Orphans :many\nSELECT id FROM orphan;\n\n-- name: Plan :one\nSELECT * FROM plan WHERE id = $1;\n",
		want: `sql/schema/00002_bad.sql:2:1: cannot tell the scope of CREATE TABLE orphan: no tenantgen marker is in force
	hint: put -- tenantgen:shared or -- tenantgen:tenant on the line above it
sql/schema/00002_bad.sql:3:1: unknown tenantgen marker "tenat"
	hint: write -- tenantgen:shared or -- tenantgen:tenant (did you mean "tenant"?)
sql/queries/extra.sql:5:15: relation "plan" does not exist
	hint: queries are checked against every table of sql/schema, shared and tenant (did you mean "plans"?)
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := pgtest.CopyDir(t, "../../example/polls")
			t.Chdir(dir)
			if tc.schema != "" {
				if err := os.WriteFile("sql/schema/00002_bad.sql", []byte(tc.schema), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile("sql/queries/extra.sql", []byte(tc.queries), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errs := cli("vet")
			if code != 1 || out != "" || errs != tc.want {
				t.Errorf("exit %d, stdout %q\ngot:\n%s\nwant:\n%s", code, out, errs, tc.want)
			}
		})
	}
}
