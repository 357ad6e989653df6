// Package plan decides, for every query of a generated package, the scope it
// runs in and the SQL it runs. It is the one place where a query's marker,
// the objects it names (package scope) and the proof that nothing it names
// is left to search_path meet; the Go emitter only carries a Plan out.
package plan

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/scope"
)

// Statement is a query as sqlc emits it: its SQL starts with the
// "-- name: Name :kind" line.
type Statement struct {
	File string // the Go file sqlc wrote it to, for messages without a source
	Name string
	Kind string
	SQL  string
}

// Copy is a :copyfrom query, which has no SQL: COPY writes to Table (in
// Schema when the query names one).
type Copy struct {
	File          string
	Name          string
	Schema, Table string
}

// Query is the plan of one query.
type Query struct {
	Name  string
	Kind  string
	Scope migfile.Scope
	// Qualified is the SQL to run, every name the schema files define
	// qualified (tenant objects by the placeholder); empty for :copyfrom.
	Qualified string
	// Tenant lists the tenant objects the query names.
	Tenant []string
	// CopyIntoTenant: COPY's table gets the placeholder schema in front.
	CopyIntoTenant bool
}

// Plan is every query of a package, by name.
type Plan struct {
	Queries map[string]*Query
}

// New plans the statements and COPY queries of a package against the schema
// model. Refused queries are reported to diags and left out of the plan.
func New(model *scope.Model, sources map[string]Source, stmts []Statement, copies []Copy, diags *diag.List) *Plan {
	p := &Plan{Queries: map[string]*Query{}}
	infos, errs := analyse(model, sources, stmts)
	for i, st := range stmts {
		if q := planStatement(st, sources[st.Name], infos[i], errs[i], diags); q != nil {
			p.Queries[q.Name] = q
		}
	}
	for _, c := range copies {
		if p.Queries[c.Name] != nil {
			continue
		}
		if q := planCopy(model, c, sources[c.Name], diags); q != nil {
			p.Queries[q.Name] = q
		}
	}
	return p
}

// analyse runs scope's analysis of every statement, in parallel: on large
// inputs that parse is most of tenantgen's own time.
func analyse(model *scope.Model, sources map[string]Source, stmts []Statement) ([]*scope.Query, []error) {
	infos, errs := make([]*scope.Query, len(stmts)), make([]error, len(stmts))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < max(1, goruntime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				marked := migfile.Unknown
				if mk := sources[stmts[i].Name].Marker; mk != nil {
					marked = mk.Scope
				}
				infos[i], errs[i] = model.QueryAs(stmts[i].SQL, marked)
			}
		}()
	}
	for i := range stmts {
		next <- i
	}
	close(next)
	wg.Wait()
	return infos, errs
}

// position is where messages about a query go: its "-- name:" line, or
// the Go file when the query file is unknown.
func position(src Source, goFile string) diag.Pos {
	if src.Pos.File == "" {
		return diag.Pos{File: goFile}
	}
	return src.Pos
}

func planStatement(st Statement, src Source, info *scope.Query, err error, diags *diag.List) *Query {
	pos := position(src, st.File)
	if err != nil {
		var qe *scope.QueryError
		if errors.As(err, &qe) {
			diags.Add(queryErrorPos(src, pos, st.SQL, qe.Offset), qe.Hint, "query %s: %s", st.Name, qe.Msg)
			return nil
		}
		diags.Add(pos, "", "query %s: %v", st.Name, err)
		return nil
	}
	q := &Query{Name: st.Name, Kind: st.Kind, Scope: info.Scope, Qualified: info.Qualified, Tenant: info.Tenant}
	if src.Marker != nil {
		if src.Marker.Scope == migfile.Shared && info.Scope == migfile.Tenant {
			diags.Add(pos, "remove -- tenantgen:shared, or make those objects shared",
				"query %s is marked shared but uses tenant %s", q.Name, strings.Join(info.Tenant, ", "))
			return nil
		}
		q.Scope = src.Marker.Scope
	}
	return q
}

// planCopy decides the scope of a :copyfrom query by the table COPY writes to.
func planCopy(model *scope.Model, c Copy, src Source, diags *diag.List) *Query {
	pos := position(src, c.File)
	q := &Query{Name: c.Name, Kind: "copyfrom", Scope: migfile.Shared}
	sc, known := model.ScopeOf(c.Schema, c.Table)
	if known && sc == migfile.Tenant && c.Schema != "" {
		// As for any other query: COPY would write to public, where the
		// table is not, whatever tenant the call is bound to.
		diags.Add(pos, fmt.Sprintf("write INSERT INTO %s (...) without the schema", c.Table),
			"query %s: tenant table %s is named %s.%s: drop the qualifier, tenantgen binds it to the tenant's schema", c.Name, c.Table, c.Schema, c.Table)
		return nil
	}
	if known {
		q.Scope = sc
	}
	if m := src.Marker; m != nil {
		if m.Scope == migfile.Shared && q.Scope == migfile.Tenant {
			diags.Add(pos, "remove -- tenantgen:shared, or make the table shared",
				"query %s is marked shared but copies into tenant table %s", c.Name, c.Table)
			return nil
		}
		q.Scope = m.Scope
	}
	if q.Scope == migfile.Tenant && c.Schema == "" {
		if sc, ok := model.ScopeOf("", c.Table); ok && sc == migfile.Tenant {
			q.CopyIntoTenant = true
			q.Tenant = []string{c.Table}
		}
	}
	return q
}

// queryErrorPos maps a byte offset of a query as sqlc emits it to the query
// file: the emitted query's first line is the "-- name:" line at pos, and
// the offending line is found again below it, by its text or else by the
// word at the offset. When neither is found the query's own position is the
// best there is.
func queryErrorPos(src Source, pos diag.Pos, sql string, off int) diag.Pos {
	if off < 0 || off > len(sql) || pos.Line == 0 || len(src.Lines) < pos.Line {
		return pos
	}
	start := strings.LastIndexByte(sql[:off], '\n') + 1
	end := strings.IndexByte(sql[start:], '\n')
	if end < 0 {
		end = len(sql) - start
	}
	line, col := sql[start:start+end], off-start
	word := sql[off:]
	if n := strings.IndexAny(word, " \t\n,()[]:;"); n > 0 {
		word = word[:n]
	}
	if start == 0 {
		return pos
	}
	below := src.Lines[pos.Line:]
	for i, l := range below {
		if i > 0 && nameRe.MatchString(strings.TrimSpace(l)) {
			below = below[:i]
			break
		}
	}
	for i, l := range below {
		if strings.TrimRight(l, " \t\r") == strings.TrimRight(line, " \t\r") {
			return diag.Pos{File: pos.File, Line: pos.Line + 1 + i, Col: col + 1}
		}
	}
	for i, l := range below {
		if c := strings.Index(l, word); c >= 0 && word != "" {
			return diag.Pos{File: pos.File, Line: pos.Line + 1 + i, Col: c + 1}
		}
	}
	return pos
}
