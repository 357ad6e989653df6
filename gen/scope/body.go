package scope

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
)

// body is what the analysis found in the string body of a function,
// procedure or DO block. PostgreSQL resolves such a body's names only when it
// runs, so the statement that creates it says nothing about what it reads:
// the body is parsed here (plpgsql with PostgreSQL's own plpgsql parser, SQL
// with its SQL parser) and its names are checked like the statement's.
// Dynamic SQL (EXECUTE of a string) cannot be read this way and is not
// checked (README says so).
type body struct {
	refs    []ref      // every relation, type and function it names, at file offsets
	decl    []ref      // those of them in variable declarations, resolved before the body runs
	control []diag.Pos // its COMMIT and ROLLBACK statements
	text    string     // the body
	lit     literal    // where it is
}

// stringBody returns the language and text of a statement's string body,
// and whether it has one.
func stringBody(n *pg_query.Node) (lang, text string, ok bool) {
	var opts []*pg_query.Node
	switch {
	case n.GetCreateFunctionStmt() != nil:
		if n.GetCreateFunctionStmt().SqlBody != nil {
			return "", "", false
		}
		opts = n.GetCreateFunctionStmt().Options
	case n.GetDoStmt() != nil:
		opts, lang = n.GetDoStmt().Args, "plpgsql"
	default:
		return "", "", false
	}
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "language":
			lang = strings.ToLower(d.GetArg().GetString_().GetSval())
		case "as":
			if s := d.GetArg().GetString_(); s != nil { // DO
				text, ok = s.Sval, true
			}
			// A C function's AS has two strings: no body to read.
			if l := d.GetArg().GetList(); l != nil && len(l.Items) == 1 {
				text, ok = l.Items[0].GetString_().GetSval(), true
			}
		}
	}
	return lang, text, ok
}

// body reads a statement's string body. Bodies in other languages than sql
// and plpgsql are not read.
func (a *analyser) body(f *migfile.File, st *migfile.Statement) body {
	lang, text, ok := stringBody(st.Node)
	if !ok || (lang != "sql" && lang != "plpgsql") {
		return body{}
	}
	lit, found := findLiteral(st.Text, text)
	if !found {
		return body{} // cannot happen: the parser read the body from this text
	}
	lit.start += st.Offset
	var b body
	var err error
	if lang == "sql" {
		err = b.readSQL(text, lit.at)
	} else {
		err = b.readPlpgsql(st.Node, st.Text, text, lit, f.Source)
	}
	if err != nil {
		at := lit.start
		var pe *bodyError
		if errors.As(err, &pe) {
			at, err = pe.at, pe.err
		}
		a.diags.Add(f.Source.Pos(at), "fix the body: PostgreSQL rejects it too when it creates the routine",
			"the %s body does not parse: %v", lang, err)
		return body{}
	}
	for i := range b.refs {
		b.refs[i].what += " in the body"
	}
	b.text, b.lit = text, lit
	return b
}

// readSQL collects the names of a LANGUAGE sql body, whose statements run
// like any other.
func (b *body) readSQL(text string, at func(int) int) error {
	tree, err := pg_query.Parse(text)
	if err != nil {
		return err
	}
	for _, raw := range tree.Stmts {
		b.refs = append(b.refs, stmtRefs(raw.Stmt, at)...)
	}
	return nil
}

// stmtRefs collects a statement's names, less those of its CTEs, mapping
// their locations with at. A CTE shadows a table only in part of the
// statement, but a body rarely names both; a miss leaves the error to
// PostgreSQL (when it creates a SQL routine, when it first runs a plpgsql
// one).
func stmtRefs(n *pg_query.Node, at func(int) int) []ref {
	ctes := map[string]bool{}
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if c, ok := m.Interface().(*pg_query.CommonTableExpr); ok {
			ctes[c.Ctename] = true
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
	var out []ref
	for _, r := range collectRefs(n, nil) {
		if r.ns == nsRel && r.schema == "" && ctes[r.name] {
			continue
		}
		if r.loc >= 0 {
			r.loc = at(r.loc)
		}
		out = append(out, r)
	}
	return out
}

// readPlpgsql collects the names of a plpgsql body: those of every SQL
// expression and statement in it, and of its variables' types.
func (b *body) readPlpgsql(n *pg_query.Node, stmt, text string, lit literal, src *diag.Source) error {
	fn := stmt
	if n.GetDoStmt() != nil {
		// The plpgsql parser reads CREATE FUNCTION statements only.
		fn = "CREATE FUNCTION tenantgen_do() RETURNS void LANGUAGE plpgsql AS " + dollarQuote(text)
	}
	w := &plWalker{b: b, text: text, lit: lit, src: src}
	out, err := pg_query.ParsePlPgSqlToJSON(fn)
	if err != nil {
		// PostgreSQL says where: "compilation of PL/pgSQL function ... near line N".
		var pe *parser.Error
		if errors.As(err, &pe) {
			if m := nearLineRe.FindStringSubmatch(pe.Context); m != nil {
				n, _ := strconv.Atoi(m[1])
				return &bodyError{at: w.lineStart(n), err: err}
			}
		}
		return err
	}
	var tree any
	if err := json.Unmarshal([]byte(out), &tree); err != nil {
		return fmt.Errorf("reading the plpgsql parse tree: %w", err)
	}
	w.walk(tree, 1, "")
	return w.err
}

var nearLineRe = regexp.MustCompile(`near line (\d+)`)

// bodyError is an error at a known file offset in a body.
type bodyError struct {
	at  int
	err error
}

func (e *bodyError) Error() string { return e.err.Error() }

// dollarQuote quotes s with a tag it does not contain.
func dollarQuote(s string) string {
	tag := "$tenantgen$"
	for i := 0; strings.Contains(s, tag); i++ {
		tag = fmt.Sprintf("$tenantgen%d$", i)
	}
	return tag + s + tag
}

// plWalker walks the JSON form of a plpgsql parse tree.
type plWalker struct {
	b    *body
	text string // the body
	lit  literal
	src  *diag.Source
	err  error
}

// walk visits v; line is the body line of the innermost statement around
// it, in says whether it is part of a variable declaration ("datums") or of
// a variable's default value ("default").
func (w *plWalker) walk(v any, line int, in string) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			w.walk(e, line, in)
		}
	case map[string]any:
		if l, ok := v["lineno"].(float64); ok && l > 0 {
			line = int(l)
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			e, inner := v[k], in
			switch k {
			case "datums":
				inner = "datums"
			case "default_val":
				if in == "datums" {
					inner = "default"
				}
			case "PLpgSQL_expr":
				w.expr(e, line, in == "default")
				continue
			case "PLpgSQL_type":
				w.typ(e, line)
				continue
			case "PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback":
				if m, ok := e.(map[string]any); ok {
					if l, ok := m["lineno"].(float64); ok {
						kw := strings.TrimPrefix(k, "PLpgSQL_stmt_")
						w.b.control = append(w.b.control, w.src.Pos(w.word(int(l), kw)))
					}
				}
			}
			w.walk(e, line, inner)
		}
	}
}

// Parse modes of plpgsql expressions (PostgreSQL's RawParseMode).
const (
	parseDefault    = 0
	parsePlpgsqlExp = 2
)

// expr reads one SQL expression or statement of the body.
func (w *plWalker) expr(v any, line int, decl bool) {
	m, _ := v.(map[string]any)
	q, _ := m["query"].(string)
	mode, _ := m["parseMode"].(float64)
	sql, skip := q, 0
	switch int(mode) {
	case parseDefault:
	case parsePlpgsqlExp:
		sql, skip = "SELECT "+q, len("SELECT ")
	default: // an assignment: target := expression
		rhs := assignedExpr(q)
		sql, skip = "SELECT "+q[rhs:], len("SELECT ")-rhs
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		if w.err == nil {
			w.err = &bodyError{at: w.lineStart(line), err: err}
		}
		return
	}
	// Map locations in q to the file: exactly when q is found in the body
	// (plpgsql keeps its text, blanking INTO clauses; PERFORM x is kept as
	// SELECT x), else to its line.
	at := func(loc int) int { return w.lineStart(line) }
	if base, ok := w.find(q, line); ok {
		at = func(loc int) int { return w.lit.at(base + loc - skip) }
	} else if rest, cut := strings.CutPrefix(q, "SELECT "); cut && int(mode) == parseDefault {
		if base, ok := w.find(rest, line); ok {
			at = func(loc int) int { return w.lit.at(base + loc - skip - len("SELECT ")) }
		}
	}
	for _, raw := range tree.Stmts {
		refs := stmtRefs(raw.Stmt, at)
		w.b.refs = append(w.b.refs, refs...)
		if decl {
			w.b.decl = append(w.b.decl, refs...)
		}
	}
}

// find returns the body offset of q, searched from body line line on. The
// blanks plpgsql leaves for an INTO clause match anything.
func (w *plWalker) find(q string, line int) (int, bool) {
	if q == "" {
		return 0, false
	}
	for from := w.lineOffset(line); from < len(w.text); from++ {
		i := strings.IndexByte(w.text[from:], q[0])
		if i < 0 {
			return 0, false
		}
		from += i
		if matchBlanked(w.text[from:], q) {
			return from, true
		}
	}
	return 0, false
}

func matchBlanked(text, q string) bool {
	if len(text) < len(q) {
		return false
	}
	for i := 0; i < len(q); i++ {
		if q[i] != text[i] && q[i] != ' ' {
			return false
		}
	}
	return true
}

// word returns the file offset of the first occurrence of word in body
// line line (case-insensitive), or of the line's start.
func (w *plWalker) word(line int, word string) int {
	off := w.lineOffset(line)
	end := strings.IndexByte(w.text[off:], '\n')
	if end < 0 {
		end = len(w.text) - off
	}
	if i := strings.Index(strings.ToLower(w.text[off:off+end]), strings.ToLower(word)); i >= 0 && word != "" {
		return w.lit.at(off + i)
	}
	return w.lineStart(line)
}

// assignedExpr returns where the expression of "target := expr" (or
// "target = expr") starts.
func assignedExpr(q string) int {
	res, err := pg_query.Scan(q)
	if err != nil {
		return 0
	}
	depth := 0
	for _, t := range res.Tokens {
		switch {
		case t.Token == pg_query.Token_ASCII_91 || t.Token == pg_query.Token_ASCII_40: // [ (
			depth++
		case t.Token == pg_query.Token_ASCII_93 || t.Token == pg_query.Token_ASCII_41: // ] )
			depth--
		case depth == 0 && (t.Token == pg_query.Token_COLON_EQUALS || t.Token == pg_query.Token_ASCII_61):
			return int(t.End)
		}
	}
	return 0
}

// typ reads the type of a variable: a type name, table%ROWTYPE, or
// table.column%TYPE (variable%TYPE names a variable, not an object).
func (w *plWalker) typ(v any, line int) {
	m, _ := v.(map[string]any)
	name := strings.TrimSpace(fmt.Sprint(m["typname"]))
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, "%rowtype"):
		name = name[:len(name)-len("%rowtype")]
	case strings.HasSuffix(lower, "%type"):
		name = name[:len(name)-len("%type")]
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return
		}
		name = name[:i]
	}
	if strings.HasPrefix(name, "pg_catalog.") {
		return // the parameters' and built-in variables' types (FOUND)
	}
	tree, err := pg_query.Parse("SELECT NULL::" + name)
	if err != nil || len(tree.Stmts) != 1 {
		return // the plpgsql parser accepted it; PostgreSQL will judge
	}
	at := w.word(line, name)
	for _, r := range collectRefs(tree.Stmts[0].Stmt, nil) {
		r.loc = at
		w.b.refs = append(w.b.refs, r)
		w.b.decl = append(w.b.decl, r) // types are resolved when the routine is first called
	}
}

// lineOffset is the body offset of the start of body line n (1-based).
func (w *plWalker) lineOffset(n int) int {
	off := 0
	for i := 1; i < n; i++ {
		j := strings.IndexByte(w.text[off:], '\n')
		if j < 0 {
			return len(w.text)
		}
		off += j + 1
	}
	return off
}

// lineStart is the file offset of the first non-blank byte of body line n.
func (w *plWalker) lineStart(n int) int {
	off := w.lineOffset(n)
	for off < len(w.text) && (w.text[off] == ' ' || w.text[off] == '\t') {
		off++
	}
	return w.lit.at(off)
}

// literal is a string constant of a statement: where its content starts in
// the file, and how offsets in its (unescaped) value map there.
type literal struct {
	start int
	// tokStart and tokEnd delimit the constant, quotes included, in the
	// statement's text.
	tokStart, tokEnd int
	// doubled holds the value offsets at which the source has a doubled
	// quote (''), for '...' strings.
	doubled []int
}

// at maps an offset in the literal's value to a file offset.
func (l literal) at(off int) int {
	n := 0
	for _, d := range l.doubled {
		if d < off {
			n++
		}
	}
	return l.start + off + n
}

// findLiteral finds the string constant of stmt whose value is value: the
// body of a routine.
func findLiteral(stmt, value string) (literal, bool) {
	res, err := pg_query.Scan(stmt)
	if err != nil {
		return literal{}, false
	}
	for _, t := range res.Tokens {
		if t.Token != pg_query.Token_SCONST {
			continue
		}
		raw := stmt[t.Start:t.End]
		if strings.HasPrefix(raw, "$") {
			tag := raw[:strings.IndexByte(raw[1:], '$')+2]
			if raw[len(tag):len(raw)-len(tag)] == value {
				return literal{start: int(t.Start) + len(tag), tokStart: int(t.Start), tokEnd: int(t.End)}, true
			}
			continue
		}
		prefix := 1
		if raw[0] == 'E' || raw[0] == 'e' {
			prefix = 2 // backslash escapes: offsets are approximate
		}
		inner := raw[prefix : len(raw)-1]
		if strings.ReplaceAll(inner, "''", "'") != value && prefix == 1 {
			continue
		}
		lit := literal{start: int(t.Start) + prefix, tokStart: int(t.Start), tokEnd: int(t.End)}
		for i, off := 0, 0; i < len(inner); i++ {
			if inner[i] == '\'' && i+1 < len(inner) && inner[i+1] == '\'' {
				lit.doubled = append(lit.doubled, off)
				i++
			}
			off++
		}
		return lit, true
	}
	return literal{}, false
}
