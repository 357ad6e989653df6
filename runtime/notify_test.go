package runtime_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgen/tenantgen/example/kitchensink/db"
	"github.com/tenantgen/tenantgen/internal/pgtest"
	"github.com/tenantgen/tenantgen/runtime"
)

// changes returns a channel that receives once per registry change rt
// learns of.
func changes(rt *runtime.DB) <-chan struct{} {
	ch := make(chan struct{}, 64)
	rt.OnRegistryChange(func() { ch <- struct{}{} })
	return ch
}

// TestRegistryChangesReachOtherRuntimes: every registry change made
// through one runtime runs the other runtime's callbacks (the middleware's
// domain cache), and a recreated tenant's cached statements in the other
// runtime are reset before they can fail.
func TestRegistryChangesReachOtherRuntimes(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	tn := runtime.MustTenant("notified")
	a, _ := openCounted(t, url, pgx.QueryExecModeCacheStatement)
	b, bStale := openCounted(t, url, pgx.QueryExecModeCacheStatement)
	if _, err := a.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	bChanged := changes(b)
	steps := []struct {
		name string
		run  func() error
	}{
		{"create", func() error { return a.CreateTenant(ctx, tn, runtime.CreateOptions{}) }},
		{"add domain", func() error { return a.AddDomain(ctx, tn, "notified.example", true) }},
		{"remove domain", func() error { return a.RemoveDomain(ctx, "notified.example") }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		<-bChanged // the test's deadline is the bound
	}

	// b caches statements for tn; a recreates it; once b heard of it, b's
	// queries run without a single stale statement (no retry needed).
	if _, err := db.New(a).Tenant(tn).CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "x", Status: db.ItemStatusDraft, Tags: []string{}}); err != nil {
		t.Fatal(err)
	}
	for _, sq := range staleQueries {
		if err := sq.run(ctx, db.New(b).Tenant(tn), tn); err != nil {
			t.Fatalf("%s: %v", sq.name, err)
		}
	}
	if err := a.DropTenant(ctx, tn, tn.String()); err != nil {
		t.Fatal(err)
	}
	<-bChanged
	if err := a.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	<-bChanged
	if _, err := db.New(a).Tenant(tn).CreateItem(ctx, db.CreateItemParams{Tenant: tn.String(), Name: "x", Status: db.ItemStatusDraft, Tags: []string{}}); err != nil {
		t.Fatal(err)
	}
	bStale.n.Store(0)
	for _, sq := range staleQueries {
		if err := sq.run(ctx, db.New(b).Tenant(tn), tn); err != nil {
			t.Fatalf("after recreation, %s: %v", sq.name, err)
		}
	}
	if n := bStale.n.Load(); n != 0 {
		t.Errorf("b ran %d stale statements: the notification did not reset them", n)
	}
}

// TestListenerReconnectsAndRefreshes: when the listening connection is
// killed, the runtime reconnects, runs its callbacks once for what it may
// have missed, and hears later changes again.
func TestListenerReconnectsAndRefreshes(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	a := openURL(t, url, 2, nil, lcQuiet)
	b := openURL(t, url, 2, nil, lcQuiet)
	if _, err := a.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	bChanged := changes(b)
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// Both listeners: b's refresh is what the test waits for; a refreshing
	// too is harmless.
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN tenantgen_registry'`); err != nil {
		t.Fatal(err)
	}
	<-bChanged // the refresh after reconnecting
	tn := runtime.MustTenant("after_reconnect")
	if err := a.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	<-bChanged
}

// TestRegistryChangeFromAnotherProcess: a tenant dropped by another OS
// process (this test binary, re-executed) reaches this runtime's callbacks.
func TestRegistryChangeFromAnotherProcess(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	rt := openURL(t, url, 2, nil, lcQuiet)
	if _, err := rt.MigrateShared(ctx); err != nil {
		t.Fatal(err)
	}
	tn := runtime.MustTenant("child_dropped")
	if err := rt.CreateTenant(ctx, tn, runtime.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	changed := changes(rt)
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildDropsTenant$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TENANTGEN_CHILD_DROP_URL="+url, "TENANTGEN_CHILD_DROP_TENANT="+tn.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	<-changed
}

// TestChildDropsTenant is the child process of
// TestRegistryChangeFromAnotherProcess; on its own it does nothing.
func TestChildDropsTenant(t *testing.T) {
	url := os.Getenv("TENANTGEN_CHILD_DROP_URL")
	if url == "" {
		t.Skip("child of TestRegistryChangeFromAnotherProcess")
	}
	tn := runtime.MustTenant(os.Getenv("TENANTGEN_CHILD_DROP_TENANT"))
	rt := openURL(t, url, 2, nil, lcQuiet, runtime.WithoutRegistryNotifications())
	if err := rt.DropTenant(context.Background(), tn, tn.String()); err != nil {
		t.Fatal(err)
	}
}
