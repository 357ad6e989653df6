package main

import (
	"archive/tar"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/internal/pgtest"
)

// migrated is a cliProject with public migrated: tenants can be created.
func migrated(t *testing.T) *cliProject {
	t.Helper()
	p := newCLIProject(t)
	p.must(p.db("migrate")...)
	return p
}

func (p *cliProject) tenants() int { return p.int(`SELECT count(*) FROM tenantgen_tenants`) }

func (p *cliProject) state(name string) string {
	p.t.Helper()
	var s string
	if err := p.admin.QueryRow(p.t.Context(), `SELECT state FROM tenantgen_tenants WHERE name = $1`, name).Scan(&s); err != nil {
		p.t.Fatalf("state of %s: %v", name, err)
	}
	return s
}

// TestCLICreateSeveral: several names are reported one by one; a failing
// one does not stop the others, and the run exits 1 naming it.
func TestCLICreateSeveral(t *testing.T) {
	p := migrated(t)
	p.must(p.db("tenant", "create", "thor")...)
	out, errb := p.expect(1, p.db("tenant", "create", "loki", "thor", "odin")...)
	if !strings.Contains(out, "created tenant loki") || !strings.Contains(out, "created tenant odin") || strings.Contains(out, "created tenant thor") {
		t.Errorf("stdout:\n%s", out)
	}
	if !strings.Contains(errb, "tenantgen: tenant thor: ") || !strings.Contains(errb, "already exists") ||
		!strings.Contains(errb, "tenantgen: 1 of 3 tenants not created: thor (the others were)") {
		t.Errorf("stderr:\n%s", errb)
	}
	if p.tenants() != 3 || p.state("odin") != "active" {
		t.Fatalf("%d tenants", p.tenants())
	}
	// Domains are one tenant's: refused with several names, nothing made.
	p.expect(2, p.db("tenant", "create", "a", "b", "--domain", "a.io")...)
	if p.tenants() != 3 {
		t.Fatal("a refused create created something")
	}
}

// TestCLICreateSeed: --seed runs the script in each new tenant; a failing
// seed leaves no tenant, and a missing file creates nothing at all.
func TestCLICreateSeed(t *testing.T) {
	p := migrated(t)
	p.write("seed.sql", "INSERT INTO items (name) VALUES ('admin');\nINSERT INTO \"$tenant\".items (name) VALUES ('settings');\n")
	p.write("bad.sql", "INSERT INTO items (name) VALUES ('admin');\nINSERT INTO nope VALUES (1);\n")
	seed := filepath.Join(p.dir, "seed.sql")
	p.must(p.db("tenant", "create", "thor", "loki", "--seed", seed)...)
	for _, tn := range []string{"thor", "loki"} {
		if n := p.int(`SELECT count(*) FROM ` + tn + `.items WHERE name IN ('admin', 'settings')`); n != 2 {
			t.Errorf("%s has %d seeded rows", tn, n)
		}
	}
	schemas := p.schemaCount()
	_, errb := p.expect(1, p.db("tenant", "create", "odin", "--seed", filepath.Join(p.dir, "bad.sql"))...)
	if !strings.Contains(errb, `"nope" does not exist`) {
		t.Errorf("failing seed: %s", errb)
	}
	_, errb = p.expect(1, p.db("tenant", "create", "odin", "--seed", filepath.Join(p.dir, "missing.sql"))...)
	if !strings.HasPrefix(errb, "tenantgen: reading the seed: ") {
		t.Errorf("missing seed: %s", errb)
	}
	if p.schemaCount() != schemas || p.tenants() != 2 {
		t.Fatal("a failed seed left something")
	}
}

// TestCLINodeNeedsCitus: --node, move and rebalance say plainly that they
// need Citus, and do nothing, on plain PostgreSQL.
func TestCLINodeNeedsCitus(t *testing.T) {
	p := migrated(t)
	p.must(p.db("tenant", "create", "thor")...)
	for _, args := range [][]string{
		p.db("tenant", "create", "loki", "--node", "127.0.0.1:5442"),
		p.db("tenant", "move", "--node", "127.0.0.1:5442", "thor"),
		p.db("tenant", "rebalance"),
	} {
		_, errb := p.expect(1, args...)
		if !strings.HasPrefix(errb, "tenantgen: ") || !strings.Contains(errb, "needs Citus: this database is not a Citus coordinator") {
			t.Errorf("%v: %s", args, errb)
		}
	}
	if p.tenants() != 1 {
		t.Fatal("--node created a tenant")
	}
	p.expect(2, p.db("tenant", "move", "thor")...) // no --node
	// No node column off Citus.
	if out := p.must(p.db("tenant", "list")...); strings.Contains(out, "NODE") {
		t.Errorf("tenant list:\n%s", out)
	}
	if out := p.must(p.db("tenant", "list", "--json")...); strings.Contains(out, `"node"`) {
		t.Errorf("tenant list --json:\n%s", out)
	}
	if out := p.must(p.db("status", "--json")...); strings.Contains(out, `"node`) {
		t.Errorf("status --json:\n%s", out)
	}
}

// TestCLIRenameSuspendResume: rename moves schema, row and domains;
// suspend and resume change the state list and status show.
func TestCLIRenameSuspendResume(t *testing.T) {
	p := migrated(t)
	p.must(p.db("tenant", "create", "thor", "--domain", "thor.io")...)
	p.must(p.db("tenant", "create", "loki", "odin")...)
	p.admin.Exec(t.Context(), `INSERT INTO thor.items (name) VALUES ('hammer')`)

	out := p.must(p.db("tenant", "rename", "thor", "asgard")...)
	if out != "renamed tenant thor to asgard\n" || p.int(`SELECT count(*) FROM asgard.items`) != 1 ||
		p.int(`SELECT count(*) FROM tenantgen_domains WHERE domain = 'thor.io' AND tenant = 'asgard'`) != 1 {
		t.Errorf("rename: %q", out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{p.db("tenant", "rename", "thor", "x"), 1, "not found"},
		{p.db("tenant", "rename", "loki", "asgard"), 1, "exists"},
		{p.db("tenant", "rename", "loki"), 2, "name the tenant and its new name"},
		{p.db("tenant", "rename", "loki", "Bad"), 2, "invalid tenant name"},
	} {
		if _, errb := p.expect(tc.code, tc.args...); !strings.Contains(errb, tc.want) {
			t.Errorf("%v: %s", tc.args, errb)
		}
	}

	out = p.must(p.db("tenant", "suspend", "loki", "odin")...)
	if out != "suspended tenant loki\nsuspended tenant odin\n" || p.state("loki") != "suspended" {
		t.Errorf("suspend: %q", out)
	}
	out = p.must(p.db("tenant", "list")...)
	if !strings.Contains(out, "loki    suspended") || !strings.Contains(out, "asgard  active") {
		t.Errorf("tenant list:\n%s", out)
	}
	if out := p.must(p.db("status")...); !strings.Contains(out, "odin    suspended") {
		t.Errorf("status:\n%s", out)
	}
	// An unknown tenant fails alone; resuming an active one is a no-op.
	out, errb := p.expect(1, p.db("tenant", "resume", "ghost", "loki", "asgard")...)
	if out != "resumed tenant loki\nresumed tenant asgard\n" || !strings.Contains(errb, "tenantgen: tenant ghost: ") ||
		!strings.Contains(errb, "1 of 3 tenants not resumed: ghost") || p.state("loki") != "active" {
		t.Errorf("resume:\n%s%s", out, errb)
	}
	p.must(p.db("tenant", "resume", "odin")...)
	p.must(p.db("status", "--check")...)
}

// TestCLIExportImport: a tenant exported and imported under another name
// in another database of the application has the same rows; imports of
// another version or onto a taken name are refused and leave nothing.
func TestCLIExportImport(t *testing.T) {
	src := migrated(t)
	src.must(src.db("tenant", "create", "thor", "--domain", "thor.io")...)
	src.admin.Exec(t.Context(), `INSERT INTO thor.items (name) SELECT 'item ' || g FROM generate_series(1, 50) g`)
	file := filepath.Join(t.TempDir(), "thor.tenant")
	out := src.must(src.db("tenant", "export", "thor", "-o", file)...)
	if !strings.HasPrefix(out, "exported tenant thor to "+file) {
		t.Errorf("export: %s", out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", fi, err)
	}
	// -o - writes the same archive to stdout, and nothing else there.
	raw := src.must(src.db("tenant", "export", "thor", "-o", "-")...)
	if hdr, err := tar.NewReader(strings.NewReader(raw)).Next(); err != nil || hdr.Name != "manifest.json" {
		t.Fatalf("export to stdout: %v %v", hdr, err)
	}

	// --as first: the exported name must be free while pg_restore runs.
	dst := migrated(t)
	dst.must(dst.db("tenant", "import", file, "--as", "thor_copy", "--domain", "copy.thor.io")...)
	out = dst.must(dst.db("tenant", "import", file)...)
	if !strings.HasPrefix(out, "imported tenant thor from "+file) {
		t.Errorf("import: %s", out)
	}
	// Row by row, in both copies.
	const rows = `SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM %s.items`
	var want, got, copied string
	src.admin.QueryRow(t.Context(), strings.Replace(rows, "%s", "thor", 1)).Scan(&want)
	dst.admin.QueryRow(t.Context(), strings.Replace(rows, "%s", "thor", 1)).Scan(&got)
	dst.admin.QueryRow(t.Context(), strings.Replace(rows, "%s", "thor_copy", 1)).Scan(&copied)
	if want == "" || got != want || copied != want {
		t.Fatalf("rows differ:\n%s\n%s\n%s", want, got, copied)
	}
	if dst.int(`SELECT count(*) FROM tenantgen_domains WHERE (tenant, domain) IN (('thor', 'thor.io'), ('thor_copy', 'copy.thor.io'))`) != 2 {
		t.Error("domains not imported")
	}
	dst.must(dst.db("status", "--check")...)

	// Refusals: a taken name; another version; no pg_restore where asked.
	other := newCLIProject(t)
	other.must(other.db("migrate")...)
	other.tenantMigration("00002_sku.sql", "-- +goose Up\nALTER TABLE items ADD COLUMN sku text;\n\n-- +goose Down\nALTER TABLE items DROP COLUMN sku;\n")
	empty := migrated(t)
	schemas := other.schemaCount()
	for _, tc := range []struct {
		p    *cliProject
		args []string
		code int
		want string
	}{
		{dst, dst.db("tenant", "import", file), 1, "already"},
		{other, other.db("tenant", "import", file), 1, "version"},
		{empty, empty.db("tenant", "import", file, "--pg-bin", t.TempDir()), 1, "pg_restore"},
		{other, other.db("tenant", "import", filepath.Join(t.TempDir(), "none")), 1, "no such file"},
		{other, other.db("tenant", "import", file, "--as", "Bad"), 2, "invalid tenant name"},
		{src, src.db("tenant", "export", "thor"), 2, "-o FILE"},
		{src, src.db("tenant", "export", "ghost", "-o", filepath.Join(t.TempDir(), "x")), 1, "not found"},
	} {
		if _, errb := tc.p.expect(tc.code, tc.args...); !strings.HasPrefix(errb, "tenantgen: ") || !strings.Contains(errb, tc.want) {
			t.Errorf("%v: %s", tc.args, errb)
		}
	}
	if other.schemaCount() != schemas || other.tenants() != 0 || empty.tenants() != 0 {
		t.Fatal("a refused import left something")
	}
}

// TestCLIExportFailureLeavesNoFile: a failed export leaves neither the
// file asked for nor a temporary one.
func TestCLIExportFailureLeavesNoFile(t *testing.T) {
	p := migrated(t)
	p.must(p.db("tenant", "create", "thor")...)
	dir := t.TempDir()
	p.expect(1, p.db("tenant", "export", "thor", "-o", filepath.Join(dir, "thor.tenant"), "--pg-bin", t.TempDir())...)
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
}

// TestCLIMigrateReport: a dry run counts "would migrate", a down
// migration names its target, a run split at a NO TRANSACTION migration
// says so under the tenant.
func TestCLIMigrateReport(t *testing.T) {
	p := migrated(t)
	p.must(p.db("tenant", "create", "thor", "loki")...)
	p.tenantMigration("00002_sku.sql", "-- +goose Up\nALTER TABLE items ADD COLUMN sku text;\n\n-- +goose Down\nALTER TABLE items DROP COLUMN sku;\n")
	p.tenantMigration("00003_idx.sql", "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY items_sku ON items (sku);\n\n-- +goose Down\nDROP INDEX CONCURRENTLY items_sku;\n")

	out := p.must(p.db("migrate", "--tenants", "--dry-run")...)
	if !strings.Contains(out, "tenants: 2 total, 0 up to date, 2 would migrate, 0 failed (target version 3") ||
		!strings.Contains(out, "thor: 1 -> 3") || strings.Contains(out, " migrated") || p.version("thor") != 1 {
		t.Errorf("dry run:\n%s", out)
	}
	out = p.must(p.db("migrate", "--tenants")...)
	if !strings.Contains(out, "2 migrated, 0 failed (target version 3") || !strings.Contains(out, "  thor: split at version 3") {
		t.Errorf("split run, no note:\n%s", out)
	}
	out = p.must(p.db("migrate", "--tenant", "loki", "--down-to", "1")...)
	if !strings.Contains(out, "1 migrated, 0 failed (down to version 1,") || p.version("loki") != 1 {
		t.Errorf("--down-to:\n%s", out)
	}
}

// TestCLIVetCitusWarnings: vet prints Citus warnings with their position
// and hint, and still exits 0.
func TestCLIVetCitusWarnings(t *testing.T) {
	dir := pgtest.CopyDir(t, "../../example/polls")
	cfg := filepath.Join(dir, "tenantgen.yaml")
	if code, _, errs := cli("vet", "-f", cfg); code != 0 || errs != "" {
		t.Fatalf("clean vet: exit %d: %s", code, errs)
	}
	schema := "-- +goose Up\n-- tenantgen:tenant\nCREATE TABLE owners (id bigserial PRIMARY KEY, owner text NOT NULL DEFAULT 'x');\nINSERT INTO owners (owner) VALUES (current_schema());\n-- +goose Down\nDROP TABLE owners;\n"
	if err := os.WriteFile(filepath.Join(dir, "sql/schema/00002_owners.sql"), []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	// After generate, vet takes the stamp's shortcut: the first one loads
	// the schema for the warnings, the next ones print them from the cache.
	if code, _, errs := cli("generate", "-f", cfg); code != 0 {
		t.Fatalf("generate: %s", errs)
	}
	loads := citusLoads
	var first string
	for i := range 3 {
		code, out, errs := cli("vet", "-f", cfg)
		if code != 0 || out != "" || !strings.Contains(errs, "00002_owners.sql:4:36: warning: Citus: current_schema in tenant SQL") || !strings.Contains(errs, "\thint: ") {
			t.Errorf("vet %d: exit %d\nstdout %q\nstderr %q", i, code, out, errs)
		}
		if i == 0 {
			first = errs
		} else if errs != first {
			t.Errorf("vet %d from the cache:\n%s\nwant\n%s", i, errs, first)
		}
	}
	if citusLoads != loads+1 {
		t.Errorf("%d schema loads for 3 vets of the same inputs", citusLoads-loads)
	}
	// A change to the schema is seen: the warning goes with it.
	if err := os.WriteFile(filepath.Join(dir, "sql/schema/00002_owners.sql"), []byte(strings.Replace(schema, "(current_schema())", "('x')", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cli("vet", "-f", cfg); code != 0 || errs != "" {
		t.Errorf("vet after the fix: exit %d: %s", code, errs)
	}
}

// tenantListJSON is the part of tenant list --json the tests read.
type tenantListJSON []struct {
	Name  string  `json:"name"`
	State string  `json:"state"`
	Node  *string `json:"node"`
}

func parseList(t *testing.T, raw string) tenantListJSON {
	t.Helper()
	var l tenantListJSON
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return l
}
