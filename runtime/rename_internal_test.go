package runtime

import "testing"

func TestRenamePath(t *testing.T) {
	cases := []struct {
		in, want string
		changed  bool
	}{
		{`acme, public`, `"globex", "public"`, true},
		{`"acme", public`, `"globex", "public"`, true},
		{`"$user", acme`, `"$user", "globex"`, true},
		{`public`, `"public"`, false},
		{`acme_2, public`, `"acme_2", "public"`, false},
		{`"a""b", acme`, `"a""b", "globex"`, true},
		{`"acme, public"`, `"acme, public"`, false},
	}
	for _, c := range cases {
		got, changed := renamePath(c.in, "acme", "globex")
		if got != c.want || changed != c.changed {
			t.Errorf("renamePath(%q) = %q, %v; want %q, %v", c.in, got, changed, c.want, c.changed)
		}
	}
}
