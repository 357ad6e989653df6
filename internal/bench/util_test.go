package bench

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestIntsFlag(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{in: "1,16", want: []int{1, 16}},
		{in: " 1, 100 ,10000", want: []int{1, 100, 10000}},
		{in: "4,,8,", want: []int{4, 8}},
		{in: "", want: nil},
		{in: "1,x", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "2s", wantErr: true},
	} {
		var l Ints
		err := l.Set(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("Set(%q): err %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && !slices.Equal(l, tc.want) {
			t.Errorf("Set(%q) = %v, want %v", tc.in, l, tc.want)
		}
	}
}

func TestNamesFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // String() of the result; "<nil>" for no selection
	}{
		{"query", "query"},
		{" migrate , query,", "migrate,query"},
		{"", "<nil>"},
		{" , ", "<nil>"},
	} {
		var n Names
		if err := n.Set(tc.in); err != nil {
			t.Fatal(err)
		}
		got := n.String()
		if n == nil {
			got = "<nil>"
		}
		if got != tc.want {
			t.Errorf("Set(%q): %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUpSQL(t *testing.T) {
	fsys := fstest.MapFS{
		"00002_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b ();\n-- +goose Down\nDROP TABLE b;\n")},
		"00001_a.sql": {Data: []byte("-- header\n-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a ();\n-- +goose StatementEnd\n-- +goose Down\nDROP TABLE a;\n")},
		"README.md":   {Data: []byte("-- +goose Up\nnot a migration\n")},
	}
	got, err := UpSQL(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if want := "CREATE TABLE a ();\nCREATE TABLE b ();\n"; got != want {
		t.Errorf("UpSQL = %q, want %q", got, want)
	}
	if _, err := UpSQL(fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), "no migration files") {
		t.Errorf("UpSQL of an empty set: %v, want an error", err)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		ds   []time.Duration
		q    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{ms(3, 1, 2), 0.5, 2 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 0.99, 5 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 0.01, 1 * time.Millisecond},
	} {
		if got := Percentile(tc.ds, tc.q); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.ds, tc.q, got, tc.want)
		}
	}
}
