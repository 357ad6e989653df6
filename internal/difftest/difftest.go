// Package difftest is the differential isolation test's harness: it runs
// every generated query of a tenantgen project, through the generated Go
// code, for one tenant on connections whose search_path names another (the
// decoy), and asks PostgreSQL itself what each call touched.
//
// The oracle is generic, so that adding a query to a project needs no test
// edit:
//   - each call runs in a transaction that is rolled back; just before the
//     call and just after it, pg_stat_xact_user_tables and
//     pg_stat_xact_user_functions (with track_functions = all) say which
//     tables and functions the transaction has touched, and pg_sequences
//     what state every sequence is in. Anything outside the schemas the
//     call may use (the tenant's and public for a tenant query, public alone
//     for a shared one) that changed is a foreign access;
//   - every tenant's tables are seeded with rows whose strings carry the
//     tenant's name, so a result holding the decoy tenant's name is a
//     foreign row;
//   - errors are allowed (arguments are built blindly) but counted by
//     SQLSTATE; the classes that mean a name did not resolve (undefined
//     table, function, object, schema) are misses;
//   - each call's outcome (its row count or SQLSTATE) is recorded, so that
//     runs under different search_paths can be compared (Compare): a query
//     whose outcome depends on the connection's search_path names something
//     through it, even when it touches nothing (to_regclass in a predicate).
//
// Methods are found by reflection over the generated *TenantQueries and
// *SharedQueries types, and their arguments built by reflection, in a few
// variants (existing ids and names, NULLs, fresh values) so that reads find
// rows and writes succeed where they can.
package difftest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantgen/tenantgen/runtime"
)

// Project is a tenantgen project's generated package.
type Project struct {
	// Name identifies the project in reports and in known-leak keys.
	Name string
	// Migrations is the package's Migrations().
	Migrations runtime.Migrations
	// New is the package's New function: func(*runtime.DB) *db.DB.
	New any
}

// Variants is how many argument sets each method is called with.
const Variants = 5

// MissStates are the SQLSTATEs that mean a name did not resolve: a reference
// the generator left to the connection's search_path.
var MissStates = map[string]string{
	"42P01": "undefined table",
	"42883": "undefined function",
	"42704": "undefined object",
	"3F000": "invalid schema name",
}

// Finding is one foreign access, foreign row or miss.
type Finding struct {
	Method  string // Scope.Method, e.g. Tenant.ListTasks
	Variant int
	Kind    string // row, table, function, sequence, miss or outcome
	What    string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s (variant %d): %s", f.Method, f.Variant, f.What)
}

// Report is what a Run found.
type Report struct {
	Project string
	Methods int // query methods found
	Calls   int // method calls made
	OK      int // calls that returned no error
	Rows    int // result rows checked for the decoy's name
	// Paths counts the calls by the search_path they ran under (read inside
	// each call's transaction; see CallsUnder).
	Paths map[string]int
	// Outcomes records each call's outcome, "rows=N" or "error=SQLSTATE",
	// keyed Scope.Method/variant, to compare runs under different paths.
	Outcomes map[string]string
	// Errors counts failed calls by SQLSTATE ("go" when the error did not
	// come from PostgreSQL, e.g. pgx could not encode an argument).
	Errors map[string]int
	// Foreign lists foreign accesses and foreign rows; Misses the calls that
	// failed with a MissStates class.
	Foreign, Misses []Finding
	// FirstError holds one error message per failing method, for the log.
	FirstError map[string]string
	// NeverOK lists the methods none of whose calls succeeded: checked for
	// what they touched while failing only.
	NeverOK []string
}

// CallsUnder returns how many calls ran under search_path path (spaces
// and quotes aside: "bravo, public", or "" for the empty path).
func (r *Report) CallsUnder(path string) int { return r.Paths[normalizePath(path)] }

// Kinds counts Foreign and Misses by kind: "row:3 table:2".
func (r *Report) Kinds() map[string]int {
	out := map[string]int{}
	for _, f := range append(slices.Clone(r.Foreign), r.Misses...) {
		out[f.Kind]++
	}
	return out
}

// Compare returns a finding for every call of r whose outcome (row count or
// SQLSTATE) differs from its outcome in base: a query whose meaning
// depends on the connection's search_path.
func Compare(base, r *Report) []Finding {
	var out []Finding
	keys := make([]string, 0, len(base.Outcomes))
	for k := range base.Outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got := r.Outcomes[k]; got != base.Outcomes[k] {
			method, variant, _ := strings.Cut(k, "/")
			v, _ := strconv.Atoi(variant)
			out = append(out, Finding{method, v, "outcome", fmt.Sprintf("%s here, %s under the tenant's own search_path", got, base.Outcomes[k])})
		}
	}
	return out
}

// ForeignMethods returns the methods with a foreign access or row or a miss.
func (r *Report) ForeignMethods() []string {
	seen := map[string]bool{}
	for _, f := range append(slices.Clone(r.Foreign), r.Misses...) {
		seen[f.Method] = true
	}
	var out []string
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// ErrorSummary formats Errors as "23505:3 42P01:1".
func (r *Report) ErrorSummary() string {
	var keys []string
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", k, r.Errors[k])
	}
	return b.String()
}

// Run calls every query method of p for tenant on rt, info being what Setup
// returned, and reports what each call touched and returned that belongs
// to neither tenant's schema nor public (for a shared method: to anything
// but public), rows naming decoy, and misses. The search_path the calls ran
// under is in Report.Paths: Run sets none.
func Run(ctx context.Context, rt *runtime.DB, p Project, info *Info, tenant, decoy runtime.Tenant) (*Report, error) {
	r := &Report{Project: p.Name, Errors: map[string]int{}, FirstError: map[string]string{},
		Paths: map[string]int{}, Outcomes: map[string]string{}}
	tq, sq, err := handles(p, rt, tenant)
	if err != nil {
		return nil, err
	}
	scopes := []struct {
		name    string
		handle  reflect.Value
		allowed []string
	}{
		{"Tenant", tq, []string{tenant.String(), "public"}},
		{"Shared", sq, []string{"public"}},
	}
	c := &caller{rt: rt, info: info, tenant: tenant, decoy: decoy, report: r}
	for _, s := range scopes {
		for _, m := range queryMethods(s.handle.Type()) {
			r.Methods++
			ok := r.OK
			for v := 0; v < Variants; v++ {
				if err := c.call(ctx, s.name, s.handle, m, v, s.allowed); err != nil {
					return r, fmt.Errorf("%s.%s variant %d: %w", s.name, m.Name, v, err)
				}
			}
			if r.OK == ok {
				r.NeverOK = append(r.NeverOK, s.name+"."+m.Name)
			}
		}
	}
	return r, nil
}

// handles returns the generated package's tenant queries for tenant and its
// shared queries, checking the shape the harness relies on, so that a
// change of the generated API fails with a message instead of a panic.
func handles(p Project, rt *runtime.DB, tenant runtime.Tenant) (tq, sq reflect.Value, err error) {
	newFn := reflect.ValueOf(p.New)
	if newFn.Kind() != reflect.Func || newFn.Type().NumIn() != 1 || newFn.Type().In(0) != reflect.TypeFor[*runtime.DB]() || newFn.Type().NumOut() != 1 {
		return tq, sq, fmt.Errorf("%s: New is %T, want the generated func(*runtime.DB) *db.DB", p.Name, p.New)
	}
	dbv := newFn.Call([]reflect.Value{reflect.ValueOf(rt)})[0]
	tenantFn, sharedFn := dbv.MethodByName("Tenant"), dbv.MethodByName("Shared")
	if !tenantFn.IsValid() || !sharedFn.IsValid() {
		return tq, sq, fmt.Errorf("%s: %s has no Tenant or Shared method", p.Name, dbv.Type())
	}
	tq = tenantFn.Call([]reflect.Value{reflect.ValueOf(tenant)})[0]
	sq = sharedFn.Call(nil)[0]
	for _, h := range []reflect.Value{tq, sq} {
		if !h.MethodByName("WithTx").IsValid() {
			return tq, sq, fmt.Errorf("%s: %s has no WithTx method", p.Name, h.Type())
		}
	}
	return tq, sq, nil
}

var ctxType = reflect.TypeFor[context.Context]()

// queryMethods returns the generated query methods of a *TenantQueries or
// *SharedQueries type: those taking a context first. Tenant() and WithTx
// are not queries.
func queryMethods(t reflect.Type) []reflect.Method {
	var out []reflect.Method
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		if m.Type.NumIn() >= 2 && m.Type.In(1) == ctxType {
			out = append(out, m)
		}
	}
	return out
}

type caller struct {
	rt            *runtime.DB
	info          *Info
	tenant, decoy runtime.Tenant
	report        *Report
	fresh         int // counter for values that must not exist yet
}

// call runs method m of handle in a transaction, with variant v's arguments,
// and checks what it touched and returned.
func (c *caller) call(ctx context.Context, scope string, handle reflect.Value, m reflect.Method, v int, allowed []string) error {
	name := scope + "." + m.Name
	tx, err := c.rt.Pool().Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// Function calls are counted only with track_functions on. The call runs
	// in a savepoint, so that the transaction can still be asked what the
	// call touched when the call fails. One round trip, on the simple
	// protocol, for both.
	if _, err := tx.Conn().PgConn().Exec(ctx, "SET LOCAL track_functions = 'all'; SAVEPOINT difftest_call").ReadAll(); err != nil {
		return err
	}
	before, err := c.probe(ctx, tx, allowed)
	if err != nil {
		return err
	}
	rows, callErr := c.invoke(ctx, tx, handle, m, v)
	if callErr != nil {
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT difftest_call"); err != nil {
			return fmt.Errorf("after %v: %w", callErr, err)
		}
	}
	c.record(name, v, rows, callErr)
	after, err := c.probe(ctx, tx, allowed)
	if err != nil {
		return err
	}
	c.report.Paths[after.path]++
	for _, f := range foreign(before, after) {
		kind, _, _ := strings.Cut(f, " ")
		c.report.Foreign = append(c.report.Foreign, Finding{name, v, kind, "touched " + f})
	}
	return c.checkSequences(ctx, tx, name, v, before, after, allowed)
}

// invoke calls m on handle bound to tx, with variant v's arguments, and
// returns the rows it returned. No rows (pgx.ErrNoRows) is not an error.
func (c *caller) invoke(ctx context.Context, tx pgx.Tx, handle reflect.Value, m reflect.Method, v int) (rows []reflect.Value, err error) {
	defer func() {
		// A method the harness cannot call (a parameter it builds wrongly)
		// is that call's failure, not the whole run's.
		if p := recover(); p != nil {
			rows, err = nil, fmt.Errorf("calling %s: panic: %v", m.Name, p)
		}
	}()
	bound := handle.MethodByName("WithTx").Call([]reflect.Value{reflect.ValueOf(tx)})[0]
	args := []reflect.Value{reflect.ValueOf(ctx)}
	g := &argGen{variant: v, tenant: c.tenant.String(), info: c.info, fresh: &c.fresh}
	for i := 2; i < m.Type.NumIn(); i++ {
		args = append(args, g.value(m.Type.In(i), ""))
	}
	rows, err = c.collect(bound.MethodByName(m.Name).Call(args))
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil
	}
	return rows, err
}

// record counts a call's outcome and checks its rows for the decoy's name.
func (c *caller) record(name string, v int, rows []reflect.Value, err error) {
	c.report.Calls++
	key := fmt.Sprintf("%s/%d", name, v)
	if err != nil {
		c.report.Outcomes[key] = "error=" + c.fail(name, v, err)
	} else {
		c.report.OK++
		c.report.Outcomes[key] = fmt.Sprintf("rows=%d", len(rows))
	}
	for _, row := range rows {
		c.report.Rows++
		if s, ok := foreignString(row, c.decoy.String()); ok {
			c.report.Foreign = append(c.report.Foreign, Finding{name, v, "row", fmt.Sprintf("returned a row of %s: %q", c.decoy, s)})
		}
	}
}

// checkSequences reports the sequences outside allowed that the call moved.
// Sequence changes are not transactional: they survive the rollback, and a
// leaking setval sets the same value on every call, so a moved sequence is
// moved on, for the next call's leak to show too.
func (c *caller) checkSequences(ctx context.Context, tx pgx.Tx, name string, v int, before, after *snapshot, allowed []string) error {
	for seq, state := range after.seqs {
		old, ok := before.seqs[seq]
		if !ok || old == state || inSchemas(seq, allowed) {
			continue
		}
		c.report.Foreign = append(c.report.Foreign, Finding{name, v, "sequence", fmt.Sprintf("moved sequence %s from %s to %s", seq, old, state)})
		n, _ := strconv.ParseInt(state, 10, 64)
		if _, err := tx.Exec(ctx, "SELECT setval($1::regclass, $2)", seq, n+7); err != nil {
			return fmt.Errorf("moving %s on: %w", seq, err)
		}
	}
	return nil
}

func (c *caller) fail(name string, v int, err error) (state string) {
	state = "go"
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		state = pgErr.Code
	}
	c.report.Errors[state]++
	if _, ok := c.report.FirstError[name]; !ok {
		c.report.FirstError[name] = fmt.Sprintf("%s: %v", state, err)
	}
	if what, ok := MissStates[state]; ok {
		c.report.Misses = append(c.report.Misses, Finding{name, v, "miss", fmt.Sprintf("%s (%s): %v", state, what, err)})
	}
	return state
}

func inSchemas(qualified string, schemas []string) bool {
	schema, _, _ := strings.Cut(qualified, ".")
	return slices.Contains(schemas, schema)
}

// snapshot is what a transaction has touched so far outside the schemas a
// call may use, and the state of every non-public sequence.
type snapshot struct {
	counts map[string]int64  // "table alpha.tasks" -> scans + tuples written
	seqs   map[string]string // "alpha.tasks_id_seq" -> last value
	path   string            // the session's search_path, normalised
}

// probe takes a snapshot in q's transaction. The pg_stat_xact views are
// compared before and after a call rather than read once: in PostgreSQL 15
// they also show counts of earlier transactions of the same backend that
// have not been flushed yet.
func (c *caller) probe(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, allowed []string) (*snapshot, error) {
	const sql = `
SELECT 'table', schemaname || '.' || relname,
       coalesce(seq_scan, 0) + coalesce(idx_scan, 0) + n_tup_ins + n_tup_upd + n_tup_del
  FROM pg_stat_xact_user_tables
 WHERE schemaname <> ALL ($1::text[])
UNION ALL
SELECT 'function', schemaname || '.' || funcname, calls FROM pg_stat_xact_user_functions
 WHERE schemaname <> ALL ($1::text[])
UNION ALL
SELECT 'sequence', quote_ident(schemaname) || '.' || quote_ident(sequencename) || '=' || coalesce(last_value::text, 'unused'), 0
  FROM pg_sequences WHERE schemaname <> 'public'
UNION ALL
SELECT 'path', current_setting('search_path'), 0`
	rows, err := q.Query(ctx, sql, allowed)
	if err != nil {
		return nil, fmt.Errorf("probing what the call touched: %w", err)
	}
	defer rows.Close()
	s := &snapshot{counts: map[string]int64{}, seqs: map[string]string{}}
	for rows.Next() {
		var kind, what string
		var n int64
		if err := rows.Scan(&kind, &what, &n); err != nil {
			return nil, err
		}
		switch kind {
		case "sequence":
			name, state, _ := strings.Cut(what, "=")
			s.seqs[name] = state
		case "path":
			s.path = normalizePath(what)
		default:
			s.counts[kind+" "+what] = n
		}
	}
	return s, rows.Err()
}

// foreign lists what after shows touched since before.
func foreign(before, after *snapshot) []string {
	var out []string
	for k, n := range after.counts {
		if n > before.counts[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func normalizePath(p string) string {
	return strings.NewReplacer(" ", "", `"`, "", "'", "").Replace(p)
}

// collect interprets a method's results: the rows it returned and its
// error. Batch methods return a results type whose Exec, QueryRow or Query
// method takes a callback; it is called with one built by reflection.
func (c *caller) collect(outs []reflect.Value) ([]reflect.Value, error) {
	if len(outs) == 1 && outs[0].Type().Kind() == reflect.Pointer && outs[0].Type() != reflect.TypeFor[error]() {
		if _, ok := outs[0].Type().MethodByName("Close"); ok {
			return c.collectBatch(outs[0])
		}
	}
	var err error
	if last := outs[len(outs)-1]; last.Type() == reflect.TypeFor[error]() {
		if !last.IsNil() {
			err = last.Interface().(error)
		}
		outs = outs[:len(outs)-1]
	}
	if err != nil {
		return nil, err
	}
	var rows []reflect.Value
	for _, o := range outs {
		rows = append(rows, rowsOf(o)...)
	}
	return rows, nil
}

func (c *caller) collectBatch(br reflect.Value) ([]reflect.Value, error) {
	for _, name := range []string{"Exec", "QueryRow", "Query"} {
		m := br.MethodByName(name)
		if !m.IsValid() {
			continue
		}
		var rows []reflect.Value
		var errs []error
		fn := reflect.MakeFunc(m.Type().In(0), func(args []reflect.Value) []reflect.Value {
			last := args[len(args)-1]
			if !last.IsNil() {
				errs = append(errs, last.Interface().(error))
				return nil
			}
			for _, a := range args[1 : len(args)-1] {
				rows = append(rows, rowsOf(a)...)
			}
			return nil
		})
		m.Call([]reflect.Value{fn})
		return rows, errors.Join(errs...)
	}
	return nil, fmt.Errorf("batch results %s have no Exec, QueryRow or Query method", br.Type())
}

// rowsOf returns the rows a result value holds: the elements of a slice
// (other than []byte and pgconn.CommandTag), or the value itself.
func rowsOf(v reflect.Value) []reflect.Value {
	if v.Type() == reflect.TypeFor[pgconn.CommandTag]() {
		return nil
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 {
		out := make([]reflect.Value, v.Len())
		for i := range out {
			out[i] = v.Index(i)
		}
		return out
	}
	return []reflect.Value{v}
}

// foreignString returns a string inside v that names the decoy tenant.
func foreignString(v reflect.Value, decoy string) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		return v.String(), strings.Contains(v.String(), decoy)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return string(b), strings.Contains(string(b), decoy)
		}
		for i := 0; i < v.Len(); i++ {
			if s, ok := foreignString(v.Index(i), decoy); ok {
				return s, true
			}
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return foreignString(v.Elem(), decoy)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			if s, ok := foreignString(v.Field(i), decoy); ok {
				return s, true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if s, ok := foreignString(it.Value(), decoy); ok {
				return s, true
			}
		}
	}
	return "", false
}
