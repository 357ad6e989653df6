package scope

import (
	"fmt"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/runtime/contract"
)

// Placeholder stands for the tenant schema in generated SQL (see package
// contract): the runtime replaces it with the quoted schema of the tenant a
// query is bound to.
const Placeholder = contract.Placeholder

// Query is what the analysis of one query found.
type Query struct {
	Scope     Scope    // Tenant when it touches any tenant object
	Tenant    []string // tenant objects it names, sorted, unique
	Qualified string   // the SQL with tenant objects qualified by Placeholder, shared ones by public
}

// QueryError is a query tenantgen refuses, at a byte offset of the query's
// text (-1 when it has none).
type QueryError struct {
	Offset int
	Msg    string
	Hint   string
}

func (e *QueryError) Error() string { return e.Msg }

// Query analyses a query's SQL (as sqlc emits it) against the schema model:
// it qualifies every name the model defines, then proves with an
// independent walk of the result (verify) that nothing it names is left to
// the connection's search_path.
func (m *Model) Query(sql string) (*Query, error) {
	return m.QueryAs(sql, migfile.Unknown)
}

// QueryAs is Query for a query whose marker says it runs bound to a tenant
// (Tenant) or not: that decides what current_schema() means when the
// query names no tenant object. Unknown lets the objects decide.
func (m *Model) QueryAs(sql string, marked Scope) (*Query, error) {
	if i := strings.Index(sql, Placeholder); i >= 0 {
		return nil, &QueryError{Offset: i,
			Msg:  fmt.Sprintf("the query contains %s, the text tenantgen's runtime replaces with the tenant's schema", Placeholder),
			Hint: "write tenant objects unqualified (tenantgen qualifies them), and keep " + Placeholder + " out of literals, quoted names and comments"}
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, err
	}
	q := &qualifier{m: m, sql: sql, cat: m.catalog(), tenant: map[string]bool{}}
	for _, raw := range tree.Stmts {
		q.rels = statementRels(raw.Stmt)
		q.walk(raw.Stmt.ProtoReflect(), nil)
		if q.err != nil {
			return nil, q.err
		}
	}
	res := &Query{Scope: Shared}
	if len(q.tenant) > 0 {
		res.Scope = Tenant
	}
	for n := range q.tenant {
		res.Tenant = append(res.Tenant, n)
	}
	sort.Strings(res.Tenant)
	runsAs := res.Scope
	if marked == Tenant {
		runsAs = Tenant
	}
	out, toInput := q.apply(runsAs)
	if err := m.verify(out); err != nil {
		if err.Offset >= 0 {
			err.Offset = toInput(err.Offset)
		}
		return nil, err
	}
	res.Qualified = out
	return res, nil
}

// qualifier records the edits that qualify one query's names.
type qualifier struct {
	m      *Model
	sql    string
	cat    *catalog
	rels   map[string]string // relation names and aliases of the statement -> relation
	tenant map[string]bool
	edits  []qedit
	tokens []*pg_query.ScanToken
	err    *QueryError
}

// qedit inserts text at at, or replaces sql[at:end]. currentSchema edits
// get their text once the query's scope is known.
type qedit struct {
	at, end       int
	text          string
	currentSchema bool
}

// cteScope is the CTE names visible at a point of a statement.
type cteScope struct {
	names  map[string]bool
	parent *cteScope
}

func (s *cteScope) has(name string) bool {
	for ; s != nil; s = s.parent {
		if s.names[name] {
			return true
		}
	}
	return false
}

func (q *qualifier) fail(at int, hint, format string, args ...any) {
	if q.err == nil {
		q.err = &QueryError{Offset: at, Msg: fmt.Sprintf(format, args...), Hint: hint}
	}
}

// walk visits a parse tree with the CTEs in scope.
func (q *qualifier) walk(msg protoreflect.Message, sc *cteScope) {
	if !msg.IsValid() || q.err != nil {
		return
	}
	skip := map[string]bool{}
	switch v := msg.Interface().(type) {
	case *pg_query.SelectStmt:
		sc = q.with(v.WithClause, sc)
		skip["with_clause"] = true
	case *pg_query.InsertStmt:
		sc = q.with(v.WithClause, sc)
		q.relation(v.Relation, nil)
		skip["with_clause"], skip["relation"] = true, true
	case *pg_query.UpdateStmt:
		sc = q.with(v.WithClause, sc)
		q.relation(v.Relation, nil)
		skip["with_clause"], skip["relation"] = true, true
	case *pg_query.DeleteStmt:
		sc = q.with(v.WithClause, sc)
		q.relation(v.Relation, nil)
		skip["with_clause"], skip["relation"] = true, true
	case *pg_query.MergeStmt:
		sc = q.with(v.WithClause, sc)
		q.relation(v.Relation, nil)
		skip["with_clause"], skip["relation"] = true, true
	case *pg_query.LockingClause:
		// FOR UPDATE OF t names a FROM item, which PostgreSQL wants
		// unqualified (42601 otherwise).
		return
	case *pg_query.RangeVar:
		q.relation(v, sc)
		return
	case *pg_query.TypeName:
		q.typeName(v)
	case *pg_query.TypeCast:
		q.regCast(v)
	case *pg_query.FuncCall:
		q.funcCall(v)
	case *pg_query.A_Expr:
		q.operators(v)
	case *pg_query.SubLink:
		if op, ok := oneName(v.OperName); ok {
			q.operator(op, int(v.Location), true)
		}
	case *pg_query.SortBy:
		if op, ok := oneName(v.UseOp); ok {
			q.operator(op, int(v.Location), true)
		}
	case *pg_query.CollateClause:
		q.collation(v)
	case *pg_query.SQLValueFunction:
		if v.Op == pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA {
			q.edits = append(q.edits, qedit{at: int(v.Location), end: int(v.Location) + len("current_schema"), currentSchema: true})
		}
	}
	q.children(msg, sc, skip)
}

func (q *qualifier) children(msg protoreflect.Message, sc *cteScope, skip map[string]bool) {
	msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if skip[string(fd.Name())] {
			return true
		}
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				q.walk(v.List().Get(i).Message(), sc)
			}
		case fd.Message() != nil && !fd.IsMap():
			q.walk(v.Message(), sc)
		}
		return true
	})
}

// with walks a WITH list as PostgreSQL scopes it and returns the scope of
// the statement it belongs to: a CTE sees the ones before it, and under
// RECURSIVE every one of the list, itself included.
func (q *qualifier) with(wc *pg_query.WithClause, sc *cteScope) *cteScope {
	if wc == nil {
		return sc
	}
	if wc.Recursive {
		all := &cteScope{names: map[string]bool{}, parent: sc}
		for _, c := range wc.Ctes {
			all.names[c.GetCommonTableExpr().GetCtename()] = true
		}
		for _, c := range wc.Ctes {
			q.walk(c.ProtoReflect(), all)
		}
		return all
	}
	for _, c := range wc.Ctes {
		q.walk(c.ProtoReflect(), sc)
		sc = &cteScope{names: map[string]bool{c.GetCommonTableExpr().GetCtename(): true}, parent: sc}
	}
	return sc
}

// relation qualifies a relation a statement names; sc nil means CTEs do
// not apply (the target of INSERT, UPDATE, DELETE, MERGE).
func (q *qualifier) relation(rv *pg_query.RangeVar, sc *cteScope) {
	if rv == nil {
		return
	}
	if rv.Schemaname == "" && sc.has(rv.Relname) {
		return
	}
	q.qualify(rangeVarRef(rv, "relation"), int(rv.Location))
}

// qualify puts the schema of a known object in front of an unqualified
// reference at byte at of the query.
func (q *qualifier) qualify(r ref, at int) {
	o := q.m.Objects[r.key()]
	if r.schema == "public" && o != nil && o.Scope == migfile.Tenant {
		q.fail(at, "drop the qualifier: tenantgen binds tenant objects to the tenant's schema",
			"tenant %s %s is named public.%s", o.Kind, o.Name, r.name)
		return
	}
	if r.schema != "" || o == nil {
		return
	}
	q.insert(r, at, o.Scope)
}

func (q *qualifier) insert(r ref, at int, sc Scope) {
	p, err := insertionPoint(q.sql, at, r)
	if err != nil {
		q.fail(at, "write the name plainly (no comments or line breaks inside it)", "%v", err)
		return
	}
	at = p
	if sc != migfile.Tenant {
		// Shared objects get public. so that no search_path, however set,
		// can make a shared name mean something else.
		q.edits = append(q.edits, qedit{at: at, end: at, text: "public."})
		return
	}
	q.tenant[r.name] = true
	q.edits = append(q.edits, qedit{at: at, end: at, text: Placeholder + "."})
}

func (q *qualifier) typeName(tn *pg_query.TypeName) {
	if r, ok := typeRef(tn); ok {
		q.qualifyType(r, int(tn.Location))
	}
}

// qualifyType is qualify for types, which include those PostgreSQL makes
// implicitly (arrays, multiranges).
func (q *qualifier) qualifyType(r ref, at int) {
	if sc, ok := q.cat.types[r.name]; ok && r.schema == "" && q.m.Objects[r.key()] == nil {
		q.insert(r, at, sc)
		return
	}
	q.qualify(r, at)
}

// regCast qualifies the name inside 'name'::regclass and the like.
func (q *qualifier) regCast(tc *pg_query.TypeCast) {
	kind := regKindOf(tc.TypeName)
	if kind == "" {
		return
	}
	q.nameArg(kind, tc.Arg, int(tc.Location))
}

// nameArg handles an expression that PostgreSQL reads as the name of a
// relation, type or routine.
func (q *qualifier) nameArg(kind string, n *pg_query.Node, at int) {
	s, loc, ok := stringLiteral(n)
	if !ok {
		if p := n.GetParamRef(); p != nil {
			at = int(p.Location)
		}
		if textualName(n) {
			q.fail(at, "write the name as a string literal ('tasks'::regclass), which tenantgen can qualify",
				"a %s computed at run time is looked up through search_path, which tenantgen cannot bind to the tenant", kind)
		}
		return
	}
	if from(q.sql, loc) == "" || q.sql[loc] != '\'' {
		q.fail(loc, "write the name as a plain '...' string", "tenantgen reads names only from plain '...' strings, not escape or dollar-quoted ones")
		return
	}
	refs, err := namesInString(kind, s)
	if err != nil {
		q.fail(loc, "write the name as SQL would: 'tasks' or '\"Notes\"'", "%v", err)
		return
	}
	for _, r := range refs {
		if r.schema == "pg_catalog" {
			continue
		}
		if r.ns == nsRel && kind == "regclass" && r.schema == "" && q.m.Objects[r.key()] == nil && !builtins().rels[r.name] {
			q.fail(loc, "create it in the schema files, or qualify it with its schema",
				"relation %s is neither created by the schema files nor in pg_catalog: it would be looked up through search_path", r.name)
			return
		}
		// loc+1 skips the quote; inside the string a quote is ''.
		if strings.Contains(s, "'") {
			q.fail(loc, "name the object without quotes inside the literal", "tenantgen cannot qualify a name inside a string with an embedded quote")
			return
		}
		r.loc = loc + 1 + r.loc
		if r.ns == nsRel && kind != "regclass" {
			q.qualifyType(r, r.loc)
			continue
		}
		q.qualify(r, r.loc)
	}
}

// funcCall qualifies a call of a routine the schema files define, by
// signature when pg_catalog has one of the same name, and the names its
// reg* arguments give; current_schema() gets the tenant's meaning,
// current_schemas() is refused.
func (q *qualifier) funcCall(fc *pg_query.FuncCall) {
	schema, name, ok := splitName(fc.Funcname)
	if !ok {
		return
	}
	o := q.m.Objects[key(nsFunc, "", name)]
	user := q.cat.routines[name]
	userDefined := o != nil || len(user) > 0
	switch {
	case schema == "pg_catalog":
		q.regArgs(fc, regArgOf)
		if !userDefined {
			q.currentSchema(fc, name)
		}
		return
	case schema != "":
		q.qualify(ref{ns: nsFunc, schema: schema, name: name, what: "function"}, int(fc.Location))
		q.regArgs(fc, q.cat.userRegArg)
		return
	case !userDefined:
		q.regArgs(fc, regArgOf)
		q.currentSchema(fc, name)
		return
	}
	sc := migfile.Shared
	switch {
	case o != nil:
		sc = o.Scope
	case len(user) > 0:
		sc = user[0].scope
	}
	if b := builtins().funcs[name]; len(b) > 0 && len(user) > 0 {
		types := q.argTypes(fc)
		switch resolve(user, b, types) {
		case toBuiltin:
			q.edits = append(q.edits, qedit{at: int(fc.Location), end: int(fc.Location), text: "pg_catalog."})
			q.regArgs(fc, regArgOf)
			return
		case ambiguous:
			if q.err == nil {
				q.err = ambiguousCall(fc, user, types)
			}
			return
		}
	}
	q.insert(ref{ns: nsFunc, name: name, what: "function"}, int(fc.Location), sc)
	q.regArgs(fc, q.cat.userRegArg)
}

// regArgs qualifies the names in the arguments that kindOf says are reg*
// names.
func (q *qualifier) regArgs(fc *pg_query.FuncCall, kindOf func(*pg_query.FuncCall, int) string) {
	for i, a := range fc.Args {
		if kind := kindOf(fc, i); kind != "" {
			q.nameArg(kind, a, int(fc.Location))
		}
	}
}

// currentSchema rewrites current_schema() and refuses current_schemas().
func (q *qualifier) currentSchema(fc *pg_query.FuncCall, name string) {
	switch name {
	case "current_schema":
		if len(fc.Args) == 0 {
			q.edits = append(q.edits, qedit{at: int(fc.Location), end: q.callEnd(int(fc.Location)), currentSchema: true})
		}
	case "current_schemas":
		q.fail(int(fc.Location), "use current_schema(), which tenantgen binds to the query's schema, or pass the schema names as parameters",
			"current_schemas() reports the connection's search_path, which is not the tenant's")
	}
}

// operators qualifies the operator of an expression. Only the plain
// operator forms can be rewritten (as OPERATOR(schema.op)); IN, BETWEEN,
// LIKE, IS DISTINCT FROM and NULLIF use theirs implicitly.
func (q *qualifier) operators(e *pg_query.A_Expr) {
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP, pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL:
		if op, ok := oneName(e.Name); ok {
			q.operator(op, int(e.Location), true)
		}
		return
	}
	for _, op := range implicitOperators(e) {
		q.operator(op, int(e.Location), false)
	}
}

// operator qualifies a use of an operator the schema files define.
func (q *qualifier) operator(op string, at int, rewritable bool) {
	sc, ok := q.cat.ops[op]
	if !ok {
		return
	}
	if builtins().ops[op] {
		q.fail(at, "give the schema files' operator a name pg_catalog does not use, or write OPERATOR(pg_catalog."+op+") for the built-in",
			"operator %s is defined by the schema files and by pg_catalog: tenantgen cannot tell which one PostgreSQL would pick", op)
		return
	}
	if !rewritable || !strings.HasPrefix(from(q.sql, at), op) {
		q.fail(at, "write the comparison with the operator itself (a "+op+" b)",
			"operator %s of the schema files is used implicitly here, where tenantgen cannot qualify it", op)
		return
	}
	qual := contract.SharedSchema + "."
	if sc == migfile.Tenant {
		qual = Placeholder + "."
		q.tenant[op] = true
	}
	q.edits = append(q.edits, qedit{at: at, end: at + len(op), text: "OPERATOR(" + qual + op + ")"})
}

// collation qualifies COLLATE name when the schema files create the
// collation: collations are found through search_path too.
func (q *qualifier) collation(cc *pg_query.CollateClause) {
	schema, name, ok := splitName(cc.Collname)
	sc, defined := q.cat.colls[name]
	if !ok || schema != "" || !defined {
		return
	}
	at := q.tokenAfter(int(cc.Location))
	q.insert(ref{ns: "collation", name: name, what: "collation"}, at, sc)
}

// tokenAfter returns where the token after the one at at starts (-1 when
// there is none).
func (q *qualifier) tokenAfter(at int) int {
	if q.tokens == nil {
		if res, err := pg_query.Scan(q.sql); err == nil {
			q.tokens = res.Tokens
		}
	}
	for i, t := range q.tokens {
		if int(t.Start) == at && i+1 < len(q.tokens) {
			return int(q.tokens[i+1].Start)
		}
	}
	return -1
}

// callEnd finds the end of a call with no arguments starting at at: just
// past its ')'.
func (q *qualifier) callEnd(at int) int {
	if q.tokens == nil {
		if res, err := pg_query.Scan(q.sql); err == nil {
			q.tokens = res.Tokens
		}
	}
	for i, t := range q.tokens {
		if int(t.Start) < at {
			continue
		}
		for _, u := range q.tokens[i:] {
			if u.Token == pg_query.Token_ASCII_41 { // ')'
				return int(u.End)
			}
		}
		break
	}
	q.fail(at, "", "cannot find the end of this call")
	return at
}

// apply makes the edits and returns the qualified SQL, with a function
// from its byte offsets back to the query's.
func (q *qualifier) apply(sc Scope) (string, func(int) int) {
	edits := append([]qedit(nil), q.edits...)
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].at > edits[j].at })
	out := q.sql
	last := -1
	var applied []qedit
	for _, e := range edits {
		if e.at == last && e.end == e.at {
			continue
		}
		last = e.at
		text := e.text
		if e.currentSchema {
			text = "'" + contract.SharedSchema + "'::pg_catalog.name"
			if sc == migfile.Tenant {
				// The runtime's Bind turns the placeholder into the tenant's
				// quoted name, which regnamespace reads back as the schema.
				text = "(SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = '" + Placeholder + "'::pg_catalog.regnamespace)"
			}
		}
		if e.at > 0 && identByte(q.sql[e.at-1]) && e.end == e.at {
			// JOIN"plans" lexes as a keyword and a name; JOINpublic."plans"
			// would not.
			text = " " + text
		}
		out = out[:e.at] + text + out[e.end:]
		applied = append(applied, qedit{at: e.at, end: e.end, text: text})
	}
	toInput := func(off int) int {
		// applied is in descending order of position; walk it ascending.
		shift := 0
		for i := len(applied) - 1; i >= 0; i-- {
			e := applied[i]
			if off < e.at+shift {
				break
			}
			if off < e.at+shift+len(e.text) {
				return e.at
			}
			shift += len(e.text) - (e.end - e.at)
		}
		return off - shift
	}
	return out, toInput
}

// insertionPoint finds where the schema qualifier of a reference at byte
// at goes.
func insertionPoint(sql string, at int, r ref) (int, error) {
	if at < 0 || at >= len(sql) {
		return 0, fmt.Errorf("cannot locate %s %s in the query", r.what, r.name)
	}
	// Unquoted names are folded to lower case by the parser; quoted ones
	// keep their case.
	if !strings.HasPrefix(strings.ToLower(sql[at:]), r.name) &&
		!strings.HasPrefix(sql[at:], `"`+strings.ReplaceAll(r.name, `"`, `""`)+`"`) {
		return 0, fmt.Errorf("cannot locate %s %s in the query", r.what, r.name)
	}
	return at, nil
}

// identByte reports whether c can continue an unquoted identifier or keyword.
func identByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// statementRels maps the relation names and aliases of a statement to the
// relations, for typing column references.
func statementRels(n *pg_query.Node) map[string]string {
	out := map[string]string{}
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if rv, ok := m.Interface().(*pg_query.RangeVar); ok {
			out[rv.Relname] = rv.Relname
			if rv.Alias != nil {
				out[rv.Alias.Aliasname] = rv.Relname
			}
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message())
				}
			case fd.Message() != nil && !fd.IsMap():
				walk(v.Message())
			}
			return true
		})
	}
	walk(n.ProtoReflect())
	return out
}
