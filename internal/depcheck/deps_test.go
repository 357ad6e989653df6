package depcheck

import (
	"bufio"
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/runtime/contract"
)

const module = "github.com/tenantgen/tenantgen"

// bindingOnly are the packages that only bind queries to tenants: importing
// them must not pull in the migration machinery (goose, database/sql).
var bindingOnly = []struct {
	pkg string
	// exception, when set, says why the package still does: it is checked
	// and logged, not failed.
	exception string
}{
	{pkg: module + "/runtime/contract"},
	// Issue 15: package runtime still binds queries and runs the fleet
	// (registry, goose migrations) in one package; the runtime split gives
	// binding a package of its own, which replaces this exception here.
	{pkg: module + "/runtime", exception: "issue 15: runtime still holds the fleet (goose) next to binding"},
}

// pkgInfo is one package of a go list answer.
type pkgInfo struct {
	path, dir string
	goFiles   []string
	imports   []string
}

// goList runs go list with args and parses one package per line.
func goList(t *testing.T, args ...string) []pkgInfo {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-e", "-f",
		"{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \" \"}}\t{{join .Imports \" \"}}\t{{with .Error}}{{.Err}}{{end}}"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var pkgs []pkgInfo
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			t.Fatalf("go list: unexpected line %q", sc.Text())
		}
		if f[4] != "" {
			t.Fatalf("go list: %s: %s", f[0], f[4])
		}
		pkgs = append(pkgs, pkgInfo{path: f[0], dir: f[1], goFiles: strings.Fields(f[2]), imports: strings.Fields(f[3])})
	}
	return pkgs
}

// migrationDeps lists what in the dependency closure belongs to running
// migrations: goose, pgx's database/sql adapter, and any package of this
// module that imports database/sql itself. (database/sql as such is in every
// pgx program: pgx imports it for the Scanner and Valuer interfaces.)
func migrationDeps(deps []pkgInfo) []string {
	var bad []string
	for _, p := range deps {
		switch {
		case strings.HasPrefix(p.path, "github.com/pressly/goose"),
			p.path == "github.com/jackc/pgx/v5/stdlib":
			bad = append(bad, p.path)
		case strings.HasPrefix(p.path, module+"/"):
			for _, imp := range p.imports {
				if imp == "database/sql" {
					bad = append(bad, p.path+" imports database/sql")
				}
			}
		}
	}
	return bad
}

func TestBindingOnlyPackagesPullInNoMigrations(t *testing.T) {
	for _, b := range bindingOnly {
		bad := migrationDeps(goList(t, "-deps", b.pkg))
		switch {
		case b.exception == "" && len(bad) > 0:
			t.Errorf("%s only binds queries, yet depends on %s", b.pkg, strings.Join(bad, ", "))
		case b.exception != "" && len(bad) > 0:
			t.Logf("known exception %s (%s): depends on %d migration packages", b.pkg, b.exception, len(bad))
		case b.exception != "":
			t.Logf("%s no longer depends on migrations: drop its exception (%s) from bindingOnly", b.pkg, b.exception)
		}
	}
}

// The check itself: goose is found where it is.
func TestMigrationDepsFindsGoose(t *testing.T) {
	if bad := migrationDeps(goList(t, "-deps", "github.com/pressly/goose/v3")); len(bad) == 0 {
		t.Error("goose's own closure reported clean")
	}
	if bad := migrationDeps([]pkgInfo{{path: module + "/x", imports: []string{"context", "database/sql"}}}); len(bad) != 1 {
		t.Errorf("a module package importing database/sql: %v", bad)
	}
}

// Generated code imports goose (or pgx's database/sql adapter) nowhere: the migration sets
// reach goose through the runtime, and only migrations.go deals with them.
func TestGeneratedCodeImportsNoMigrationTools(t *testing.T) {
	generated := 0
	for _, p := range goList(t, module+"/...") {
		for _, name := range p.goFiles {
			path := filepath.Join(p.dir, name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, []byte(contract.GoHeader)) {
				continue
			}
			generated++
			if name == "migrations.go" {
				continue
			}
			for _, imp := range fileImports(t, path, data) {
				// database/sql itself is fine here: sqlc's models use
				// its Null* types and driver.Valuer for nullable enums.
				if strings.HasPrefix(imp, "github.com/pressly/goose") || imp == "github.com/jackc/pgx/v5/stdlib" {
					t.Errorf("%s/%s (generated) imports %s", p.path, name, imp)
				}
			}
		}
	}
	// example/polls, example/kitchensink, the bench's benchdb and fleetdb:
	// four files each at least.
	if generated < 16 {
		t.Errorf("found %d generated Go files; the check looks at the wrong files", generated)
	}
}

func fileImports(t *testing.T, path string, src []byte) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range f.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		out = append(out, p)
	}
	return out
}

// The benchmarks stay out of the product's way: no package outside
// internal/bench depends on them.
func TestProductDoesNotDependOnBench(t *testing.T) {
	benchPrefix := module + "/internal/bench"
	cmd := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}}\t{{join .Deps \" \"}}", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, "\t")
		if pkg == benchPrefix || strings.HasPrefix(pkg, benchPrefix+"/") {
			continue
		}
		for _, d := range strings.Fields(deps) {
			if d == benchPrefix || strings.HasPrefix(d, benchPrefix+"/") {
				t.Errorf("%s depends on the benchmarks (%s)", pkg, d)
			}
		}
	}
}
