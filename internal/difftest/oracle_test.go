package difftest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	adversarial "github.com/tenantgen/tenantgen/example/adversarial/db"
	"github.com/tenantgen/tenantgen/internal/difftest"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
	"github.com/tenantgen/tenantgen/runtime/contract"
)

// A hand-written stand-in for a generated package, shaped like one (New,
// Tenant, Shared, WithTx, query methods taking a context), whose queries
// each miss a qualification in one way, on the adversarial project's schema.
// TestOracleCatchesEveryKind runs it through the harness: each miss must be
// reported as its kind, and the qualified queries not at all.

type fakeDB struct{ rt *runtime.DB }

func newFake(rt *runtime.DB) *fakeDB { return &fakeDB{rt} }

func (d *fakeDB) Tenant(t runtime.Tenant) *fakeTenant {
	return &fakeTenant{db: d.rt.Tenant(t), t: t}
}
func (d *fakeDB) Shared() *fakeShared { return &fakeShared{db: d.rt.Shared()} }

type fakeTenant struct {
	db runtime.DBTX
	t  runtime.Tenant
}

func (q *fakeTenant) WithTx(tx pgx.Tx) *fakeTenant {
	return &fakeTenant{db: runtime.BindTenant(tx, q.t), t: q.t}
}

type fakeShared struct{ db runtime.DBTX }

func (q *fakeShared) WithTx(tx pgx.Tx) *fakeShared { return &fakeShared{db: tx} }

func (q *fakeTenant) scalars(ctx context.Context, sql string, args ...any) ([]string, error) {
	rows, err := q.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

const ph = contract.Placeholder

// Row: an unqualified table read returns the decoy's rows (and touches its table).
func (q *fakeTenant) ReadUnqualified(ctx context.Context) ([]string, error) {
	return q.scalars(ctx, "SELECT tenant FROM tasks ORDER BY id")
}

// Function: an unqualified tenant function runs the decoy's.
func (q *fakeTenant) CallUnqualified(ctx context.Context) ([]string, error) {
	return q.scalars(ctx, "SELECT count_rows('audit')::text")
}

// Sequence: a sequence named in a string moves the decoy's.
func (q *fakeTenant) NextvalUnqualified(ctx context.Context) ([]string, error) {
	return q.scalars(ctx, "SELECT nextval('ticket_seq')::text")
}

// Write: an unqualified INSERT target writes into the decoy's table.
func (q *fakeTenant) WriteUnqualified(ctx context.Context, tenant string) error {
	_, err := q.db.Exec(ctx, "INSERT INTO audit (tenant, msg) VALUES ($1, 'x')", tenant)
	return err
}

// Miss: a name the decoy does not have either fails as undefined.
func (q *fakeTenant) Undefined(ctx context.Context) ([]string, error) {
	return q.scalars(ctx, "SELECT tenant FROM no_such_table")
}

// Qualified: the same reads, written as the generator writes them.
func (q *fakeTenant) ReadQualified(ctx context.Context, id int64) ([]string, error) {
	return q.scalars(ctx, "SELECT tenant FROM "+ph+".tasks WHERE id >= $1 ORDER BY id", id)
}

func (q *fakeTenant) CallQualified(ctx context.Context) ([]string, error) {
	return q.scalars(ctx, "SELECT "+ph+".count_rows('audit')::text")
}

func (q *fakeTenant) NextvalQualified(ctx context.Context) ([]string, error) {
	return q.scalars(ctx, "SELECT nextval('"+ph+".ticket_seq')::text")
}

// Shared: a shared query reaching a tenant table by an unqualified name.
func (q *fakeShared) SharedReadsTenant(ctx context.Context) (int64, error) {
	var n int64
	err := q.db.QueryRow(ctx, "SELECT count(*) FROM tasks").Scan(&n)
	return n, err
}

func (q *fakeShared) SharedQualified(ctx context.Context) (int64, error) {
	var n int64
	err := q.db.QueryRow(ctx, "SELECT count(*) FROM public.plans").Scan(&n)
	return n, err
}

func TestOracleCatchesEveryKind(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	proj := difftest.Project{Name: "fake", Migrations: adversarial.Migrations(), New: newFake}
	info, err := difftest.Setup(ctx, url, proj, alpha, bravo)
	if err != nil {
		t.Fatal(err)
	}
	r, err := difftest.Run(ctx, openDirect(t, url, bravo.Ident()+", public"), proj, info, alpha, bravo)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range append(r.Foreign, r.Misses...) {
		if !slices.Contains(got[f.Method], f.Kind) {
			got[f.Method] = append(got[f.Method], f.Kind)
		}
	}
	want := map[string][]string{
		"Tenant.ReadUnqualified":    {"row", "table"},
		"Tenant.CallUnqualified":    {"function", "table"},
		"Tenant.NextvalUnqualified": {"sequence"},
		"Tenant.WriteUnqualified":   {"table", "sequence"},
		"Tenant.Undefined":          {"miss"},
		"Shared.SharedReadsTenant":  {"table"},
	}
	for m, kinds := range want {
		for _, k := range kinds {
			if !slices.Contains(got[m], k) {
				t.Errorf("%s: no %s finding; got %v", m, k, got[m])
			}
		}
	}
	for m, kinds := range got {
		if _, ok := want[m]; !ok {
			t.Errorf("%s is qualified but reported: %v", m, kinds)
		}
	}
	if r.Methods != 10 || r.Calls != 10*difftest.Variants || r.CallsUnder("bravo, public") != r.Calls {
		t.Errorf("%d methods, %d calls, %v paths; want 10, %d, all bravo's", r.Methods, r.Calls, r.Paths, 10*difftest.Variants)
	}
	if r.Rows == 0 {
		t.Error("no rows checked")
	}
}
