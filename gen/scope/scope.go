// Package scope decides, for every statement of the schema files, whether it
// belongs to the shared (public) migration set or the tenant one, and checks
// the rules that keep the two apart: public never depends on a tenant schema,
// tenant objects are never schema-qualified, no name lives in both scopes.
package scope

import (
	"fmt"
	"maps"
	"slices"
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
	Kind  string // table, view, type, function, procedure, aggregate, ...
	Scope Scope
	Pos   diag.Pos

	// The rest tracks what a DROP takes with it. Objects are never changed
	// in place (a RENAME or a DROP of one overload makes a new one with the
	// same id), so that a Down section can work on a copy of the model.
	id       int
	owner    int      // the table an owned sequence or an index belongs to
	ownerCol string   // the column an owned sequence belongs to
	deps     []int    // what a view needs, dropped with it by CASCADE
	sigs     []string // a routine's input argument types, one entry per overload
}

// Model is the result of the analysis: every statement's scope and every
// object's. Objects is the state after every Up section has run: objects
// dropped are gone, renamed ones are under their new name.
type Model struct {
	Files   []*migfile.File
	Scopes  map[*migfile.Statement]Scope
	Objects map[string]*Object // by namespace-qualified key
	// Bound holds the tenant statements that the tenant migration set runs
	// as another text: procedures that commit (see binding.go).
	Bound map[*migfile.Statement]string

	derived derived // what queries need beyond Objects, built once (funcs.go)
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
//
// The model follows the Up sections in order: CREATE adds a name, DROP
// removes it (with what goes with it), RENAME moves it. A Down section undoes
// its own file's Up, so it is read against a copy of the state after that Up,
// falling back to the state before it for the objects the Up dropped; what it
// does to the copy is then forgotten.
func Analyse(files []*migfile.File, diags *diag.List) *Model {
	a := &analyser{
		m: &Model{Files: files, Scopes: map[*migfile.Statement]Scope{}, Objects: map[string]*Object{},
			Bound: map[*migfile.Statement]string{}},
		diags:    diags,
		gone:     map[string]dropped{},
		unscoped: map[string]bool{},
	}
	for _, f := range files {
		before := maps.Clone(a.m.Objects)
		for _, st := range f.Statements {
			if st.Section == migfile.Up {
				a.statement(f, st)
			}
		}
		after := a.m.Objects
		a.m.Objects, a.before = maps.Clone(after), before
		for _, st := range f.Statements {
			if st.Section != migfile.Up {
				a.statement(f, st)
			}
		}
		a.m.Objects, a.before = after, nil
	}
	return a.m
}

type analyser struct {
	m      *Model
	diags  *diag.List
	before map[string]*Object // in a Down section: the objects before its file's Up
	gone   map[string]dropped // dropped by an Up section, by key
	lastID int
	// unscoped are objects whose creation was already reported as of no
	// scope: statements acting on them (their Down DROP) add no follow-on.
	unscoped map[string]bool
}

// dropped remembers where an object was dropped, for messages.
type dropped struct {
	o  *Object
	at diag.Pos
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
	b := a.body(f, st)
	sum.deps = append(sum.deps, b.refs...)
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

	sc, ok := a.decide(st, sum)
	if !ok {
		return
	}
	a.m.Scopes[st] = sc
	a.define(f, st, sum, sc)
	a.apply(st, sum)

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
	a.checkRunTime(f, st, sum, b, sc)
}

// decide finds a statement's scope: from what it acts on, else from its
// marker. It reports the statement and returns false when it cannot.
func (a *analyser) decide(st *migfile.Statement, sum summary) (Scope, bool) {
	what := sum.verb
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
			return 0, false
		}
		inferred, from = o.Scope, o
	}
	// Re-creating a known or dropped object (in a Down section, say) keeps
	// its scope. Under a marker the marker decides, and a clash is reported
	// as the same name defined in both scopes.
	if inferred == migfile.Unknown && st.Marker == nil {
		for _, d := range sum.defines {
			if o := a.lookup(d); o != nil {
				inferred, from = o.Scope, o
			} else if g, ok := a.gone[d.key()]; ok {
				inferred, from = g.o.Scope, g.o
			}
		}
	}

	switch {
	case sum.sharedOnly:
		if st.Marker != nil && st.Marker.Scope == Tenant {
			a.diags.Add(st.Pos, "move it under -- tenantgen:shared; it is installed once, in the database",
				"%s is shared only, but the marker at line %d says tenant", what, st.Marker.Pos.Line)
			return 0, false
		}
		return Shared, true
	case inferred != migfile.Unknown:
		if st.Marker != nil && st.Marker.Scope != inferred {
			a.diags.Add(st.Pos, fmt.Sprintf("remove the marker at line %d or move the statement out from under it", st.Marker.Pos.Line),
				"%s acts on %s %s, which is %s (defined at %s), but the marker in force says %s",
				what, from.Kind, from.Name, inferred, from.Pos, st.Marker.Scope)
			return 0, false
		}
		return inferred, true
	case st.Marker != nil:
		return st.Marker.Scope, true
	}
	for _, d := range sum.defines {
		a.unscoped[d.key()] = true
	}
	switch {
	case len(sum.targets) > 0 && a.unscoped[sum.targets[0].key()]:
		// Its creation was reported already.
	case len(sum.targets) == 0:
		a.diags.Add(st.Pos, hintMark, "cannot tell the scope of %s: no tenantgen marker is in force", what)
	case a.gone[sum.targets[0].key()].o != nil:
		g := a.gone[sum.targets[0].key()]
		a.diags.Add(st.Pos, "remove the statement, or re-create the object first", "cannot tell the scope of %s: %s %s was dropped at %s",
			what, g.o.Kind, sum.targets[0].display(), g.at)
	default:
		a.diags.Add(st.Pos, hintMark, "cannot tell the scope of %s: %s is not created by these schema files", what, sum.targets[0].display())
	}
	return 0, false
}

// define adds the objects a statement creates to the model.
func (a *analyser) define(f *migfile.File, st *migfile.Statement, sum summary, sc Scope) {
	for i, d := range sum.defines {
		if sc == Tenant && d.schema != "" && sum.setSchema {
			a.diags.Add(st.Pos, "keep it in the tenant schemas, or drop it and create it shared in the other schema",
				"tenant %s %s cannot move to schema %s: tenant objects live in each tenant's own schema", d.what, sum.renamed.from.display(), d.schema)
			continue
		}
		if sc == Tenant && d.schema != "" {
			// Tenant objects are created unqualified, to land in the tenant
			// schema that runs the migration.
			a.diags.Add(a.pos(f, d, st), "drop the schema qualifier: tenant migrations run in each tenant's schema, which search_path selects",
				"tenant %s %s is created with a schema-qualified name", d.what, d.display())
			continue
		}
		k := d.key()
		if o, ok := a.m.Objects[k]; ok {
			if o.Scope != sc {
				a.diags.Add(a.pos(f, d, st), "rename one of them: a name must mean one object for queries to be typed",
					"%s %s is %s here but %s at %s", d.what, d.display(), sc, o.Scope, o.Pos)
				continue
			}
			if d.ns == nsFunc && sum.sig != nil && !slices.Contains(o.sigs, *sum.sig) {
				// Another overload of a known routine, created or renamed to it.
				n := *o
				n.sigs = append(slices.Clone(o.sigs), *sum.sig)
				a.m.Objects[k] = &n
				if sum.renamed != nil && i == 0 {
					a.moveOut(*sum.renamed)
				}
			}
			continue
		}
		o := &Object{Name: d.display(), Kind: d.what, Scope: sc, Pos: a.pos(f, d, st)}
		if sum.renamed != nil && i == 0 {
			if old := a.moveOut(*sum.renamed); old != nil {
				o.id, o.owner, o.ownerCol, o.deps, o.sigs = old.id, old.owner, old.ownerCol, old.deps, old.sigs
				if sum.sig != nil && len(old.sigs) > 1 {
					o.id, o.sigs = a.newID(), []string{*sum.sig}
				}
				if sum.setSchema {
					a.moveOwned(old.id, d.schema)
				}
			}
		}
		if o.id == 0 {
			o.id = a.newID()
			if d.ns == nsFunc && sum.sig != nil {
				o.sigs = []string{*sum.sig}
			}
			if sum.viewDeps {
				o.deps = a.depIDs(sum.deps)
			}
		}
		if own, ok := sum.owned[i]; ok {
			if t := a.m.Objects[own.table.key()]; t != nil {
				o.owner, o.ownerCol = t.id, own.col
			}
		}
		a.m.Objects[k] = o
		if a.before == nil {
			delete(a.gone, k)
		}
	}
}

// moveOwned moves the sequences and indexes of a table to its new schema,
// as SET SCHEMA does.
func (a *analyser) moveOwned(owner int, schema string) {
	var keys []string
	for k, o := range a.m.Objects {
		if o.owner == owner {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		o := a.m.Objects[k]
		name := o.Name[strings.LastIndexByte(o.Name, '.')+1:]
		n := *o
		n.Name = ref{schema: schema, name: name}.display()
		delete(a.m.Objects, k)
		a.m.Objects[key(nsRel, schema, name)] = &n
	}
}

func (a *analyser) newID() int {
	a.lastID++
	return a.lastID
}

func (a *analyser) depIDs(deps []ref) []int {
	var ids []int
	for _, r := range deps {
		if o := a.m.Objects[r.key()]; o != nil {
			ids = append(ids, o.id)
		}
	}
	return ids
}

// moveOut removes the old name of a renamed object and returns it. Renaming
// one overload of several leaves the others under the old name.
func (a *analyser) moveOut(r renamed) *Object {
	k := r.from.key()
	old := a.m.Objects[k]
	if old == nil {
		return nil
	}
	if r.sig != nil && len(old.sigs) > 1 {
		n := *old
		n.sigs = slices.DeleteFunc(slices.Clone(old.sigs), func(s string) bool { return s == *r.sig })
		a.m.Objects[k] = &n
		return old
	}
	delete(a.m.Objects, k)
	return old
}

// apply makes a statement's DROPs take their objects out of the model.
func (a *analyser) apply(st *migfile.Statement, sum summary) {
	for _, d := range sum.drops {
		o := a.m.Objects[d.ref.key()]
		if o == nil {
			continue
		}
		if d.sig != nil && len(o.sigs) > 1 {
			if slices.Contains(o.sigs, *d.sig) {
				n := *o
				n.sigs = slices.DeleteFunc(slices.Clone(o.sigs), func(s string) bool { return s == *d.sig })
				a.m.Objects[d.ref.key()] = &n
			}
			continue
		}
		a.remove(st, map[int]bool{o.id: true}, sum.cascade)
	}
	for _, c := range sum.dropCols {
		if t := a.lookup(c.table); t != nil {
			for _, o := range a.m.Objects {
				if o.owner == t.id && o.ownerCol == c.col {
					a.remove(st, map[int]bool{o.id: true}, sum.cascade)
				}
			}
		}
	}
	for _, schema := range sum.dropSchemas {
		ids := map[int]bool{}
		for _, o := range a.m.Objects {
			if strings.HasPrefix(o.Name, schema+".") {
				ids[o.id] = true
			}
		}
		a.remove(st, ids, true)
	}
}

// remove drops the objects ids name, with what they own (sequences and
// indexes of a table) and, under CASCADE, the views that need them.
func (a *analyser) remove(st *migfile.Statement, ids map[int]bool, cascade bool) {
	for grew := true; grew; {
		grew = false
		for _, o := range a.m.Objects {
			if ids[o.id] {
				continue
			}
			if ids[o.owner] || cascade && slices.ContainsFunc(o.deps, func(id int) bool { return ids[id] }) {
				ids[o.id], grew = true, true
			}
		}
	}
	for k, o := range a.m.Objects {
		if ids[o.id] {
			delete(a.m.Objects, k)
			if a.before == nil {
				a.gone[k] = dropped{o, st.Pos}
			}
		}
	}
}

// lookup resolves a reference to a known object; in a Down section also to
// one its file's Up dropped.
func (a *analyser) lookup(r ref) *Object {
	if o := a.m.Objects[r.key()]; o != nil {
		return o
	}
	return a.before[r.key()]
}

// summary says what a statement does with names.
type summary struct {
	verb       string // for messages: "CREATE TABLE tasks"
	defines    []ref  // objects it creates
	targets    []ref  // objects it acts on, which give it their scope
	deps       []ref  // everything else it names
	sharedOnly bool

	// What it does to the model besides creating names.
	owned       map[int]ownedBy // defines owned by a table, by index into defines
	sig         *string         // a routine's argument types, when it creates or renames one
	renamed     *renamed        // defines[0] is the new name of this object
	viewDeps    bool            // defines[0] needs deps (a view), for DROP ... CASCADE
	setSchema   bool            // renamed is a move to another schema
	drops       []drop
	dropCols    []column
	dropSchemas []string
	cascade     bool
}

// ownedBy is the table (and column) that a sequence or an index belongs to.
type ownedBy struct {
	table ref
	col   string
}

type renamed struct {
	from ref
	sig  *string
}

// drop is an object a DROP names; sig is nil when the DROP gives no
// argument types (all overloads go).
type drop struct {
	ref ref
	sig *string
}

type column struct {
	table ref
	col   string
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
		s.owned = map[int]ownedBy{}
		for _, e := range st.TableElts {
			if r, ok := ownedSequence(st.Relation, e.GetColumnDef()); ok {
				s.owned[len(s.defines)] = ownedBy{s.defines[0], e.GetColumnDef().Colname}
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
		s.viewDeps = true
		skip = st.Into.Rel
	case n.GetViewStmt() != nil:
		st := n.GetViewStmt()
		s.verb = "CREATE VIEW " + st.View.Relname
		s.defines = append(s.defines, rangeVarRef(st.View, "view"))
		s.viewDeps = true
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
			s.owned = map[int]ownedBy{0: {table: t}}
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
		s.sig = paramSig(st.Parameters)
	case n.GetDefineStmt() != nil:
		s.define(n.GetDefineStmt())
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
	case n.GetDoStmt() != nil:
		s.verb = "DO block"
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
		s.owned = map[int]ownedBy{}
		for _, c := range st.Cmds {
			cmd := c.GetAlterTableCmd()
			switch {
			case cmd == nil:
			case cmd.Subtype == pg_query.AlterTableType_AT_AddColumn:
				if r, ok := ownedSequence(st.Relation, cmd.GetDef().GetColumnDef()); ok {
					s.owned[len(s.defines)] = ownedBy{s.targets[0], cmd.GetDef().GetColumnDef().Colname}
					s.defines = append(s.defines, r)
				}
			case cmd.Subtype == pg_query.AlterTableType_AT_DropColumn:
				s.dropCols = append(s.dropCols, column{s.targets[0], cmd.Name})
				s.cascade = s.cascade || cmd.Behavior == pg_query.DropBehavior_DROP_CASCADE
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
			// Renaming the object itself moves it to the new name, in the
			// same schema.
			if renamesObject(st.RenameType) {
				nr := t
				nr.name, nr.loc = st.Newname, -1
				if st.Relation == nil {
					s.sig = objectSig(st.Object)
				}
				s.defines = append(s.defines, nr)
				s.renamed = &renamed{from: t, sig: s.sig}
			}
		}
	case n.GetAlterObjectSchemaStmt() != nil:
		// SET SCHEMA moves the object as RENAME does.
		st := n.GetAlterObjectSchemaStmt()
		s.verb = "ALTER " + objectWord(st.ObjectType) + " ... SET SCHEMA " + st.Newschema
		var t ref
		var ok bool
		if st.Relation != nil {
			t, ok = rangeVarRef(st.Relation, strings.ToLower(objectWord(st.ObjectType))), true
			skip = st.Relation
		} else {
			t, ok = objectRef(st.ObjectType, st.Object)
			s.sig = objectSig(st.Object)
		}
		if ok {
			s.targets = append(s.targets, t)
			nr := t
			nr.schema, nr.loc = st.Newschema, -1
			s.defines = append(s.defines, nr)
			s.renamed = &renamed{from: t, sig: s.sig}
			s.setSchema = true
		}
	case n.GetDropStmt() != nil:
		st := n.GetDropStmt()
		s.verb = "DROP " + objectWord(st.RemoveType)
		s.cascade = st.Behavior == pg_query.DropBehavior_DROP_CASCADE
		if st.RemoveType == pg_query.ObjectType_OBJECT_SCHEMA || st.RemoveType == pg_query.ObjectType_OBJECT_EXTENSION {
			s.sharedOnly = true
			if st.RemoveType == pg_query.ObjectType_OBJECT_SCHEMA {
				for _, o := range st.Objects {
					if str := o.GetString_(); str != nil {
						s.dropSchemas = append(s.dropSchemas, str.Sval)
					}
				}
			}
			return s
		}
		for _, o := range st.Objects {
			if r, ok := objectRef(st.RemoveType, o); ok {
				s.targets = append(s.targets, r)
				if len(s.targets) == 1 {
					s.verb += " " + r.display()
				}
				if dropsObject(st.RemoveType) {
					s.drops = append(s.drops, drop{ref: r, sig: objectSig(o)})
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
	s.deps = append(s.deps, collectRefs(n, skipMsg)...)
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
	seqName := rel.Relname + "_" + cd.Colname + "_seq"
	for _, c := range cd.Constraints {
		if c.GetConstraint().GetContype() == pg_query.ConstrType_CONSTR_IDENTITY {
			owned = true
			seqName = identitySequenceName(c.GetConstraint(), seqName)
		}
	}
	if !owned {
		return ref{}, false
	}
	r := rangeVarRef(rel, "sequence")
	r.name = seqName
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

// renamesObject reports whether RENAME of this kind renames the object
// itself, rather than a part of a table (column, constraint, trigger, ...).
func renamesObject(t pg_query.ObjectType) bool {
	switch t {
	case pg_query.ObjectType_OBJECT_COLUMN, pg_query.ObjectType_OBJECT_TABCONSTRAINT, pg_query.ObjectType_OBJECT_DOMCONSTRAINT,
		pg_query.ObjectType_OBJECT_TRIGGER, pg_query.ObjectType_OBJECT_POLICY, pg_query.ObjectType_OBJECT_RULE,
		pg_query.ObjectType_OBJECT_ATTRIBUTE, pg_query.ObjectType_OBJECT_SCHEMA:
		return false
	}
	return true
}

// dropsObject reports whether DROP of this kind removes a named object of
// the model, rather than a part of a table.
func dropsObject(t pg_query.ObjectType) bool {
	switch t {
	case pg_query.ObjectType_OBJECT_TRIGGER, pg_query.ObjectType_OBJECT_POLICY, pg_query.ObjectType_OBJECT_RULE,
		pg_query.ObjectType_OBJECT_TABCONSTRAINT, pg_query.ObjectType_OBJECT_COLUMN:
		return false
	}
	return renamesObject(t)
}

// define reads the CREATE statements PostgreSQL's grammar calls DefineStmt:
// aggregates, which share the namespace of functions, and base types.
func (s *summary) define(st *pg_query.DefineStmt) {
	switch st.Kind {
	case pg_query.ObjectType_OBJECT_AGGREGATE:
		r, _ := nameRef(nsFunc, st.Defnames, -1, "aggregate")
		s.verb = "CREATE AGGREGATE " + r.display()
		s.defines = append(s.defines, r)
		if len(st.Args) > 0 {
			if l := st.Args[0].GetList(); l != nil {
				s.sig = paramSig(l.Items)
			}
		}
		// The support functions are named like types in the grammar.
		for _, d := range st.Definition {
			e := d.GetDefElem()
			if e == nil || !strings.HasSuffix(e.Defname, "func") {
				continue
			}
			if tn := e.GetArg().GetTypeName(); tn != nil {
				if r, ok := nameRef(nsFunc, tn.Names, int(tn.Location), "support function"); ok {
					s.deps = append(s.deps, r)
				}
			}
		}
	case pg_query.ObjectType_OBJECT_TYPE:
		r, _ := nameRef(nsRel, st.Defnames, -1, "type")
		s.verb = "CREATE TYPE " + r.display()
		s.defines = append(s.defines, r)
	default:
		s.verb = "CREATE " + objectWord(st.Kind)
	}
}

// paramSig is the identity of a routine: the types of its input arguments.
func paramSig(params []*pg_query.Node) *string {
	var types []string
	for _, p := range params {
		fp := p.GetFunctionParameter()
		if fp == nil {
			continue
		}
		if fp.Mode == pg_query.FunctionParameterMode_FUNC_PARAM_OUT || fp.Mode == pg_query.FunctionParameterMode_FUNC_PARAM_TABLE {
			continue
		}
		types = append(types, typeSig(fp.ArgType))
	}
	sig := strings.Join(types, ",")
	return &sig
}

// objectSig is the identity a DROP, RENAME or COMMENT gives a routine, nil
// when it gives none (DROP FUNCTION f) or names no routine.
func objectSig(n *pg_query.Node) *string {
	ow := n.GetObjectWithArgs()
	if ow == nil || ow.ArgsUnspecified {
		return nil
	}
	var types []string
	for _, a := range ow.Objargs {
		types = append(types, typeSig(a.GetTypeName()))
	}
	sig := strings.Join(types, ",")
	return &sig
}

// typeSig spells a type for comparing signatures: the parser has already
// folded the SQL spellings (integer, int) into one (pg_catalog.int4).
func typeSig(tn *pg_query.TypeName) string {
	if tn == nil {
		return "?"
	}
	var parts []string
	for _, n := range tn.Names {
		if s := n.GetString_(); s != nil && s.Sval != "pg_catalog" && s.Sval != "public" {
			parts = append(parts, s.Sval)
		}
	}
	out := strings.Join(parts, ".")
	if tn.PctType {
		out += "%type"
	}
	return out + strings.Repeat("[]", len(tn.ArrayBounds))
}
