package runtime_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgen/tenantgen/runtime"
)

var validName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// FuzzParseTenant checks name validation against its definition: a name is
// accepted exactly when it matches the pattern and is not reserved, and an
// accepted name always quotes to itself between double quotes.
func FuzzParseTenant(f *testing.F) {
	for _, s := range []string{"thor", "pg_x", "public", "Thor", `x"; DROP SCHEMA public; --`, "ünï", strings.Repeat("a", 64), "$tenant", "_", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tn, err := runtime.ParseTenant(name)
		want := validName.MatchString(name) && !strings.HasPrefix(name, "pg_") && name != "public" && name != "information_schema"
		if (err == nil) != want {
			t.Fatalf("ParseTenant(%q): err=%v, want valid=%v", name, err, want)
		}
		if err != nil {
			return
		}
		if tn.String() != name || tn.Ident() != `"`+name+`"` || tn.Ident() != (pgx.Identifier{name}).Sanitize() {
			t.Fatalf("ParseTenant(%q) quotes as %s", name, tn.Ident())
		}
	})
}
