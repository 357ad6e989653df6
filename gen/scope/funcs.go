package scope

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/tenantgen/tenantgen/gen/migfile"
)

// catalog is what the schema files define that overload resolution needs
// and Objects does not hold: the signatures of routines (functions,
// procedures, aggregates) and the column types of tables. It is derived
// from the model's statements in file order, so DROP removes what an
// earlier CREATE added.
type catalog struct {
	routines map[string][]*signature      // by unqualified name
	columns  map[string]map[string]string // table -> column -> type
	ops      map[string]Scope             // operators, by name
	colls    map[string]Scope             // collations, by name
	types    map[string]Scope             // types PostgreSQL creates implicitly: arrays, multiranges
	schemas  map[string]bool              // schemas the schema files create (for extensions, say)
}

// derived holds the model's catalog, built on first use: the model is
// complete by then (Analyse has returned), and queries are planned in
// parallel.
type derived struct {
	once sync.Once
	cat  *catalog
}

func (m *Model) catalog() *catalog {
	m.derived.once.Do(func() { m.derived.cat = m.buildCatalog() })
	return m.derived.cat
}

func (m *Model) buildCatalog() *catalog {
	c := &catalog{routines: map[string][]*signature{}, columns: map[string]map[string]string{}, ops: map[string]Scope{}, colls: map[string]Scope{}, types: map[string]Scope{}, schemas: map[string]bool{}}
	for _, f := range m.Files {
		for _, st := range f.Statements {
			sc, ok := m.Scopes[st]
			// Down sections undo; the schema queries run against is the
			// one the Up sections build.
			if !ok || st.Node == nil || st.Section == migfile.Down {
				continue
			}
			c.statement(st.Node, sc)
		}
	}
	// Every type and table has an array type, _name (over-approximated:
	// qualifying a name that is no type only fails, it cannot leak).
	for k, o := range m.Objects {
		if strings.HasPrefix(k, nsRel+":") && !strings.Contains(o.Name, ".") && m.Objects[key(nsRel, "", "_"+o.Name)] == nil {
			c.types["_"+o.Name] = o.Scope
		}
	}
	return c
}

// rangeType records what CREATE TYPE ... AS RANGE makes besides the type:
// its multirange type and the constructor functions of both.
func (c *catalog) rangeType(st *pg_query.CreateRangeStmt, sc Scope) {
	schema, name, ok := splitName(st.TypeName)
	if !ok || schema != "" {
		return
	}
	multi := name + "_multirange"
	if i := strings.Index(name, "range"); i >= 0 {
		multi = name[:i] + "multirange" + name[i+len("range"):]
	}
	sub := ""
	for _, p := range st.Params {
		d := p.GetDefElem()
		switch {
		case d == nil:
		case d.Defname == "subtype":
			sub = normType(d.Arg.GetTypeName())
		case d.Defname == "multirange_type_name":
			if _, n, ok := splitName(d.Arg.GetTypeName().GetNames()); ok {
				multi = n
			}
		}
	}
	c.types[multi] = sc
	c.types["_"+multi] = sc
	c.add(&signature{scope: sc, name: name, args: []string{sub, sub}})
	c.add(&signature{scope: sc, name: name, args: []string{sub, sub, "text"}})
	c.add(&signature{scope: sc, name: multi})
	c.add(&signature{scope: sc, name: multi, args: []string{name}})
	c.add(&signature{scope: sc, name: multi, args: []string{"_" + name}, variadic: true})
}

func (c *catalog) statement(n *pg_query.Node, sc Scope) {
	switch {
	case n.GetCreateFunctionStmt() != nil:
		st := n.GetCreateFunctionStmt()
		schema, name, ok := splitName(st.Funcname)
		if !ok {
			return
		}
		s := &signature{schema: schema, scope: sc, name: name}
		for _, p := range st.Parameters {
			fp := p.GetFunctionParameter()
			if fp == nil {
				continue
			}
			switch fp.Mode {
			case pg_query.FunctionParameterMode_FUNC_PARAM_OUT, pg_query.FunctionParameterMode_FUNC_PARAM_TABLE:
				continue
			case pg_query.FunctionParameterMode_FUNC_PARAM_VARIADIC:
				s.variadic = true
			}
			if fp.Defexpr != nil {
				s.defaults++
			}
			s.args = append(s.args, normType(fp.ArgType))
		}
		c.add(s)
	case n.GetDefineStmt() != nil && n.GetDefineStmt().Kind == pg_query.ObjectType_OBJECT_AGGREGATE:
		st := n.GetDefineStmt()
		schema, name, ok := splitName(st.Defnames)
		if !ok {
			return
		}
		s := &signature{schema: schema, scope: sc, name: name}
		if len(st.Args) > 0 {
			for _, p := range st.Args[0].GetList().GetItems() {
				if fp := p.GetFunctionParameter(); fp != nil {
					s.args = append(s.args, normType(fp.ArgType))
					s.variadic = s.variadic || fp.Mode == pg_query.FunctionParameterMode_FUNC_PARAM_VARIADIC
				}
			}
		} else {
			s.args = []string{"any"} // old syntax: BASETYPE in the definition
		}
		c.add(s)
	case n.GetDefineStmt() != nil && n.GetDefineStmt().Kind == pg_query.ObjectType_OBJECT_OPERATOR:
		if schema, name, ok := splitName(n.GetDefineStmt().Defnames); ok && schema == "" {
			c.ops[name] = sc
		}
	case n.GetDefineStmt() != nil && n.GetDefineStmt().Kind == pg_query.ObjectType_OBJECT_COLLATION:
		if schema, name, ok := splitName(n.GetDefineStmt().Defnames); ok && schema == "" {
			c.colls[name] = sc
		}
	case n.GetCreateSchemaStmt() != nil:
		c.schemas[n.GetCreateSchemaStmt().Schemaname] = true
	case n.GetCreateRangeStmt() != nil:
		c.rangeType(n.GetCreateRangeStmt(), sc)
	case n.GetDropStmt() != nil:
		st := n.GetDropStmt()
		switch st.RemoveType {
		case pg_query.ObjectType_OBJECT_FUNCTION, pg_query.ObjectType_OBJECT_PROCEDURE,
			pg_query.ObjectType_OBJECT_AGGREGATE, pg_query.ObjectType_OBJECT_ROUTINE:
			for _, o := range st.Objects {
				c.drop(o.GetObjectWithArgs())
			}
		case pg_query.ObjectType_OBJECT_TABLE:
			for _, o := range st.Objects {
				if _, name, ok := splitName(o.GetList().GetItems()); ok {
					delete(c.columns, name)
				}
			}
		}
	case n.GetCreateStmt() != nil:
		st := n.GetCreateStmt()
		cols := map[string]string{}
		for _, e := range st.TableElts {
			if cd := e.GetColumnDef(); cd != nil {
				cols[cd.Colname] = columnType(cd)
			}
		}
		c.columns[st.Relation.Relname] = cols
	case n.GetAlterTableStmt() != nil:
		st := n.GetAlterTableStmt()
		cols := c.columns[st.Relation.Relname]
		for _, cmd := range st.Cmds {
			ac := cmd.GetAlterTableCmd()
			switch {
			case cols == nil || ac == nil:
			case ac.Subtype == pg_query.AlterTableType_AT_AddColumn && ac.GetDef().GetColumnDef() != nil:
				cd := ac.GetDef().GetColumnDef()
				cols[cd.Colname] = columnType(cd)
			case ac.Subtype == pg_query.AlterTableType_AT_AlterColumnType && ac.GetDef().GetColumnDef() != nil:
				cols[ac.Name] = normType(ac.GetDef().GetColumnDef().TypeName)
			case ac.Subtype == pg_query.AlterTableType_AT_DropColumn:
				delete(cols, ac.Name)
			}
		}
	}
}

// columnType is a column's type as pg_type names it; serial columns are
// integers.
func columnType(cd *pg_query.ColumnDef) string {
	t := normType(cd.TypeName)
	switch t {
	case "serial", "serial4":
		return "int4"
	case "bigserial", "serial8":
		return "int8"
	case "smallserial", "serial2":
		return "int2"
	}
	return t
}

func (c *catalog) add(s *signature) {
	list := c.routines[s.name]
	for i, o := range list {
		if o.schema == s.schema && strings.Join(o.args, ",") == strings.Join(s.args, ",") {
			list[i] = s // CREATE OR REPLACE
			return
		}
	}
	c.routines[s.name] = append(list, s)
}

func (c *catalog) drop(ow *pg_query.ObjectWithArgs) {
	if ow == nil {
		return
	}
	schema, name, ok := splitName(ow.Objname)
	if !ok {
		return
	}
	var args []string
	for _, a := range ow.Objargs {
		args = append(args, normType(a.GetTypeName()))
	}
	var keep []*signature
	for _, s := range c.routines[name] {
		if s.schema == schema && (ow.ArgsUnspecified || strings.Join(s.args, ",") == strings.Join(args, ",")) {
			continue
		}
		keep = append(keep, s)
	}
	c.routines[name] = keep
	if len(keep) == 0 {
		delete(c.routines, name)
	}
}

// polyFits reports whether an argument of known type a matches the
// polymorphic parameter type p by PostgreSQL's rules (as far as a type's
// name shows them); ok is false when p is not polymorphic.
func polyFits(p, a string) (fits, ok bool) {
	switch p {
	case "any", "anyelement", "anycompatible", "record", "_record":
		return true, true
	case "anynonarray", "anycompatiblenonarray":
		return !strings.HasPrefix(a, "_"), true
	case "anyarray", "anycompatiblearray":
		return strings.HasPrefix(a, "_"), true
	case "anyrange", "anycompatiblerange":
		return strings.HasSuffix(a, "range") && !strings.HasSuffix(a, "multirange"), true
	case "anymultirange", "anycompatiblemultirange":
		return strings.HasSuffix(a, "multirange"), true
	case "anyenum":
		return false, true // cannot tell an enum by its name
	}
	return false, false
}

// fits reports whether every argument type is known and each is exactly the
// parameter's type, fits it polymorphically, or is an untyped literal.
func (s *signature) fits(types []string) bool {
	for i, t := range types {
		p := s.param(i)
		if t == "" {
			return false
		}
		if t == "unknown" || t == p {
			continue
		}
		if f, _ := polyFits(p, t); !f {
			return false
		}
	}
	return true
}

// choice is where overload resolution sends a call.
type choice int

const (
	toBuiltin choice = iota
	toUser
	ambiguous
)

// resolve decides whether a call of a name both the schema files and
// pg_catalog define goes to a user routine or a built-in. It decides only
// what it can prove from the argument types it can infer; anything else is
// ambiguous, and the caller asks for a cast.
func resolve(user, builtin []*signature, types []string) choice {
	count := func(list []*signature) (accept, fit []*signature) {
		for _, s := range list {
			if s.accepts(len(types)) {
				accept = append(accept, s)
				if s.fits(types) {
					fit = append(fit, s)
				}
			}
		}
		return accept, fit
	}
	ua, uf := count(user)
	ba, bf := count(builtin)
	switch {
	case len(ua) == 0:
		return toBuiltin
	case len(ba) == 0:
		return toUser
	case len(uf) > 0 && len(bf) == 0:
		return toUser
	case len(bf) > 0 && len(uf) == 0:
		return toBuiltin
	}
	return ambiguous
}

// describe writes a signature as SQL does: name(int4, text).
func (s *signature) describe() string {
	args := append([]string(nil), s.args...)
	if s.variadic && len(args) > 0 {
		args[len(args)-1] = "VARIADIC " + args[len(args)-1]
	}
	return s.name + "(" + strings.Join(args, ", ") + ")"
}

// argTypes infers the types of a call's arguments where the text shows
// them: casts, literals, columns of known tables. "" is unknown, "unknown"
// an untyped literal.
func (q *qualifier) argTypes(fc *pg_query.FuncCall) []string {
	var out []string
	for _, a := range fc.Args {
		if na := a.GetNamedArgExpr(); na != nil {
			a = na.Arg
		}
		out = append(out, q.exprType(a))
	}
	return out
}

func (q *qualifier) exprType(n *pg_query.Node) string {
	switch {
	case n.GetAConst() != nil:
		c := n.GetAConst()
		switch {
		case c.Isnull, c.GetSval() != nil, c.GetBsval() != nil:
			return "unknown"
		case c.GetIval() != nil:
			return "int4"
		case c.GetBoolval() != nil:
			return "bool"
		case c.GetFval() != nil:
			if _, err := strconv.ParseInt(c.GetFval().Fval, 10, 64); err == nil {
				return "int8"
			}
			return "numeric"
		}
	case n.GetTypeCast() != nil:
		return normType(n.GetTypeCast().TypeName)
	case n.GetColumnRef() != nil:
		return q.columnRefType(n.GetColumnRef())
	}
	return ""
}

// columnRefType finds a column's type among the tables the statement
// names; a bare table or alias is its row type.
func (q *qualifier) columnRefType(cr *pg_query.ColumnRef) string {
	var parts []string
	for _, f := range cr.Fields {
		s := f.GetString_()
		if s == nil {
			return ""
		}
		parts = append(parts, s.Sval)
	}
	switch len(parts) {
	case 1:
		t := ""
		for _, rel := range q.rels {
			if ct, ok := q.cat.columns[rel][parts[0]]; ok {
				if t != "" && t != ct {
					return ""
				}
				t = ct
			}
		}
		if t == "" {
			if rel, ok := q.rels[parts[0]]; ok && q.cat.columns[rel] != nil {
				return rel
			}
		}
		return t
	case 2:
		if rel, ok := q.rels[parts[0]]; ok {
			return q.cat.columns[rel][parts[1]]
		}
	}
	return ""
}

// ambiguousCall explains a call that could be a user routine or a built-in.
func ambiguousCall(fc *pg_query.FuncCall, user []*signature, types []string) *QueryError {
	var sigs []string
	for _, s := range user {
		sigs = append(sigs, s.describe())
	}
	shown := make([]string, len(types))
	for i, t := range types {
		shown[i] = t
		if t == "" || t == "unknown" {
			shown[i] = "?"
		}
	}
	name := user[0].name
	return &QueryError{
		Offset: int(fc.Location),
		Msg: fmt.Sprintf("call %s(%s) could be the built-in pg_catalog.%s or the schema files' %s: tenantgen cannot tell which PostgreSQL would pick",
			name, strings.Join(shown, ", "), name, strings.Join(sigs, ", ")),
		Hint: fmt.Sprintf("cast the arguments to the types of the one you mean (e.g. %s(x::numeric, ...)), or write pg_catalog.%s(...) for the built-in", name, name),
	}
}

// identitySequenceName is the name an identity column's SEQUENCE NAME
// option gives its sequence, or def.
func identitySequenceName(c *pg_query.Constraint, def string) string {
	for _, o := range c.Options {
		d := o.GetDefElem()
		if d == nil || d.Defname != "sequence_name" {
			continue
		}
		if _, name, ok := splitName(d.Arg.GetList().GetItems()); ok {
			return name
		}
	}
	return def
}

// userRegArg is regArgOf for the schema files' routines: the kind of reg*
// name argument i of a call is, when a routine of that name taking that many
// arguments declares it so.
func (c *catalog) userRegArg(fc *pg_query.FuncCall, i int) string {
	_, name, ok := splitName(fc.Funcname)
	if !ok {
		return ""
	}
	for _, s := range c.routines[name] {
		if s.accepts(len(fc.Args)) && regKinds[s.param(i)] {
			return s.param(i)
		}
	}
	return ""
}
