package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// RenameTenant renames a tenant: its schema, its registry row and its
// domains, in one transaction, under both names' lifecycle locks and both
// names' migration locks (no creation, drop or migration of either runs
// meanwhile). Functions of the schema whose search_path was pinned to the
// old name (the generator ends string-bodied tenant functions with SET
// search_path FROM CURRENT) are pinned to the new one: left alone they
// would resolve their names in a schema that no longer exists. The
// registry-change callbacks run after the commit.
//
// Queries already bound to the old name fail from then on (the schema is
// gone); other processes' domain caches learn of the rename when they are
// invalidated or expire.
func (db *DB) RenameTenant(ctx context.Context, from, to Tenant) error {
	if from.IsZero() || to.IsZero() {
		return errZeroTenant
	}
	if from.name == to.name {
		return fmt.Errorf("renaming tenant %s: the new name is the old one", from.name)
	}
	conn, unlock, err := db.lockTenantNames(ctx, from, to)
	if err != nil {
		return fmt.Errorf("renaming tenant %s: %w", from.name, err)
	}
	defer unlock()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1), pg_advisory_xact_lock($2)`,
			lockID("tenant:"+from.name), lockID("tenant:"+to.name)); err != nil {
			return fmt.Errorf("waiting for the migration locks: %w", err)
		}
		var state TenantState
		err := tx.QueryRow(ctx, `SELECT state FROM public.tenantgen_tenants WHERE name = $1 FOR UPDATE`, from.name).Scan(&state)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return ErrTenantNotFound
		case err != nil:
			return err
		case state != StateActive && state != StateSuspended:
			return fmt.Errorf("it is %s", state)
		}
		return renameSchema(ctx, tx, from, to)
	})
	if err != nil {
		return fmt.Errorf("renaming tenant %s to %s: %w", from.name, to.name, err)
	}
	unlock()
	db.tenantRecreated(from)
	db.tenantRecreated(to)
	db.registryChanged()
	db.logger.InfoContext(ctx, "tenantgen: tenant renamed", "from", from.name, "to", to.name)
	return nil
}

// renameSchema renames from's schema and registry row (its domains follow,
// ON UPDATE CASCADE) and re-pins its functions, in tx; the caller holds the
// locks and has checked from's state.
func renameSchema(ctx context.Context, tx pgx.Tx, from, to Tenant) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM public.tenantgen_tenants WHERE name = $1`, to.name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return ErrTenantExists
	}
	if _, err := tx.Exec(ctx, "ALTER SCHEMA "+from.Ident()+" RENAME TO "+to.Ident()); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P06" {
			return fmt.Errorf("a schema of that name exists and is not a tenant's: %w", ErrTenantExists)
		}
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE public.tenantgen_tenants SET name = $2 WHERE name = $1`, from.name, to.name); err != nil {
		return err
	}
	return repinFunctions(ctx, tx, from, to)
}

// repinFunctions points every routine of to's schema whose search_path
// names from's schema at to's instead, keeping the rest of the path.
func repinFunctions(ctx context.Context, tx pgx.Tx, from, to Tenant) error {
	rows, err := tx.Query(ctx, `
		SELECT p.oid::regprocedure::text, substr(c, length('search_path=') + 1)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		CROSS JOIN LATERAL unnest(p.proconfig) c
		WHERE n.nspname = $1 AND c LIKE 'search\_path=%'`, to.name)
	if err != nil {
		return fmt.Errorf("listing pinned functions: %w", err)
	}
	type pin struct{ fn, path string }
	pins, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pin, error) {
		var p pin
		return p, r.Scan(&p.fn, &p.path)
	})
	if err != nil {
		return fmt.Errorf("listing pinned functions: %w", err)
	}
	for _, p := range pins {
		path, changed := renamePath(p.path, from.name, to.name)
		if !changed {
			continue
		}
		// p.fn is regprocedure output: quoted and qualified as needed.
		if _, err := tx.Exec(ctx, "ALTER ROUTINE "+p.fn+" SET search_path = "+path); err != nil {
			return fmt.Errorf("re-pinning %s: %w", p.fn, err)
		}
	}
	return nil
}

// renamePath rewrites a search_path setting as pg_proc.proconfig stores it
// ("thor", public), replacing the schema from by to, every element quoted.
func renamePath(path, from, to string) (string, bool) {
	elems := splitPath(path)
	changed := false
	out := make([]string, len(elems))
	for i, e := range elems {
		if e == from {
			e, changed = to, true
		}
		out[i] = pgx.Identifier{e}.Sanitize()
	}
	return strings.Join(out, ", "), changed
}

// splitPath splits a search_path value into schema names, unquoted.
func splitPath(path string) []string {
	var out []string
	var cur strings.Builder
	quoted, inQuotes := false, false
	flush := func() {
		s := cur.String()
		if !quoted {
			s = strings.TrimSpace(s)
		}
		if s != "" || quoted {
			out = append(out, s)
		}
		cur.Reset()
		quoted = false
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case inQuotes && c == '"' && i+1 < len(path) && path[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			inQuotes = !inQuotes
			quoted = true
		case !inQuotes && c == ',':
			flush()
		case !inQuotes && (c == ' ' || c == '\t'):
			// around names only: names with spaces are quoted
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}
