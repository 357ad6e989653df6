package runtime

// Export and import of one tenant, with PostgreSQL's own pg_dump and
// pg_restore.
//
// The export file is a tar archive of two members, in this order:
//
//   - manifest.json: {"format": "tenantgen-tenant-export", "format_version": 1,
//     "tenant", "state", "database", "created_at", "domains": [{"name",
//     "primary"}], "version" (the tenant-set version applied),
//     "version_rows": [{"id", "version_id", "is_applied", "tstamp"}] (its
//     goose_db_version table, row by row), "exported_at", "pg_dump"
//     (pg_dump --version)}: the registry rows and the version table, readable
//     without PostgreSQL.
//   - schema.dump: pg_dump --format=custom --schema=<tenant> --no-owner
//     --no-privileges: the schema with its data, version table included;
//     pg_restore --list shows its contents.
//
// Import restores it into a database of the same application: it refuses
// a file whose version differs from the runtime's latest tenant migration,
// and creates nothing when any step fails.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	exportFormat   = "tenantgen-tenant-export"
	exportVersion  = 1
	manifestMember = "manifest.json"
	dumpMember     = "schema.dump"
)

// ErrVersionMismatch is returned by ImportTenant for an export whose
// tenant-set version is not the runtime's.
var ErrVersionMismatch = errors.New("the export's tenant-set version is not this application's")

// ExportManifest is the manifest.json of an export file.
type ExportManifest struct {
	Format        string         `json:"format"`
	FormatVersion int            `json:"format_version"`
	Tenant        string         `json:"tenant"`
	State         TenantState    `json:"state"`
	Database      string         `json:"database"`
	CreatedAt     time.Time      `json:"created_at"`
	Domains       []ExportDomain `json:"domains"`
	Version       int64          `json:"version"`
	VersionRows   []VersionRow   `json:"version_rows"`
	ExportedAt    time.Time      `json:"exported_at"`
	PgDump        string         `json:"pg_dump"`
}

// ExportDomain is a domain row of an export.
type ExportDomain struct {
	Name    string `json:"name"`
	Primary bool   `json:"primary"`
}

// VersionRow is a row of a goose version table.
type VersionRow struct {
	ID        int64     `json:"id"`
	VersionID int64     `json:"version_id"`
	IsApplied bool      `json:"is_applied"`
	Tstamp    time.Time `json:"tstamp"`
}

// ExportOptions tune ExportTenant and ImportTenant.
type ExportOptions struct {
	// BinDir is where pg_dump and pg_restore are; default: the PATH, then
	// the newest /usr/lib/postgresql/*/bin.
	BinDir string
}

// ImportOptions tune ImportTenant.
type ImportOptions struct {
	ExportOptions
	// As imports the tenant under another name (built on RenameTenant's
	// rename, in the import's last transaction). The exported name must be
	// free in the database all the same while the import runs: pg_restore
	// restores under it.
	As Tenant
	// Domains, when not nil, replace the export's domains (with As set, the
	// export's domains are not imported unless given here).
	Domains []string
}

// ExportTenant writes t (schema, data, registry rows, version table) to w in
// the format above. It holds t's lifecycle and migration locks meanwhile:
// no creation, drop, rename or migration of t runs during the dump, whose
// data is one snapshot (pg_dump's).
func (db *DB) ExportTenant(ctx context.Context, t Tenant, w io.Writer, opts ExportOptions) error {
	if t.IsZero() {
		return errZeroTenant
	}
	conn, unlock, err := db.lockTenantName(ctx, t)
	if err != nil {
		return fmt.Errorf("exporting tenant %s: %w", t.name, err)
	}
	defer unlock()
	// Session-level, released with unlock's connection at the latest.
	mig := lockID("tenant:" + t.name)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, mig); err != nil {
		return fmt.Errorf("exporting tenant %s: %w", t.name, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, mig)
	m, err := db.manifest(ctx, conn, t)
	if err != nil {
		return fmt.Errorf("exporting tenant %s: %w", t.name, err)
	}
	pgDump, err := pgTool(opts.BinDir, "pg_dump")
	if err != nil {
		return err
	}
	if m.PgDump, err = toolVersion(ctx, pgDump); err != nil {
		return err
	}
	var dump bytes.Buffer
	if err := db.runTool(ctx, &dump, pgDump, "--format=custom", "--no-owner", "--no-privileges", "--schema="+t.Ident()); err != nil {
		return fmt.Errorf("exporting tenant %s: %w", t.name, err)
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, member := range []struct {
		name string
		data []byte
	}{{manifestMember, raw}, {dumpMember, dump.Bytes()}} {
		if err := tw.WriteHeader(&tar.Header{Name: member.name, Mode: 0o644, Size: int64(len(member.data)), ModTime: m.ExportedAt}); err != nil {
			return err
		}
		if _, err := tw.Write(member.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// manifest reads t's registry rows and version table.
func (db *DB) manifest(ctx context.Context, conn *pgx.Conn, t Tenant) (*ExportManifest, error) {
	m := &ExportManifest{Format: exportFormat, FormatVersion: exportVersion, Tenant: t.name, Domains: []ExportDomain{}, ExportedAt: time.Now().UTC().Truncate(time.Second)}
	err := conn.QueryRow(ctx, `SELECT state, database, created_at FROM public.tenantgen_tenants WHERE name = $1`, t.name).Scan(&m.State, &m.Database, &m.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrTenantNotFound
	}
	if err != nil {
		return nil, err
	}
	if m.State != StateActive && m.State != StateSuspended {
		return nil, fmt.Errorf("it is %s", m.State)
	}
	rows, err := conn.Query(ctx, `SELECT domain, is_primary FROM public.tenantgen_domains WHERE tenant = $1 ORDER BY is_primary DESC, domain`, t.name)
	if err != nil {
		return nil, err
	}
	if m.Domains, err = pgx.CollectRows(rows, pgx.RowToStructByPos[ExportDomain]); err != nil {
		return nil, err
	}
	if m.Domains == nil {
		m.Domains = []ExportDomain{}
	}
	if m.VersionRows, err = versionRows(ctx, conn, t); err != nil {
		return nil, err
	}
	for _, r := range m.VersionRows {
		m.Version = max(m.Version, r.VersionID)
	}
	return m, nil
}

func versionRows(ctx context.Context, q DBTX, t Tenant) ([]VersionRow, error) {
	table := pgx.Identifier{t.name, versionTable}.Sanitize()
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil || !exists {
		return []VersionRow{}, err
	}
	rows, err := q.Query(ctx, `SELECT id, version_id, is_applied, tstamp FROM `+table+` ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[VersionRow])
}

// ImportTenant restores an export into this database and registers the
// tenant, in its exported state, under its name or opts.As. It refuses
// (ErrVersionMismatch) an export whose tenant-set version is not the
// latest of this runtime's migrations, and a name that is taken
// (ErrTenantExists). It is all or nothing like CreateTenant: a registry row
// in state creating is written first, under the name's lock, so that a
// failure, or an importer killed half-way, leaves nothing the next creation
// of the name does not clean up.
func (db *DB) ImportTenant(ctx context.Context, r io.Reader, opts ImportOptions) (_ Tenant, err error) {
	dir, err := os.MkdirTemp("", "tenantgen-import-")
	if err != nil {
		return Tenant{}, err
	}
	defer os.RemoveAll(dir)
	m, dumpPath, err := readExport(r, dir)
	if err != nil {
		return Tenant{}, fmt.Errorf("importing: %w", err)
	}
	orig, err := ParseTenant(m.Tenant)
	if err != nil {
		return Tenant{}, fmt.Errorf("importing: %w", err)
	}
	target := orig
	if !opts.As.IsZero() {
		target = opts.As
	}
	if err := db.checkImportVersion(m); err != nil {
		return Tenant{}, fmt.Errorf("importing tenant %s: %w", target.name, err)
	}
	domains, err := importDomains(m, opts)
	if err != nil {
		return Tenant{}, err
	}
	pgRestore, err := pgTool(opts.BinDir, "pg_restore")
	if err != nil {
		return Tenant{}, err
	}
	conn, unlock, err := db.lockTenantNames(ctx, orig, target)
	if err != nil {
		return Tenant{}, fmt.Errorf("importing tenant %s: %w", target.name, err)
	}
	defer unlock()
	if err := reserveImport(ctx, conn, orig, target); err != nil {
		return Tenant{}, fmt.Errorf("importing tenant %s: %w", target.name, err)
	}
	defer db.removeOnFailure(ctx, conn, unlock, orig, "import", &err)
	if err = db.runTool(ctx, io.Discard, pgRestore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", dumpPath); err != nil {
		return Tenant{}, fmt.Errorf("importing tenant %s: %w", target.name, err)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return finishImport(ctx, tx, m, orig, target, domains) })
	if err != nil {
		return Tenant{}, fmt.Errorf("importing tenant %s: %w", target.name, err)
	}
	unlock()
	db.tenantRecreated(target)
	db.registryChanged()
	db.logger.InfoContext(ctx, "tenantgen: tenant imported", "tenant", target.name, "from", orig.name, "version", m.Version)
	return target, nil
}

// readExport unpacks an export's members into dir.
func readExport(r io.Reader, dir string) (*ExportManifest, string, error) {
	tr := tar.NewReader(r)
	var m *ExportManifest
	dumpPath := ""
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading the export: %w", err)
		}
		switch h.Name {
		case manifestMember:
			m = &ExportManifest{}
			if err := json.NewDecoder(tr).Decode(m); err != nil {
				return nil, "", fmt.Errorf("reading %s: %w", manifestMember, err)
			}
		case dumpMember:
			dumpPath = filepath.Join(dir, dumpMember)
			f, err := os.Create(dumpPath)
			if err != nil {
				return nil, "", err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, "", err
			}
		}
	}
	switch {
	case m == nil || m.Format != exportFormat:
		return nil, "", fmt.Errorf("not a tenantgen export: no %s of format %q", manifestMember, exportFormat)
	case m.FormatVersion != exportVersion:
		return nil, "", fmt.Errorf("export format version %d, this tenantgen reads %d", m.FormatVersion, exportVersion)
	case dumpPath == "":
		return nil, "", fmt.Errorf("the export has no %s", dumpMember)
	}
	return m, dumpPath, nil
}

// checkImportVersion refuses an export that is not at this runtime's
// latest tenant-set version, or has versions the files do not.
func (db *DB) checkImportVersion(m *ExportManifest) error {
	_, files := db.migs.Versions()
	var latest int64
	if len(files) > 0 {
		latest = files[len(files)-1]
	}
	if m.Version != latest {
		return fmt.Errorf("%w: the export is at version %d, this application's tenant set at %d: migrate one side first", ErrVersionMismatch, m.Version, latest)
	}
	for _, r := range m.VersionRows {
		if r.VersionID != 0 && !slices.Contains(files, r.VersionID) {
			return fmt.Errorf("%w: the export has version %d, which this application's tenant set does not", ErrVersionMismatch, r.VersionID)
		}
	}
	return nil
}

func importDomains(m *ExportManifest, opts ImportOptions) ([]string, error) {
	var in []string
	switch {
	case opts.Domains != nil:
		in = opts.Domains
	case opts.As.IsZero():
		for _, d := range m.Domains {
			in = append(in, d.Name) // primary first, as exported
		}
	}
	out := make([]string, len(in))
	for i, d := range in {
		var err error
		if out[i], err = NormalizeDomain(d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// reserveImport writes the creating row pg_restore's schema belongs to,
// after checking that neither name is taken.
func reserveImport(ctx context.Context, conn *pgx.Conn, orig, target Tenant) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// A creating row of either name was left by a creator or importer
		// that died: we hold the locks it held. Its schema goes with it.
		rows, err := tx.Query(ctx, `DELETE FROM public.tenantgen_tenants WHERE name = ANY($1) AND state = 'creating' RETURNING name`, []string{orig.name, target.name})
		if err != nil {
			return err
		}
		stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, n := range stale {
			if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{n}.Sanitize()+" CASCADE"); err != nil {
				return err
			}
		}
		var n int
		err = tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM public.tenantgen_tenants WHERE name = ANY($1)) + (SELECT count(*) FROM pg_namespace WHERE nspname = ANY($1))`,
			[]string{orig.name, target.name}).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%s or %s is a tenant or a schema already (the import restores under the exported name, %s, which must be free): %w", orig.name, target.name, orig.name, ErrTenantExists)
		}
		_, err = tx.Exec(ctx, `INSERT INTO public.tenantgen_tenants (name, state) VALUES ($1, 'creating')`, orig.name)
		return err
	})
}

// finishImport checks what pg_restore restored, renames it when asked, and
// registers the domains and state.
func finishImport(ctx context.Context, tx pgx.Tx, m *ExportManifest, orig, target Tenant, domains []string) error {
	got, err := versionRows(ctx, tx, orig)
	if err != nil {
		return err
	}
	if len(got) != len(m.VersionRows) {
		return fmt.Errorf("the restored version table has %d rows, the manifest %d", len(got), len(m.VersionRows))
	}
	if orig != target {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1), pg_advisory_xact_lock($2)`, lockID("tenant:"+orig.name), lockID("tenant:"+target.name)); err != nil {
			return err
		}
		if err := renameSchema(ctx, tx, orig, target); err != nil {
			return err
		}
	}
	for i, d := range domains {
		if _, err := tx.Exec(ctx, `INSERT INTO public.tenantgen_domains (domain, tenant, is_primary) VALUES ($1, $2, $3)`, d, target.name, i == 0); err != nil {
			return fmt.Errorf("domain %s: %w", d, err)
		}
	}
	state := m.State
	if state != StateSuspended {
		state = StateActive
	}
	tag, err := tx.Exec(ctx, `UPDATE public.tenantgen_tenants SET state = $2, database = $3, created_at = $4 WHERE name = $1 AND state = 'creating'`,
		target.name, string(state), m.Database, m.CreatedAt)
	if err == nil && tag.RowsAffected() != 1 {
		err = errors.New("its registry row went away during the import")
	}
	return err
}

// pgTool finds pg_dump or pg_restore.
func pgTool(binDir, name string) (string, error) {
	if binDir != "" {
		return filepath.Join(binDir, name), nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	slices.SortFunc(dirs, func(a, b string) int { return pgMajor(b) - pgMajor(a) })
	if len(dirs) > 0 {
		return dirs[0], nil
	}
	return "", fmt.Errorf("tenantgen: %s not found in PATH or /usr/lib/postgresql/*/bin: install the PostgreSQL client or set BinDir", name)
}

func pgMajor(path string) int {
	parts := strings.Split(path, "/")
	if len(parts) > 4 {
		n, _ := strconv.Atoi(parts[4])
		return n
	}
	return 0
}

func toolVersion(ctx context.Context, tool string) (string, error) {
	out, err := exec.CommandContext(ctx, tool, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("running %s --version: %w", tool, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// runTool runs pg_dump or pg_restore against db's database, with the
// connection parameters of its pool (password in the environment, not on
// the command line).
func (db *DB) runTool(ctx context.Context, stdout io.Writer, tool string, args ...string) error {
	cc := db.pool.Config().ConnConfig
	conn := []string{"--host=" + cc.Host, "--port=" + strconv.Itoa(int(cc.Port)), "--username=" + cc.User, "--dbname=" + cc.Database, "--no-password"}
	cmd := exec.CommandContext(ctx, tool, append(conn, args...)...)
	cmd.Env = append(os.Environ(), "PGAPPNAME=tenantgen")
	if cc.Password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+cc.Password)
	}
	if cc.TLSConfig == nil {
		cmd.Env = append(cmd.Env, "PGSSLMODE=disable")
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(tool), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
