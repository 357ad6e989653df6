package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitNewcomerPath runs what the README tells a newcomer: init in a
// fresh module, then go mod tidy and go generate, and the package builds.
func TestInitNewcomerPath(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	dir := t.TempDir()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	sh := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	sh("go", "mod", "init", "example.com/app")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"init", dir}, &out, &errb); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb.String())
	}
	// What `go get -tool github.com/tenantgen/tenantgen/cmd/tenantgen` does,
	// pointed at this checkout.
	sh("go", "mod", "edit",
		"-require", "github.com/tenantgen/tenantgen@v0.0.0-00010101000000-000000000000",
		"-replace", "github.com/tenantgen/tenantgen="+repo,
		"-tool", "github.com/tenantgen/tenantgen/cmd/tenantgen")
	sh("go", "mod", "tidy")
	sh("go", "generate", "./...")
	sh("go", "build", "./...")
	sh("go", "vet", "./...")
	// Run as a tool, tenantgen is a dependency in the build info.
	version := exec.Command("go", "tool", "tenantgen", "version")
	version.Dir = dir
	version.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := version.CombinedOutput(); err != nil || !strings.Contains(string(out), "tenantgen v0.0.0-00010101000000-000000000000 => "+repo+"\n") || !strings.Contains(string(out), "\nsqlc v1.31.1\n") {
		t.Errorf("go tool tenantgen version: %v\n%s", err, out)
	}
	for _, f := range []string{"internal/db/db.go", "internal/db/polls.sql.go", "internal/db/migrations/tenant/00001_init.sql", "internal/db/migrations/shared/00001_init.sql"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}

	// Renaming a query file makes its generated file stale; go generate
	// had listed that file before tenantgen ran and reads it afterwards.
	if err := os.Rename(filepath.Join(dir, "sql/queries/plans.sql"), filepath.Join(dir, "sql/queries/shared_plans.sql")); err != nil {
		t.Fatal(err)
	}
	if out := sh("go", "generate", "./..."); !strings.Contains(out, "1 stale file(s) emptied into build-ignored stubs") {
		t.Errorf("no note on the tombstone:\n%s", out)
	}
	sh("go", "build", "./...")
	sh("go", "generate", "./...") // deletes the tombstone
	sh("go", "vet", "./...")
	if _, err := os.Stat(filepath.Join(dir, "internal/db/plans.sql.go")); !os.IsNotExist(err) {
		t.Errorf("the stale plans.sql.go is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "internal/db/shared_plans.sql.go")); err != nil {
		t.Error(err)
	}

	// A second init refuses, naming what exists; --force overwrites.
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"init", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "tenantgen.yaml") || !strings.Contains(errb.String(), "--force") {
		t.Fatalf("second init: exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"init", "--force", dir}, &out, &errb); code != 0 {
		t.Fatalf("init --force: exit %d", code)
	}
}

// TestInitIsTheTour: init writes the tour's project, whose finished form is
// example/polls: the same schema and queries.
func TestInitIsTheTour(t *testing.T) {
	for _, f := range []string{"sql/schema/00001_init.sql", "sql/queries/plans.sql", "sql/queries/polls.sql"} {
		tmpl, err := os.ReadFile(filepath.Join("../../templates/init", f))
		if err != nil {
			t.Fatal(err)
		}
		example, err := os.ReadFile(filepath.Join("../../example/polls", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tmpl, example) {
			t.Errorf("templates/init/%s differs from example/polls/%s", f, f)
		}
	}
}
