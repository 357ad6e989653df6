package scope

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tenantgen/tenantgen/runtime/contract"
)

// verify is the isolation guarantee: it re-parses SQL the qualifier emitted
// and proves that every relation, type, routine and name inside a string
// it names is found without the connection's search_path: qualified with
// the tenant placeholder, public, pg_catalog (or a schema the schema files
// create), a built-in the schema files do not redefine, or a CTE in scope
// by PostgreSQL's rules. It shares no decisions with the qualifier, so a
// qualifier bug shows here as an error rather than as a leak.
func (m *Model) verify(sql string) *QueryError {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return &QueryError{Offset: -1, Msg: fmt.Sprintf("tenantgen made SQL that does not parse (a tenantgen bug): %v", err)}
	}
	v := &verifier{m: m, sql: sql, cat: m.catalog(), placed: map[int]bool{}}
	for _, raw := range tree.Stmts {
		v.rels = statementRels(raw.Stmt)
		v.node(raw.Stmt.ProtoReflect(), nil)
	}
	if v.err != nil {
		return v.err
	}
	// Every placeholder must be one the walk proved: the runtime replaces
	// them all.
	for off := 0; ; {
		i := strings.Index(sql[off:], Placeholder)
		if i < 0 {
			break
		}
		if !v.placed[off+i] {
			return &QueryError{Offset: off + i, Msg: fmt.Sprintf("%s here is not a schema qualifier tenantgen placed (a tenantgen bug)", Placeholder)}
		}
		off += i + len(Placeholder)
	}
	return nil
}

type verifier struct {
	m      *Model
	sql    string
	cat    *catalog
	placed map[int]bool      // offsets of proven placeholders
	rels   map[string]string // relation names and aliases of the statement
	err    *QueryError
}

// visible is the stack of CTE name lists in scope, innermost last.
type visible [][]string

func (s visible) contains(name string) bool {
	for i := len(s) - 1; i >= 0; i-- {
		for _, n := range s[i] {
			if n == name {
				return true
			}
		}
	}
	return false
}

func (v *verifier) fail(at int, hint, format string, args ...any) {
	if v.err == nil {
		v.err = &QueryError{Offset: at, Msg: fmt.Sprintf(format, args...), Hint: hint}
	}
}

// withList checks a WITH list; it returns the names the statement's body
// sees.
func (v *verifier) withList(wc *pg_query.WithClause, vis visible) visible {
	if wc == nil {
		return vis
	}
	var names []string
	for _, c := range wc.Ctes {
		names = append(names, c.GetCommonTableExpr().GetCtename())
	}
	for i, c := range wc.Ctes {
		inner := append(visible(nil), vis...)
		if wc.Recursive {
			inner = append(inner, names)
		} else {
			inner = append(inner, names[:i])
		}
		v.node(c.ProtoReflect(), inner)
	}
	return append(append(visible(nil), vis...), names)
}

func (v *verifier) node(msg protoreflect.Message, vis visible) {
	if !msg.IsValid() || v.err != nil {
		return
	}
	var with *pg_query.WithClause
	var target *pg_query.RangeVar
	switch n := msg.Interface().(type) {
	case *pg_query.SelectStmt:
		with = n.WithClause
	case *pg_query.InsertStmt:
		with, target = n.WithClause, n.Relation
	case *pg_query.UpdateStmt:
		with, target = n.WithClause, n.Relation
	case *pg_query.DeleteStmt:
		with, target = n.WithClause, n.Relation
	case *pg_query.MergeStmt:
		with, target = n.WithClause, n.Relation
	case *pg_query.LockingClause:
		return // names FROM items, not catalog objects
	case *pg_query.RangeVar:
		v.rel(n, vis)
		return
	case *pg_query.TypeName:
		v.typ(n)
	case *pg_query.TypeCast:
		if kind := regKindOf(n.TypeName); kind != "" {
			v.nameValue(kind, n.Arg, int(n.Location))
		}
		if c := n.Arg.GetAConst(); c != nil && c.GetSval() != nil && c.GetSval().Sval == Placeholder && normType(n.TypeName) == "regnamespace" {
			v.placed[int(c.Location)+1] = true // current_schema() as tenantgen writes it
		}
	case *pg_query.FuncCall:
		v.call(n)
	case *pg_query.A_Expr:
		v.operatorName(n.Name, int(n.Location))
		if n.Kind != pg_query.A_Expr_Kind_AEXPR_OP && n.Kind != pg_query.A_Expr_Kind_AEXPR_OP_ANY && n.Kind != pg_query.A_Expr_Kind_AEXPR_OP_ALL {
			for _, op := range implicitOperators(n) {
				v.operatorName([]*pg_query.Node{pg_query.MakeStrNode(op)}, int(n.Location))
			}
		}
	case *pg_query.SubLink:
		v.operatorName(n.OperName, int(n.Location))
	case *pg_query.SortBy:
		v.operatorName(n.UseOp, int(n.Location))
	case *pg_query.CollateClause:
		v.collation(n)
	case *pg_query.ColumnRef:
		v.attributeCall(n)
	case *pg_query.SQLValueFunction:
		if n.Op == pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA {
			v.fail(int(n.Location), "", "current_schema names the connection's schema, not the tenant's")
		}
	}
	if with != nil {
		vis = v.withList(with, vis)
	}
	if target != nil {
		v.rel(target, nil) // a CTE is never the target of a write
	}
	msg.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			for i := 0; i < val.List().Len(); i++ {
				v.node(val.List().Get(i).Message(), vis)
			}
			return true
		}
		m := val.Message().Interface()
		if (with != nil && m == with) || (target != nil && m == target) {
			return true
		}
		v.node(val.Message(), vis)
		return true
	})
}

// collation checks COLLATE name: one the schema files create must be
// qualified.
func (v *verifier) collation(cc *pg_query.CollateClause) {
	schema, name, ok := splitName(cc.Collname)
	sc, defined := v.cat.colls[name]
	switch {
	case !ok || !defined:
	case schema == "":
		v.fail(int(cc.Location), "", "collation %s is left to the connection's search_path", name)
	case schema == contract.SchemaName:
		i := strings.Index(from(v.sql, int(cc.Location)), Placeholder)
		if sc != Tenant || i < 0 {
			v.fail(int(cc.Location), "", "%s.%s is not a tenant collation (a tenantgen bug)", Placeholder, name)
			return
		}
		v.placed[int(cc.Location)+i] = true
	}
}

// attributeCall refuses t.f where f is no column of t's table but a
// routine of the schema files: PostgreSQL reads it as f(t), found through
// search_path.
func (v *verifier) attributeCall(cr *pg_query.ColumnRef) {
	if len(cr.Fields) != 2 {
		return
	}
	rel, col := cr.Fields[0].GetString_(), cr.Fields[1].GetString_()
	if rel == nil || col == nil || v.routineScope(col.Sval) == 0 {
		return
	}
	cols, known := v.cat.columns[v.rels[rel.Sval]]
	if _, isColumn := cols[col.Sval]; known && !isColumn {
		v.fail(int(cr.Location), fmt.Sprintf("call it as %s(%s), which tenantgen qualifies", col.Sval, rel.Sval),
			"%s.%s calls routine %s through the connection's search_path", rel.Sval, col.Sval, col.Sval)
	}
}

// operatorName checks an operator's name: one the schema files define
// must be qualified, OPERATOR(schema.op).
func (v *verifier) operatorName(names []*pg_query.Node, at int) {
	schema, op, ok := splitName(names)
	if !ok {
		return
	}
	sc, defined := v.cat.ops[op]
	switch {
	case schema == "" && defined:
		v.fail(at, "", "operator %s is left to the connection's search_path", op)
	case schema == contract.SchemaName:
		i := strings.Index(from(v.sql, at), Placeholder)
		if !defined || sc != Tenant || i < 0 {
			v.fail(at, "", "%s.%s is not a tenant operator (a tenantgen bug)", Placeholder, op)
			return
		}
		v.placed[at+i] = true
	case schema == contract.SharedSchema && defined && sc == Tenant:
		v.fail(at, "drop the qualifier: tenantgen binds tenant objects to the tenant's schema", "tenant operator %s is named public.%s", op, op)
	}
}

// schemaOK checks an explicit schema qualifier of a model name.
func (v *verifier) schemaOK(ns, schema, name string, at int) bool {
	switch schema {
	case contract.SchemaName:
		o := v.m.Objects[key(ns, "", name)]
		tenantRoutine := ns == nsFunc && v.routineScope(name) == Tenant
		implicitType := ns == nsRel && v.cat.types[name] == Tenant
		if (o == nil || o.Scope != Tenant) && !tenantRoutine && !implicitType {
			v.fail(at, "", "%s.%s is not a tenant object (a tenantgen bug)", Placeholder, name)
			return false
		}
		if !strings.HasPrefix(from(v.sql, at), Placeholder) {
			v.fail(at, "", "the tenant qualifier of %s is not spelt %s (a tenantgen bug)", name, Placeholder)
			return false
		}
		v.placed[at] = true
	case contract.SharedSchema:
		if o := v.m.Objects[key(ns, "", name)]; o != nil && o.Scope == Tenant {
			v.fail(at, "drop the qualifier: tenantgen binds tenant objects to the tenant's schema", "tenant %s %s is named public.%s", o.Kind, o.Name, name)
			return false
		}
	case "pg_catalog", "information_schema":
	default:
		if v.m.Objects[key(ns, schema, name)] == nil && !v.cat.schemas[schema] {
			v.fail(at, "a tenant query reaches its own tenant's objects unqualified; shared objects are in public or a schema the schema files create",
				"%s.%s is in a schema the schema files neither create nor create objects in", schema, name)
			return false
		}
	}
	return true
}

func (v *verifier) routineScope(name string) Scope {
	if o := v.m.Objects[key(nsFunc, "", name)]; o != nil {
		return o.Scope
	}
	if rs := v.cat.routines[name]; len(rs) > 0 {
		return rs[0].scope
	}
	return 0
}

func (v *verifier) rel(rv *pg_query.RangeVar, vis visible) {
	at := int(rv.Location)
	switch {
	case rv.Schemaname != "":
		v.schemaOK(nsRel, rv.Schemaname, rv.Relname, at)
	case vis.contains(rv.Relname):
	case v.m.Objects[key(nsRel, "", rv.Relname)] != nil:
		v.fail(at, "", "relation %s is left to the connection's search_path (a tenantgen bug)", rv.Relname)
	case !builtins().rels[rv.Relname]:
		v.fail(at, "create it in the schema files, or qualify it with its schema",
			"relation %s is neither created by the schema files nor in pg_catalog: it would be looked up through search_path", rv.Relname)
	}
}

func (v *verifier) typ(tn *pg_query.TypeName) {
	schema, name, ok := splitName(tn.Names)
	if !ok {
		v.fail(int(tn.Location), "name types as schema.type at most", "cannot read this type name")
		return
	}
	v.typeName(schema, name, int(tn.Location))
}

func (v *verifier) typeName(schema, name string, at int) {
	if schema != "" {
		v.schemaOK(nsRel, schema, name, at)
		return
	}
	_, implicit := v.cat.types[name]
	if v.m.Objects[key(nsRel, "", name)] != nil || implicit {
		v.fail(at, "", "type %s is left to the connection's search_path (a tenantgen bug)", name)
	}
}

func (v *verifier) call(fc *pg_query.FuncCall) {
	schema, name, ok := splitName(fc.Funcname)
	at := int(fc.Location)
	if !ok {
		v.fail(at, "name routines as schema.name at most", "cannot read this routine name")
		return
	}
	userDefined := v.routineScope(name) != 0
	switch {
	case schema != "":
		v.schemaOK(nsFunc, schema, name, at)
	case userDefined:
		v.fail(at, "", "call of %s is left to the connection's search_path (a tenantgen bug)", name)
		return
	}
	kindOf := v.cat.userRegArg
	if schema == "pg_catalog" || schema == "" && !userDefined {
		switch name {
		case "current_schema", "current_schemas":
			v.fail(at, "use current_schema(), which tenantgen binds to the query's schema", "%s() reports the connection's search_path, not the tenant's schema", name)
			return
		}
		kindOf = regArgOf
	}
	for i, a := range fc.Args {
		if kind := kindOf(fc, i); kind != "" {
			v.nameValue(kind, a, at)
		}
	}
}

// nameValue checks a value PostgreSQL reads as a name: only a literal can
// be proven, and each name in it must be proven like a name in the SQL.
func (v *verifier) nameValue(kind string, n *pg_query.Node, at int) {
	s, loc, ok := stringLiteral(n)
	if !ok {
		if p := n.GetParamRef(); p != nil {
			at = int(p.Location)
		}
		if textualName(n) {
			v.fail(at, "write the name as a string literal ('tasks'::regclass), which tenantgen can qualify",
				"a %s computed at run time is looked up through search_path, which tenantgen cannot bind to the tenant", kind)
		}
		return
	}
	refs, err := namesInString(kind, s)
	if err != nil {
		v.fail(loc, "write the name as SQL would: 'tasks' or '\"Notes\"'", "%v", err)
		return
	}
	for _, r := range refs {
		at := loc + 1 + r.loc
		if from(v.sql, loc) == "" || v.sql[loc] != '\'' || strings.Contains(s, "'") {
			v.fail(loc, "write the name in a plain '...' string", "cannot prove the name in this string")
			return
		}
		switch {
		case r.ns == nsFunc && r.schema != "":
			v.schemaOK(nsFunc, r.schema, r.name, at)
		case r.ns == nsFunc:
			if v.routineScope(r.name) != 0 {
				v.fail(at, "", "routine %s in a string is left to search_path (a tenantgen bug)", r.name)
			}
		case kind == "regclass":
			v.rel(&pg_query.RangeVar{Schemaname: r.schema, Relname: r.name, Location: int32(at)}, nil)
		default:
			v.typeName(r.schema, r.name, at)
		}
	}
}
