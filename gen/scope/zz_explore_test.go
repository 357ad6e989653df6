package scope

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
)

func TestZZExplore(t *testing.T) {
	dir := os.Getenv("EXPLORE")
	if dir == "" {
		t.Skip()
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
	sort.Strings(names)
	var d diag.List
	var files []*migfile.File
	for _, n := range names {
		data, _ := os.ReadFile(n)
		if f := migfile.Parse(filepath.Base(n), string(data), &d); f != nil {
			files = append(files, f)
		}
	}
	m := Analyse(files, &d)
	for _, x := range d {
		fmt.Printf("DIAG %s | %s | %s\n", x.Pos, x.Msg, x.Hint)
	}
	for _, f := range files {
		for _, s := range f.Statements {
			fmt.Printf("%s %-7s %s\n", s.Pos, m.Scopes[s], s.Text)
		}
	}
	for k, o := range m.Objects {
		fmt.Printf("OBJ %s %s %s %s\n", k, o.Kind, o.Scope, o.Pos)
	}
	for _, q := range os.Args {
		_ = q
	}
	if q := os.Getenv("QUERY"); q != "" {
		r, err := m.Query(q)
		fmt.Printf("QUERY err=%v %+v\n", err, r)
	}
}
