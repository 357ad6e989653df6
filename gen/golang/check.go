package golang

import (
	"errors"
	"fmt"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"
)

// checkParses re-parses a generated file before it is handed out, as
// protogen's Content does: a bug of the emitter must stop the run with the
// faulty text in view, not leave a package that does not compile.
func checkParses(name string, src []byte) error {
	_, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ParseComments|parser.AllErrors)
	if err == nil {
		return nil
	}
	line := 0
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		line = list[0].Pos.Line
	}
	return fmt.Errorf("generated Go that does not parse (a bug of tenantgen: please report it): %w\n%s", err, numbered(string(src), line))
}

// numbered shows src with line numbers, the lines around line (all of them
// when line is 0), the line itself marked.
const aroundLines = 10

func numbered(src string, line int) string {
	lines := strings.Split(strings.TrimSuffix(src, "\n"), "\n")
	from, to := 1, len(lines)
	if line > 0 {
		from, to = max(1, line-aroundLines), min(len(lines), line+aroundLines)
	}
	var b strings.Builder
	for i := from; i <= to; i++ {
		mark := "  "
		if i == line {
			mark = "> "
		}
		fmt.Fprintf(&b, "%s%5d\t%s\n", mark, i, lines[i-1])
	}
	return b.String()
}
