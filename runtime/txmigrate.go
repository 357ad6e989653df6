package runtime

// One-transaction migration: a tenant's pending tenant migrations, with the
// version rows goose would write for them, applied in one transaction that
// holds the tenant's migration lock. goose commits every migration on its
// own and reads its version table around each one; for a tenant set of a
// few small files that bookkeeping costs as much as the DDL. The state left
// is goose's, row for row: the same version table, created the same way,
// with version 0 first and one row per applied version, so goose and Status
// read it as their own.
//
// A migration goose must run itself (NO TRANSACTION, which cannot share a
// transaction, ENVSUB, which substitutes variables, or an annotation this
// reader does not know) splits the run: what comes before it commits, goose
// runs it, and the rest goes on in a new transaction.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgen/tenantgen/runtime/contract"
)

// planned is one migration of the tenant set, read for the one-transaction
// runner.
type planned struct {
	version int64
	path    string
	up      string // the Up section, verbatim: PostgreSQL splits it
	// viaGoose says goose must run this migration, and why.
	viaGoose string
}

// loadPlan reads the tenant set's migrations in version order. It never
// fails on a file goose would refuse: such a file is marked viaGoose, and
// goose reports the problem when its turn comes.
func loadPlan(fsys fs.FS) ([]planned, error) {
	var out []planned
	for _, v := range contract.SetVersions(fsys) {
		path, err := versionPath(fsys, v)
		if err != nil {
			return nil, err
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", path, err)
		}
		up, why := upSection(string(data))
		out = append(out, planned{version: v, path: path, up: up, viaGoose: why})
	}
	return out, nil
}

func versionPath(fsys fs.FS, v int64) (string, error) {
	names, _ := fs.Glob(fsys, "*.sql")
	var found string
	for _, n := range names {
		i := strings.IndexByte(n, '_')
		if i <= 0 {
			continue
		}
		if nv, err := strconv.ParseInt(n[:i], 10, 64); err == nil && nv == v {
			if found != "" {
				return "", fmt.Errorf("migrations %s and %s have the same version %d", found, n, v)
			}
			found = n
		}
	}
	return found, nil
}

// upSection returns a goose file's Up section, or why goose must run it.
func upSection(src string) (up, viaGoose string) {
	var b strings.Builder
	inUp, seenUp := false, false
	for _, line := range strings.SplitAfter(src, "\n") {
		ann, ok := gooseAnnotation(line)
		if !ok {
			if inUp {
				b.WriteString(line)
			} else if !seenUp && !isBlankOrComment(line) {
				return "", "statements before -- +goose Up"
			}
			continue
		}
		switch strings.ToUpper(ann) {
		case "UP":
			if seenUp {
				return "", "two Up sections"
			}
			inUp, seenUp = true, true
		case "DOWN":
			inUp = false
		case "STATEMENTBEGIN", "STATEMENTEND":
			// PostgreSQL's own parser splits the section: the markers are
			// comments to it.
			if inUp {
				b.WriteString("\n")
			}
		case "NO TRANSACTION":
			return "", "NO TRANSACTION"
		default:
			return "", "annotation -- +goose " + ann
		}
	}
	if !seenUp {
		return "", "no -- +goose Up"
	}
	return b.String(), ""
}

// gooseAnnotation reports whether line is a goose annotation, and which,
// as goose's parser decides it: a comment line containing +goose. goose
// refuses one indented; so does this reader, leaving goose to say why.
func gooseAnnotation(line string) (string, bool) {
	l := strings.TrimSpace(line)
	if !strings.HasPrefix(l, "--") || !strings.Contains(l, "+goose") {
		return "", false
	}
	if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
		return "indented", true
	}
	a := strings.TrimSpace(strings.Replace(strings.ReplaceAll(l, "--", ""), "+goose", "", 1))
	return strings.Join(strings.Fields(a), " "), true
}

func isBlankOrComment(line string) bool {
	l := strings.TrimSpace(line)
	return l == "" || strings.HasPrefix(l, "--")
}

// runStats counts what one tenant's run did.
type runStats struct {
	applied int
	txs     int     // transactions the one-transaction runner committed
	byGoose []int64 // versions goose ran, outside those transactions
	citus   bool    // goose ran them all: see tenantUpRun.citus
}

// note is what TenantResult.Note says about a run split by goose-run
// migrations, "" for a run in one transaction.
func (s runStats) note() string {
	if len(s.byGoose) == 0 {
		return ""
	}
	if s.citus {
		return fmt.Sprintf("%d migration(s) run by goose, one transaction each (Citus refuses multi-statement DDL strings)", len(s.byGoose))
	}
	vs := make([]string, len(s.byGoose))
	for i, v := range s.byGoose {
		vs[i] = strconv.FormatInt(v, 10)
	}
	return fmt.Sprintf("split at version %s (run by goose, without a transaction): %d transaction(s) around it", strings.Join(vs, ", "), s.txs)
}

// tenantUpRun applies the pending migrations of plan to t on conn. final,
// when set, runs in the last transaction, before its commit (creation uses
// it for the seed, domains and state). gooseRun runs one version by goose.
type tenantUpRun struct {
	conn     *pgx.Conn
	t        Tenant
	plan     []planned
	final    func(ctx context.Context, tx pgx.Tx) error
	gooseRun func(ctx context.Context, version int64) error
	// citus: the database is a Citus coordinator, which refuses DDL sent
	// as one multi-statement string to a distributed schema (42601 "cannot
	// insert multiple commands into a prepared statement"): there goose
	// runs every migration, statement by statement, on sessions that have
	// citus.enable_unsafe_triggers (see citus.go), and the one transaction
	// keeps only the final step.
	citus bool
}

// markerColumn names the column of the row each version insert returns, so
// that the results of a failed run tell which versions went through.
const markerColumn = "tenantgen_applied_version"

func (r *tenantUpRun) run(ctx context.Context) (runStats, error) {
	var st runStats
	for {
		done, err := r.step(ctx, &st)
		if err != nil || done {
			return st, err
		}
	}
}

// step runs one transaction: every pending migration up to the first one
// goose must run, or that one by goose. It reports done when nothing is
// pending after it.
func (r *tenantUpRun) step(ctx context.Context, st *runStats) (done bool, err error) {
	tx, err := r.conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	applied, tableExists, path, err := r.lockAndRead(ctx, tx)
	if err != nil {
		return false, err
	}
	pending, err := pendingVersions(r.plan, applied)
	if err != nil {
		return false, err
	}
	if len(pending) > 0 && (pending[0].viaGoose != "" || r.citus) {
		// goose takes the lock itself, on a connection of its own.
		if err := tx.Rollback(ctx); err != nil {
			return false, err
		}
		if err := r.gooseRun(ctx, pending[0].version); err != nil {
			return false, err
		}
		st.applied++
		st.byGoose = append(st.byGoose, pending[0].version)
		st.citus = r.citus
		return false, nil
	}
	batch := pending
	for i, m := range pending {
		if m.viaGoose != "" {
			batch = pending[:i]
			break
		}
	}
	last := len(batch) == len(pending)
	if len(batch) > 0 {
		n, err := r.apply(ctx, tx, batch, !tableExists)
		if err != nil {
			return false, err
		}
		st.applied += n
	}
	if last && r.final != nil {
		if err := r.final(ctx, tx); err != nil {
			return false, err
		}
	}
	// The path the connection had, also if a migration SET its own for
	// the session (the transaction-local one ends with the commit).
	if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, false)", path); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, err
	}
	if len(batch) > 0 {
		st.txs++
	}
	return last, nil
}

// lockAndRead takes the tenant's migration lock for the transaction (the
// key goose's session lock uses, so the two exclude each other), points the
// transaction's path at the tenant, checks that unqualified names land in
// its schema, and reads the versions goose recorded.
func (r *tenantUpRun) lockAndRead(ctx context.Context, tx pgx.Tx) (applied []int64, tableExists bool, path string, err error) {
	t := r.t
	table := pgx.Identifier{t.name, versionTable}.Sanitize()
	sql := "SET LOCAL lock_timeout = " + quoteLiteral(strconv.FormatInt(lockTimeout.Milliseconds(), 10)+"ms") + ";" +
		"SELECT pg_advisory_xact_lock(" + strconv.FormatInt(lockID("tenant:"+t.name), 10) + ");" +
		"SET LOCAL lock_timeout TO DEFAULT;" +
		"SELECT current_setting('search_path');" +
		"SELECT set_config('search_path', " + quoteLiteral(tenantPath(t)) + ", true);" +
		"SELECT current_schema(), to_regclass(" + quoteLiteral(table) + ") IS NOT NULL"
	results, err := tx.Conn().PgConn().Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, false, "", fmt.Errorf("taking the migration lock: %w", err)
	}
	if len(results) != 6 || len(results[3].Rows) != 1 || len(results[5].Rows) != 1 || len(results[5].Rows[0]) != 2 {
		return nil, false, "", errors.New("taking the migration lock: unexpected answer")
	}
	path = string(results[3].Rows[0][0])
	row := results[5].Rows[0]
	if current := string(row[0]); current != t.name {
		return nil, false, "", fmt.Errorf("the migration connection resolves names in schema %q, not %q: refusing to migrate", current, t.name)
	}
	if string(row[1]) != "t" {
		return nil, false, path, nil
	}
	vrows, err := tx.Query(ctx, "SELECT version_id FROM "+table+" ORDER BY id")
	if err != nil {
		return nil, false, "", err
	}
	applied, err = pgx.CollectRows(vrows, pgx.RowTo[int64])
	if err != nil {
		return nil, false, "", fmt.Errorf("reading the version table: %w", err)
	}
	return applied, true, path, nil
}

// pendingVersions is goose's choice of what Up applies: every version of
// the set the table does not have, refused when one is older than the
// newest applied (goose calls those missing and refuses them by default).
func pendingVersions(plan []planned, applied []int64) ([]planned, error) {
	have := make(map[int64]bool, len(applied))
	var maxV int64
	for _, v := range applied {
		have[v] = true
		maxV = max(maxV, v)
	}
	var out []planned
	var missing []string
	for _, m := range plan {
		if have[m.version] {
			continue
		}
		if m.version < maxV {
			missing = append(missing, strconv.FormatInt(m.version, 10))
		}
		out = append(out, m)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("found %d missing (out-of-order) migration(s) older than the current version %d: %s", len(missing), maxV, strings.Join(missing, ", "))
	}
	return out, nil
}

// apply runs batch in tx in one round trip: each Up section followed by the
// insert of its version row, as goose writes it, after creating the version
// table as goose creates it when it is missing. On failure, the version
// rows that came back tell which migration failed.
func (r *tenantUpRun) apply(ctx context.Context, tx pgx.Tx, batch []planned, createTable bool) (int, error) {
	q := versionQuerier{r.t.name, versionTable}
	var b strings.Builder
	if createTable {
		b.WriteString(q.CreateTable(""))
		b.WriteString(";\n")
		b.WriteString(insertVersion(q, 0))
	}
	for _, m := range batch {
		b.WriteString(m.up)
		// A section may end without a semicolon, or in a line comment.
		b.WriteString("\n;\n")
		b.WriteString(insertVersion(q, m.version))
	}
	mrr := tx.Conn().PgConn().Exec(ctx, b.String())
	done := 0
	var err error
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		marker := len(rr.FieldDescriptions()) == 1 && rr.FieldDescriptions()[0].Name == markerColumn
		var v int64
		for rr.NextRow() {
			if marker {
				v, _ = strconv.ParseInt(string(rr.Values()[0]), 10, 64)
			}
		}
		if _, cerr := rr.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if marker && err == nil && v > 0 {
			done++
		}
	}
	if cerr := mrr.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil {
		return len(batch), nil
	}
	if done >= len(batch) {
		return 0, err // the commit-side statements failed, not a migration
	}
	m := batch[done]
	return 0, fmt.Errorf("version %d (%s): %w", m.version, m.path, err)
}

func insertVersion(q versionQuerier, v int64) string {
	return "INSERT INTO " + q.ident() + " (version_id, is_applied) VALUES (" + strconv.FormatInt(v, 10) + ", true) RETURNING version_id AS " + markerColumn + ";\n"
}
