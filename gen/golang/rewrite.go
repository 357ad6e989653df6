package golang

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/plan"
	"github.com/tenantgen/tenantgen/gen/scope"
	"github.com/tenantgen/tenantgen/runtime/contract"
)

// Receiver types of the generated package, one per scope.
const (
	tenantType = "TenantQueries"
	sharedType = "SharedQueries"
)

var queryHeaderRe = regexp.MustCompile(`^-- name: (\S+) :(\S+)`)

// rewriter turns sqlc's code, whose queries are all methods of one Queries
// type, into tenantgen's: each method moves to the receiver its plan gives
// and its SQL becomes the planned, qualified SQL.
type rewriter struct {
	fset    *token.FileSet
	model   *scope.Model
	sources map[string]plan.Source
	diags   *diag.List
	queries map[string]*plan.Query
	edits   []edit
}

// plan collects every query of sqlc's files and has package plan decide
// its scope and SQL.
func (r *rewriter) plan(files map[string]*ast.File) {
	var stmts []plan.Statement
	seen := map[string]bool{}
	for _, name := range sortedKeys(files) {
		forEachQueryConst(files[name], func(lit *ast.BasicLit, sql string) {
			if m := queryHeaderRe.FindStringSubmatch(sql); m != nil {
				stmts = append(stmts, plan.Statement{File: name, Name: m[1], Kind: m[2], SQL: sql})
				seen[m[1]] = true
			}
		})
	}
	// :copyfrom queries have no SQL constant: the table COPY writes to
	// gives their scope.
	var copies []plan.Copy
	for _, name := range sortedKeys(files) {
		for _, decl := range files[name].Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || seen[fd.Name.Name] {
				continue
			}
			if schema, table, ok := copyFromTable(fd); ok {
				copies = append(copies, plan.Copy{File: name, Name: fd.Name.Name, Schema: schema, Table: table})
			}
		}
	}
	r.queries = plan.New(r.model, r.sources, stmts, copies, r.diags).Queries
	r.checkNames()
}

// methods are the methods db.go gives each receiver, which no query may
// take as its name.
var methods = map[migfile.Scope][]string{
	migfile.Tenant: {"Tenant", "WithTx"},
	migfile.Shared: {"WithTx"},
}

// checkNames refuses a query whose method would collide with one of
// db.go's. Renaming it silently would make the Go name differ from the
// query's everywhere else (sqlc's Params and Row types, the query file).
func (r *rewriter) checkNames() {
	for _, name := range sortedKeys(r.queries) {
		q := r.queries[name]
		recv := sharedType
		if q.Scope == migfile.Tenant {
			recv = tenantType
		}
		for _, m := range methods[q.Scope] {
			if name == m {
				r.diags.Add(r.sources[name].Pos, "rename the query: -- name: "+name+"Query :"+q.Kind+", say",
					"query %s is named like the method %s.%s tenantgen generates", name, recv, m)
				delete(r.queries, name)
			}
		}
	}
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
		if q := r.queries[m[1]]; q != nil && q.Qualified != sql {
			r.edits = append(r.edits, edit{lit.Pos(), lit.End(), quote(q.Qualified)})
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
			return fmt.Errorf("%s: sqlc generated method %s, which is none of the queries\n\thint: an sqlc option tenantgen does not handle may have added it; remove the option, or report it", name, fd.Name.Name)
		}
		recv := sharedType
		if q.Scope == migfile.Tenant {
			recv = tenantType
			if at := copyFromAt(fd); q.CopyIntoTenant && at.IsValid() {
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

// copyFromAt finds where the placeholder schema goes in front of the table
// that COPY writes to: q.db.CopyFrom(ctx, []string{"t"}, ...).
func copyFromAt(fd *ast.FuncDecl) (at token.Pos) {
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if lit := copyFromIdent(n); lit != nil && len(lit.Elts) == 1 {
			at = lit.Elts[0].Pos()
			return false
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

func parseFile(fset *token.FileSet, name string, src []byte) (*ast.File, error) {
	return parser.ParseFile(fset, name, src, parser.ParseComments)
}
