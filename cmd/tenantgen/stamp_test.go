package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/internal/pgtest"
)

// TestNoOpGenerate: a generate over a project the last generate left as it
// is runs nothing; any change to what goes in or came out runs it all.
func TestNoOpGenerate(t *testing.T) {
	t.Setenv("TENANTGEN_CACHE", t.TempDir())
	dir := pgtest.CopyDir(t, "../../example/polls")
	t.Chdir(dir)
	edit := func(path string, f func(string) string) func(t *testing.T) {
		return func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(f(string(data))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendTo := func(path, text string) func(t *testing.T) {
		return func(t *testing.T) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				_, err = f.WriteString(text)
				f.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	remove := func(path string) func(t *testing.T) {
		return func(t *testing.T) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T)
		args   []string
		full   bool
	}{
		{"first run", func(*testing.T) {}, nil, true},
		{"nothing changed", func(*testing.T) {}, nil, false},
		{"schema file edited", appendTo("sql/schema/00001_init.sql", "-- a comment\n"), nil, true},
		{"schema file added", appendTo("sql/schema/00002_tags.sql", "-- +goose Up\n-- tenantgen:tenant\nCREATE TABLE tags (id int);\n-- +goose Down\nDROP TABLE tags;\n"), nil, true},
		{"query file edited", appendTo("sql/queries/plans.sql", "\n-- name: CountPlans :one\nSELECT count(*) FROM plans;\n"), nil, true},
		{"query file renamed", func(t *testing.T) {
			if err := os.Rename("sql/queries/plans.sql", "sql/queries/shared.sql"); err != nil {
				t.Fatal(err)
			}
		}, nil, true},
		{"config edited", appendTo("tenantgen.yaml", "# a comment\n"), nil, true},
		{"generated file edited", edit("db/models.go", func(s string) string { return strings.Replace(s, "package db", "package db // edited", 1) }), nil, true},
		{"generated file removed", remove("db/migrations/tenant/00002_tags.sql"), nil, true},
		{"foreign file added to the output", appendTo("db/notes.txt", "mine\n"), nil, true},
		{"tenantgen or sqlc version changed", func(t *testing.T) {
			old := toolID
			toolID = func() string { return old() + " v9.9.9" }
			t.Cleanup(func() { toolID = old })
		}, nil, true},
		{"--force", func(*testing.T) {}, []string{"--force"}, true},
		{"nothing changed again", func(*testing.T) {}, nil, false},
	} {
		tc.change(t)
		before := fullRuns
		if code, _, errs := cli(append([]string{"generate"}, tc.args...)...); code != 0 {
			t.Fatalf("%s: generate: exit %d: %s", tc.name, code, errs)
		}
		if full := fullRuns > before; full != tc.full {
			t.Errorf("%s: full run %v, want %v", tc.name, full, tc.full)
		}
		// Whatever the path, the output is current, and a rerun is a no-op.
		before = fullRuns
		if code, out, errs := cli("diff"); code != 0 {
			t.Fatalf("%s: diff after generate: exit %d\n%s%s", tc.name, code, out, errs)
		}
		if code, _, _ := cli("generate"); code != 0 || fullRuns != before {
			t.Errorf("%s: the rerun was not a no-op", tc.name)
		}
	}
	// The edited model was regenerated.
	if data, _ := os.ReadFile(filepath.Join(dir, "db/models.go")); strings.Contains(string(data), "// edited") {
		t.Error("an edited generated file was left as edited")
	}
}
