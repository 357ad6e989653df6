package migrations

import (
	"reflect"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
)

// Tables are listed for conversion referenced first, whichever order they
// were written in and wherever the foreign key is declared.
func TestCitusReferencedFirst(t *testing.T) {
	for _, tc := range []struct {
		name, up string
		want     []string
	}{
		{"written order", `CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int);`,
			[]string{`"public"."a"`, `"public"."b"`}},
		{"column reference", `CREATE TABLE b (a_id int REFERENCES a); CREATE TABLE a (id int PRIMARY KEY);`,
			[]string{`"public"."a"`, `"public"."b"`}},
		{"table constraint", `CREATE TABLE c (b_id int, FOREIGN KEY (b_id) REFERENCES b); CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES public.a); CREATE TABLE a (id int PRIMARY KEY);`,
			[]string{`"public"."a"`, `"public"."b"`, `"public"."c"`}},
		{"alter table", `CREATE TABLE b (id int, a_id int); CREATE TABLE a (id int PRIMARY KEY); ALTER TABLE b ADD CONSTRAINT fk FOREIGN KEY (a_id) REFERENCES a (id);`,
			[]string{`"public"."a"`, `"public"."b"`}},
		{"added column", `CREATE TABLE b (id int); CREATE TABLE a (id int PRIMARY KEY); ALTER TABLE b ADD COLUMN a_id int REFERENCES a;`,
			[]string{`"public"."a"`, `"public"."b"`}},
		{"self and earlier tables", `CREATE TABLE b (id int PRIMARY KEY, parent int REFERENCES b, p int REFERENCES plans); CREATE TABLE a (id int);`,
			[]string{`"public"."b"`, `"public"."a"`}},
		{"cycle keeps written order", `CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a); CREATE TABLE a (id int PRIMARY KEY, b_id int REFERENCES b);`,
			[]string{`"public"."b"`, `"public"."a"`}},
		{"not reference tables", `CREATE TEMP TABLE t (id int); CREATE TABLE p (id int) PARTITION BY RANGE (id); CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (2); CREATE TABLE IF NOT EXISTS q (id int); CREATE TABLE IF NOT EXISTS q (id int);`,
			[]string{`"public"."q"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var diags diag.List
			f := migfile.Parse("00001_x.sql", "-- +goose Up\n-- tenantgen:shared\n"+tc.up+"\n", &diags)
			if err := diags.Err(); err != nil {
				t.Fatal(err)
			}
			var up []*migfile.Statement
			for _, st := range f.Statements {
				if st.Section == migfile.Up {
					up = append(up, st)
				}
			}
			if got := referencedFirst(createdTables(up), foreignKeys(up)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
