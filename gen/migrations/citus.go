package migrations

import (
	"bytes"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

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
// that references a plain one fails. The generator sees every foreign key
// the section declares (in CREATE TABLE or ALTER TABLE), so it lists the
// tables in that order; tables of earlier migrations are reference tables
// already. Tables that already are one (a re-run, or the user's own call)
// are skipped, and so are tables dropped again. Names are looked up on every
// use because a conversion replaces a table's OID.
func writeCitusReferenceTables(b *bytes.Buffer, up []*migfile.Statement) {
	tables := referencedFirst(createdTables(up), foreignKeys(up))
	if len(tables) == 0 {
		return
	}
	quoted := make([]string, len(tables))
	for i, t := range tables {
		quoted[i] = sqlLiteral(t)
	}
	b.WriteString("\n-- Citus: the tables above become reference tables, referenced ones first (nothing happens without the citus extension).\n")
	b.WriteString("-- +goose StatementBegin\n")
	b.WriteString(`DO $tenantgen_citus$
DECLARE
    t text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        -- Keep Citus from turning referenced tables into Citus local tables half-way.
        PERFORM set_config('citus.enable_local_reference_table_foreign_keys', 'off', true);
        FOREACH t IN ARRAY ARRAY[` + strings.Join(quoted, ", ") + `] LOOP
            CONTINUE WHEN to_regclass(t) IS NULL OR EXISTS (SELECT 1 FROM pg_dist_partition
                WHERE logicalrelid = to_regclass(t) AND partmethod = 'n' AND repmodel = 't');
            PERFORM create_reference_table(t::regclass);
        END LOOP;
    END IF;
END
$tenantgen_citus$;
`)
	b.WriteString("-- +goose StatementEnd\n")
}

// createdTables lists the ordinary tables the statements create,
// schema-qualified (public when unqualified: the shared set's schema) and
// quoted. Temporary and partitioned tables and partitions are left out:
// reference tables cannot be any of them.
func createdTables(sts []*migfile.Statement) []string {
	var out []string
	seen := map[string]bool{}
	for _, st := range sts {
		cs := st.Node.GetCreateStmt()
		if cs == nil || cs.Relation == nil || cs.Relation.Relpersistence == "t" || cs.Partbound != nil || cs.Partspec != nil {
			continue
		}
		if name := qualified(cs.Relation); !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// foreignKeys maps each table to the tables its foreign keys, declared in
// the statements, reference.
func foreignKeys(sts []*migfile.Statement) map[string][]string {
	refs := map[string][]string{}
	add := func(from *pg_query.RangeVar, c *pg_query.Constraint) {
		if c != nil && c.Contype == pg_query.ConstrType_CONSTR_FOREIGN && c.Pktable != nil {
			refs[qualified(from)] = append(refs[qualified(from)], qualified(c.Pktable))
		}
	}
	column := func(from *pg_query.RangeVar, n *pg_query.Node) {
		for _, c := range n.GetColumnDef().GetConstraints() {
			add(from, c.GetConstraint())
		}
	}
	for _, st := range sts {
		if cs := st.Node.GetCreateStmt(); cs != nil && cs.Relation != nil {
			for _, e := range cs.TableElts {
				add(cs.Relation, e.GetConstraint())
				column(cs.Relation, e)
			}
		}
		if as := st.Node.GetAlterTableStmt(); as != nil && as.Relation != nil {
			for _, n := range as.Cmds {
				cmd := n.GetAlterTableCmd()
				add(as.Relation, cmd.GetDef().GetConstraint()) // the getters are nil-safe
				column(as.Relation, cmd.GetDef())
			}
		}
	}
	return refs
}

// referencedFirst orders tables so that every table comes after the tables
// it references (self-references and tables outside the list do not count),
// keeping the written order otherwise. Tables in a reference cycle keep
// their written order: Citus then refuses the conversion with its own
// error, rather than the migration silently leaving them local.
func referencedFirst(tables []string, refs map[string][]string) []string {
	pending := map[string]bool{}
	for _, t := range tables {
		pending[t] = true
	}
	var out []string
	for len(out) < len(tables) {
		progress := false
		for _, t := range tables {
			if pending[t] && !waitsFor(t, refs, pending) {
				out, pending[t], progress = append(out, t), false, true
			}
		}
		if !progress {
			for _, t := range tables {
				if pending[t] {
					out, pending[t] = append(out, t), false
				}
			}
		}
	}
	return out
}

// waitsFor reports whether t references a table still pending.
func waitsFor(t string, refs map[string][]string, pending map[string]bool) bool {
	for _, r := range refs[t] {
		if r != t && pending[r] {
			return true
		}
	}
	return false
}

// qualified is rv schema-qualified (public when unqualified) and quoted.
func qualified(rv *pg_query.RangeVar) string {
	schema := rv.Schemaname
	if schema == "" {
		schema = "public"
	}
	return quoteIdent(schema) + "." + quoteIdent(rv.Relname)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func sqlLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
