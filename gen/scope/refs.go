package scope

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// nsRel is the namespace of relations and types, which PostgreSQL keeps
// together (every table is also a type); nsFunc holds functions and
// procedures, by name: overloads share a scope.
const (
	nsRel  = "rel"
	nsFunc = "func"
)

// ref is a name a statement uses.
type ref struct {
	ns, schema, name string
	loc              int // byte offset in the file, -1 when unknown
	what             string
}

func (r ref) key() string { return key(r.ns, r.schema, r.name) }

func (r ref) display() string {
	if r.schema != "" {
		return r.schema + "." + r.name
	}
	return r.name
}

// key names an object independent of how it was spelt: "public." is implied.
func key(ns, schema, name string) string {
	if schema == "" || schema == "public" {
		return ns + ":" + name
	}
	return ns + ":" + schema + "." + name
}

func rangeVarRef(rv *pg_query.RangeVar, what string) ref {
	return ref{ns: nsRel, schema: rv.Schemaname, name: rv.Relname, loc: int(rv.Location), what: what}
}

// nameRef reads a possibly qualified name given as a list of String nodes.
func nameRef(ns string, names []*pg_query.Node, loc int, what string) (ref, bool) {
	var parts []string
	for _, n := range names {
		s := n.GetString_()
		if s == nil {
			return ref{}, false
		}
		parts = append(parts, s.Sval)
	}
	switch len(parts) {
	case 1:
		return ref{ns: ns, name: parts[0], loc: loc, what: what}, true
	case 2:
		if parts[0] == "pg_catalog" || parts[0] == "information_schema" {
			return ref{}, false
		}
		return ref{ns: ns, schema: parts[0], name: parts[1], loc: loc, what: what}, true
	}
	return ref{}, false
}

// collectRefs walks any parse tree and returns every relation, type and
// function it names, except the node skip (the object a statement defines).
// Walking by reflection keeps this complete for every statement kind
// PostgreSQL has, present or future.
func collectRefs(n protoreflect.ProtoMessage, skip protoreflect.ProtoMessage) []ref {
	var out []ref
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if !m.IsValid() {
			return
		}
		if skip != nil && m.Interface() == skip {
			return
		}
		switch v := m.Interface().(type) {
		case *pg_query.RangeVar:
			out = append(out, rangeVarRef(v, "relation"))
		case *pg_query.TypeName:
			if r, ok := nameRef(nsRel, v.Names, int(v.Location), "type"); ok {
				out = append(out, r)
			}
		case *pg_query.CreateTrigStmt:
			if r, ok := nameRef(nsFunc, v.Funcname, -1, "trigger function"); ok {
				out = append(out, r)
			}
		case *pg_query.Constraint:
			if v.Pktable != nil {
				r := rangeVarRef(v.Pktable, "foreign key")
				out = append(out, r)
			}
		case *pg_query.TypeCast:
			// 'seq'::regclass names a relation inside a string.
			if r, ok := nameRef(nsRel, v.GetTypeName().GetNames(), -1, ""); ok && r.name == "regclass" {
				if c := v.GetArg().GetAConst(); c != nil && c.GetSval() != nil {
					out = append(out, regclassRef(c.GetSval().Sval, int(c.Location)))
					return
				}
			}
		case *pg_query.FuncCall:
			if r, ok := nameRef(nsFunc, v.Funcname, int(v.Location), "function"); ok {
				out = append(out, r)
				if (r.name == "nextval" || r.name == "currval" || r.name == "setval") && len(v.Args) > 0 {
					if c := v.Args[0].GetAConst(); c != nil && c.GetSval() != nil {
						out = append(out, regclassRef(c.GetSval().Sval, int(c.Location)))
					}
				}
			}
		}
		m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				l := val.List()
				for i := 0; i < l.Len(); i++ {
					walk(l.Get(i).Message())
				}
			case fd.Message() != nil && !fd.IsMap():
				walk(val.Message())
			}
			return true
		})
	}
	walk(n.ProtoReflect())
	// Foreign keys were seen twice (as Constraint and its RangeVar); keep the
	// more telling one.
	seen := map[int]int{}
	var dedup []ref
	for _, r := range out {
		if i, ok := seen[r.loc]; ok && r.loc >= 0 && dedup[i].name == r.name {
			if r.what == "foreign key" {
				dedup[i].what = r.what
			}
			continue
		}
		seen[r.loc] = len(dedup)
		dedup = append(dedup, r)
	}
	return dedup
}

// regclassRef reads a relation name given as text, as in nextval('seq'):
// PostgreSQL folds its unquoted parts to lower case, as in SQL.
func regclassRef(s string, loc int) ref {
	r := ref{ns: nsRel, name: regclassIdent(s), loc: loc, what: "sequence"}
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		r.schema, r.name = regclassIdent(s[:i]), regclassIdent(s[i+1:])
	}
	return r
}

func regclassIdent(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToLower(s)
}
