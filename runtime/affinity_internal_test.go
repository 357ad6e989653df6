package runtime

import (
	"fmt"
	"testing"
)

func TestSlotSizes(t *testing.T) {
	for _, tc := range []struct {
		conns int32
		want  []int32
	}{
		{2, []int32{1, 1}},
		{8, []int32{1, 1, 1, 1, 1, 1, 1, 1}},
		{130, append([]int32{3, 3}, repeat(2, 62)...)},
	} {
		got := slotSizes(tc.conns)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("slotSizes(%d) = %v, want %v", tc.conns, got, tc.want)
		}
	}
}

func repeat(v int32, n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func routerOf(n int) *router {
	r := &router{}
	for i := 0; i < n; i++ {
		r.slots = append(r.slots, &slot{seed: mix(uint64(i) + 1)})
	}
	return r
}

// TestResizingMovesOnlyTheTenantsOfTheChangedSlot: a slot added takes
// tenants from every other and moves no tenant between the old ones; a slot
// removed moves only its own tenants.
func TestResizingMovesOnlyTheTenantsOfTheChangedSlot(t *testing.T) {
	const n = 10000
	for _, k := range []int{2, 7, 8, 63} {
		small, big := routerOf(k), routerOf(k+1)
		per := make([]int, k+1)
		moved := 0
		for i := 0; i < n; i++ {
			h := nameHash(fmt.Sprintf("tenant_%d", i))
			a, b := small.home(h), big.home(h)
			per[b]++
			if a != b {
				moved++
				if b != k {
					t.Fatalf("k=%d: tenant_%d moved from slot %d to old slot %d", k, i, a, b)
				}
			}
		}
		// Balance: every slot within half and twice its fair share.
		for s, c := range per {
			if fair := n / (k + 1); c < fair/2 || c > 2*fair {
				t.Errorf("k=%d: slot %d homes %d tenants, fair share %d", k+1, s, c, fair)
			}
		}
		if moved != per[k] {
			t.Errorf("k=%d: %d moved, %d homed at the new slot", k, moved, per[k])
		}
	}
}

// TestOrderStartsAtHome: the spill order is a permutation led by the home
// and the second choice.
func TestOrderStartsAtHome(t *testing.T) {
	r := routerOf(8)
	for i := 0; i < 100; i++ {
		h := nameHash(fmt.Sprintf("t%d", i))
		o := r.order(h)
		first, second := r.top2(h)
		if o[0] != first || o[1] != second || r.home(h) != first {
			t.Fatalf("order %v does not start at the two choices %d, %d", o, first, second)
		}
		seen := map[int]bool{}
		for _, s := range o {
			seen[s] = true
		}
		if len(seen) != 8 {
			t.Fatalf("order %v is not a permutation", o)
		}
	}
}

func TestPlainSelect(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{"SELECT 1", true},
		{"-- name: GetItem :one\nSELECT id FROM x", true},
		{"  /* c */ select\n1", true},
		{"selected", false},
		{"WITH d AS (DELETE FROM x RETURNING *) SELECT * FROM d", false},
		{"INSERT INTO x VALUES (1) RETURNING id", false},
		{"-- only a comment", false},
		{"", false},
	} {
		if got := plainSelect(tc.sql); got != tc.want {
			t.Errorf("plainSelect(%q) = %v, want %v", tc.sql, got, tc.want)
		}
	}
}
