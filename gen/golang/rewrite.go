package golang

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"regexp"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/scope"
	"github.com/tenantgen/tenantgen/runtime/contract"
)

// Receiver types of the generated package, one per scope.
const (
	tenantType = "TenantQueries"
	sharedType = "SharedQueries"
)

var queryHeaderRe = regexp.MustCompile(`^-- name: (\S+) :(\S+)`)

// plannedQuery is one query of sqlc's output with its scope decided.
type plannedQuery struct {
	Name  string
	Kind  string
	Scope migfile.Scope
	Info  *scope.Query
}

// rewriter turns sqlc's code, whose queries are all methods of one Queries
// type, into tenantgen's: each method moves to the receiver of its scope and
// its SQL names tenant objects through the runtime's schema placeholder.
type rewriter struct {
	model   *scope.Model
	sources map[string]source
	diags   *diag.List
	queries map[string]*plannedQuery
	edits   []edit
}

// plan reads every query constant of sqlc's files and decides its scope.
// The queries are parsed in parallel: on large inputs that parse is most of
// tenantgen's own time.
func (r *rewriter) plan(files map[string]*ast.File) {
	r.queries = map[string]*plannedQuery{}
	type job struct {
		file, name, kind, sql string
		marked                migfile.Scope
		info                  *scope.Query
		err                   error
	}
	var jobs []*job
	for _, name := range sortedKeys(files) {
		forEachQueryConst(files[name], func(lit *ast.BasicLit, sql string) {
			if m := queryHeaderRe.FindStringSubmatch(sql); m != nil {
				j := &job{file: name, name: m[1], kind: m[2], sql: sql}
				if mk := r.sources[m[1]].Marker; mk != nil {
					j.marked = mk.Scope
				}
				jobs = append(jobs, j)
			}
		})
	}
	var wg sync.WaitGroup
	next := make(chan *job)
	for w := 0; w < max(1, goruntime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				j.info, j.err = r.model.QueryAs(j.sql, j.marked)
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	for _, j := range jobs {
		src := r.sources[j.name]
		pos := src.Pos
		if pos.File == "" {
			pos = diag.Pos{File: j.file}
		}
		if j.err != nil {
			var qe *scope.QueryError
			if errors.As(j.err, &qe) {
				r.diags.Add(queryErrorPos(src, pos, j.sql, qe.Offset), qe.Hint, "query %s: %s", j.name, qe.Msg)
				continue
			}
			r.diags.Add(pos, "", "query %s: %v", j.name, j.err)
			continue
		}
		q := &plannedQuery{Name: j.name, Kind: j.kind, Scope: j.info.Scope, Info: j.info}
		if src.Marker != nil {
			if src.Marker.Scope == migfile.Shared && j.info.Scope == migfile.Tenant {
				r.diags.Add(pos, "remove -- tenantgen:shared, or make those objects shared",
					"query %s is marked shared but uses tenant %s", q.Name, strings.Join(j.info.Tenant, ", "))
				continue
			}
			q.Scope = src.Marker.Scope
		}
		r.queries[q.Name] = q
	}
	// :copyfrom queries have no SQL constant: the table COPY writes to
	// gives their scope.
	for _, name := range sortedKeys(files) {
		for _, decl := range files[name].Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || r.queries[fd.Name.Name] != nil {
				continue
			}
			schema, table, ok := copyFromTable(fd)
			if !ok {
				continue
			}
			q := &plannedQuery{Name: fd.Name.Name, Kind: "copyfrom", Scope: migfile.Shared, Info: &scope.Query{}}
			sc, known := r.model.ScopeOf(schema, table)
			if known && sc == migfile.Tenant && schema != "" {
				// As for any other query: COPY would write to public, where
				// the table is not, whatever tenant the call is bound to.
				r.diags.Add(r.sources[q.Name].Pos, fmt.Sprintf("write INSERT INTO %s (...) without the schema", table),
					"query %s: tenant table %s is named %s.%s: drop the qualifier, tenantgen binds it to the tenant's schema", q.Name, table, schema, table)
				continue
			}
			if known {
				q.Scope = sc
			}
			if m := r.sources[q.Name].Marker; m != nil {
				if m.Scope == migfile.Shared && q.Scope == migfile.Tenant {
					r.diags.Add(r.sources[q.Name].Pos, "remove -- tenantgen:shared, or make the table shared",
						"query %s is marked shared but copies into tenant table %s", q.Name, table)
					continue
				}
				q.Scope = m.Scope
			}
			r.queries[q.Name] = q
		}
	}
}

// queryErrorPos maps a byte offset of a query as sqlc emits it to the query
// file: the emitted query's first line is the "-- name:" line at pos, and
// the offending line is found again below it, by its text or else by the
// word at the offset. When neither is found the query's own position is the
// best there is.
func queryErrorPos(src source, pos diag.Pos, sql string, off int) diag.Pos {
	if off < 0 || off > len(sql) || pos.Line == 0 || len(src.Lines) < pos.Line {
		return pos
	}
	start := strings.LastIndexByte(sql[:off], '\n') + 1
	end := strings.IndexByte(sql[start:], '\n')
	if end < 0 {
		end = len(sql) - start
	}
	line, col := sql[start:start+end], off-start
	word := sql[off:]
	if n := strings.IndexAny(word, " \t\n,()[]:;"); n > 0 {
		word = word[:n]
	}
	if start == 0 {
		return pos
	}
	below := src.Lines[pos.Line:]
	for i, l := range below {
		if i > 0 && nameRe.MatchString(strings.TrimSpace(l)) {
			below = below[:i]
			break
		}
	}
	for i, l := range below {
		if strings.TrimRight(l, " \t\r") == strings.TrimRight(line, " \t\r") {
			return diag.Pos{File: pos.File, Line: pos.Line + 1 + i, Col: col + 1}
		}
	}
	for i, l := range below {
		if c := strings.Index(l, word); c >= 0 && word != "" {
			return diag.Pos{File: pos.File, Line: pos.Line + 1 + i, Col: c + 1}
		}
	}
	return pos
}

// copyFromTable finds the table of a q.db.CopyFrom(ctx, []string{"t"}, ...)
// call, and its schema when the query names one ([]string{"s", "t"}).
func copyFromTable(fd *ast.FuncDecl) (schema, table string, found bool) {
	if fd.Body == nil {
		return "", "", false
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		lit := copyFromIdent(n)
		if lit == nil {
			return true
		}
		if el, ok := lit.Elts[len(lit.Elts)-1].(*ast.BasicLit); ok {
			table, _ = strconv.Unquote(el.Value)
			found = true
		}
		if len(lit.Elts) == 2 {
			if el, ok := lit.Elts[0].(*ast.BasicLit); ok {
				schema, _ = strconv.Unquote(el.Value)
			}
		}
		return !found
	})
	return schema, table, found
}

// copyFromIdent returns the table identifier literal of a CopyFrom call.
func copyFromIdent(n ast.Node) *ast.CompositeLit {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) < 2 {
		return nil
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "CopyFrom" {
		return nil
	}
	lit, ok := call.Args[1].(*ast.CompositeLit)
	if !ok || len(lit.Elts) == 0 {
		return nil
	}
	return lit
}

func forEachQueryConst(f *ast.File, fn func(lit *ast.BasicLit, sql string)) {
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && queryHeaderRe.MatchString(s) {
					fn(lit, s)
				}
			}
		}
	}
}

// rewrite records, as edits of the source text (see apply), what one sqlc
// file needs: receivers by scope, qualified SQL, the tenant schema of COPY.
// sqlc's output is gofmt'd already and the edits keep it so, which spares
// re-printing whole files (the larger part of tenantgen's own time on big
// inputs).
func (r *rewriter) rewrite(name string, f *ast.File) error {
	r.edits = r.edits[:0]
	forEachQueryConst(f, func(lit *ast.BasicLit, sql string) {
		m := queryHeaderRe.FindStringSubmatch(sql)
		if q := r.queries[m[1]]; q != nil && q.Info.Qualified != sql {
			r.edits = append(r.edits, edit{lit.Pos(), lit.End(), quote(q.Info.Qualified)})
		}
	})
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 {
			continue
		}
		star, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
		if !ok {
			continue
		}
		id, ok := star.X.(*ast.Ident)
		if !ok || id.Name != "Queries" {
			continue
		}
		q := r.queries[fd.Name.Name]
		if q == nil {
			return fmt.Errorf("%s: sqlc method %s matches no query", name, fd.Name.Name)
		}
		recv := sharedType
		if q.Scope == migfile.Tenant {
			recv = tenantType
			if at := qualifyCopyFrom(fd, r.model); at.IsValid() {
				r.edits = append(r.edits, edit{at, at, strconv.Quote(contract.SchemaName) + ", "})
			}
		}
		r.edits = append(r.edits, edit{id.Pos(), id.End(), recv})
	}
	return nil
}

// edit replaces the source text from pos to end.
type edit struct {
	pos, end token.Pos
	text     string
}

// apply makes the edits to src, which fset positions; it also puts
// tenantgen's header in place of sqlc's.
func apply(fset *token.FileSet, src []byte, edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].pos > edits[j].pos })
	out := append([]byte(nil), src...)
	for _, e := range edits {
		a, b := fset.Position(e.pos).Offset, fset.Position(e.end).Offset
		out = append(out[:a], append([]byte(e.text), out[b:]...)...)
	}
	if bytes.HasPrefix(out, []byte(sqlcHeader)) {
		out = append([]byte(headerLine), out[len(sqlcHeader):]...)
	}
	return out
}

// qualifyCopyFrom finds where the placeholder schema goes in front of a
// tenant table that COPY writes to: q.db.CopyFrom(ctx, []string{"t"}, ...).
func qualifyCopyFrom(fd *ast.FuncDecl, m *scope.Model) (at token.Pos) {
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		lit := copyFromIdent(n)
		if lit == nil || len(lit.Elts) != 1 {
			return true
		}
		el, ok := lit.Elts[0].(*ast.BasicLit)
		if !ok {
			return true
		}
		table, _ := strconv.Unquote(el.Value)
		if sc, ok := m.ScopeOf("", table); ok && sc == migfile.Tenant {
			at = el.Pos()
		}
		return true
	})
	return at
}

// quote writes SQL as a raw string literal when it can, as sqlc does.
func quote(s string) string {
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

const sqlcHeader = "// Code generated by sqlc. DO NOT EDIT."

// print formats a rewritten file, with tenantgen's header in place of sqlc's.
func print(fset *token.FileSet, f *ast.File) ([]byte, error) {
	if len(f.Comments) > 0 && f.Comments[0].List[0].Text == sqlcHeader {
		f.Comments[0].List[0].Text = headerLine
	}
	var b bytes.Buffer
	if err := format.Node(&b, fset, f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func parseFile(fset *token.FileSet, name string, src []byte) (*ast.File, error) {
	return parser.ParseFile(fset, name, src, parser.ParseComments)
}
