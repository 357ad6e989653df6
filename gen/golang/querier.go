package golang

import (
	"go/ast"
	"go/token"

	"github.com/tenantgen/tenantgen/gen/migfile"
)

// splitQuerier replaces sqlc's Querier interface (emit_interface) with one
// interface per scope, so that fakes and mocks keep the scopes apart too.
func (r *rewriter) splitQuerier(f *ast.File) (changed bool) {
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		var specs []ast.Spec
		for _, spec := range gd.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				it, ok := s.Type.(*ast.InterfaceType)
				if !ok || s.Name.Name != "Querier" {
					specs = append(specs, spec)
					continue
				}
				tenant, shared := &ast.FieldList{}, &ast.FieldList{}
				for _, m := range it.Methods.List {
					if len(m.Names) == 1 && r.queries[m.Names[0].Name] != nil && r.queries[m.Names[0].Name].Scope == migfile.Tenant {
						tenant.List = append(tenant.List, m)
					} else {
						shared.List = append(shared.List, m)
					}
				}
				changed = true
				specs = append(specs,
					&ast.TypeSpec{Name: ast.NewIdent("TenantQuerier"), Type: &ast.InterfaceType{Methods: tenant}},
					&ast.TypeSpec{Name: ast.NewIdent("SharedQuerier"), Type: &ast.InterfaceType{Methods: shared}})
			case *ast.ValueSpec:
				if sel, ok := s.Type.(*ast.Ident); ok && sel.Name == "Querier" {
					specs = append(specs, assertImpl("TenantQuerier", tenantType), assertImpl("SharedQuerier", sharedType))
					continue
				}
				specs = append(specs, spec)
			default:
				specs = append(specs, spec)
			}
		}
		gd.Specs = specs
		if len(specs) > 1 && gd.Lparen == token.NoPos {
			gd.Lparen, gd.Rparen = gd.Pos(), gd.End()
		}
	}
	return changed
}

func assertImpl(iface, typ string) *ast.ValueSpec {
	return &ast.ValueSpec{
		Names: []*ast.Ident{ast.NewIdent("_")},
		Type:  ast.NewIdent(iface),
		Values: []ast.Expr{&ast.CallExpr{
			Fun:  &ast.ParenExpr{X: &ast.StarExpr{X: ast.NewIdent(typ)}},
			Args: []ast.Expr{ast.NewIdent("nil")},
		}},
	}
}
