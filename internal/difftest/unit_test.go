package difftest

import (
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

func TestForeignString(t *testing.T) {
	type row struct {
		ID     int64
		Tenant string
		Note   *string
		Attrs  []byte
		Title  pgtype.Text
		Tags   []string
		hidden string
	}
	bravo := "bravo-2"
	tests := []struct {
		name string
		v    any
		want bool
	}{
		{"own row", row{ID: 1, Tenant: "alpha", Title: pgtype.Text{String: "alpha", Valid: true}}, false},
		{"tenant column", row{Tenant: "bravo"}, true},
		{"through a pointer", row{Tenant: "alpha", Note: &bravo}, true},
		{"in json", row{Tenant: "alpha", Attrs: []byte(`{"tenant": "bravo"}`)}, true},
		{"in a nullable wrapper", row{Title: pgtype.Text{String: "bravo-3", Valid: true}}, true},
		{"in an array", row{Tags: []string{"alpha", "bravo"}}, true},
		{"unexported fields are not read", row{hidden: "bravo"}, false},
		{"a scalar", "bravo", true},
		{"a number", int64(7), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := foreignString(reflect.ValueOf(tt.v), "bravo"); got != tt.want {
				t.Errorf("foreignString(%+v) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

func TestRowsOf(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want int
	}{
		{":many", []string{"a", "b", "c"}, 3},
		{":many, none", []int64{}, 0},
		{":one", struct{ ID int64 }{1}, 1},
		{"bytes are one value", []byte("{}"), 1},
		{":execresult", pgconn.NewCommandTag("UPDATE 3"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(rowsOf(reflect.ValueOf(tt.v))); got != tt.want {
				t.Errorf("rowsOf(%v) has %d rows, want %d", tt.v, got, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	base := &Report{Outcomes: map[string]string{"Tenant.A/0": "rows=3", "Tenant.B/1": "error=23505", "Tenant.C/0": "rows=1"}}
	r := &Report{Outcomes: map[string]string{"Tenant.A/0": "rows=0", "Tenant.B/1": "error=23505", "Tenant.C/0": "error=42P01"}}
	got := Compare(base, r)
	if len(got) != 2 || got[0].Method != "Tenant.A" || got[0].Variant != 0 || got[1].Method != "Tenant.C" || got[0].Kind != "outcome" {
		t.Errorf("Compare = %+v; want findings for Tenant.A/0 and Tenant.C/0", got)
	}
}

func TestCallsUnder(t *testing.T) {
	r := &Report{Paths: map[string]int{normalizePath(`"bravo", public`): 4, normalizePath(`""`): 2}}
	for path, want := range map[string]int{`"bravo", public`: 4, "bravo,public": 4, "''": 2, "alpha, public": 0} {
		if got := r.CallsUnder(path); got != want {
			t.Errorf("CallsUnder(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestArgumentVariants(t *testing.T) {
	type enumish string
	type params struct {
		Tenant string
		Name   string
		ID     int64
		Note   *string
		Due    pgtype.Date
		Price  pgtype.Numeric
		Kind   enumish
	}
	info := &Info{Enums: map[string][]string{"enumish": {"one", "two"}}}
	fresh := 0
	for v := 0; v < Variants; v++ {
		g := &argGen{variant: v, tenant: "alpha", info: info, fresh: &fresh}
		p := g.value(reflect.TypeFor[params](), "").Interface().(params)
		if p.Tenant != "alpha" {
			t.Errorf("variant %d: Tenant = %q, want the tenant's name", v, p.Tenant)
		}
		if p.Kind != "one" && p.Kind != "two" {
			t.Errorf("variant %d: enum %q is not a label", v, p.Kind)
		}
		null := v == 1
		if (p.Note == nil) != null || p.Due.Valid == null || p.Price.Valid == null {
			t.Errorf("variant %d: NULLs %v %v %v, want NULL only in variant 1", v, p.Note == nil, !p.Due.Valid, !p.Price.Valid)
		}
		if p.Due.Valid && p.Due.InfinityModifier != pgtype.Finite || p.Price.NaN {
			t.Errorf("variant %d: infinite date or NaN numeric: %+v %+v", v, p.Due, p.Price)
		}
		switch v {
		case 0:
			if p.ID != 1 || p.Name != "alpha" {
				t.Errorf("variant 0: %d %q, want the first seeded row's id and name", p.ID, p.Name)
			}
		case 2:
			if p.ID < 100000 {
				t.Errorf("variant 2: id %d, want a fresh one", p.ID)
			}
		}
	}
}
