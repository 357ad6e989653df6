package main

import (
	"bytes"
	"context"
	"os"
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
	if code, _, errs := cli("generate", "-f", filepath.Join(dir, "missing.yaml")); code != 1 || !strings.Contains(errs, "tenantgen init") {
		t.Errorf("missing config: %d %s", code, errs)
	}
}
