package polls_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/tenantgen/tenantgen/example/polls"
	"github.com/tenantgen/tenantgen/example/polls/db"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// TestCitusPolls bootstraps the tour on a Citus database of its own: thor
// and potter are distributed schemas, on different workers, the shared
// plans table a reference table, and the API works through the coordinator.
// (make test-citus also runs every other test of this package on Citus.)
func TestCitusPolls(t *testing.T) {
	ctx := context.Background()
	rt, err := runtime.Open(ctx, pgtest.NewCitusDatabase(t), runtime.WithMigrations(db.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := polls.Bootstrap(ctx, rt, io.Discard); err != nil {
		t.Fatal(err)
	}
	nodes, err := rt.TenantNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if nodes["thor"] == "" || nodes["potter"] == "" || nodes["thor"] == nodes["potter"] {
		t.Errorf("thor and potter on %v, want two workers", nodes)
	}
	var ref bool
	if err := rt.Pool().QueryRow(ctx, `SELECT repmodel = 't' FROM pg_dist_partition WHERE logicalrelid = 'public.plans'::regclass`).Scan(&ref); err != nil || !ref {
		t.Errorf("plans is not a reference table (%v)", err)
	}
	srv := httptest.NewServer(polls.Handler(rt, slog.Default()))
	defer srv.Close()
	c := client{t: t, base: srv.URL}
	var created polls.Poll
	if code := c.do("POST", "thor.polls.local", "/polls", `{"question": "Best hammer?", "choices": ["Mjolnir", "Stormbreaker"]}`, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	var list []polls.Poll
	if code := c.do("GET", "potter.polls.local", "/polls", "", &list); code != 200 || len(list) != 0 {
		t.Fatalf("potter sees %d polls (%d)", len(list), code)
	}
	if code := c.do("GET", "thor.polls.local", "/polls", "", &list); code != 200 || len(list) != 1 {
		t.Fatalf("thor sees %d polls (%d)", len(list), code)
	}
}
