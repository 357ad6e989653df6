package runtime_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgen/tenantgen/runtime"
)

// rowsOf is every row of schema.table as text, in id order.
func (d *lcDB) rowsOf(schema, table string) []string {
	d.t.Helper()
	rows, err := d.admin.Query(context.Background(), `SELECT r::text FROM `+pgx.Identifier{schema, table}.Sanitize()+` r ORDER BY 1`)
	if err != nil {
		d.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

// registryOf is a tenant's registry row and domains as text.
func (d *lcDB) registryOf(name string) string {
	d.t.Helper()
	var s string
	err := d.admin.QueryRow(context.Background(), `
		SELECT format('%s %s %s [%s]', t.state, t.database, t.created_at,
		       (SELECT string_agg(domain || ':' || is_primary, ' ' ORDER BY domain) FROM tenantgen_domains WHERE tenant = t.name))
		FROM tenantgen_tenants t WHERE t.name = $1`, name).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return ""
	}
	if err != nil {
		d.t.Fatal(err)
	}
	return s
}

// TestExportImportRoundTrip: a suspended tenant with data and domains,
// exported and imported into another database: the same rows, table by
// table, the same version table, registry row and domains. Then imported
// --as another name, refused at another version, and undone when it fails
// half-way.
func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, dst, newer := newLCDB(t), newLCDB(t), newLCDB(t)
	rt := src.setup(lcMigs("00003_notes.sql", lcNotes))
	acme := runtime.MustTenant("acme")
	if err := rt.CreateTenant(ctx, acme, runtime.CreateOptions{Domains: []string{"acme.example", "www.acme.example"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.admin.Exec(ctx, `INSERT INTO acme.items (name, sku) SELECT 'item ' || i, 'sku-' || i FROM generate_series(1, 50) i;
		INSERT INTO acme.marks (note) VALUES ('tab	and
newline'), ('quote''s'), ('ünïcode ✓');
		INSERT INTO acme.notes VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	if err := rt.SuspendTenant(ctx, acme); err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := rt.ExportTenant(ctx, acme, &file, runtime.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	// The documented members, in order.
	tr := tar.NewReader(bytes.NewReader(file.Bytes()))
	var members []string
	var manifest map[string]any
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		members = append(members, h.Name)
		if h.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !slices.Equal(members, []string{"manifest.json", "schema.dump"}) || manifest["tenant"] != "acme" || manifest["version"] != 3.0 || manifest["state"] != "suspended" || len(manifest["version_rows"].([]any)) != 4 {
		t.Fatalf("members %v manifest %v", members, manifest)
	}

	// Into another database of the same application.
	drt := dst.setup(lcMigs("00003_notes.sql", lcNotes))
	got, err := drt.ImportTenant(ctx, bytes.NewReader(file.Bytes()), runtime.ImportOptions{})
	if err != nil || got != acme {
		t.Fatalf("import: %v %v", got, err)
	}
	for _, table := range []string{"items", "marks", "notes", "goose_db_version"} {
		if a, b := src.rowsOf("acme", table), dst.rowsOf("acme", table); !slices.Equal(a, b) || len(a) == 0 {
			t.Fatalf("%s differs:\n %v\n %v", table, a, b)
		}
	}
	if a, b := src.registryOf("acme"), dst.registryOf("acme"); a != b || !strings.HasPrefix(a, "suspended") {
		t.Fatalf("registry %q vs %q", a, b)
	}
	// Sequences came along: the next item does not collide.
	if _, err := dst.admin.Exec(ctx, `INSERT INTO acme.items (name) VALUES ('after')`); err != nil {
		t.Fatal(err)
	}
	if st, err := drt.Status(ctx); err != nil || st.UpToDate != 1 {
		t.Fatalf("status after import: %v %+v", err, st)
	}

	// Again into the same database: the name is taken.
	before := dst.schemas()
	if _, err := drt.ImportTenant(ctx, bytes.NewReader(file.Bytes()), runtime.ImportOptions{}); !errors.Is(err, runtime.ErrTenantExists) {
		t.Fatalf("second import: %v", err)
	}
	if !slices.Equal(before, dst.schemas()) {
		t.Fatal("a refused import changed the schemas")
	}

	// --as, in the source database once the original is gone, with new
	// domains.
	if err := rt.DropTenant(ctx, acme, "acme"); err != nil {
		t.Fatal(err)
	}
	// A domain taken by another tenant fails the import after pg_restore:
	// nothing stays.
	if err := rt.CreateTenant(ctx, runtime.MustTenant("holder"), runtime.CreateOptions{Domains: []string{"taken.example"}}); err != nil {
		t.Fatal(err)
	}
	before = src.schemas()
	globex := runtime.MustTenant("globex")
	if _, err := rt.ImportTenant(ctx, bytes.NewReader(file.Bytes()), runtime.ImportOptions{As: globex, Domains: []string{"globex.example", "taken.example"}}); err == nil || !strings.Contains(err.Error(), "taken.example") {
		t.Fatalf("want a domain error, got %v", err)
	}
	if !slices.Equal(before, src.schemas()) || src.state("acme") != "" || src.state("globex") != "" {
		t.Fatalf("a failed import left %v", src.schemas())
	}
	if _, err := rt.ImportTenant(ctx, bytes.NewReader(file.Bytes()), runtime.ImportOptions{As: globex, Domains: []string{"globex.example"}}); err != nil {
		t.Fatal(err)
	}
	if src.schemaExists("acme") || !strings.HasPrefix(src.registryOf("globex"), "suspended") || !strings.Contains(src.registryOf("globex"), "globex.example:true") {
		t.Fatalf("--as: %q", src.registryOf("globex"))
	}
	if a, b := dst.rowsOf("acme", "marks"), src.rowsOf("globex", "marks"); !slices.Equal(a, b) {
		t.Fatalf("marks after --as:\n %v\n %v", a, b)
	}

	// The leftovers of an importer that died (a creating row, a schema
	// half restored) are removed by the next import of the name.
	if _, err := src.admin.Exec(ctx, `INSERT INTO tenantgen_tenants (name, state) VALUES ('acme', 'creating'); CREATE SCHEMA acme; CREATE TABLE acme.junk (id int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.ImportTenant(ctx, bytes.NewReader(file.Bytes()), runtime.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if src.int(`SELECT count(*) FROM pg_tables WHERE schemaname = 'acme' AND tablename = 'junk'`) != 0 || !slices.Equal(src.rowsOf("acme", "marks"), dst.rowsOf("acme", "marks")) {
		t.Fatal("the import over leftovers")
	}

	// At another version: refused, nothing created.
	nrt := newer.setup(lcMigs("00003_notes.sql", lcNotes, "00004_more.sql", lcV4))
	before = newer.schemas()
	if _, err := nrt.ImportTenant(ctx, bytes.NewReader(file.Bytes()), runtime.ImportOptions{}); !errors.Is(err, runtime.ErrVersionMismatch) || !strings.Contains(err.Error(), "version 3") {
		t.Fatalf("import at another version: %v", err)
	}
	if !slices.Equal(before, newer.schemas()) || newer.int(`SELECT count(*) FROM tenantgen_tenants`) != 0 {
		t.Fatal("a refused import created something")
	}
	// Not an export at all.
	if _, err := nrt.ImportTenant(ctx, strings.NewReader("junk"), runtime.ImportOptions{}); err == nil {
		t.Fatal("imported junk")
	}
	var empty bytes.Buffer
	tw := tar.NewWriter(&empty)
	tw.Close()
	if _, err := nrt.ImportTenant(ctx, io.MultiReader(&empty), runtime.ImportOptions{}); err == nil || !strings.Contains(err.Error(), "not a tenantgen export") {
		t.Fatalf("empty tar: %v", err)
	}

}
