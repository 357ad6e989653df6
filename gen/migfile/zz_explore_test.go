package migfile

import (
	"fmt"
	"os"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
)

func TestZZExplore(t *testing.T) {
	data, _ := os.ReadFile(os.Getenv("EXPLORE"))
	var d diag.List
	f := Parse("00001_x.sql", string(data), &d)
	for _, x := range d {
		fmt.Printf("DIAG %s | %s | %s\n", x.Pos, x.Msg, x.Hint)
	}
	if f == nil {
		fmt.Println("nil file")
		return
	}
	for _, s := range f.Statements {
		m := "-"
		if s.Marker != nil {
			m = s.Marker.Scope.String()
		}
		fmt.Printf("STMT %s %s sec=%s marker=%s block=%v leading=%q\n  %q\n", s.Pos, "", s.Section, m, s.Block, s.Leading, s.Text)
	}
}
