package runtime

import (
	"strings"
	"testing"
)

// TestReceive: a runtime skips its own notifications, resets the named
// tenants (only those it ran queries for) and, for "*", everything.
func TestReceive(t *testing.T) {
	for _, tc := range []struct {
		name      string
		payload   func(db *DB) string
		calls     int
		staleBump uint64
	}{
		{"own", func(db *DB) string { return db.origin + " bound" }, 0, 0},
		{"bound tenant", func(*DB) string { return "other bound" }, 1, 1},
		{"unbound tenant", func(*DB) string { return "other never_seen" }, 1, 0},
		{"domains only", func(*DB) string { return "other " }, 1, 0},
		{"full refresh", func(*DB) string { return "other *" }, 1, 1},
		{"junk names", func(*DB) string { return "other Bad-Name,," }, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newDB(nil)
			db.hooked = true
			db.noteBound(MustTenant("bound"))
			calls := 0
			db.OnRegistryChange(func() { calls++ })
			db.receive(tc.payload(db))
			if calls != tc.calls || db.stale.Load() != tc.staleBump {
				t.Errorf("callbacks %d, stale %d; want %d, %d", calls, db.stale.Load(), tc.calls, tc.staleBump)
			}
			if p := db.pending.take(); len(p) != 0 {
				t.Errorf("a received change was queued for announcing: %v", p)
			}
		})
	}
}

// TestPayloadFitsTheLimit: more recreated tenants than a notification can
// name are announced as a full refresh.
func TestPayloadFitsTheLimit(t *testing.T) {
	db := newDB(nil)
	for i := 0; i < 200; i++ {
		db.pending.add(strings.Repeat("x", 60))
	}
	if got := db.announcement(); got != db.origin+" *" {
		t.Fatalf("payload of %d bytes: %.40q", len(got), got)
	}
	db.pending.add("a")
	db.pending.add("b")
	if got := db.announcement(); got != db.origin+" a,b" {
		t.Fatalf("payload %q", got)
	}
}
