package migrations

import (
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/scope"
)

func model(t *testing.T, text string) *scope.Model {
	t.Helper()
	var diags diag.List
	f := migfile.Parse("00001_x.sql", text, &diags)
	m := scope.Analyse([]*migfile.File{f}, &diags)
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWarningsForCitus(t *testing.T) {
	for _, c := range []struct {
		name string
		sql  string
		want []string // substrings, one per warning, in order
	}{
		{"clean", `-- +goose Up
-- tenantgen:shared
CREATE TABLE plans (id serial PRIMARY KEY);
-- tenantgen:tenant
CREATE TABLE items (id bigserial PRIMARY KEY, plan_id int REFERENCES plans (id));
CREATE TABLE events (id bigserial PRIMARY KEY, n int NOT NULL DEFAULT 0);
CREATE FUNCTION log_item() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO events (n) VALUES (1); RETURN NEW; END $$;
`, nil},
		{"serial written by a trigger", `-- +goose Up
-- tenantgen:tenant
CREATE TABLE events (id serial PRIMARY KEY, note text);
CREATE TABLE audit (id int GENERATED ALWAYS AS IDENTITY, seq smallint DEFAULT nextval('s'), note text);
CREATE TABLE untouched (id serial PRIMARY KEY);
CREATE FUNCTION log_it() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (note) VALUES ('x');
    INSERT INTO "audit" (note) VALUES ('y');
    RETURN NEW;
END $$;
`, []string{"log_it inserts into events, whose column id", "log_it inserts into audit, whose column id", "log_it inserts into audit, whose column seq"}},
		{"current_schema", `-- +goose Up
-- tenantgen:tenant
CREATE TABLE items (id bigserial PRIMARY KEY, owner text NOT NULL);
INSERT INTO items (owner) VALUES (CURRENT_SCHEMA());
`, []string{"00001_x.sql:4:35: Citus: CURRENT_SCHEMA in tenant SQL"}},
		{"another schema", `-- +goose Up
-- tenantgen:tenant
CREATE TABLE items (id bigserial PRIMARY KEY);
CREATE VIEW mixed AS SELECT i.id FROM items i JOIN thor.items t ON t.id = i.id;
`, []string{`00001_x.sql:4:52: Citus: tenant SQL names schema "thor"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := CitusWarnings(model(t, c.sql))
			if len(got) != len(c.want) {
				t.Fatalf("%d warnings, want %d:\n%v", len(got), len(c.want), got)
			}
			for i, w := range c.want {
				if !strings.Contains(got[i].Error(), w) || got[i].Hint == "" {
					t.Errorf("warning %d = %q, want it to contain %q (and a hint)", i, got[i].Error(), w)
				}
			}
		})
	}
}
