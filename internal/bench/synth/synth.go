// Package synth writes a synthetic tenantgen input for the generation
// benchmark: goose schema files with shared and tenant tables (foreign keys
// within and across scopes, an enum per scope, indexes) and sqlc query files,
// plus a tenantgen.yaml and the equivalent sqlc.yaml, so that both tools run
// on the same input.
//
// Layout of dir:
//
//	tenantgen.yaml   out: tenantgen-out
//	sqlc.yaml        out: sqlc-out
//	sql/schema/      00001_part.sql ... (up to 20 tables per file)
//	sql/queries/     one file per table
package synth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Options size the input.
type Options struct {
	Tables  int // half shared (s001...), half tenant (t001...); at least 2
	Queries int // spread over the tables round robin
}

// Package is the generated package's name in both configs.
const Package = "synthdb"

// Out dirs of the two configs, relative to dir.
const (
	TenantgenOut = "tenantgen-out"
	SqlcOut      = "sqlc-out"
)

// Write writes the input into dir, which it creates; files of an earlier
// Write there are replaced.
func Write(dir string, o Options) error {
	if o.Tables < 2 {
		return fmt.Errorf("synth: need at least 2 tables, got %d", o.Tables)
	}
	if o.Queries < 0 {
		return fmt.Errorf("synth: negative query count")
	}
	for _, d := range []string{"sql/schema", "sql/queries"} {
		p := filepath.Join(dir, d)
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
	}
	shared := o.Tables / 2
	if err := writeConfigs(dir, o); err != nil {
		return err
	}
	if err := writeSchema(dir, shared, o.Tables-shared); err != nil {
		return err
	}
	return writeQueries(dir, o, shared)
}

// writeConfigs writes tenantgen.yaml and the equivalent sqlc.yaml.
func writeConfigs(dir string, o Options) error {
	files := map[string]string{
		"tenantgen.yaml": fmt.Sprintf("# Synthetic input: %d tables, %d queries.\nversion: 1\nschema: sql/schema\nqueries: sql/queries\nout: %s\npackage: %s\n",
			o.Tables, o.Queries, TenantgenOut, Package),
		// What tenantgen hands sqlc (gen/golang/sqlc.go), pointing at the same files.
		"sqlc.yaml": fmt.Sprintf("version: \"2\"\nsql:\n  - engine: postgresql\n    schema: [sql/schema]\n    queries: [sql/queries]\n    gen:\n      go:\n        package: %s\n        out: %s\n        sql_package: pgx/v5\n",
			Package, SqlcOut),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeSchema writes the schema files, each with up to 10 shared and 10
// tenant tables.
func writeSchema(dir string, shared, tenant int) error {
	const perFile = 10
	for f, lo := 1, 1; lo <= max(shared, tenant); f, lo = f+1, lo+perFile {
		name := filepath.Join(dir, "sql/schema", fmt.Sprintf("%05d_part%d.sql", f, f))
		if err := os.WriteFile(name, []byte(schemaFile(lo, lo+perFile-1, shared, tenant)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// schemaFile is the goose file of tables lo..hi of each scope.
func schemaFile(lo, hi, shared, tenant int) string {
	var up, down strings.Builder
	up.WriteString("-- +goose Up\n")
	if lo <= shared {
		up.WriteString("-- tenantgen:shared\n")
		if lo == 1 {
			up.WriteString("CREATE TYPE plan_tier AS ENUM ('free', 'pro', 'enterprise');\n")
		}
		for i := lo; i <= min(hi, shared); i++ {
			sharedTable(&up, i)
		}
	}
	if lo <= tenant {
		up.WriteString("\n-- tenantgen:tenant\n")
		if lo == 1 {
			up.WriteString("CREATE TYPE record_status AS ENUM ('draft', 'active', 'archived');\n")
		}
		for i := lo; i <= min(hi, tenant); i++ {
			tenantTable(&up, i, shared)
		}
	}
	down.WriteString("\n-- +goose Down\n")
	for i := min(hi, tenant); i >= lo; i-- {
		fmt.Fprintf(&down, "DROP TABLE t%03d;\n", i)
	}
	if lo == 1 {
		down.WriteString("DROP TYPE record_status;\n")
	}
	for i := min(hi, shared); i >= lo; i-- {
		fmt.Fprintf(&down, "DROP TABLE s%03d;\n", i)
	}
	if lo == 1 && shared > 0 {
		down.WriteString("DROP TYPE plan_tier;\n")
	}
	return up.String() + down.String()
}

// writeQueries writes one query file per table: query j goes to table j mod
// Tables, its kind cycling per lap.
func writeQueries(dir string, o Options, shared int) error {
	per := make([]strings.Builder, o.Tables)
	for j := range o.Queries {
		t := j % o.Tables
		lap := j / o.Tables
		if t < shared {
			sharedQuery(&per[t], t+1, lap)
		} else {
			tenantQuery(&per[t], t-shared+1, lap, shared)
		}
	}
	for t := range per {
		if per[t].Len() == 0 {
			continue
		}
		name := fmt.Sprintf("t%03d.sql", t-shared+1)
		if t < shared {
			name = fmt.Sprintf("s%03d.sql", t+1)
		}
		if err := os.WriteFile(filepath.Join(dir, "sql/queries", name), []byte(per[t].String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func sharedTable(b *strings.Builder, i int) {
	fmt.Fprintf(b, "CREATE TABLE s%03d (\n    id bigserial PRIMARY KEY,\n    name text NOT NULL UNIQUE,\n    tier plan_tier NOT NULL DEFAULT 'free',\n", i)
	if i > 1 {
		fmt.Fprintf(b, "    parent_id bigint REFERENCES s%03d (id),\n", i-1)
	} else {
		b.WriteString("    parent_id bigint,\n")
	}
	b.WriteString("    amount numeric(12, 2),\n    data jsonb,\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n")
	fmt.Fprintf(b, "CREATE INDEX s%03d_parent_idx ON s%03d (parent_id);\n", i, i)
}

func tenantTable(b *strings.Builder, i, shared int) {
	fmt.Fprintf(b, "CREATE TABLE t%03d (\n    id bigserial PRIMARY KEY,\n    title text NOT NULL,\n    status record_status NOT NULL DEFAULT 'draft',\n", i)
	if shared > 0 {
		fmt.Fprintf(b, "    ref_id bigint REFERENCES s%03d (id),\n", (i-1)%shared+1)
	} else {
		b.WriteString("    ref_id bigint,\n")
	}
	if i > 1 {
		fmt.Fprintf(b, "    prev_id bigint REFERENCES t%03d (id) ON DELETE SET NULL,\n", i-1)
	} else {
		b.WriteString("    prev_id bigint,\n")
	}
	b.WriteString("    qty integer NOT NULL DEFAULT 0,\n    price numeric(12, 2),\n    tags text[] NOT NULL DEFAULT '{}',\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n")
	fmt.Fprintf(b, "CREATE INDEX t%03d_ref_idx ON t%03d (ref_id);\n", i, i)
}

func sharedQuery(b *strings.Builder, i, kind int) {
	t := fmt.Sprintf("s%03d", i)
	n := fmt.Sprintf("S%03d", i) + lapSuffix(kind)
	switch kind % 5 {
	case 0:
		fmt.Fprintf(b, "-- name: Get%s :one\nSELECT * FROM %s WHERE id = $1;\n\n", n, t)
	case 1:
		fmt.Fprintf(b, "-- name: List%s :many\nSELECT id, name, tier, created_at FROM %s WHERE tier = $1 ORDER BY id LIMIT $2 OFFSET $3;\n\n", n, t)
	case 2:
		fmt.Fprintf(b, "-- name: Create%s :one\nINSERT INTO %s (name, tier, parent_id, amount, data) VALUES ($1, $2, $3, $4, $5) RETURNING *;\n\n", n, t)
	case 3:
		fmt.Fprintf(b, "-- name: Update%sAmount :exec\nUPDATE %s SET amount = $2 WHERE id = $1;\n\n", n, t)
	default:
		fmt.Fprintf(b, "-- name: Delete%s :execrows\nDELETE FROM %s WHERE id = $1;\n\n", n, t)
	}
}

func tenantQuery(b *strings.Builder, i, kind, shared int) {
	t := fmt.Sprintf("t%03d", i)
	n := fmt.Sprintf("T%03d", i) + lapSuffix(kind)
	switch kind % 5 {
	case 0:
		fmt.Fprintf(b, "-- name: Get%s :one\nSELECT * FROM %s WHERE id = $1;\n\n", n, t)
	case 1:
		if shared > 0 {
			s := fmt.Sprintf("s%03d", (i-1)%shared+1)
			fmt.Fprintf(b, "-- name: List%sWithRef :many\nSELECT x.id, x.title, x.status, r.name AS ref_name, r.tier\nFROM %s x JOIN %s r ON r.id = x.ref_id\nWHERE x.status = $1 ORDER BY x.id LIMIT $2;\n\n", n, t, s)
		} else {
			fmt.Fprintf(b, "-- name: List%s :many\nSELECT id, title, status FROM %s WHERE status = $1 ORDER BY id LIMIT $2;\n\n", n, t)
		}
	case 2:
		fmt.Fprintf(b, "-- name: Create%s :one\nINSERT INTO %s (title, status, ref_id, prev_id, qty, price, tags) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *;\n\n", n, t)
	case 3:
		fmt.Fprintf(b, "-- name: Set%sStatus :exec\nUPDATE %s SET status = $2 WHERE id = $1;\n\n", n, t)
	default:
		fmt.Fprintf(b, "-- name: Count%s :one\nSELECT count(*) FROM %s WHERE status = $1 AND qty > $2;\n\n", n, t)
	}
}

// lapSuffix keeps query names unique when there are more than 5 per table.
func lapSuffix(kind int) string {
	if kind < 5 {
		return ""
	}
	return fmt.Sprintf("V%d", kind/5)
}
