package scope

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tenantgen/tenantgen/gen/migfile"
)

// checkRunTime rejects schema statements that migrate fine but go wrong
// when the application uses what they create.
func (a *analyser) checkRunTime(f *migfile.File, st *migfile.Statement, sum summary, b body, sc Scope) {
	a.checkTransactionControl(st, sum, b, sc)
	if sc == Tenant && evaluatedByCaller(st.Node) {
		for _, at := range searchPathCalls(st.Node) {
			a.diags.Add(f.Source.Pos(at.loc),
				"call a tenant function instead: CREATE FUNCTION tenant_schema() RETURNS text LANGUAGE sql STABLE AS 'SELECT current_schema()'; "+
					"tenant functions with string bodies get SET search_path FROM CURRENT, so inside one it is the tenant's schema",
				"tenant %s calls %s, which PostgreSQL evaluates in the session that uses it: tenantgen's runtime keeps search_path = public there, so it would give public, not the tenant",
				sum.verb, at.name)
		}
	}
}

// checkTransactionControl deals with routines that commit or roll back.
// PostgreSQL refuses that (SQLSTATE 2D000, invalid transaction termination)
// in functions and in any routine with a SET clause, which tenant routines
// with string bodies get (SET search_path FROM CURRENT, see package
// migrations): tenant procedures are bound another way (see binding.go),
// the rest is rejected. Measured on PostgreSQL 15: a procedure with SET
// search_path FROM CURRENT fails at its first COMMIT.
func (a *analyser) checkTransactionControl(st *migfile.Statement, sum summary, b body, sc Scope) {
	fn := st.Node.GetCreateFunctionStmt()
	if fn == nil || len(b.control) == 0 {
		return
	}
	switch {
	case !fn.IsProcedure:
		a.diags.Add(b.control[0], "make it a procedure (CREATE PROCEDURE, run with CALL), or end the transaction in the caller",
			"%s commits or rolls back: only procedures may (PostgreSQL fails a function's COMMIT with SQLSTATE 2D000)", sum.verb)
	case hasSetClause(fn):
		a.diags.Add(b.control[0], "remove the SET clause, or the COMMIT/ROLLBACK (end the transaction in the caller instead)",
			"%s commits or rolls back, but has a SET clause: PostgreSQL refuses transaction control in a routine with one (SQLSTATE 2D000)", sum.verb)
	case sc == Tenant:
		text, err := a.bindTransactional(st, b)
		if err != nil {
			a.diags.Add(b.control[0], "or remove COMMIT/ROLLBACK and end the transaction in the caller (one CALL per transaction)",
				"tenant %s commits or rolls back, so it cannot get SET search_path FROM CURRENT (PostgreSQL refuses COMMIT in a routine with a SET clause, SQLSTATE 2D000), "+
					"and tenantgen cannot bind it otherwise: %v", sum.verb, err)
			return
		}
		a.m.Bound[st] = text
	}
}

// hasSetClause reports whether a routine sets a configuration parameter
// for its duration.
func hasSetClause(fn *pg_query.CreateFunctionStmt) bool {
	for _, o := range fn.Options {
		if d := o.GetDefElem(); d != nil && d.Defname == "set" {
			return true
		}
	}
	return false
}

// evaluatedByCaller reports whether the expressions of a tenant statement
// run later, in the application's session (defaults, checks, views,
// policies, triggers, BEGIN ATOMIC bodies), rather than in the migration's,
// whose search_path is the tenant's (DML, DO, string-bodied functions,
// which are pinned to it).
func evaluatedByCaller(n *pg_query.Node) bool {
	switch {
	case n.GetCreateStmt() != nil, n.GetAlterTableStmt() != nil, n.GetViewStmt() != nil,
		n.GetCreatePolicyStmt() != nil, n.GetAlterPolicyStmt() != nil, n.GetCreateDomainStmt() != nil,
		n.GetAlterDomainStmt() != nil, n.GetCreateTrigStmt() != nil, n.GetRuleStmt() != nil:
		return true
	case n.GetCreateTableAsStmt() != nil:
		// A materialized view runs its query again on REFRESH.
		return n.GetCreateTableAsStmt().Objtype == pg_query.ObjectType_OBJECT_MATVIEW
	case n.GetCreateFunctionStmt() != nil:
		fn := n.GetCreateFunctionStmt()
		return fn.SqlBody != nil && !hasSetClause(fn)
	}
	return false
}

type call struct {
	name string
	loc  int
}

// searchPathCalls finds what reads the session's search_path:
// current_schema, current_schemas() and current_setting('search_path').
func searchPathCalls(n *pg_query.Node) []call {
	var out []call
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if !m.IsValid() {
			return
		}
		switch v := m.Interface().(type) {
		case *pg_query.SQLValueFunction:
			if v.Op == pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA {
				out = append(out, call{"current_schema", int(v.Location)})
			}
		case *pg_query.FuncCall:
			name := catalogFunc(v.Funcname)
			switch {
			case name == "current_schema" || name == "current_schemas":
				out = append(out, call{name + "()", int(v.Location)})
			case name == "current_setting" && len(v.Args) > 0 && v.Args[0].GetAConst().GetSval().GetSval() == "search_path":
				out = append(out, call{"current_setting('search_path')", int(v.Location)})
			}
		}
		m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := 0; i < val.List().Len(); i++ {
					walk(val.List().Get(i).Message())
				}
			case fd.Message() != nil && !fd.IsMap():
				walk(val.Message())
			}
			return true
		})
	}
	walk(n.ProtoReflect())
	return out
}

// catalogFunc returns the name of a call of a built-in, unqualified or
// pg_catalog-qualified, and "" for anything else.
func catalogFunc(names []*pg_query.Node) string {
	switch len(names) {
	case 1:
		return names[0].GetString_().GetSval()
	case 2:
		if names[0].GetString_().GetSval() == "pg_catalog" {
			return names[1].GetString_().GetSval()
		}
	}
	return ""
}
