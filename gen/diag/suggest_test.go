package diag

import "testing"

func TestDidYouMean(t *testing.T) {
	for _, c := range []struct {
		word  string
		cands []string
		max   int
		want  string
	}{
		{"tenat", []string{"shared", "tenant"}, 2, ` (did you mean "tenant"?)`},
		{"SHARD", []string{"shared", "tenant"}, 2, ` (did you mean "shared"?)`},
		{"please", []string{"shared", "tenant"}, 2, ""},
		{"questons", []string{"plans", "questions"}, 4, ` (did you mean "questions"?)`},
		{"x", nil, 2, ""},
	} {
		if got := DidYouMean(c.word, c.cands, c.max); got != c.want {
			t.Errorf("DidYouMean(%q, %q, %d) = %q, want %q", c.word, c.cands, c.max, got, c.want)
		}
	}
}
