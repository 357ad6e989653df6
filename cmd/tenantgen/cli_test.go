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

func cli(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestHelp: help asked for, in every form, is the command's own, on
// stdout, with its usage line and examples, and exits 0.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage:\n  tenantgen [command]\n", "migrate", "completion", "Examples:"}},
		{[]string{"help"}, []string{"tenantgen [command]"}},
		{[]string{"help", "migrate"}, []string{"Usage:\n  tenantgen migrate [--shared", "--parallel int", "Examples:\n  tenantgen migrate"}},
		{[]string{"migrate", "-h"}, []string{"Usage:\n  tenantgen migrate [--shared", "--dry-run"}},
		{[]string{"tenant", "-h"}, []string{"Usage:\n  tenantgen tenant [command]\n", "create", "drop", "domain", "Examples:\n  tenantgen tenant create thor"}},
		{[]string{"help", "tenant", "domain"}, []string{"Usage:\n  tenantgen tenant domain [command]\n", "add", "remove", "Examples:"}},
		{[]string{"help", "tenant", "create"}, []string{"Usage:\n  tenantgen tenant create NAME...", "--domain stringArray", "Examples:\n  tenantgen tenant create thor --domain thor.polls.local"}},
		{[]string{"tenant", "create", "-h"}, []string{"Usage:\n  tenantgen tenant create NAME...", "--database-url"}},
		{[]string{"tenant", "domain", "add", "--help"}, []string{"tenantgen tenant domain add TENANT DOMAIN", "--primary"}},
		{[]string{"status", "-h"}, []string{"--check", "--json"}},
		{[]string{"tenant", "import", "-h"}, []string{"tenantgen tenant import FILE [--as NEW]", "--pg-bin string", "Examples:"}},
		{[]string{"help", "tenant", "export"}, []string{"tenantgen tenant export NAME -o FILE", "-o, --output string"}},
		{[]string{"tenant", "move", "-h"}, []string{"citus_schema_move", "--node string"}},
		{[]string{"vet", "-h"}, []string{"warnings on stderr"}},
		{[]string{"generate", "--help"}, []string{"Usage:\n  tenantgen generate [-f tenantgen.yaml]", "-f, --file string"}},
		{[]string{"exec", "-h"}, []string{"tenantgen exec --tenant NAME -- CMD", "Examples:"}},
	} {
		code, out, errs := cli(tc.args...)
		if code != 0 || errs != "" {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	// Not asked for: the help goes to stderr and the exit code is 2.
	if code, out, errs := cli(); code != 2 || out != "" || !strings.Contains(errs, "tenantgen [command]") {
		t.Errorf("no command: exit %d\nstdout %q\nstderr %q", code, out, errs)
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "bash completion", "zsh": "#compdef tenantgen", "fish": "complete -c tenantgen"} {
		code, out, errs := cli("completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, %q\n%.200s", shell, code, errs, out)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := cli("version")
	// The test binary's build info: tenantgen is the main module, sqlc a
	// dependency at the version go.mod requires.
	if code != 0 || !strings.HasPrefix(out, "tenantgen (devel)") || !strings.Contains(out, "\nsqlc v1.") || !strings.Contains(out, "\ngo1.") {
		t.Errorf("version: exit %d\n%s", code, out)
	}
}

// TestErrorPrefix: every message tenantgen prints itself starts with
// "tenantgen: ", usage errors add the command's usage line and exit 2.
func TestErrorPrefix(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, "tenantgen: unknown command \"frobnicate\" for \"tenantgen\""},
		{[]string{"generat"}, 2, `(did you mean "generate"?)`},
		{[]string{"tenant", "frob"}, 2, "tenantgen: unknown command \"frob\" for \"tenantgen tenant\""},
		{[]string{"tenant"}, 2, "tenantgen: missing subcommand: create, list, drop, domain, rename, suspend, resume, export, import, move, rebalance\nusage: tenantgen tenant [command]\n"},
		{[]string{"migrate", "--bogus"}, 2, "tenantgen: unknown flag: --bogus\nusage: tenantgen migrate [--shared"},
		{[]string{"status"}, 2, "tenantgen: no database: pass --database-url or set DATABASE_URL\nusage: tenantgen status"},
		{[]string{"generate", "-f", filepath.Join(empty, "nope.yaml")}, 1, "tenantgen: " + filepath.Join(empty, "nope.yaml") + ": no such file"},
		{[]string{"init", "a", "b"}, 2, "tenantgen: init takes at most one directory"},
		{[]string{"tenant", "create", "--database-url", "postgres://x@127.0.0.1:1/x", "Thor"}, 2, "tenantgen: invalid tenant name"},
	} {
		code, out, errs := cli(tc.args...)
		if code != tc.code || out != "" || !strings.HasPrefix(errs, "tenantgen: ") || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d (want %d)\nstdout %q\nstderr %q\nwant %q", tc.args, code, tc.code, out, errs, tc.want)
		}
	}
	// The init refusal, from the init command.
	if code, _, _ := cli("init", empty); code != 0 {
		t.Fatal("init")
	}
	if code, _, errs := cli("init", empty); code != 1 || !strings.HasPrefix(errs, "tenantgen: init: not overwriting") {
		t.Errorf("second init: %d %q", code, errs)
	}
}

// TestConfigFoundAbove: without -f, the nearest tenantgen.yaml in the
// working directory or above it; the init hint only when there is none.
func TestConfigFoundAbove(t *testing.T) {
	dir := pgtest.CopyDir(t, "../../example/polls")
	t.Chdir(filepath.Join(dir, "sql", "queries"))
	if code, _, errs := cli("diff"); code != 0 {
		t.Fatalf("diff from a subdirectory: exit %d: %s", code, errs)
	}
	if err := os.WriteFile(filepath.Join(dir, "sql/schema/00002_x.sql"), []byte("-- +goose Up\n-- tenantgen:tenant\nCREATE TABLE x (id int);\n-- +goose Down\nDROP TABLE x;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cli("generate"); code != 0 {
		t.Fatalf("generate from a subdirectory: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "db/migrations/tenant/00002_x.sql")); err != nil {
		t.Fatal(err)
	}
	// Nothing up to the root.
	none := t.TempDir()
	t.Chdir(none)
	code, _, errs := cli("vet")
	if code != 1 || !strings.Contains(errs, "no tenantgen.yaml in "+none+" or any directory above it") || !strings.Contains(errs, "run `tenantgen init`") {
		t.Errorf("no config anywhere: exit %d: %s", code, errs)
	}
}
