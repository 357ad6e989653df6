package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// cliProject is a project directory whose tenantgen.yaml points at
// generated migration sets, on a database of its own.
type cliProject struct {
	t     *testing.T
	dir   string
	cfg   string
	url   string
	admin *pgx.Conn
}

const cliSharedInit = `-- +goose Up
CREATE TABLE plans (id int PRIMARY KEY);

-- +goose Down
DROP TABLE plans;
`

const cliTenantInit = `-- +goose Up
CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL);

-- +goose Down
DROP TABLE items;
`

func newCLIProject(t *testing.T) *cliProject {
	t.Helper()
	return newCLIProjectOn(t, pgtest.NewDatabase(t))
}

// newCLIProjectOn is newCLIProject on the database at url.
func newCLIProjectOn(t *testing.T, url string) *cliProject {
	t.Helper()
	ctx := context.Background()
	p := &cliProject{t: t, dir: t.TempDir(), url: url}
	admin, err := pgx.Connect(ctx, p.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	p.admin = admin
	p.cfg = filepath.Join(p.dir, "tenantgen.yaml")
	p.write("tenantgen.yaml", "version: 1\nout: internal/db\n")
	p.write("internal/db/migrations/shared/00001_init.sql", cliSharedInit)
	p.write("internal/db/migrations/tenant/00001_init.sql", cliTenantInit)
	return p
}

func (p *cliProject) write(rel, content string) {
	p.t.Helper()
	path := filepath.Join(p.dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// tenantMigration writes a tenant migration file.
func (p *cliProject) tenantMigration(name, content string) {
	p.write(filepath.Join("internal/db/migrations/tenant", name), content)
}

// run runs tenantgen with args; the database and config flags are added
// after the command (and subcommand) unless noDB.
func (p *cliProject) run(args ...string) (code int, stdout, stderr string) {
	p.t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// db inserts the database and config flags after the command words.
func (p *cliProject) db(words ...string) []string {
	n := 1
	if len(words) > 1 && words[0] == "tenant" {
		n = 2
	}
	out := append([]string{}, words[:n]...)
	out = append(out, "--database-url", p.url, "-f", p.cfg)
	return append(out, words[n:]...)
}

func (p *cliProject) must(args ...string) string {
	p.t.Helper()
	code, out, errb := p.run(args...)
	if code != 0 {
		p.t.Fatalf("tenantgen %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errb)
	}
	return out
}

func (p *cliProject) expect(want int, args ...string) (stdout, stderr string) {
	p.t.Helper()
	code, out, errb := p.run(args...)
	if code != want {
		p.t.Fatalf("tenantgen %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errb)
	}
	return out, errb
}

func (p *cliProject) int(query string, args ...any) int {
	p.t.Helper()
	var n int
	if err := p.admin.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		p.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (p *cliProject) version(tenant string) int {
	return p.int(`SELECT coalesce(max(version_id), 0) FROM ` + pgx.Identifier{tenant, "goose_db_version"}.Sanitize())
}

func (p *cliProject) schemaCount() int {
	return p.int(`SELECT count(*) FROM pg_namespace`)
}

func TestCLITenantsAndMigrate(t *testing.T) {
	p := newCLIProject(t)

	// The registry comes with the shared migrations.
	_, errb := p.expect(1, p.db("tenant", "create", "thor")...)
	if !strings.Contains(errb, "migrate --shared") {
		t.Errorf("creating before the registry exists: %s", errb)
	}
	out := p.must(p.db("migrate")...)
	if !strings.Contains(out, "shared: 3 migration(s) applied") || !strings.Contains(out, "tenants: 0 total") {
		t.Errorf("migrate: %s", out)
	}

	out = p.must(p.db("tenant", "create", "--domain", "Thor.Example.com", "thor")...)
	if !strings.Contains(out, "created tenant thor") {
		t.Errorf("create: %s", out)
	}
	p.must(p.db("tenant", "create", "loki", "select")...)
	// Flags after the names, as users type them.
	out = p.must("tenant", "create", "odin", "--domain", "odin.polls.local", "--database-url", p.url, "-f", p.cfg)
	if !strings.Contains(out, "created tenant odin") || p.int(`SELECT count(*) FROM tenantgen_domains WHERE domain = 'odin.polls.local'`) != 1 {
		t.Errorf("create with the flag last: %s", out)
	}
	p.must("tenant", "drop", "odin", "--confirm", "odin", "--database-url", p.url, "-f", p.cfg)
	_, errb = p.expect(1, p.db("tenant", "create", "thor")...)
	if !strings.Contains(errb, "already exists") {
		t.Errorf("second create: %s", errb)
	}
	// The flag goes before or after the verb.
	p.must(p.db("tenant", "domain", "add", "--primary", "thor", "www.thor.io")...)
	p.must(p.db("tenant", "domain", "--primary", "add", "thor", "thor.io")...)
	p.must(p.db("tenant", "domain", "remove", "www.thor.io")...)
	p.expect(2, p.db("tenant", "domain", "add", "Not Valid", "x.io")...)

	// Hostile names exit 2 and create nothing.
	schemas := p.schemaCount()
	for _, name := range []string{`x"; DROP SCHEMA public CASCADE; --`, "Thor", "pg_x", "public", "thör", strings.Repeat("a", 64), ""} {
		_, errb := p.expect(2, p.db("tenant", "create", name)...)
		if !strings.Contains(errb, "invalid tenant name") && name != "" {
			t.Errorf("create %q: %s", name, errb)
		}
	}
	if p.schemaCount() != schemas || p.int(`SELECT count(*) FROM tenantgen_tenants`) != 3 {
		t.Fatal("a refused name created something")
	}

	// tenant list --json
	var list []struct {
		Name    string `json:"name"`
		State   string `json:"state"`
		Domains []struct {
			Domain  string `json:"domain"`
			Primary bool   `json:"primary"`
		} `json:"domains"`
	}
	if err := json.Unmarshal([]byte(p.must(p.db("tenant", "list", "--json")...)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Name != "loki" || list[1].Name != "select" || list[2].Name != "thor" || list[2].State != "active" ||
		len(list[2].Domains) != 2 || list[2].Domains[0].Domain != "thor.io" || !list[2].Domains[0].Primary || list[2].Domains[1].Primary || list[0].Domains == nil {
		t.Fatalf("tenant list --json: %+v", list)
	}
	out = p.must(p.db("tenant", "list")...)
	if !strings.Contains(out, "TENANT") || !strings.Contains(out, "thor.io* thor.example.com") {
		t.Errorf("tenant list:\n%s", out)
	}

	// status --json
	var st runtime.FleetStatus
	raw := p.must(p.db("status", "--json")...)
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}

	if st.Shared.Version != 1 || len(st.Tenants) != 3 || st.UpToDate != 3 || st.Tenants[2].Version != 1 {
		t.Fatalf("status --json: %+v", st)
	}

	// A new version: status shows them behind, a dry run changes nothing,
	// migrate brings them up.
	p.tenantMigration("00002_sku.sql", "-- +goose Up\nALTER TABLE items ADD COLUMN sku text;\n\n-- +goose Down\nALTER TABLE items DROP COLUMN sku;\n")
	out = p.must(p.db("status")...)
	if !strings.Contains(out, "3 tenants: 0 up to date, 3 behind") || !strings.Contains(out, "behind") {
		t.Errorf("status:\n%s", out)
	}
	// status --json has the fields the README documents (note is there
	// for tenants that are behind).
	if got, want := jsonKeys(t, p.must(p.db("status", "--json")...)), jsonKeys(t, readmeStatusJSON(t)); got != want {
		t.Errorf("status --json has the fields %s; the README documents %s", got, want)
	}
	// status --check fails while tenants are behind.
	out, errb = p.expect(1, p.db("status", "--check")...)
	if !strings.Contains(out, "3 behind") || !strings.Contains(errb, "tenantgen: status check failed: 3 tenant(s) behind") {
		t.Errorf("status --check, behind:\n%s%s", out, errb)
	}
	out = p.must(p.db("migrate", "--dry-run")...)
	if !strings.Contains(out, "thor: 1 -> 2") || p.version("thor") != 1 {
		t.Errorf("dry run:\n%s", out)
	}
	out = p.must(p.db("migrate", "--tenants", "--parallel", "2")...)
	if !strings.Contains(out, "3 migrated, 0 failed") || p.version("thor") != 2 || p.version("select") != 2 {
		t.Errorf("migrate --tenants:\n%s", out)
	}

	// One tenant fails: the others migrate, exit 1 with the failure listed;
	// the rerun after the fix resumes.
	p.tenantMigration("00003_notes.sql", `-- +goose Up
CREATE TABLE notes (id int);
-- +goose StatementBegin
DO $$ BEGIN IF current_schema() = 'thor' THEN RAISE EXCEPTION 'boom'; END IF; END $$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE notes;
`)
	out, errb = p.expect(1, p.db("migrate")...)
	if !strings.Contains(out, "2 migrated, 1 failed") || !strings.Contains(errb, "failed tenants") ||
		!strings.Contains(errb, "thor (at version 2)") || !strings.Contains(errb, "boom") || !strings.Contains(errb, "version 3") {
		t.Errorf("failing migrate:\nstdout: %s\nstderr: %s", out, errb)
	}
	if p.version("thor") != 2 || p.version("loki") != 3 {
		t.Fatal("wrong versions after a partial failure")
	}
	p.tenantMigration("00003_notes.sql", "-- +goose Up\nCREATE TABLE notes (id int);\n\n-- +goose Down\nDROP TABLE notes;\n")
	out = p.must(p.db("migrate", "--tenant", "thor")...)
	if !strings.Contains(out, "1 total, 0 up to date, 1 migrated") || p.version("thor") != 3 {
		t.Errorf("rerun:\n%s", out)
	}
	out = p.must(p.db("migrate")...)
	if !strings.Contains(out, "3 total, 3 up to date, 0 migrated") {
		t.Errorf("no-op:\n%s", out)
	}
	p.must(p.db("status", "--check")...)
	p.must(p.db("migrate", "--down-to", "1", "--tenant", "loki")...)
	if p.version("loki") != 1 || p.version("thor") != 3 {
		t.Fatal("--down-to")
	}
	// Ahead of the files: a tenant at a version whose file is gone.
	p.must(p.db("migrate", "--tenant", "loki")...)
	p.tenantMigration("00004_more.sql", "-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 1;\n")
	p.must(p.db("migrate", "--tenant", "loki")...)
	if err := os.Remove(filepath.Join(p.dir, "internal/db/migrations/tenant/00004_more.sql")); err != nil {
		t.Fatal(err)
	}
	var stj runtime.FleetStatus
	out, errb = p.expect(1, p.db("status", "--check", "--json")...)
	if err := json.Unmarshal([]byte(out), &stj); err != nil || stj.Ahead != 1 || !strings.Contains(errb, "1 tenant(s) ahead of the files") {
		t.Errorf("status --check, ahead: %v\n%s%s", err, out, errb)
	}
	p.tenantMigration("00004_more.sql", "-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 1;\n")
	p.must(p.db("migrate", "--tenant", "loki", "--down-to", "3")...)
	if err := os.Remove(filepath.Join(p.dir, "internal/db/migrations/tenant/00004_more.sql")); err != nil {
		t.Fatal(err)
	}
	// A tenant whose creation failed half-way is not active.
	if _, err := p.admin.Exec(context.Background(), `UPDATE tenantgen_tenants SET state = 'creating' WHERE name = 'select'`); err != nil {
		t.Fatal(err)
	}
	_, errb = p.expect(1, p.db("status", "--check")...)
	if !strings.Contains(errb, "unfinished: select (creating)") {
		t.Errorf("status --check, creating: %s", errb)
	}
	if _, err := p.admin.Exec(context.Background(), `UPDATE tenantgen_tenants SET state = 'active' WHERE name = 'select'`); err != nil {
		t.Fatal(err)
	}
	p.must(p.db("status", "--check")...)
	_, errb = p.expect(1, p.db("migrate", "--tenant", "ghost")...)
	if !strings.Contains(errb, "not found") {
		t.Errorf("migrate --tenant ghost: %s", errb)
	}

	// Usage errors exit 2.
	for _, args := range [][]string{
		p.db("migrate", "--parallel", "0"),
		p.db("migrate", "--shared", "--tenants"),
		p.db("migrate", "--shared", "--down-to", "1"),
		p.db("migrate", "--bogus"),
		{"tenant"},
		p.db("tenant", "frob"),
		p.db("tenant", "drop", "thor"),
		p.db("tenant", "drop", "--confirm", "loki", "thor"),
		p.db("tenant", "drop", "--confirm", "thor", "thor", "loki"),
		{"no-such-command"},
		{},
	} {
		p.expect(2, args...)
	}
	if p.version("thor") != 3 {
		t.Fatal("a refused drop dropped")
	}
	p.must(p.db("tenant", "drop", "--confirm", "thor", "thor")...)
	if p.int(`SELECT count(*) FROM pg_namespace WHERE nspname = 'thor'`) != 0 {
		t.Fatal("thor not dropped")
	}
	p.expect(1, p.db("tenant", "drop", "--confirm", "thor", "thor")...)

	// The URL from DATABASE_URL, or a usage error without one.
	t.Setenv("DATABASE_URL", p.url)
	p.must("status", "-f", p.cfg)
	t.Setenv("DATABASE_URL", "")
	_, errb = p.expect(2, "status", "-f", p.cfg)
	if !strings.Contains(errb, "DATABASE_URL") {
		t.Errorf("no database: %s", errb)
	}
}

func TestCLIExecAndPsql(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("no psql")
	}
	p := newCLIProject(t)
	p.must(p.db("migrate")...)
	p.must(p.db("tenant", "create", "thor", "loki")...)
	if _, err := p.admin.Exec(context.Background(), `INSERT INTO thor.items (name) VALUES ('a'), ('b'); INSERT INTO loki.items (name) VALUES ('c')`); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGOPTIONS", "")

	// The brief's example: psql given the URL, search_path from PGOPTIONS.
	out := p.must("exec", "--tenant", "thor", "--database-url", p.url, "--", "psql", "-X", p.url, "-Atc", "SHOW search_path")
	if strings.TrimSpace(out) != `"thor",public` {
		t.Errorf("search_path %q", out)
	}
	// Without the URL: the PG* variables connect it.
	out = p.must("exec", "--tenant", "loki", "--database-url", p.url, "--", "psql", "-X", "-Atc", "SELECT current_schema(), count(*) FROM items")
	if strings.TrimSpace(out) != "loki|1" {
		t.Errorf("loki: %q", out)
	}
	out = p.must(p.db("psql", "--tenant", "thor", "--", "-X", "-Atc", "SELECT current_database() = $$"+p.dbName()+"$$, count(*) FROM items")...)
	if strings.TrimSpace(out) != "t|2" {
		t.Errorf("psql thor: %q", out)
	}
	// PGOPTIONS already set: kept, the search_path added.
	t.Setenv("PGOPTIONS", "-c statement_timeout=4321")
	out = p.must(p.db("psql", "--tenant", "thor", "--", "-X", "-At", "-c", "SHOW statement_timeout", "-c", "SHOW search_path")...)
	if got := strings.Fields(out); len(got) != 2 || got[0] != "4321ms" || got[1] != `"thor",public` {
		t.Errorf("with PGOPTIONS: %q", out)
	}
	t.Setenv("PGOPTIONS", "")
	out = p.must(p.db("exec", "--tenant", "thor", "--", "sh", "-c", `printf '%s|%s' "$DATABASE_URL" "$PGOPTIONS"`)...)
	if out != p.url+`|-c search_path="thor",public` {
		t.Errorf("environment: %q", out)
	}

	// The command's exit status is ours.
	p.expect(7, p.db("exec", "--tenant", "thor", "--", "sh", "-c", "exit 7")...)
	_, errb := p.expect(1, p.db("psql", "--tenant", "thor", "--", "-X", "-c", "SELECT nonsense")...)
	if !strings.Contains(errb, "nonsense") {
		t.Errorf("psql error: %s", errb)
	}
	p.expect(127, p.db("exec", "--tenant", "thor", "--", "no-such-command-tenantgen")...)

	// Refusals.
	_, errb = p.expect(1, p.db("exec", "--tenant", "ghost", "--", "true")...)
	if !strings.Contains(errb, "not found") {
		t.Errorf("unknown tenant: %s", errb)
	}
	for _, args := range [][]string{
		p.db("exec", "--tenant", `x"; DROP SCHEMA public; --`, "--", "true"),
		p.db("exec", "--tenant", "Thor", "--", "true"),
		p.db("exec", "--", "true"),
		p.db("exec", "--tenant", "thor"),
		p.db("psql", "--tenant", "thor", "-c", "SELECT 1"), // psql flags go after --
	} {
		p.expect(2, args...)
	}
	if p.int(`SELECT count(*) FROM pg_namespace WHERE nspname = 'public'`) != 1 {
		t.Fatal("public is gone")
	}
}

func (p *cliProject) dbName() string {
	var name string
	if err := p.admin.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		p.t.Fatal(err)
	}
	return name
}

// readmeStatusJSON is the README's example of status --json.
func readmeStatusJSON(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "`tenantgen status --json` prints:\n\n```json\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no status --json example")
	}
	return block
}

// jsonKeys lists the object keys of a JSON document by path, sorted:
// "ahead behind shared shared.latest ... tenants[].note ...".
func jsonKeys(t *testing.T, doc string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("%v:\n%s", err, doc)
	}
	seen := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				seen[prefix+k] = true
				walk(prefix+k+".", e)
			}
		case []any:
			for _, e := range x {
				walk(strings.TrimSuffix(prefix, ".")+"[].", e)
			}
		}
	}
	walk("", v)
	var keys []string
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, " ")
}
