package golang

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"gopkg.in/yaml.v3"

	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/plan"
	"github.com/tenantgen/tenantgen/gen/scope"
	"github.com/tenantgen/tenantgen/gen/sqlcrun"
)

// runSqlc has sqlc analyse the queries against the whole schema and write
// its pgx/v5 code into a temporary directory; it returns that code by file
// name.
func runSqlc(ctx context.Context, cfg *config.Config, display func(string) string) (map[string][]byte, error) {
	tmp, err := os.MkdirTemp("", "tenantgen-sqlc-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rel := func(p string) (string, error) { return filepath.Rel(tmp, cfg.Abs(p)) }
	schema, err := rel(cfg.Schema)
	if err != nil {
		return nil, err
	}
	queries, err := rel(cfg.Queries)
	if err != nil {
		return nil, err
	}
	goOpts := map[string]any{}
	for k, v := range cfg.Sqlc {
		goOpts[k] = v
	}
	goOpts["package"] = cfg.Package
	goOpts["out"] = "out"
	goOpts["sql_package"] = "pgx/v5"
	conf := map[string]any{
		"version": "2",
		"sql": []any{map[string]any{
			"engine":  "postgresql",
			"schema":  []string{filepath.ToSlash(schema)},
			"queries": []string{filepath.ToSlash(queries)},
			"gen":     map[string]any{"go": goOpts},
		}},
	}
	data, err := yaml.Marshal(conf)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(tmp, "sqlc.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, err
	}
	if err := sqlcrun.Generate(ctx, path, display); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	entries, err := os.ReadDir(filepath.Join(tmp, "out"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(tmp, "out", e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// queryErrors are the errors sqlc found in the query files, for a schema
// with errors of its own (model is what could be analysed): those sqlc
// reports in the schema files tenantgen has reported already.
func queryErrors(cfg *config.Config, display func(string) string, model *scope.Model, err error) error {
	var l diag.List
	if !errors.As(err, &l) {
		return err
	}
	queries := display(cfg.Abs(cfg.Queries)) + "/"
	var keep diag.List
	for _, d := range l {
		if strings.HasPrefix(d.Pos.File, queries) {
			keep = append(keep, d)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return placeErrors(keep, model)
}

// sqlc reports a missing relation at the start of its query (the -- name:
// line) and a missing column at the expression that names it.
var missingRe = regexp.MustCompile(`^(relation|column) "([^"]+)" does not exist$`)

// placeErrors moves sqlc's "does not exist" errors onto the name they are
// about and gives them a hint naming what the schema has instead. Other
// diagnostics pass through.
func placeErrors(err error, model *scope.Model) error {
	var l diag.List
	if !errors.As(err, &l) {
		return err
	}
	schema := schemaNames(model)
	texts := map[string]string{}
	out := make(diag.List, 0, len(l))
	for _, d := range l {
		m := missingRe.FindStringSubmatch(d.Msg)
		if m == nil || d.Pos.Line == 0 {
			out = append(out, d)
			continue
		}
		text, ok := texts[d.Pos.File]
		if !ok {
			data, _ := os.ReadFile(d.Pos.File) // a display path: relative to the working directory
			text = string(data)
			texts[d.Pos.File] = text
		}
		name := m[2]
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:] // column "q.txt"
		}
		query := queryAt(text, d.Pos)
		if off := findIdent(text, query, offsetOf(text, d.Pos), name); off >= 0 {
			d.Pos = diag.NewSource(d.Pos.File, text).Pos(off)
		}
		if m[1] == "relation" {
			d.Hint = "queries are checked against every table of sql/schema, shared and tenant" + didYouMean(name, schema.relations)
		} else {
			d.Hint = columnHint(name, schema, identsIn(text[query.start:query.end]))
		}
		out = append(out, d)
	}
	return out
}

// span is a byte range of a query file.
type span struct{ start, end int }

// queryAt is the extent of the query holding pos: from the -- name: line
// at or above it to the next one.
func queryAt(text string, pos diag.Pos) span {
	lines := strings.SplitAfter(text, "\n")
	sp := span{0, len(text)}
	off := 0
	for i, l := range lines {
		if plan.IsNameLine(l) {
			if i+1 <= pos.Line {
				sp.start = off
			} else {
				sp.end = off
				break
			}
		}
		off += len(l)
	}
	return sp
}

// offsetOf converts a line:col position (col in bytes) into a byte offset.
func offsetOf(text string, pos diag.Pos) int {
	off := 0
	for line := 1; line < pos.Line; line++ {
		nl := strings.IndexByte(text[off:], '\n')
		if nl < 0 {
			return len(text)
		}
		off += nl + 1
	}
	return min(len(text), off+max(pos.Col-1, 0))
}

// findIdent returns the byte offset of name as an SQL identifier
// (unquoted: case-insensitively; quoted: exactly) in the query q, outside
// comments and string literals: the first at or after from (sqlc points
// into the expression for a column), else the first in the query (it
// points at the query's start for a relation); -1 when there is none.
func findIdent(text string, q span, from int, name string) int {
	first := -1
	for _, t := range tokens(text[q.start:q.end]) {
		if t.ident != name && (t.quoted || !strings.EqualFold(t.ident, name)) {
			continue
		}
		off := q.start + t.off
		if off >= from {
			return off
		}
		if first < 0 {
			first = off
		}
	}
	return first
}

// sqlIdent is an identifier of a query's text.
type sqlIdent struct {
	off    int
	ident  string
	quoted bool
}

// tokens lists the identifiers of SQL text, skipping comments, string
// literals and parameters.
func tokens(s string) []sqlIdent {
	var out []sqlIdent
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case strings.HasPrefix(s[i:], "--"):
			nl := strings.IndexByte(s[i:], '\n')
			if nl < 0 {
				return out
			}
			i += nl + 1
		case strings.HasPrefix(s[i:], "/*"):
			e := strings.Index(s[i+2:], "*/")
			if e < 0 {
				return out
			}
			i += e + 4
		case c == '\'':
			j := i + 1
			for j < len(s) {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' { // '' inside a literal
						j += 2
						continue
					}
					break
				}
				j++
			}
			i = j + 1
		case c == '"':
			e := strings.IndexByte(s[i+1:], '"')
			if e < 0 {
				return out
			}
			out = append(out, sqlIdent{off: i, ident: s[i+1 : i+1+e], quoted: true})
			i += e + 2
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '$' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9' || s[j] >= 0x80) {
				j++
			}
			out = append(out, sqlIdent{off: i, ident: s[i:j]})
			i = j
		case c >= '0' && c <= '9' || c == '$':
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			i = j
		default:
			i++
		}
	}
	return out
}

func identsIn(s string) map[string]bool {
	out := map[string]bool{}
	for _, t := range tokens(s) {
		if t.quoted {
			out[t.ident] = true
		} else {
			out[strings.ToLower(t.ident)] = true
		}
	}
	return out
}

// names are the relations of the schema and their columns.
type names struct {
	relations []string
	columns   map[string][]string // by relation, in definition order
}

// schemaNames collects the relations the model knows and the columns that
// CREATE TABLE and ALTER TABLE ... ADD/RENAME COLUMN give them.
func schemaNames(model *scope.Model) names {
	n := names{columns: map[string][]string{}}
	if model == nil {
		return n
	}
	for _, o := range model.Objects {
		if o.Kind == "table" || strings.Contains(o.Kind, "view") {
			n.relations = append(n.relations, o.Name)
		}
	}
	sort.Strings(n.relations)
	for _, f := range model.Files {
		for _, st := range f.Statements {
			if st.Section == migfile.Up {
				n.addColumns(st.Node)
			}
		}
	}
	return n
}

func (n *names) addColumns(node *pg_query.Node) {
	switch {
	case node.GetCreateStmt() != nil:
		cs := node.GetCreateStmt()
		for _, el := range cs.TableElts {
			if cd := el.GetColumnDef(); cd != nil {
				n.columns[cs.Relation.Relname] = append(n.columns[cs.Relation.Relname], cd.Colname)
			}
		}
	case node.GetAlterTableStmt() != nil:
		as := node.GetAlterTableStmt()
		for _, c := range as.Cmds {
			if cmd := c.GetAlterTableCmd(); cmd != nil && cmd.Subtype == pg_query.AlterTableType_AT_AddColumn {
				if cd := cmd.Def.GetColumnDef(); cd != nil {
					n.columns[as.Relation.Relname] = append(n.columns[as.Relation.Relname], cd.Colname)
				}
			}
		}
	case node.GetRenameStmt() != nil:
		rs := node.GetRenameStmt()
		if rs.RenameType == pg_query.ObjectType_OBJECT_COLUMN && rs.Relation != nil {
			cols := n.columns[rs.Relation.Relname]
			for i, c := range cols {
				if c == rs.Subname {
					cols[i] = rs.Newname
				}
			}
		}
	}
}

// columnHint names the columns of the tables the query mentions, and the
// closest one.
func columnHint(name string, schema names, idents map[string]bool) string {
	var tables, cands []string
	for _, r := range schema.relations {
		if idents[r] {
			tables = append(tables, r)
			cands = append(cands, schema.columns[r]...)
		}
	}
	if len(tables) == 0 {
		return "queries are checked against every table of sql/schema, shared and tenant"
	}
	var parts []string
	for _, t := range tables {
		parts = append(parts, fmt.Sprintf("%s has columns %s", t, strings.Join(schema.columns[t], ", ")))
	}
	return strings.Join(parts, "; ") + didYouMean(name, cands)
}

// didYouMean offers the closest candidate, when one is close.
func didYouMean(word string, cands []string) string {
	return diag.DidYouMean(word, cands, max(2, len(word)/2))
}
