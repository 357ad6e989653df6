// Package scope decides, for every statement of the schema files, whether it
// belongs to the shared (public) migration set or the tenant one, and checks
// the rules that keep the two apart: public never depends on a tenant schema,
// tenant objects are never schema-qualified, no name lives in both scopes.
package scope

import (
	"fmt"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
)

// Scope re-exports migfile's scope for callers of this package.
type Scope = migfile.Scope

const (
	Shared = migfile.Shared
	Tenant = migfile.Tenant
)

// Object is a named database object the schema files create.
type Object struct {
	Name  string // as written, qualified when outside public
	Kind  string // table, view, type, function, ...
	Scope Scope
	Pos   diag.Pos
}

// Model is the result of the analysis: every statement's scope and every
// object's.
type Model struct {
	Files   []*migfile.File
	Scopes  map[*migfile.Statement]Scope
	Objects map[string]*Object // by namespace-qualified key
}

// ScopeOf reports the scope of a relation or type name as queries spell it.
func (m *Model) ScopeOf(schema, name string) (Scope, bool) {
	o, ok := m.Objects[key(nsRel, schema, name)]
	if !ok {
		return migfile.Unknown, false
	}
	return o.Scope, true
}

// FuncScopeOf reports the scope of a function name.
func (m *Model) FuncScopeOf(schema, name string) (Scope, bool) {
	o, ok := m.Objects[key(nsFunc, schema, name)]
	if !ok {
		return migfile.Unknown, false
	}
	return o.Scope, true
}

// TenantObjects lists the tenant objects, sorted by key.
func (m *Model) TenantObjects() []*Object {
	var out []*Object
	for _, o := range m.Objects {
		if o.Scope == Tenant {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Analyse decides the scope of every statement of files, which must be in
// version order. Problems are added to diags.
func Analyse(files []*migfile.File, diags *diag.List) *Model {
	a := &analyser{m: &Model{Files: files, Scopes: map[*migfile.Statement]Scope{}, Objects: map[string]*Object{}}, diags: diags, unscoped: map[string]bool{}}
	for _, f := range files {
		for _, st := range f.Statements {
			a.statement(f, st)
		}
	}
	return a.m
}

type analyser struct {
	m     *Model
	diags *diag.List
	// unscoped are objects whose creation was already reported as of no
	// scope: statements acting on them (their Down DROP) add no follow-on.
	unscoped map[string]bool
}

const hintMark = "put -- tenantgen:shared or -- tenantgen:tenant on the line above it"

func (a *analyser) pos(f *migfile.File, r ref, st *migfile.Statement) diag.Pos {
	if r.loc >= 0 {
		return f.Source.Pos(r.loc)
	}
	return st.Pos
}

func (a *analyser) statement(f *migfile.File, st *migfile.Statement) {
	sum := summarise(st.Node)
	what := sum.verb

	// public.x always means a shared object: a tenant one named so is a
	// mistake that would otherwise only show when the migration runs.
	for _, r := range append(append([]ref(nil), sum.targets...), sum.deps...) {
		if o := a.lookup(r); o != nil && o.Scope == Tenant && r.schema == "public" {
			a.diags.Add(a.pos(f, r, st), "drop the public. qualifier: tenant objects live in each tenant's schema",
				"%s names tenant %s %s as public.%s", what, o.Kind, o.Name, r.name)
			return
		}
	}

	// Scope from the objects the statement acts on.
	var inferred Scope
	var from *Object
	for _, t := range sum.targets {
		o := a.lookup(t)
		if o == nil {
			continue
		}
		if inferred != migfile.Unknown && o.Scope != inferred {
			a.diags.Add(st.Pos, "split it into one statement per scope",
				"%s acts on %s (%s) and %s (%s) at once", what, from.Name, from.Scope, o.Name, o.Scope)
			return
		}
		inferred, from = o.Scope, o
	}
	// Re-creating a known object (in a Down section, say) keeps its scope.
	// Under a marker the marker decides, and a clash is reported below as
	// the same name defined in both scopes.
	if inferred == migfile.Unknown && st.Marker == nil {
		for _, d := range sum.defines {
			if o := a.lookup(d); o != nil {
				inferred, from = o.Scope, o
			}
		}
	}

	var sc Scope
	switch {
	case sum.sharedOnly:
		if st.Marker != nil && st.Marker.Scope == Tenant {
			a.diags.Add(st.Pos, "move it under -- tenantgen:shared; it is installed once, in the database",
				"%s is shared only, but the marker at line %d says tenant", what, st.Marker.Pos.Line)
			return
		}
		sc = Shared
	case inferred != migfile.Unknown:
		if st.Marker != nil && st.Marker.Scope != inferred {
			a.diags.Add(st.Pos, fmt.Sprintf("remove the marker at line %d or move the statement out from under it", st.Marker.Pos.Line),
				"%s acts on %s %s, which is %s (defined at %s), but the marker in force says %s",
				what, from.Kind, from.Name, inferred, from.Pos, st.Marker.Scope)
			return
		}
		sc = inferred
	case st.Marker != nil:
		sc = st.Marker.Scope
	default:
		for _, d := range sum.defines {
			a.unscoped[d.key()] = true
		}
		switch {
		case len(sum.targets) > 0 && a.unscoped[sum.targets[0].key()]:
		case len(sum.targets) > 0:
			a.diags.Add(st.Pos, hintMark, "cannot tell the scope of %s: %s is not created by these schema files", what, sum.targets[0].display())
		default:
			a.diags.Add(st.Pos, hintMark, "cannot tell the scope of %s: no tenantgen marker is in force", what)
		}
		return
	}
	a.m.Scopes[st] = sc

	// Tenant objects are created unqualified, to land in the tenant schema
	// that runs the migration.
	for _, d := range sum.defines {
		if sc == Tenant && d.schema != "" {
			a.diags.Add(a.pos(f, d, st), "drop the schema qualifier: tenant migrations run in each tenant's schema, which search_path selects",
				"tenant %s %s is created with a schema-qualified name", d.what, d.display())
			continue
		}
		k := d.key()
		if o, ok := a.m.Objects[k]; ok {
			if o.Scope != sc {
				a.diags.Add(a.pos(f, d, st), "rename one of them: a name must mean one object for queries to be typed",
					"%s %s is %s here but %s at %s", d.what, d.display(), sc, o.Scope, o.Pos)
			}
			continue
		}
		a.m.Objects[k] = &Object{Name: d.display(), Kind: d.what, Scope: sc, Pos: a.pos(f, d, st)}
	}

	// Public can never point into a tenant schema.
	if sc == Shared {
		for _, r := range sum.deps {
			o := a.lookup(r)
			if o == nil || o.Scope != Tenant || r.schema != "" {
				continue
			}
			a.diags.Add(a.pos(f, r, st), fmt.Sprintf("make the dependent object tenant-scoped too, or move %s to shared", o.Name),
				"shared %s depends on tenant %s %s (%s): public cannot point into a tenant schema",
				what, o.Kind, o.Name, r.what)
		}
	}
}

// lookup resolves a reference to a known object.
func (a *analyser) lookup(r ref) *Object {
	return a.m.Objects[r.key()]
}

// summary says what a statement does with names.
type summary struct {
	verb       string // for messages: "CREATE TABLE tasks"
	defines    []ref  // objects it creates
	targets    []ref  // objects it acts on, which give it their scope
	deps       []ref  // everything else it names
	sharedOnly bool
}

func summarise(n *pg_query.Node) summary {
	var s summary
	var skip any
	switch {
	case n.GetCreateStmt() != nil:
		st := n.GetCreateStmt()
		s.verb = "CREATE TABLE " + st.Relation.Relname
		s.defines = append(s.defines, rangeVarRef(st.Relation, "table"))
		skip = st.Relation
		for _, e := range st.TableElts {
			if r, ok := ownedSequence(st.Relation, e.GetColumnDef()); ok {
				s.defines = append(s.defines, r)
			}
		}
	case n.GetCreateTableAsStmt() != nil:
		st := n.GetCreateTableAsStmt()
		kind := "table"
		if st.Objtype == pg_query.ObjectType_OBJECT_MATVIEW {
			kind = "materialized view"
		}
		s.verb = "CREATE " + strings.ToUpper(kind) + " " + st.Into.Rel.Relname
		s.defines = append(s.defines, rangeVarRef(st.Into.Rel, kind))
		skip = st.Into.Rel
	case n.GetViewStmt() != nil:
		st := n.GetViewStmt()
		s.verb = "CREATE VIEW " + st.View.Relname
		s.defines = append(s.defines, rangeVarRef(st.View, "view"))
		skip = st.View
	case n.GetCreateSeqStmt() != nil:
		st := n.GetCreateSeqStmt()
		s.verb = "CREATE SEQUENCE " + st.Sequence.Relname
		s.defines = append(s.defines, rangeVarRef(st.Sequence, "sequence"))
		skip = st.Sequence
	case n.GetIndexStmt() != nil:
		st := n.GetIndexStmt()
		s.verb = "CREATE INDEX ON " + st.Relation.Relname
		t := rangeVarRef(st.Relation, "table")
		s.targets = append(s.targets, t)
		skip = st.Relation
		if st.Idxname != "" {
			s.defines = append(s.defines, ref{ns: nsRel, schema: st.Relation.Schemaname, name: st.Idxname, loc: -1, what: "index"})
		}
	case n.GetCreateEnumStmt() != nil:
		st := n.GetCreateEnumStmt()
		r, _ := nameRef(nsRel, st.TypeName, -1, "type")
		s.verb = "CREATE TYPE " + r.display()
		s.defines = append(s.defines, r)
	case n.GetCompositeTypeStmt() != nil:
		st := n.GetCompositeTypeStmt()
		s.verb = "CREATE TYPE " + st.Typevar.Relname
		s.defines = append(s.defines, rangeVarRef(st.Typevar, "type"))
		skip = st.Typevar
	case n.GetCreateDomainStmt() != nil:
		st := n.GetCreateDomainStmt()
		r, _ := nameRef(nsRel, st.Domainname, -1, "domain")
		s.verb = "CREATE DOMAIN " + r.display()
		s.defines = append(s.defines, r)
	case n.GetCreateRangeStmt() != nil:
		st := n.GetCreateRangeStmt()
		r, _ := nameRef(nsRel, st.TypeName, -1, "type")
		s.verb = "CREATE TYPE " + r.display()
		s.defines = append(s.defines, r)
	case n.GetCreateFunctionStmt() != nil:
		st := n.GetCreateFunctionStmt()
		kind := "function"
		if st.IsProcedure {
			kind = "procedure"
		}
		r, _ := nameRef(nsFunc, st.Funcname, -1, kind)
		s.verb = "CREATE " + strings.ToUpper(kind) + " " + r.display()
		s.defines = append(s.defines, r)
	case n.GetCreateTrigStmt() != nil:
		st := n.GetCreateTrigStmt()
		s.verb = "CREATE TRIGGER " + st.Trigname
		s.targets = append(s.targets, rangeVarRef(st.Relation, "table"))
		skip = st.Relation
	case n.GetCreatePolicyStmt() != nil:
		st := n.GetCreatePolicyStmt()
		s.verb = "CREATE POLICY " + st.PolicyName
		s.targets = append(s.targets, rangeVarRef(st.Table, "table"))
		skip = st.Table
	case n.GetRuleStmt() != nil:
		st := n.GetRuleStmt()
		s.verb = "CREATE RULE " + st.Rulename
		s.targets = append(s.targets, rangeVarRef(st.Relation, "table"))
		skip = st.Relation
	case n.GetCreateExtensionStmt() != nil:
		s.verb = "CREATE EXTENSION " + n.GetCreateExtensionStmt().Extname
		s.sharedOnly = true
		return s
	case n.GetCreateSchemaStmt() != nil:
		s.verb = "CREATE SCHEMA " + n.GetCreateSchemaStmt().Schemaname
		s.sharedOnly = true
		return s
	case n.GetAlterTableStmt() != nil:
		st := n.GetAlterTableStmt()
		s.verb = "ALTER " + objectWord(st.Objtype) + " " + st.Relation.Relname
		s.targets = append(s.targets, rangeVarRef(st.Relation, strings.ToLower(objectWord(st.Objtype))))
		skip = st.Relation
		for _, c := range st.Cmds {
			if cmd := c.GetAlterTableCmd(); cmd != nil && cmd.Subtype == pg_query.AlterTableType_AT_AddColumn {
				if r, ok := ownedSequence(st.Relation, cmd.GetDef().GetColumnDef()); ok {
					s.defines = append(s.defines, r)
				}
			}
		}
	case n.GetAlterSeqStmt() != nil:
		st := n.GetAlterSeqStmt()
		s.verb = "ALTER SEQUENCE " + st.Sequence.Relname
		s.targets = append(s.targets, rangeVarRef(st.Sequence, "sequence"))
		skip = st.Sequence
	case n.GetAlterEnumStmt() != nil:
		st := n.GetAlterEnumStmt()
		r, _ := nameRef(nsRel, st.TypeName, -1, "type")
		s.verb = "ALTER TYPE " + r.display()
		s.targets = append(s.targets, r)
	case n.GetAlterDomainStmt() != nil:
		st := n.GetAlterDomainStmt()
		r, _ := nameRef(nsRel, st.TypeName, -1, "domain")
		s.verb = "ALTER DOMAIN " + r.display()
		s.targets = append(s.targets, r)
	case n.GetAlterFunctionStmt() != nil:
		st := n.GetAlterFunctionStmt()
		r, _ := nameRef(nsFunc, st.Func.Objname, -1, "function")
		s.verb = "ALTER FUNCTION " + r.display()
		s.targets = append(s.targets, r)
	case n.GetRenameStmt() != nil:
		st := n.GetRenameStmt()
		s.verb = "ALTER ... RENAME"
		var t ref
		var ok bool
		if st.Relation != nil {
			t, ok = rangeVarRef(st.Relation, strings.ToLower(objectWord(st.RenameType))), true
			skip = st.Relation
		} else {
			t, ok = objectRef(st.RenameType, st.Object)
		}
		if ok {
			s.targets = append(s.targets, t)
			// Renaming the object itself defines the new name.
			if st.RenameType != pg_query.ObjectType_OBJECT_COLUMN && st.RenameType != pg_query.ObjectType_OBJECT_TABCONSTRAINT &&
				st.RenameType != pg_query.ObjectType_OBJECT_TRIGGER && st.RenameType != pg_query.ObjectType_OBJECT_POLICY &&
				st.RenameType != pg_query.ObjectType_OBJECT_RULE && st.RenameType != pg_query.ObjectType_OBJECT_ATTRIBUTE {
				nr := t
				nr.schema, nr.name, nr.loc = "", st.Newname, -1
				s.defines = append(s.defines, nr)
			}
		}
	case n.GetDropStmt() != nil:
		st := n.GetDropStmt()
		s.verb = "DROP " + objectWord(st.RemoveType)
		if st.RemoveType == pg_query.ObjectType_OBJECT_SCHEMA || st.RemoveType == pg_query.ObjectType_OBJECT_EXTENSION {
			s.sharedOnly = true
			return s
		}
		for _, o := range st.Objects {
			if r, ok := objectRef(st.RemoveType, o); ok {
				s.targets = append(s.targets, r)
				if len(s.targets) == 1 {
					s.verb += " " + r.display()
				}
			}
		}
		return s
	case n.GetCommentStmt() != nil:
		st := n.GetCommentStmt()
		s.verb = "COMMENT ON " + objectWord(st.Objtype)
		if st.Objtype == pg_query.ObjectType_OBJECT_SCHEMA || st.Objtype == pg_query.ObjectType_OBJECT_EXTENSION {
			s.sharedOnly = true
			return s
		}
		if r, ok := objectRef(st.Objtype, st.Object); ok {
			s.targets = append(s.targets, r)
			s.verb += " " + r.display()
		}
		return s
	case n.GetGrantStmt() != nil:
		st := n.GetGrantStmt()
		s.verb = "GRANT"
		if !st.IsGrant {
			s.verb = "REVOKE"
		}
		if st.Targtype == pg_query.GrantTargetType_ACL_TARGET_ALL_IN_SCHEMA || st.Objtype == pg_query.ObjectType_OBJECT_SCHEMA {
			s.sharedOnly = true
			return s
		}
		for _, o := range st.Objects {
			if rv := o.GetRangeVar(); rv != nil {
				s.targets = append(s.targets, rangeVarRef(rv, "table"))
			} else if r, ok := objectRef(st.Objtype, o); ok {
				s.targets = append(s.targets, r)
			}
		}
		return s
	case n.GetInsertStmt() != nil:
		st := n.GetInsertStmt()
		s.verb = "INSERT INTO " + st.Relation.Relname
		s.targets = append(s.targets, rangeVarRef(st.Relation, "table"))
		skip = st.Relation
	case n.GetUpdateStmt() != nil:
		st := n.GetUpdateStmt()
		s.verb = "UPDATE " + st.Relation.Relname
		s.targets = append(s.targets, rangeVarRef(st.Relation, "table"))
		skip = st.Relation
	case n.GetDeleteStmt() != nil:
		st := n.GetDeleteStmt()
		s.verb = "DELETE FROM " + st.Relation.Relname
		s.targets = append(s.targets, rangeVarRef(st.Relation, "table"))
		skip = st.Relation
	default:
		s.verb = "this statement"
	}
	var skipMsg protoreflect.ProtoMessage
	if rv, ok := skip.(*pg_query.RangeVar); ok && rv != nil {
		skipMsg = rv
	}
	s.deps = collectRefs(n, skipMsg)
	return s
}

// ownedSequence returns the sequence PostgreSQL creates for a serial or
// identity column: <table>_<column>_seq, in the table's schema.
func ownedSequence(rel *pg_query.RangeVar, cd *pg_query.ColumnDef) (ref, bool) {
	if rel == nil || cd == nil {
		return ref{}, false
	}
	owned := false
	if names := cd.GetTypeName().GetNames(); len(names) > 0 {
		if t := names[len(names)-1].GetString_(); t != nil {
			switch t.Sval {
			case "serial", "bigserial", "smallserial", "serial4", "serial8", "serial2":
				owned = true
			}
		}
	}
	for _, c := range cd.Constraints {
		if c.GetConstraint().GetContype() == pg_query.ConstrType_CONSTR_IDENTITY {
			owned = true
		}
	}
	if !owned {
		return ref{}, false
	}
	r := rangeVarRef(rel, "sequence")
	r.name = rel.Relname + "_" + cd.Colname + "_seq"
	return r, true
}

// objectWord names an object type as SQL spells it.
func objectWord(t pg_query.ObjectType) string {
	w := strings.TrimPrefix(t.String(), "OBJECT_")
	switch w {
	case "MATVIEW":
		return "MATERIALIZED VIEW"
	case "TABCONSTRAINT":
		return "CONSTRAINT"
	case "FOREIGN_TABLE":
		return "FOREIGN TABLE"
	}
	return strings.ReplaceAll(w, "_", " ")
}

// objectRef reads the object a DROP, COMMENT, GRANT or RENAME names.
func objectRef(t pg_query.ObjectType, n *pg_query.Node) (ref, bool) {
	what := strings.ToLower(objectWord(t))
	switch t {
	case pg_query.ObjectType_OBJECT_FUNCTION, pg_query.ObjectType_OBJECT_PROCEDURE,
		pg_query.ObjectType_OBJECT_ROUTINE, pg_query.ObjectType_OBJECT_AGGREGATE:
		if ow := n.GetObjectWithArgs(); ow != nil {
			return nameRef(nsFunc, ow.Objname, -1, what)
		}
	case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
		if tn := n.GetTypeName(); tn != nil {
			return nameRef(nsRel, tn.Names, int(tn.Location), what)
		}
	case pg_query.ObjectType_OBJECT_COLUMN, pg_query.ObjectType_OBJECT_TRIGGER, pg_query.ObjectType_OBJECT_POLICY,
		pg_query.ObjectType_OBJECT_RULE, pg_query.ObjectType_OBJECT_TABCONSTRAINT:
		// [schema.]table.name: the table gives the scope.
		if l := n.GetList(); l != nil && len(l.Items) >= 2 {
			return nameRef(nsRel, l.Items[:len(l.Items)-1], -1, "table")
		}
	}
	if l := n.GetList(); l != nil {
		return nameRef(nsRel, l.Items, -1, what)
	}
	if s := n.GetString_(); s != nil {
		return ref{ns: nsRel, name: s.Sval, loc: -1, what: what}, true
	}
	if tn := n.GetTypeName(); tn != nil {
		return nameRef(nsRel, tn.Names, int(tn.Location), what)
	}
	return ref{}, false
}
