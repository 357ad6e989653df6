package query

import (
	"strings"
	"testing"
	"time"
)

// The histogram's quantiles are within its resolution (about 3%) of the
// exact ones.
func TestHistQuantile(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 500 * time.Microsecond},
		{0.99, 990 * time.Microsecond},
		{1, 1000 * time.Microsecond},
	} {
		got := h.quantile(tc.q)
		if d := float64(got-tc.want) / float64(tc.want); d < -0.04 || d > 0.04 {
			t.Errorf("quantile(%v) = %v, want %v within 4%%", tc.q, got, tc.want)
		}
	}
	var other hist
	other.merge(&h)
	if other.n != 1000 || other.quantile(0.5) != h.quantile(0.5) {
		t.Errorf("merge: n %d, median %v; want 1000, %v", other.n, other.quantile(0.5), h.quantile(0.5))
	}
	var empty hist
	if empty.quantile(0.5) != 0 {
		t.Error("quantile of an empty histogram is not 0")
	}
}

func TestConfigCheck(t *testing.T) {
	good := func() Config {
		return Config{dur: time.Second, rounds: 1, conc: []int{1}, zipfS: 1.1, rows: 1, poolSize: 1, chunk: 1}
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"zipf s 1", func(c *Config) { c.zipfS = 1 }, false},
		{"no rows", func(c *Config) { c.rows = 0 }, false},
		{"no concurrency", func(c *Config) { c.conc = nil }, false},
		{"no duration", func(c *Config) { c.dur = 0 }, false},
	} {
		c := good()
		tc.edit(&c)
		if err := c.check(); (err == nil) != tc.ok {
			t.Errorf("%s: check() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	c := good()
	c.keys = map[string]bool{"tg-exec": true}
	if err := c.check(); err != nil || !c.keys["limit"] {
		t.Errorf("a strategy selection must keep L: %v, %v", err, c.keys)
	}
}

func TestRotated(t *testing.T) {
	keys := []string{"limit", "a", "b", "c"}
	for _, tc := range []struct {
		group int
		want  string
	}{
		{0, "a,b,c"}, {1, "b,c,a"}, {2, "c,a,b"}, {3, "a,b,c"},
	} {
		if got := strings.Join(rotated(keys, tc.group), ","); got != tc.want {
			t.Errorf("rotated(%v, %d) = %s, want %s", keys, tc.group, got, tc.want)
		}
	}
	if got := rotated([]string{"limit"}, 5); len(got) != 0 {
		t.Errorf("rotated of L alone: %v", got)
	}
	if keys[0] != "limit" || keys[1] != "a" {
		t.Errorf("rotated changed its input: %v", keys)
	}
}

func TestRatioTo(t *testing.T) {
	sl := func(ops ...int64) []sliceResult {
		out := make([]sliceResult, len(ops))
		for i, n := range ops {
			out[i] = sliceResult{ops: n, elapsed: time.Second}
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		ss, ls        []sliceResult
		ratio, lo, hi float64
		ok            bool
	}{
		{"odd", sl(10, 30, 20), sl(10, 10, 10), 2, 1, 3, true},
		{"even: mean of the middle two", sl(10, 20, 30, 40), sl(10, 10, 10, 10), 2.5, 1, 4, true},
		{"L without a rate is left out", sl(10, 20), sl(0, 10), 2, 2, 2, true},
		{"no rate at all", sl(10), sl(0), 0, 0, 0, false},
		{"no L slices", sl(10), nil, 0, 0, 0, false},
	} {
		ratio, lo, hi, ok := ratioTo(tc.ss, tc.ls)
		if ratio != tc.ratio || lo != tc.lo || hi != tc.hi || ok != tc.ok {
			t.Errorf("%s: %v %v %v %v, want %v %v %v %v", tc.name, ratio, lo, hi, ok, tc.ratio, tc.lo, tc.hi, tc.ok)
		}
	}
}
