package golang

import (
	"go/token"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen/plan"
)

// TestCheckParses: emitted Go that does not parse is an error that shows
// the file with line numbers, the faulty line marked.
func TestCheckParses(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // in the error
	}{
		{"good", "package db\n\nfunc F() {}\n", nil},
		{"unbalanced", "package db\n\nfunc F() {\n\treturn\n", []string{"x.go:4:9", ">     4\t\treturn", "      1\tpackage db"}},
		{"stray token", "package db\n\nvar x = )\n", []string{"x.go:3:9", ">     3\tvar x = )"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkParses("x.go", []byte(tt.src))
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
		})
	}
}

// TestUnknownMethod: a method sqlc adds to Queries that is none of the
// queries stops the run with a hint, rather than landing on no receiver.
func TestUnknownMethod(t *testing.T) {
	src := "package db\n\nfunc (q *Queries) Close() error { return nil }\n"
	fset := token.NewFileSet()
	f, err := parseFile(fset, "db2.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := &rewriter{fset: fset, queries: map[string]*plan.Query{}}
	_, err = r.file("db2.go", []byte(src), f)
	if err == nil || !strings.Contains(err.Error(), "db2.go: sqlc generated method Close, which is none of the queries") || !strings.Contains(err.Error(), "hint:") {
		t.Fatalf("error %v", err)
	}
}
