package runtime_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/runtime"
	"github.com/tenantgen/tenantgen/runtime/tenanthttp"
)

// TestSuspendOverHTTP: a suspended tenant's domain gets 403 from the
// middleware (or the configured response) while its migrations still
// apply; resumed, it is served again.
func TestSuspendOverHTTP(t *testing.T) {
	d := newLCDB(t)
	ctx := context.Background()
	rt := d.setup(lcMigs())
	thor := runtime.MustTenant("thor")
	if err := rt.CreateTenant(ctx, thor, runtime.CreateOptions{Domains: []string{"thor.example"}}); err != nil {
		t.Fatal(err)
	}
	domains := tenanthttp.Domain(rt)
	rt.OnRegistryChange(domains.Invalidate)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tn, _ := tenanthttp.TenantFrom(r)
		io.WriteString(w, "hello "+tn.String())
	})
	plain := httptest.NewServer(tenanthttp.Middleware(domains)(app))
	defer plain.Close()
	// The same through a resolver that does not read the registry itself.
	registered := tenanthttp.Registered(rt, tenanthttp.Subdomain("example"))
	rt.OnRegistryChange(registered.Invalidate)
	bySub := httptest.NewServer(tenanthttp.Middleware(registered)(app))
	defer bySub.Close()
	custom := httptest.NewServer(tenanthttp.Middleware(domains, tenanthttp.WithSuspended(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := tenanthttp.TenantFrom(r); ok {
			t.Error("the suspended handler got a tenant")
		}
		http.Error(w, "payment required", http.StatusPaymentRequired)
	})))(app))
	defer custom.Close()
	get := func(srv *httptest.Server, host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	steps := []struct {
		do    func() error
		srv   *httptest.Server
		code  int
		body  string
		state runtime.TenantState
	}{
		{nil, plain, 200, "hello thor", runtime.StateActive},
		{func() error { return rt.SuspendTenant(ctx, thor) }, plain, 403, "tenant suspended", runtime.StateSuspended},
		{nil, custom, 402, "payment required", runtime.StateSuspended},
		{func() error { return rt.SuspendTenant(ctx, thor) }, plain, 403, "tenant suspended", runtime.StateSuspended}, // twice: no error
		{func() error { return rt.ResumeTenant(ctx, thor) }, plain, 200, "hello thor", runtime.StateActive},
	}
	for i, s := range steps {
		if s.do != nil {
			if err := s.do(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		if code, body := get(s.srv, "thor.example"); code != s.code || body != s.body {
			t.Fatalf("step %d: %d %q, want %d %q", i, code, body, s.code, s.body)
		}
		if s.srv == plain {
			if code, body := get(bySub, "thor.example"); code != s.code || body != s.body {
				t.Fatalf("step %d, by subdomain: %d %q, want %d %q", i, code, body, s.code, s.body)
			}
		}
		if st, err := rt.TenantState(ctx, thor); err != nil || st != s.state {
			t.Fatalf("step %d: state %v %v", i, st, err)
		}
	}
	if code, _ := get(plain, "nobody.example"); code != 404 {
		t.Fatalf("unknown domain: %d", code)
	}
	if code, _ := get(bySub, "nobody.example"); code != 404 {
		t.Fatalf("unknown subdomain: %d", code)
	}

	// Suspended, it is still migrated and listed with its state.
	if err := rt.SuspendTenant(ctx, thor); err != nil {
		t.Fatal(err)
	}
	next := d.open(lcMigs("00003_notes.sql", lcNotes))
	rep, err := next.MigrateTenants(ctx, runtime.MigrateOptions{})
	if err != nil || len(rep.Results) != 1 || rep.Results[0].To != 3 {
		t.Fatalf("migrating the suspended tenant: %v %+v", err, rep)
	}
	infos, err := rt.Tenants(ctx)
	if err != nil || len(infos) != 1 || infos[0].State != runtime.StateSuspended {
		t.Fatalf("Tenants: %v %+v", err, infos)
	}
	if err := rt.ResumeTenant(ctx, runtime.MustTenant("nobody")); !errors.Is(err, runtime.ErrTenantNotFound) {
		t.Fatalf("resuming nobody: %v", err)
	}
	if err := rt.CreateTenant(ctx, runtime.MustTenant("loki"), runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rt.ResumeTenant(ctx, runtime.MustTenant("loki")); err != nil {
		t.Fatalf("resuming an active tenant, a no-op: %v", err)
	}
}
