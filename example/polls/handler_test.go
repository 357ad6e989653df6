package polls_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tenantgen/tenantgen/example/polls"
	"github.com/tenantgen/tenantgen/example/polls/db"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// TestDomainChangesReachTheMiddleware checks the README's wiring: the
// middleware's domain cache is dropped when the registry changes
// (rt.OnRegistryChange(domains.Invalidate)), and a domain the registry
// accepts is one the middleware resolves (one normalisation for both).
func TestDomainChangesReachTheMiddleware(t *testing.T) {
	ctx := context.Background()
	rt, err := runtime.Open(ctx, pgtest.NewDatabase(t), runtime.WithMigrations(db.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := polls.Bootstrap(ctx, rt, io.Discard); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(polls.Handler(rt, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	get := func(host string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/polls", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const host = "thor_eu.polls.local:8080"
	if code := get(host); code != http.StatusNotFound {
		t.Fatalf("before the domain exists: %d", code) // and now cached as unknown
	}
	if err := rt.AddDomain(ctx, runtime.MustTenant("thor"), "Thor_EU.polls.local.", false); err != nil {
		t.Fatal(err)
	}
	if code := get(host); code != http.StatusOK {
		t.Fatalf("after AddDomain: %d, want 200 at once (not after the cache's TTL)", code)
	}
	if err := rt.RemoveDomain(ctx, "thor_eu.polls.local"); err != nil {
		t.Fatal(err)
	}
	if code := get(host); code != http.StatusNotFound {
		t.Fatalf("after RemoveDomain: %d", code)
	}
}
