package runtime_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/tenantgen/tenantgen/runtime"
)

// lcNoTxIndex is a version 3 goose must run outside a transaction.
const lcNoTxIndex = `-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY items_name_idx ON items (name);

-- +goose Down
DROP INDEX CONCURRENTLY items_name_idx;
`

// lcLastNotes is lcNotes as version 4.
var lcLastNotes = strings.Replace(lcNotes, "'v3'", "'v4'", -1)

// gooseUp migrates schema with plain goose, as a user would without
// tenantgen: goose's own postgres store, its own locker-free provider.
func (d *lcDB) gooseUp(schema string, fsys fs.FS) {
	d.t.Helper()
	ctx := context.Background()
	if _, err := d.admin.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		d.t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(lcWithParam(d.url, "search_path", schema+",public"))
	if err != nil {
		d.t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithTableName(schema+".goose_db_version"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		d.t.Fatal(err)
	}
}

// versionRows is a version table as text, row by row, without tstamp,
// which is the time of the run.
func (d *lcDB) versionRows(schema string) []string {
	d.t.Helper()
	rows, err := d.admin.Query(context.Background(), `SELECT format('%s %s %s', id, version_id, is_applied) FROM `+pgx.Identifier{schema, "goose_db_version"}.Sanitize()+` ORDER BY id`)
	if err != nil {
		d.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

// shape is a schema's tables and indexes with their columns and
// definitions, schema name removed: what goose or tenantgen built.
func (d *lcDB) shape(schema string) []string {
	d.t.Helper()
	rows, err := d.admin.Query(context.Background(), `
		SELECT format('column %s.%s %s %s %s %s', table_name, column_name, data_type, is_nullable, replace(coalesce(column_default, ''), $1 || '.', ''), coalesce(is_identity, ''))
		FROM information_schema.columns WHERE table_schema = $1
		UNION ALL
		SELECT format('index %s', replace(indexdef, quote_ident($1) || '.', ''))
		FROM pg_indexes WHERE schemaname = $1
		ORDER BY 1`, schema)
	if err != nil {
		d.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

// TestOneTransactionMatchesGoose: whatever path a tenant takes to a version
// (created at once, created and migrated later, split at a NO TRANSACTION
// migration), its version table and objects are goose's, row for row, and
// plain goose finds nothing to do in it.
func TestOneTransactionMatchesGoose(t *testing.T) {
	cases := []struct {
		name  string
		first runtime.Migrations   // the set the tenant is created with
		then  []runtime.Migrations // sets migrated to afterwards
		split bool                 // the last run goes through a NO TRANSACTION version
		oneTx bool                 // every version row was written by one transaction
		goose bool                 // plain goose applies the tenant's first versions
	}{
		{name: "after plain goose", first: lcMigs(), then: []runtime.Migrations{lcMigs("00003_notes.sql", lcNotes)}, goose: true},
		{name: "created", first: lcMigs("00003_notes.sql", lcNotes), oneTx: true},
		{name: "migrated", first: lcMigs(), then: []runtime.Migrations{lcMigs("00003_notes.sql", lcNotes)}},
		{name: "from nothing", first: runtime.Migrations{Shared: lcMigs().Shared, Tenant: fstest.MapFS{}}, then: []runtime.Migrations{lcMigs("00003_notes.sql", lcNotes)}, oneTx: true},
		{name: "created split", first: lcMigs("00003_index.sql", lcNoTxIndex, "00004_notes.sql", lcLastNotes), split: true},
		{name: "migrated split", first: lcMigs(), then: []runtime.Migrations{lcMigs("00003_index.sql", lcNoTxIndex, "00004_notes.sql", lcLastNotes)}, split: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newLCDB(t)
			ctx := context.Background()
			rt := d.setup(tc.first)
			tn := runtime.MustTenant("viatg")
			if tc.goose {
				d.gooseUp("viatg", tc.first.Tenant)
				if _, err := d.admin.Exec(ctx, `INSERT INTO tenantgen_tenants (name, state) VALUES ('viatg', 'active')`); err != nil {
					t.Fatal(err)
				}
			} else if err := rt.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			final := tc.first
			for _, m := range tc.then {
				rep, err := d.open(m).MigrateTenants(ctx, runtime.MigrateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				note := rep.Results[0].Note
				if tc.split != strings.Contains(note, "split at version 3") {
					t.Errorf("note %q", note)
				}
				final = m
			}
			d.gooseUp("viagoose", final.Tenant)
			if got, want := d.versionRows("viatg"), d.versionRows("viagoose"); !slices.Equal(got, want) {
				t.Fatalf("version rows\n tenantgen %v\n goose     %v", got, want)
			}
			if got, want := d.shape("viatg"), d.shape("viagoose"); !slices.Equal(got, want) {
				t.Fatalf("objects\n tenantgen %v\n goose     %v", got, want)
			}
			// The version table itself, column by column.
			cols := func(s string) []string {
				return d.shapeOf(s, "goose_db_version")
			}
			if got, want := cols("viatg"), cols("viagoose"); !slices.Equal(got, want) || len(got) != 4 {
				t.Fatalf("version table\n tenantgen %v\n goose     %v", got, want)
			}
			// Plain goose sees it as its own: nothing pending.
			d.gooseUp("viatg", final.Tenant)
			if got, want := d.versionRows("viatg"), d.versionRows("viagoose"); !slices.Equal(got, want) {
				t.Fatalf("goose changed the table: %v", got)
			}
			if n := d.int(`SELECT count(DISTINCT tstamp) FROM viatg.goose_db_version`); tc.oneTx && n != 1 {
				t.Errorf("the version rows have %d timestamps: not one transaction", n)
			}
		})
	}
}

func (d *lcDB) shapeOf(schema, table string) []string {
	var out []string
	for _, s := range d.shape(schema) {
		if strings.HasPrefix(s, "column "+table+".") || strings.HasPrefix(s, "index "+table+"_") {
			out = append(out, s)
		}
	}
	return out
}

// TestCreationIsOneTransaction: creating a tenant commits its migrations,
// version rows, domain and active state together: every version row has
// the same timestamp, the transaction's.
func TestCreationIsOneTransaction(t *testing.T) {
	d := newLCDB(t)
	rt := d.setup(lcMigs("00003_notes.sql", lcNotes))
	if err := rt.CreateTenant(context.Background(), runtime.MustTenant("once"), runtime.CreateOptions{Domains: []string{"once.example"}}); err != nil {
		t.Fatal(err)
	}
	if n := d.int(`SELECT count(DISTINCT tstamp) FROM once.goose_db_version`); n != 1 {
		t.Fatalf("%d timestamps among the version rows", n)
	}
	if n := d.int(`SELECT count(*) FROM once.goose_db_version`); n != 4 {
		t.Fatalf("%d version rows, want 4 (0 to 3)", n)
	}
}

// terminateWhen terminates the backend of this database that runs a
// statement matching like, once there is one, from another goroutine.
func (d *lcDB) terminateWhen(like string) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, d.url)
		if err != nil {
			done <- err
			return
		}
		defer conn.Close(ctx)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			var n int
			err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE $1 AND state = 'active'`, like).Scan(&n)
			if err != nil {
				done <- err
				return
			}
			if n > 0 {
				done <- nil
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		done <- errors.New("no backend ever ran " + like)
	}()
	return done
}

// TestBackendKilledMidMigration kills the server backend of a tenant's
// migration while its transaction sleeps between two inserts: the tenant
// stays at its version with none of the rows, and a rerun applies it once.
func TestBackendKilledMidMigration(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	createAll(t, rt, []string{"victim"}, 1)
	slow := d.open(lcMigs("00003_slow.sql", lcSlowMarks, "00004_notes.sql", lcLastNotes))
	killed := d.terminateWhen("%pg_sleep(0.25)%")
	rep, err := slow.MigrateTenants(ctx, runtime.MigrateOptions{})
	if kerr := <-killed; kerr != nil {
		t.Fatal(kerr)
	}
	if !errors.Is(err, runtime.ErrMigrationsFailed) || len(rep.Failed()) != 1 {
		t.Fatalf("want the tenant failed, got %v %+v", err, rep)
	}
	if res := rep.Failed()[0]; res.To != 2 || res.Applied != 0 || !strings.Contains(res.Err.Error(), "version 3") {
		t.Fatalf("result %+v", res)
	}
	if v := d.versions(rt, []string{"victim"}); v["victim"] != 2 || d.marks("victim", "v%") != 0 || d.int(`SELECT count(*) FROM pg_tables WHERE schemaname = 'victim' AND tablename = 'notes'`) != 0 {
		t.Fatalf("half-applied: version %v, %d rows", v, d.marks("victim", "v%"))
	}
	rep, err = slow.MigrateTenants(ctx, runtime.MigrateOptions{})
	if err != nil || rep.Results[0].Applied != 2 || rep.Results[0].To != 4 {
		t.Fatalf("rerun: %v %+v", err, rep)
	}
	if d.marks("victim", "v3 %") != 2 || d.marks("victim", "v4") != 1 || d.int(`SELECT count(*) FROM victim.goose_db_version WHERE version_id IN (3, 4)`) != 2 {
		t.Fatal("rerun did not apply 3 and 4 once")
	}
}

// TestBackendKilledMidCreation kills the creator's backend in the middle of
// the migrations: no schema, row or domain is left, and the name can be
// created again.
func TestBackendKilledMidCreation(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	slow := d.setup(lcMigs("00002_sku.sql", lcSlowSku))
	killed := d.terminateWhen("%pg_sleep(1)%")
	err := slow.CreateTenant(ctx, runtime.MustTenant("doomed"), runtime.CreateOptions{Domains: []string{"doomed.example"}})
	if kerr := <-killed; kerr != nil {
		t.Fatal(kerr)
	}
	if err == nil {
		t.Fatal("the creation survived its backend")
	}
	if d.schemaExists("doomed") || d.state("doomed") != "" || d.int(`SELECT count(*) FROM tenantgen_domains`) != 0 {
		t.Fatalf("left: schema %v, state %q", d.schemaExists("doomed"), d.state("doomed"))
	}
	if err := d.open(lcMigs()).CreateTenant(ctx, runtime.MustTenant("doomed"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateReportDetails: a dry run counts what would migrate, and a down
// migration's report carries its target.
func TestMigrateReportDetails(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	createAll(t, rt, []string{"a", "b", "c"}, 2)
	next := d.open(lcMigs("00003_notes.sql", lcNotes))
	rep, err := next.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{"a", "b"}, DryRun: true})
	if err != nil || !rep.DryRun || rep.WouldMigrate != 2 || rep.DownTo != nil || rep.Target != 3 {
		t.Fatalf("dry run: %v %+v", err, rep)
	}
	one := int64(1)
	rep, err = next.MigrateTenants(ctx, runtime.MigrateOptions{DownTo: &one})
	if err != nil || rep.DryRun || rep.WouldMigrate != 0 || rep.DownTo == nil || *rep.DownTo != 1 || len(rep.Results) != 3 {
		t.Fatalf("down: %v %+v", err, rep)
	}
}

// TestOneTransactionEdgeCases: a file ending in a comment without a
// semicolon runs; a version older than the newest applied is refused, as
// goose refuses it, and nothing runs.
func TestOneTransactionEdgeCases(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	tail := "-- +goose Up\nINSERT INTO marks (note) VALUES ('tail') -- no semicolon, a comment last"
	rt := d.setup(lcMigs("00003_notes.sql", lcNotes, "00004_tail.sql", tail))
	if err := rt.CreateTenant(ctx, runtime.MustTenant("edgy"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if d.marks("edgy", "tail") != 1 || d.versions(rt, []string{"edgy"})["edgy"] != 4 {
		t.Fatal("the tail migration did not run")
	}
	// A migration that sets the session's path does not leave it on the
	// connection (a pool of one: the creator's is the one asked after).
	setPath := "-- +goose Up\nSET search_path = pg_catalog;\n"
	one, err := runtime.Open(ctx, lcWithParam(d.url, "pool_max_conns", "1"), runtime.WithMigrations(lcMigs("00003_setpath.sql", setPath)), lcQuiet)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	if err := one.CreateTenant(ctx, runtime.MustTenant("pathy"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var path string
	if err := one.Shared().QueryRow(ctx, `SHOW search_path`).Scan(&path); err != nil || path != "public" {
		t.Fatalf("search_path after the creation: %q %v", path, err)
	}

	// Version 2 missing from a tenant at 3: goose calls it missing.
	skipped := d.open(lcMigs("00002_sku.sql", "", "00003_notes.sql", lcNotes))
	if err := skipped.CreateTenant(ctx, runtime.MustTenant("holey"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{Tenants: []string{"holey"}})
	if !errors.Is(err, runtime.ErrMigrationsFailed) || !strings.Contains(rep.Results[0].Err.Error(), "missing") {
		t.Fatalf("want a missing-migration error, got %v %+v", err, rep)
	}
	if d.int(`SELECT count(*) FROM information_schema.columns WHERE table_schema = 'holey' AND column_name = 'sku'`) != 0 || d.marks("holey", "tail") != 0 {
		t.Fatal("a refused run applied something")
	}
}
