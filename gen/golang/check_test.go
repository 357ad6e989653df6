package golang

import (
	"strings"
	"testing"
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
