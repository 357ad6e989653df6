package migrations

import (
	"bytes"
	"strings"

	"github.com/tenantgen/tenantgen/gen/migfile"
)

// writeCitusReferenceTables ends a shared Up section with a statement that
// makes the tables it created Citus reference tables (copied to every node),
// so that tenant tables, which Citus places on a worker, may reference them
// (42P16 otherwise) and join them on the worker. It does nothing where the
// citus extension is not installed, so the same file serves plain
// PostgreSQL, tenantgen's runtime and plain goose.
//
// Reference tables must be created referenced first: converting a table
// that references a plain one turns the plain one into a Citus local table
// and the conversion fails. The order is computed from pg_constraint when
// the statement runs, which also covers foreign keys added by ALTER TABLE.
// Names are looked up again on every use because a conversion replaces a
// table's OID (the old one becomes its shard). Partitioned tables and
// partitions, which reference tables cannot be, are left alone.
func writeCitusReferenceTables(b *bytes.Buffer, up []*migfile.Statement) {
	tables := createdTables(up)
	if len(tables) == 0 {
		return
	}
	quoted := make([]string, len(tables))
	for i, t := range tables {
		quoted[i] = sqlLiteral(t)
	}
	b.WriteString("\n-- Citus: the tables above become reference tables (nothing happens without the citus extension).\n")
	b.WriteString("-- +goose StatementBegin\n")
	b.WriteString(`DO $tenantgen_citus$
DECLARE
    todo text[] := ARRAY[` + strings.Join(quoted, ", ") + `];
    t text;
    progress boolean := true;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    -- Keep Citus from turning referenced tables into Citus local tables half-way.
    PERFORM set_config('citus.enable_local_reference_table_foreign_keys', 'off', true);
    todo := ARRAY(SELECT n FROM unnest(todo) n
        WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = to_regclass(n) AND c.relkind = 'r' AND NOT c.relispartition));
    WHILE progress LOOP
        progress := false;
        FOREACH t IN ARRAY todo LOOP
            CONTINUE WHEN EXISTS (SELECT 1 FROM pg_dist_partition
                WHERE logicalrelid = to_regclass(t) AND partmethod = 'n' AND repmodel = 't');
            CONTINUE WHEN EXISTS (SELECT 1 FROM pg_constraint c
                WHERE c.conrelid = to_regclass(t) AND c.contype = 'f' AND c.confrelid <> c.conrelid
                  AND c.confrelid IN (SELECT to_regclass(n) FROM unnest(todo) n)
                  AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p
                      WHERE p.logicalrelid = c.confrelid AND p.partmethod = 'n' AND p.repmodel = 't'));
            PERFORM create_reference_table(to_regclass(t));
            progress := true;
        END LOOP;
    END LOOP;
END
$tenantgen_citus$;
`)
	b.WriteString("-- +goose StatementEnd\n")
}

// createdTables lists the tables the statements create, schema-qualified
// (public when unqualified: the shared set's schema) and quoted.
func createdTables(sts []*migfile.Statement) []string {
	var out []string
	for _, st := range sts {
		cs := st.Node.GetCreateStmt()
		if cs == nil || cs.Relation == nil || cs.Relation.Relpersistence == "t" || len(cs.InhRelations) > 0 && cs.Partbound != nil {
			continue
		}
		schema := cs.Relation.Schemaname
		if schema == "" {
			schema = "public"
		}
		out = append(out, quoteIdent(schema)+"."+quoteIdent(cs.Relation.Relname))
	}
	return out
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func sqlLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
