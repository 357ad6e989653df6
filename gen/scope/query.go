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

// Query analyses a query's SQL (as sqlc emits it) against the schema model.
func (m *Model) Query(sql string) (*Query, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, err
	}
	q := &Query{Scope: Shared}
	type insert struct {
		at   int
		text string
	}
	var inserts []insert
	seen := map[string]bool{}
	for _, raw := range tree.Stmts {
		ctes := map[string]bool{}
		var walk func(m protoreflect.Message)
		walk = func(msg protoreflect.Message) {
			if c, ok := msg.Interface().(*pg_query.CommonTableExpr); ok {
				ctes[c.Ctename] = true
			}
			msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
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
		walk(raw.Stmt.ProtoReflect())
		for _, r := range collectRefs(raw.Stmt, nil) {
			if r.schema == "public" {
				if o := m.Objects[r.key()]; o != nil && o.Scope == migfile.Tenant {
					return nil, fmt.Errorf("tenant %s %s is named public.%s: drop the qualifier, tenantgen binds it to the tenant's schema", o.Kind, o.Name, r.name)
				}
			}
			if r.schema != "" || (r.ns == nsRel && ctes[r.name]) {
				continue
			}
			o := m.Objects[r.key()]
			if o == nil {
				continue
			}
			at, err := insertionPoint(sql, r)
			if err != nil {
				return nil, err
			}
			if o.Scope != migfile.Tenant {
				// Shared objects get public. so that no search_path, however
				// set, can make a shared name mean something else.
				inserts = append(inserts, insert{at, "public."})
				continue
			}
			q.Scope = Tenant
			inserts = append(inserts, insert{at, Placeholder + "."})
			if !seen[o.Name] {
				seen[o.Name] = true
				q.Tenant = append(q.Tenant, o.Name)
			}
		}
	}
	sort.Strings(q.Tenant)
	sort.Slice(inserts, func(i, j int) bool { return inserts[i].at > inserts[j].at })
	out := sql
	last := -1
	for _, in := range inserts {
		if in.at == last {
			continue
		}
		last = in.at
		text := in.text
		if in.at > 0 && identByte(sql[in.at-1]) {
			// JOIN"plans" lexes as a keyword and a name; JOINpublic."plans"
			// would not.
			text = " " + text
		}
		out = out[:in.at] + text + out[in.at:]
	}
	q.Qualified = out
	return q, nil
}

// insertionPoint finds where the schema qualifier of a reference goes.
func insertionPoint(sql string, r ref) (int, error) {
	at := r.loc
	if at < 0 || at >= len(sql) {
		return 0, fmt.Errorf("cannot locate %s %s in the query", r.what, r.name)
	}
	if sql[at] == '\'' { // 'seq' inside nextval(...)
		at++
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
