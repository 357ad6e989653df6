package difftest

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/runtime"
)

// SeedRows is how many rows Seed writes into every table.
const SeedRows = 3

// Info is what Setup learnt about a project's database.
type Info struct {
	// Enums maps an enum's normalised name (task_status -> taskstatus) to
	// its labels, for building enum arguments.
	Enums map[string][]string
	// Seeded counts the rows Seed wrote per schema.
	Seeded map[string]int
	// Refused holds, per table, why a seed row was refused (the first
	// reason): those tables have fewer rows, or none.
	Refused map[string]string
}

// Setup migrates the database at url for p on a plain runtime (search_path
// public), creates the tenants, and seeds public and every tenant schema.
func Setup(ctx context.Context, url string, p Project, tenants ...runtime.Tenant) (*Info, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 2
	rt, err := runtime.OpenConfig(ctx, cfg, runtime.WithMigrations(p.Migrations))
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	if _, err := rt.MigrateShared(ctx); err != nil {
		return nil, fmt.Errorf("migrating shared: %w", err)
	}
	for _, t := range tenants {
		if err := rt.CreateTenant(ctx, t, runtime.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("creating %s: %w", t, err)
		}
	}
	conn, err := rt.Pool().Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	info := &Info{Enums: map[string][]string{}, Seeded: map[string]int{}, Refused: map[string]string{}}
	schemas := []string{"public"}
	markers := []string{"shared"}
	for _, t := range tenants {
		schemas = append(schemas, t.String())
		markers = append(markers, t.String())
	}
	for i, s := range schemas {
		n, err := seedSchema(ctx, conn.Conn(), s, markers[i], info.Refused)
		if err != nil {
			return nil, fmt.Errorf("seeding %s: %w", s, err)
		}
		info.Seeded[s] = n
	}
	if len(tenants) > 0 {
		if err := loadEnums(ctx, conn.Conn(), info, tenants[0].String()); err != nil {
			return nil, err
		}
	}
	return info, nil
}

func loadEnums(ctx context.Context, conn *pgx.Conn, info *Info, tenant string) error {
	rows, err := conn.Query(ctx, `
SELECT t.typname, e.enumlabel FROM pg_enum e
JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname IN ('public', $1) ORDER BY t.typname, e.enumsortorder`, tenant)
	if err != nil {
		return fmt.Errorf("reading enums: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ, label string
		if err := rows.Scan(&typ, &label); err != nil {
			return err
		}
		k := normalizeTypeName(typ)
		info.Enums[k] = append(info.Enums[k], label)
	}
	return rows.Err()
}

type seedColumn struct {
	name, typname, category, elemCategory, format string
	typ                                           uint32
	identity, generated                           string
	hasDefault, notNull                           bool
	fkTable, fkColumn                             string
}

// seedSchema writes SeedRows rows into every table of schema, parents
// before children, with ids 1..SeedRows and strings carrying marker: the
// first row's strings are marker itself, the others marker-2, marker-3. A
// row that a constraint refuses is skipped. Sequences owned by columns
// start past anything seeded or inserted explicitly by a test call.
func seedSchema(ctx context.Context, conn *pgx.Conn, schema, marker string, refused map[string]string) (int, error) {
	tables, err := tablesInOrder(ctx, conn, schema)
	if err != nil {
		return 0, err
	}
	// Sequences first: rows that triggers write while the seed rows go in
	// (audit rows, say) must not take the seed rows' explicit ids.
	_, err = conn.Exec(ctx, `
SELECT setval(s, 50000) FROM (
  SELECT pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname) AS s
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
) x WHERE s IS NOT NULL`, schema)
	if err != nil {
		return 0, fmt.Errorf("moving sequences: %w", err)
	}
	seeded := 0
	for _, tbl := range tables {
		cols, err := seedColumns(ctx, conn, tbl.oid)
		if err != nil {
			return 0, err
		}
		for i := 1; i <= SeedRows; i++ {
			sql, err := seedInsert(ctx, conn, tbl.ident, cols, marker, i)
			if err != nil {
				return 0, err
			}
			if _, err := conn.Exec(ctx, sql); err == nil {
				seeded++
			} else if _, ok := refused[tbl.ident]; !ok {
				refused[tbl.ident] = err.Error()
			}
		}
	}
	return seeded, nil
}

type seedTable struct {
	oid   uint32
	ident string
}

// tablesInOrder returns schema's tables, each after the tables its foreign
// keys reference (self references aside). tenantgen's and goose's own
// tables are left out.
func tablesInOrder(ctx context.Context, conn *pgx.Conn, schema string) ([]seedTable, error) {
	rows, err := conn.Query(ctx, `
SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       coalesce((SELECT array_agg(DISTINCT f.confrelid::oid) FROM pg_constraint f
                  WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid), '{}')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
  AND c.relname <> 'goose_db_version' AND c.relname NOT LIKE 'tenantgen\_%'
ORDER BY c.relname`, schema)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	type node struct {
		t    seedTable
		deps []uint32
	}
	var nodes []node
	for rows.Next() {
		var n node
		if err := rows.Scan(&n.t.oid, &n.t.ident, &n.deps); err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	inSchema := map[uint32]bool{}
	for _, n := range nodes {
		inSchema[n.t.oid] = true
	}
	done := map[uint32]bool{}
	var out []seedTable
	for len(out) < len(nodes) {
		progress := false
		for _, n := range nodes {
			if done[n.t.oid] {
				continue
			}
			ready := true
			for _, d := range n.deps {
				if inSchema[d] && !done[d] {
					ready = false
				}
			}
			if ready {
				done[n.t.oid] = true
				out = append(out, n.t)
				progress = true
			}
		}
		if !progress { // a cycle: take the rest as they come
			for _, n := range nodes {
				if !done[n.t.oid] {
					done[n.t.oid] = true
					out = append(out, n.t)
				}
			}
		}
	}
	return out, nil
}

func seedColumns(ctx context.Context, conn *pgx.Conn, table uint32) ([]seedColumn, error) {
	rows, err := conn.Query(ctx, `
SELECT a.attname, t.typname, coalesce(bt.typcategory, t.typcategory)::text,
       coalesce(et.typcategory::text, ''), format_type(a.atttypid, a.atttypmod),
       coalesce(NULLIF(bt.oid, 0), t.oid)::oid, a.attidentity::text, a.attgenerated::text, a.atthasdef, a.attnotnull,
       coalesce((SELECT quote_ident(rn.nspname) || '.' || quote_ident(rc.relname)
                   FROM pg_constraint f JOIN pg_class rc ON rc.oid = f.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                  WHERE f.conrelid = a.attrelid AND f.contype = 'f' AND f.conkey[1] = a.attnum
                  LIMIT 1), ''),
       coalesce((SELECT quote_ident(ra.attname)
                   FROM pg_constraint f JOIN pg_attribute ra ON ra.attrelid = f.confrelid AND ra.attnum = f.confkey[1]
                  WHERE f.conrelid = a.attrelid AND f.contype = 'f' AND f.conkey[1] = a.attnum
                  LIMIT 1), '')
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
LEFT JOIN pg_type et ON et.oid = coalesce(NULLIF(bt.typelem, 0), t.typelem)
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, table)
	if err != nil {
		return nil, fmt.Errorf("reading columns: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (seedColumn, error) {
		var c seedColumn
		err := r.Scan(&c.name, &c.typname, &c.category, &c.elemCategory, &c.format, &c.typ,
			&c.identity, &c.generated, &c.hasDefault, &c.notNull, &c.fkTable, &c.fkColumn)
		return c, err
	})
}

// seedInsert builds the INSERT of row i (1-based).
func seedInsert(ctx context.Context, conn *pgx.Conn, table string, cols []seedColumn, marker string, i int) (string, error) {
	str := marker
	if i > 1 {
		str = fmt.Sprintf("%s-%d", marker, i)
	}
	var names, vals []string
	for _, c := range cols {
		v, err := seedValue(ctx, conn, c, marker, str, i)
		if err != nil {
			return "", err
		}
		if v == "" {
			continue
		}
		names = append(names, pgx.Identifier{c.name}.Sanitize())
		vals = append(vals, v)
	}
	if len(names) == 0 {
		return "INSERT INTO " + table + " DEFAULT VALUES", nil
	}
	return fmt.Sprintf("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE VALUES (%s)",
		table, strings.Join(names, ", "), strings.Join(vals, ", ")), nil
}

// seedValue is the SQL expression for column c in row i, or "" to leave
// the column to its default.
func seedValue(ctx context.Context, conn *pgx.Conn, c seedColumn, marker, str string, i int) (string, error) {
	switch {
	case c.generated != "":
		return "", nil
	case c.fkTable != "":
		// Row i references the parent's row i, or its first row.
		sel := fmt.Sprintf("SELECT %s FROM %s ORDER BY 1", c.fkColumn, c.fkTable)
		return fmt.Sprintf("coalesce((%s OFFSET %d LIMIT 1), (%s LIMIT 1))", sel, i-1, sel), nil
	case c.name == "tenant":
		return quote(marker), nil
	}
	switch c.category {
	case "S":
		return quote(str), nil
	case "N":
		return fmt.Sprint(i), nil
	case "B":
		return "true", nil
	case "D":
		return quote("2026-01-02 03:04:05+00"), nil
	case "T":
		return quote("1 hour"), nil
	case "E":
		var labels []string
		err := conn.QueryRow(ctx, "SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = $1", c.typ).Scan(&labels)
		if err != nil || len(labels) == 0 {
			return "", fmt.Errorf("labels of %s: %v", c.format, err)
		}
		return quote(labels[(i-1)%len(labels)]), nil
	case "A":
		if c.elemCategory == "S" {
			return quote(`{"` + str + `"}`), nil
		}
		return quote("{}"), nil
	}
	if c.hasDefault {
		return "", nil
	}
	switch c.typname {
	case "json", "jsonb":
		return quote(fmt.Sprintf(`{"tenant": %q}`, str)), nil
	case "bytea":
		return quote(str), nil
	case "uuid":
		return "gen_random_uuid()", nil
	}
	return "", nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
