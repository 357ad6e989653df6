package migrations

import (
	"regexp"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/scope"
)

// CitusWarnings lists what Citus schema-based sharding refuses or changes
// in tenant schemas, for `tenantgen vet` to print as warnings: the same
// files stay valid on plain PostgreSQL, so none of it is an error.
//
//   - an int/smallint serial, identity or nextval default in a tenant table
//     that a tenant function or trigger inserts into: functions run on the
//     tenant's worker, where nextval for such columns is refused;
//   - current_schema() / current_schemas() in tenant SQL: a query routed to
//     the worker evaluates it there, where it is public;
//   - a tenant statement naming another schema than public and the
//     catalogs: a tenant's tables may only reference their own schema and
//     reference tables (and another tenant's schema lives on another node).
func CitusWarnings(m *scope.Model) diag.List {
	var out diag.List
	small := smallSequenceColumns(m)
	for _, f := range m.Files {
		for _, st := range f.Statements {
			if m.Scopes[st] != scope.Tenant {
				continue
			}
			warnCurrentSchema(&out, f, st)
			warnOtherSchemas(&out, f, st)
			warnTriggerInserts(&out, f, st, small)
		}
	}
	return out
}

var currentSchemaRe = regexp.MustCompile(`(?i)\bcurrent_schemas?\s*\(`)

func warnCurrentSchema(out *diag.List, f *migfile.File, st *migfile.Statement) {
	if loc := currentSchemaRe.FindStringIndex(st.Text); loc != nil {
		out.Add(f.Source.Pos(st.Offset+loc[0]),
			"name the tenant's objects through the schema the statement runs in (generated queries do), or pass the schema name in",
			"Citus: %s in tenant SQL is evaluated on the tenant's worker when the query is routed there, where it returns public",
			strings.TrimRight(st.Text[loc[0]:loc[1]], "( \t\n"))
	}
}

func warnOtherSchemas(out *diag.List, f *migfile.File, st *migfile.Statement) {
	seen := map[string]bool{}
	walkRangeVars(st.Node.ProtoReflect(), func(rv *pg_query.RangeVar) {
		s := rv.Schemaname
		if s == "" || s == "public" || s == "pg_catalog" || s == "information_schema" || seen[s] {
			return
		}
		seen[s] = true
		off := st.Offset
		if rv.Location >= 0 {
			off = int(rv.Location)
		}
		out.Add(f.Source.Pos(off),
			"a tenant's tables may reference only their own schema and shared (reference) tables in public",
			"Citus: tenant SQL names schema %q: another schema's tables live in another colocation group, usually on another node", s)
	})
}

// column names a tenant table's column.
type column struct{ table, name string }

var insertRe = regexp.MustCompile(`(?i)\binsert\s+into\s+(?:"?[a-z_][a-z0-9_$]*"?\s*\.\s*)?"?([a-z_][a-z0-9_$]*)"?`)

func warnTriggerInserts(out *diag.List, f *migfile.File, st *migfile.Statement, small map[string][]column) {
	fn := st.Node.GetCreateFunctionStmt()
	if fn == nil {
		return
	}
	body := functionBody(fn)
	if body == "" {
		return
	}
	done := map[string]bool{}
	for _, mt := range insertRe.FindAllStringSubmatch(body, -1) {
		table := strings.ToLower(mt[1])
		cols, ok := small[table]
		if !ok || done[table] {
			continue
		}
		done[table] = true
		for _, c := range cols {
			out.Add(st.Pos,
				"use bigserial (or bigint GENERATED ... AS IDENTITY) for columns filled by functions and triggers",
				"Citus: function %s inserts into %s, whose column %s takes an int/smallint sequence value: functions and triggers run on the tenant's worker, where nextval for int/smallint defaults is refused",
				funcName(fn), c.table, c.name)
		}
	}
}

// smallSequenceColumns finds the tenant tables' int/smallint columns filled
// from a sequence (serial, smallserial, identity, nextval default), by
// lower-case table name.
func smallSequenceColumns(m *scope.Model) map[string][]column {
	out := map[string][]column{}
	add := func(table string, cd *pg_query.ColumnDef) {
		if cd == nil || cd.TypeName == nil || !smallSequenceColumn(cd) {
			return
		}
		t := strings.ToLower(table)
		out[t] = append(out[t], column{table, cd.Colname})
	}
	for _, f := range m.Files {
		for _, st := range f.Statements {
			if m.Scopes[st] != scope.Tenant || st.Section != migfile.Up {
				continue
			}
			if cs := st.Node.GetCreateStmt(); cs != nil && cs.Relation != nil {
				for _, e := range cs.TableElts {
					add(cs.Relation.Relname, e.GetColumnDef())
				}
			}
			if at := st.Node.GetAlterTableStmt(); at != nil && at.Relation != nil {
				for _, c := range at.Cmds {
					if cmd := c.GetAlterTableCmd(); cmd != nil && cmd.Def != nil {
						add(at.Relation.Relname, cmd.Def.GetColumnDef())
					}
				}
			}
		}
	}
	for t := range out {
		sort.Slice(out[t], func(i, j int) bool { return out[t][i].name < out[t][j].name })
	}
	return out
}

func smallSequenceColumn(cd *pg_query.ColumnDef) bool {
	typ := typeName(cd.TypeName)
	switch typ {
	case "serial", "serial4", "smallserial", "serial2":
		return true
	case "int", "int4", "integer", "int2", "smallint":
	default:
		return false
	}
	for _, c := range cd.Constraints {
		con := c.GetConstraint()
		if con == nil {
			continue
		}
		if con.Contype == pg_query.ConstrType_CONSTR_IDENTITY {
			return true
		}
		if con.Contype == pg_query.ConstrType_CONSTR_DEFAULT && con.RawExpr != nil {
			if call := con.RawExpr.GetFuncCall(); call != nil && len(call.Funcname) > 0 {
				if s := call.Funcname[len(call.Funcname)-1].GetString_(); s != nil && s.Sval == "nextval" {
					return true
				}
			}
		}
	}
	return false
}

func typeName(tn *pg_query.TypeName) string {
	if len(tn.Names) == 0 {
		return ""
	}
	if s := tn.Names[len(tn.Names)-1].GetString_(); s != nil {
		return strings.ToLower(s.Sval)
	}
	return ""
}

func functionBody(fn *pg_query.CreateFunctionStmt) string {
	var parts []string
	for _, o := range fn.Options {
		d := o.GetDefElem()
		if d == nil || d.Defname != "as" || d.Arg == nil {
			continue
		}
		if l := d.Arg.GetList(); l != nil {
			for _, it := range l.Items {
				if s := it.GetString_(); s != nil {
					parts = append(parts, s.Sval)
				}
			}
		}
	}
	return strings.Join(parts, "\n")
}

func funcName(fn *pg_query.CreateFunctionStmt) string {
	var parts []string
	for _, n := range fn.Funcname {
		if s := n.GetString_(); s != nil {
			parts = append(parts, s.Sval)
		}
	}
	return strings.Join(parts, ".")
}

var rangeVarName = (&pg_query.RangeVar{}).ProtoReflect().Descriptor().FullName()

// walkRangeVars calls fn for every RangeVar under m.
func walkRangeVars(m protoreflect.Message, fn func(*pg_query.RangeVar)) {
	if !m.IsValid() {
		return
	}
	if m.Descriptor().FullName() == rangeVarName {
		if rv, ok := m.Interface().(*pg_query.RangeVar); ok {
			fn(rv)
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkRangeVars(l.Get(i).Message(), fn)
			}
		case fd.Message() != nil && !fd.IsMap():
			walkRangeVars(v.Message(), fn)
		}
		return true
	})
}
