package scope

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// regKinds are the reg* types whose text input names a relation, type or
// routine that PostgreSQL finds through search_path. The other reg* types
// (regnamespace, regrole, regconfig, ...) name objects tenantgen does not
// scope.
var regKinds = map[string]bool{"regclass": true, "regtype": true, "regproc": true, "regprocedure": true}

// regKindOf says whether a type name is one of regKinds, written plain or
// as pg_catalog.<name>.
func regKindOf(tn *pg_query.TypeName) string {
	if tn == nil || len(tn.ArrayBounds) > 0 {
		return ""
	}
	var parts []string
	for _, n := range tn.Names {
		s := n.GetString_()
		if s == nil {
			return ""
		}
		parts = append(parts, s.Sval)
	}
	switch {
	case len(parts) == 1 && regKinds[parts[0]]:
		return parts[0]
	case len(parts) == 2 && parts[0] == "pg_catalog" && regKinds[parts[1]]:
		return parts[1]
	}
	return ""
}

// regArgOf returns the kind of name argument i of a call takes when it is
// a built-in listed in builtinRegArgs or textNameArgs ("" otherwise).
func regArgOf(fc *pg_query.FuncCall, i int) string {
	var parts []string
	for _, n := range fc.Funcname {
		if s := n.GetString_(); s != nil {
			parts = append(parts, s.Sval)
		}
	}
	if len(parts) == 2 && parts[0] == "pg_catalog" {
		parts = parts[1:]
	}
	if len(parts) != 1 {
		return ""
	}
	return builtins().regArgs[regArg{parts[0], len(fc.Args), i}]
}

// stringLiteral returns the value and location of a plain '...' string
// constant.
func stringLiteral(n *pg_query.Node) (string, int, bool) {
	c := n.GetAConst()
	if c == nil || c.GetSval() == nil {
		return "", 0, false
	}
	return c.GetSval().Sval, int(c.Location), true
}

// textualName reports whether an expression given where a reg* value is
// expected is text whose value the generator cannot see: a parameter, a
// text cast, a concatenation or a string function. Such a name is looked up
// through search_path at run time, so no qualification can be proven.
// Other expressions (oid columns, subqueries) are taken as already
// resolved objects.
func textualName(n *pg_query.Node) bool {
	switch {
	case n.GetParamRef() != nil:
		return true
	case n.GetTypeCast() != nil:
		tc := n.GetTypeCast()
		if regKindOf(tc.TypeName) != "" {
			return false
		}
		switch normType(tc.TypeName) {
		case "text", "varchar", "bpchar", "name", "char", "unknown":
			return true
		}
		return textualName(tc.Arg)
	case n.GetAExpr() != nil:
		for _, o := range n.GetAExpr().Name {
			if s := o.GetString_(); s != nil && s.Sval == "||" {
				return true
			}
		}
	case n.GetFuncCall() != nil:
		// pg_get_serial_sequence returns a schema-qualified name, the
		// to_reg* functions an object; any other text is unknown.
		_, name, _ := splitName(n.GetFuncCall().Funcname)
		return name != "pg_get_serial_sequence" && !strings.HasPrefix(name, "to_reg")
	case n.GetCoalesceExpr() != nil:
		for _, a := range n.GetCoalesceExpr().Args {
			if textualName(a) {
				return true
			}
		}
	}
	return false
}

// namesInString reads the names a string of a reg* kind gives, as the
// reg* input function would. Each ref's loc is the byte offset within s
// where the name, and so a schema qualifier, starts.
func namesInString(kind, s string) ([]ref, error) {
	var prefix, what string
	switch kind {
	case "regclass":
		prefix, what = "SELECT * FROM ", "relation"
	case "regtype":
		prefix, what = "SELECT NULL::", "type"
	case "regproc":
		prefix, what = "SELECT ", "function"
	case "regprocedure":
		prefix, what = "DROP FUNCTION ", "function"
	default:
		return nil, nil
	}
	text := prefix + s
	if kind == "regproc" {
		text += "()"
	}
	bad := fmt.Errorf("cannot read %q as a %s name", s, what)
	if strings.ContainsAny(s, ";") {
		return nil, bad
	}
	tree, err := pg_query.Parse(text)
	if err != nil || len(tree.Stmts) != 1 {
		return nil, bad
	}
	st := tree.Stmts[0].Stmt
	at := func(loc int32) int { return int(loc) - len(prefix) }
	switch kind {
	case "regclass":
		sel := st.GetSelectStmt()
		if sel == nil || len(sel.FromClause) != 1 || sel.FromClause[0].GetRangeVar() == nil || !onlyFields(sel, "target_list", "from_clause") {
			return nil, bad
		}
		rv := sel.FromClause[0].GetRangeVar()
		if rv.Catalogname != "" || rv.Alias != nil {
			return nil, bad
		}
		return []ref{{ns: nsRel, schema: rv.Schemaname, name: rv.Relname, loc: at(rv.Location), what: what}}, nil
	case "regtype":
		sel := st.GetSelectStmt()
		if sel == nil || len(sel.TargetList) != 1 || !onlyFields(sel, "target_list") {
			return nil, bad
		}
		tc := sel.TargetList[0].GetResTarget().GetVal().GetTypeCast()
		if tc == nil {
			return nil, bad
		}
		r, ok := typeRef(tc.TypeName)
		if !ok {
			return nil, bad
		}
		r.loc = at(tc.TypeName.Location)
		return []ref{r}, nil
	case "regproc":
		sel := st.GetSelectStmt()
		if sel == nil || len(sel.TargetList) != 1 || !onlyFields(sel, "target_list") {
			return nil, bad
		}
		fc := sel.TargetList[0].GetResTarget().GetVal().GetFuncCall()
		if fc == nil || len(fc.Args) > 0 || fc.Over != nil {
			return nil, bad
		}
		schema, name, ok := splitName(fc.Funcname)
		if !ok {
			return nil, bad
		}
		return []ref{{ns: nsFunc, schema: schema, name: name, loc: at(fc.Location), what: what}}, nil
	default: // regprocedure
		d := st.GetDropStmt()
		if d == nil || len(d.Objects) != 1 || d.Objects[0].GetObjectWithArgs() == nil {
			return nil, bad
		}
		ow := d.Objects[0].GetObjectWithArgs()
		schema, name, ok := splitName(ow.Objname)
		if !ok {
			return nil, bad
		}
		out := []ref{{ns: nsFunc, schema: schema, name: name, loc: len(s) - len(strings.TrimLeft(s, " \t\n\r")), what: what}}
		for _, a := range ow.Objargs {
			if tn := a.GetTypeName(); tn != nil {
				if r, ok := typeRef(tn); ok {
					r.loc = at(tn.Location)
					out = append(out, r)
				}
			}
		}
		return out, nil
	}
}

// typeRef reads a type name, keeping any schema as written (pg_catalog
// included).
func typeRef(tn *pg_query.TypeName) (ref, bool) {
	schema, name, ok := splitName(tn.Names)
	return ref{ns: nsRel, schema: schema, name: name, loc: int(tn.Location), what: "type"}, ok
}

// splitName reads a name of one or two parts given as String nodes.
func splitName(names []*pg_query.Node) (schema, name string, ok bool) {
	var parts []string
	for _, n := range names {
		s := n.GetString_()
		if s == nil {
			return "", "", false
		}
		parts = append(parts, s.Sval)
	}
	switch len(parts) {
	case 1:
		return "", parts[0], true
	case 2:
		return parts[0], parts[1], true
	}
	return "", "", false
}

// normType names a type as pg_type does: the last part of the name, with
// "_" in front for arrays.
func normType(tn *pg_query.TypeName) string {
	if tn == nil || len(tn.Names) == 0 {
		return ""
	}
	s := tn.Names[len(tn.Names)-1].GetString_()
	if s == nil {
		return ""
	}
	if len(tn.ArrayBounds) > 0 {
		return "_" + s.Sval
	}
	return s.Sval
}

// oneName returns the only part of an unqualified name.
func oneName(names []*pg_query.Node) (string, bool) {
	if len(names) != 1 || names[0].GetString_() == nil {
		return "", false
	}
	return names[0].GetString_().Sval, true
}

// implicitOperators lists the operators an expression other than a plain
// operator application uses.
func implicitOperators(e *pg_query.A_Expr) []string {
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return []string{">=", "<="}
	}
	if op, ok := oneName(e.Name); ok {
		return []string{op}
	}
	return nil
}

// from is s[at:], or "" when at is outside s (the parser gives -1 for
// positions it does not know).
func from(s string, at int) string {
	if at < 0 || at > len(s) {
		return ""
	}
	return s[at:]
}

// onlyFields reports whether a SELECT that stands for a name has no clause
// beyond the given ones: 'tasks WHERE true' is no relation name.
func onlyFields(sel *pg_query.SelectStmt, allowed ...string) bool {
	ok := true
	sel.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		name := string(fd.Name())
		if name == "limit_option" || name == "op" {
			return true
		}
		for _, a := range allowed {
			if name == a {
				return true
			}
		}
		ok = false
		return false
	})
	return ok
}
