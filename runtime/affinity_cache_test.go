package runtime

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgen/tenantgen/internal/pgtest"
)

// TestStatementCacheFollowsTenants: each affine connection's statement
// cache holds the configured capacity plus room for its share of the
// tenants the runtime knows of.
func TestStatementCacheFollowsTenants(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 8
	db, err := OpenConfig(context.Background(), cfg, WithoutRegistryNotifications())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.registered.Store(10000)
	c, release, err := db.router.acquire(context.Background(), nameHash("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	want := 512 + 2*(10000+7)/8*statementsPerTenant
	if got := c.Conn().Config().StatementCacheCapacity; got != want {
		t.Fatalf("statement cache %d, want %d", got, want)
	}
}

// TestStatementCacheGrowsWithTheFleet: a connection sized for a small
// fleet is replaced by one with room for the tenants bound since, once the
// fleet more than doubled.
func TestStatementCacheGrowsWithTheFleet(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 2
	db, err := OpenConfig(context.Background(), cfg, WithoutRegistryNotifications())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.registered.Store(0)
	capacity := func() int {
		c, release, err := db.router.acquire(context.Background(), nameHash("x"))
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		return c.Conn().Config().StatementCacheCapacity
	}
	small := capacity()
	for i := 0; i < 100; i++ {
		db.noteBound(MustTenant(fmt.Sprintf("grow_%d", i)))
	}
	if got, want := capacity(), 512+2*(100+1)/2*statementsPerTenant; got != want || got <= small {
		t.Fatalf("after 100 tenants: cache %d (was %d), want %d", got, small, want)
	}
}
