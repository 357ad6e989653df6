package golang

import (
	"go/ast"
	"go/token"
	"strings"

	"github.com/tenantgen/tenantgen/gen/migfile"
)

// Interfaces of the generated package, one per scope (emit_interface).
const (
	tenantQuerier = "TenantQuerier"
	sharedQuerier = "SharedQuerier"
)

// splitQuerier records the edits that replace sqlc's Querier interface
// (emit_interface) with one interface per scope, so that fakes and mocks
// keep the scopes apart too. The interfaces are written as text, each
// method with its doc comment, so no blank line of sqlc's order survives
// the split.
func (r *rewriter) splitQuerier(src []byte, f *ast.File) (changed bool) {
	off := func(p token.Pos) int { return r.fset.Position(p).Offset }
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Lparen.IsValid() || len(gd.Specs) != 1 {
			continue
		}
		switch s := gd.Specs[0].(type) {
		case *ast.TypeSpec:
			it, ok := s.Type.(*ast.InterfaceType)
			if !ok || s.Name.Name != "Querier" {
				continue
			}
			var tenant, shared []string
			for _, m := range it.Methods.List {
				start := m.Pos()
				if m.Doc != nil {
					start = m.Doc.Pos()
				}
				text := string(src[off(start):off(m.End())])
				if len(m.Names) == 1 && r.queries[m.Names[0].Name] != nil && r.queries[m.Names[0].Name].Scope == migfile.Tenant {
					tenant = append(tenant, text)
				} else {
					shared = append(shared, text)
				}
			}
			text := "// " + tenantQuerier + " is the method set of " + tenantType + ": the queries run in a tenant's schema.\n" +
				iface(tenantQuerier, tenant) + "\n\n" +
				"// " + sharedQuerier + " is the method set of " + sharedType + ": the queries of shared objects.\n" +
				iface(sharedQuerier, shared)
			r.edits = append(r.edits, edit{gd.Pos(), gd.End(), text})
			changed = true
		case *ast.ValueSpec:
			if id, ok := s.Type.(*ast.Ident); ok && id.Name == "Querier" {
				r.edits = append(r.edits, edit{gd.Pos(), gd.End(), "var (\n" +
					"\t_ " + tenantQuerier + " = (*" + tenantType + ")(nil)\n" +
					"\t_ " + sharedQuerier + " = (*" + sharedType + ")(nil)\n)"})
			}
		}
	}
	return changed
}

// iface writes an interface type of the given methods.
func iface(name string, methods []string) string {
	if len(methods) == 0 {
		return "type " + name + " interface{}"
	}
	return "type " + name + " interface {\n\t" + strings.Join(methods, "\n\t") + "\n}"
}
