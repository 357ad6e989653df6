package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	ks "github.com/tenantgen/tenantgen/example/kitchensink/db"
	"github.com/tenantgen/tenantgen/runtime"
)

// TestSeed: the seed runs in the creation's transaction with the generated
// queries; a failing seed leaves no tenant; a SQL file seeds too.
func TestSeed(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(ks.Migrations())
	q := ks.New(rt)

	cases := []struct {
		name    string
		seed    func(context.Context, pgx.Tx) error
		wantErr string
		items   int // rows in items after, -1: no tenant
	}{
		{"generated queries", func(ctx context.Context, tx pgx.Tx) error {
			tq := q.Tenant(runtime.MustTenant("seeded_go")).WithTx(tx)
			for _, n := range []string{"admin", "settings"} {
				if _, err := tq.CreateItem(ctx, ks.CreateItemParams{Tenant: "seeded_go", Name: n, Status: ks.ItemStatusActive, Tags: []string{}}); err != nil {
					return err
				}
			}
			return nil
		}, "", 2},
		{"bound SQL", func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO "$tenant".items (tenant, name) VALUES ('seeded_sql', 'admin')`)
			return err
		}, "", 1},
		{"failing", func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO "$tenant".items (tenant, name) VALUES ('x', 'admin')`); err != nil {
				return err
			}
			return errors.New("no admin password")
		}, "no admin password", -1},
		{"failing SQL", runtime.SeedSQL(`INSERT INTO items (tenant, name) VALUES ('x', 'a'); SELECT 1/0;`), "division by zero", -1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := []string{"seeded_go", "seeded_sql", "seed_fails", "seed_sql_fails"}[i]
			err := rt.CreateTenant(ctx, runtime.MustTenant(name), runtime.CreateOptions{Domains: []string{strings.ReplaceAll(name, "_", "-") + ".example"}, Seed: tc.seed})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "seed") {
					t.Fatalf("want a seed error with %q, got %v", tc.wantErr, err)
				}
				if d.schemaExists(name) || d.state(name) != "" || d.int(`SELECT count(*) FROM tenantgen_domains WHERE tenant = $1`, name) != 0 {
					t.Fatal("a failed seed left a tenant")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := d.int(`SELECT count(*) FROM ` + name + `.items`); n != tc.items {
				t.Fatalf("%d items, want %d", n, tc.items)
			}
			// The trigger pinned to the schema ran: the seed ran after the
			// migrations, under the tenant's path.
			if n := d.int(`SELECT count(*) FROM ` + name + `.events`); n != tc.items {
				t.Fatalf("%d events, want %d", n, tc.items)
			}
		})
	}

	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "seed.sql")
		script := "-- the first admin\nINSERT INTO items (tenant, name) VALUES ('seeded_file', 'admin');\nINSERT INTO \"$tenant\".items (tenant, name) VALUES ('seeded_file', 'demo');\n"
		if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		seed, err := runtime.SeedFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.CreateTenant(ctx, runtime.MustTenant("seeded_file"), runtime.CreateOptions{Seed: seed}); err != nil {
			t.Fatal(err)
		}
		if n := d.int(`SELECT count(*) FROM seeded_file.items`); n != 2 {
			t.Fatalf("%d items", n)
		}
		if d.int(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'items'`) != 0 {
			t.Fatal("the seed wrote to public")
		}
		if _, err := runtime.SeedFile(filepath.Join(t.TempDir(), "missing.sql")); err == nil {
			t.Fatal("a missing seed file")
		}
	})
}
