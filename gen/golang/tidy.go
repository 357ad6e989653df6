package golang

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// markerCommentRe matches a tenantgen marker that sqlc copied from a query's
// comment block into the doc comment of its method.
var markerCommentRe = regexp.MustCompile(`^//\s*tenantgen:`)

// stripMarkers removes the lines of src's comments that are tenantgen
// markers: they steer the generator and mean nothing to a reader of the Go
// code. Only comments are touched, never a string that happens to hold the
// same text.
func stripMarkers(name string, src []byte) ([]byte, error) {
	if !bytes.Contains(src, []byte("tenantgen:")) {
		return src, nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	tf := fset.File(f.Pos())
	var cut [][2]int // byte ranges of whole lines, ascending
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if !markerCommentRe.MatchString(c.Text) {
				continue
			}
			line := tf.Line(c.Pos())
			start := tf.Offset(tf.LineStart(line))
			end := len(src)
			if line < tf.LineCount() {
				end = tf.Offset(tf.LineStart(line + 1))
			}
			if strings.TrimSpace(string(src[start:tf.Offset(c.Pos())])) != "" {
				continue // a comment after code: keep the line
			}
			cut = append(cut, [2]int{start, end})
		}
	}
	var out []byte
	last := 0
	for _, c := range cut {
		out = append(out, src[last:c[0]]...)
		last = c[1]
	}
	return append(out, src[last:]...), nil
}

// groupImports puts the imports of src in the groups goimports makes: the
// standard library first, then everything else, each sorted. jennifer
// writes them as one list.
func groupImports(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT || !gd.Lparen.IsValid() {
			continue
		}
		var std, other []string
		for _, s := range gd.Specs {
			is := s.(*ast.ImportSpec)
			line := is.Path.Value
			if is.Name != nil {
				line = is.Name.Name + " " + line
			}
			p, _ := strconv.Unquote(is.Path.Value)
			if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
				other = append(other, line)
			} else {
				std = append(std, line)
			}
		}
		sort.Slice(std, func(i, j int) bool { return importPath(std[i]) < importPath(std[j]) })
		sort.Slice(other, func(i, j int) bool { return importPath(other[i]) < importPath(other[j]) })
		var groups []string
		for _, g := range [][]string{std, other} {
			if len(g) > 0 {
				groups = append(groups, "\t"+strings.Join(g, "\n\t"))
			}
		}
		text := "import (\n" + strings.Join(groups, "\n\n") + "\n)"
		a, b := fset.Position(gd.Pos()).Offset, fset.Position(gd.End()).Offset
		out := append(append(append([]byte(nil), src[:a]...), text...), src[b:]...)
		res, err := format.Source(out)
		if err != nil {
			return nil, fmt.Errorf("formatting grouped imports: %w", err)
		}
		return res, nil
	}
	return src, nil
}

// importPath is the quoted path of an import line, for sorting.
func importPath(line string) string {
	return line[strings.IndexByte(line, '"'):]
}
