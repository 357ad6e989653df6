// Package migfile reads goose migration files into their statements. It
// splits with PostgreSQL's own lexer and parser (pg_query), so dollar
// quoting, nested comments and E” strings are handled exactly as the server
// handles them, and keeps the comments that tenantgen and goose give meaning.
package migfile

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"

	"github.com/tenantgen/tenantgen/gen/diag"
)

// Section is the goose direction a statement belongs to.
type Section int

const (
	Up Section = iota
	Down
)

func (s Section) String() string {
	if s == Down {
		return "Down"
	}
	return "Up"
}

// Scope says where an object lives: in public, or in every tenant schema.
type Scope int

const (
	Unknown Scope = iota
	Shared
	Tenant
)

func (s Scope) String() string {
	switch s {
	case Shared:
		return "shared"
	case Tenant:
		return "tenant"
	}
	return "unknown"
}

// Marker is a "-- tenantgen:<scope>" comment.
type Marker struct {
	Scope Scope
	Pos   diag.Pos
}

// Statement is one SQL statement of a migration file.
type Statement struct {
	Section Section
	Text    string   // from its first token to its terminating semicolon, inclusive
	Leading []string // comments just before it, other than goose and tenantgen annotations
	Pos     diag.Pos // of its first token
	Offset  int      // byte offset of its first token in the file
	Marker  *Marker  // the marker in force, nil when none
	Node    *pg_query.Node
	// Block is set when goose must receive the statement whole, between
	// StatementBegin and StatementEnd: it holds semicolons of its own.
	Block bool
}

// File is one parsed goose migration file.
type File struct {
	Path          string // as given, for messages
	Base          string // file name, kept for the generated files
	Version       int64
	NoTransaction bool
	Statements    []*Statement
	Source        *diag.Source
}

var (
	markerRe   = regexp.MustCompile(`^--\s*tenantgen:\s*(\S*)\s*(.*)$`)
	gooseRe    = regexp.MustCompile(`^--\s*\+goose\b\s*(.*?)\s*$`)
	versionRe  = regexp.MustCompile(`^(\d+)_[^/]*\.sql$`)
	scopeWords = map[string]Scope{"shared": Shared, "tenant": Tenant}
)

// ParseVersion returns the goose version of a migration file name.
func ParseVersion(base string) (int64, bool) {
	m := versionRe.FindStringSubmatch(base)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || v < 1 {
		return 0, false
	}
	return v, true
}

// Parse reads one migration file. Problems are added to diags; the returned
// File is nil when the file could not be split at all.
func Parse(path, text string, diags *diag.List) *File {
	src := diag.NewSource(path, text)
	f := &File{Path: path, Base: filepath.Base(path), Source: src}
	v, ok := ParseVersion(f.Base)
	if !ok {
		diags.Add(diag.Pos{File: path}, "name migration files like 00001_create_tasks.sql, as goose does",
			"file name %q has no goose version prefix", f.Base)
		return nil
	}
	f.Version = v
	if off, ok := diag.Valid(text); !ok {
		diags.Add(src.Pos(off), "schema files must be UTF-8 SQL text", "invalid UTF-8 or NUL byte: this does not look like an SQL file")
		return nil
	}

	scan, err := pg_query.Scan(text)
	if err != nil {
		addParseError(src, err, diags)
		return nil
	}
	tree, err := pg_query.Parse(text)
	if err != nil {
		addParseError(src, err, diags)
		return nil
	}

	// Walk the comments once: goose annotations and tenantgen markers.
	type comment struct {
		start, end int
		text       string
		kind       int // 0 plain, 1 goose, 2 marker
		section    Section
		marker     *Marker
	}
	var comments []comment
	section, sawUp, inBlock := Up, false, false
	downOff := len(text) + 1
	var blockStart diag.Pos
	var blocks [][2]int // byte ranges between StatementBegin and StatementEnd
	blockBegin := 0
	for _, tok := range scan.Tokens {
		if tok.Token != pg_query.Token_SQL_COMMENT && tok.Token != pg_query.Token_C_COMMENT {
			continue
		}
		c := comment{start: int(tok.Start), end: int(tok.End), text: text[tok.Start:tok.End]}
		pos := src.Pos(c.start)
		if m := gooseRe.FindStringSubmatch(c.text); m != nil && tok.Token == pg_query.Token_SQL_COMMENT {
			c.kind = 1
			switch word := strings.ToUpper(strings.Join(strings.Fields(m[1]), " ")); word {
			case "UP":
				if sawUp {
					diags.Add(pos, "a goose file has one Up section", "second -- +goose Up annotation")
				}
				if section == Down {
					diags.Add(pos, "put the Up section before the Down section", "-- +goose Up after -- +goose Down")
				}
				sawUp = true
			case "DOWN":
				if section == Down {
					diags.Add(pos, "a goose file has one Down section", "second -- +goose Down annotation")
				}
				if !sawUp {
					diags.Add(pos, "add -- +goose Up before it", "-- +goose Down without a preceding -- +goose Up")
				}
				if inBlock {
					diags.Add(blockStart, "close it with -- +goose StatementEnd", "-- +goose StatementBegin is not closed before -- +goose Down")
					inBlock = false
				}
				section, downOff = Down, c.start
			case "STATEMENTBEGIN":
				if inBlock {
					diags.Add(pos, "close the previous block with -- +goose StatementEnd", "nested -- +goose StatementBegin")
				}
				inBlock, blockStart, blockBegin = true, pos, c.end
			case "STATEMENTEND":
				if !inBlock {
					diags.Add(pos, "open the block with -- +goose StatementBegin", "-- +goose StatementEnd without StatementBegin")
				} else {
					blocks = append(blocks, [2]int{blockBegin, c.start})
				}
				inBlock = false
			case "NO TRANSACTION":
				f.NoTransaction = true
			case "ENVSUB ON", "ENVSUB OFF":
				diags.Add(pos, "tenantgen parses schema files as SQL; substitute variables before generating, or use a Go migration", "-- +goose ENVSUB is not supported")
			default:
				diags.Add(pos, "goose knows Up, Down, StatementBegin, StatementEnd, NO TRANSACTION", "unknown goose annotation %q", strings.TrimSpace(c.text))
			}
		} else if m, ok := ReadMarker(c.text, tok.Token == pg_query.Token_SQL_COMMENT, pos, diags); ok {
			c.kind, c.marker = 2, m
		} else if tok.Token == pg_query.Token_SQL_COMMENT && strings.Contains(c.text, "+goose") {
			// goose reads every "--" line that mentions +goose as an
			// annotation, and rejects the ones it does not know.
			diags.Add(pos, "goose annotations read -- +goose Up, Down, StatementBegin, StatementEnd or NO TRANSACTION; reword the comment otherwise",
				"malformed goose annotation %q", strings.TrimSpace(c.text))
			c.kind = 1
		}
		c.section = section
		comments = append(comments, c)
	}
	if inBlock {
		diags.Add(blockStart, "close it with -- +goose StatementEnd", "-- +goose StatementBegin is never closed")
	}
	if !sawUp {
		diags.Add(diag.Pos{File: path, Line: 1, Col: 1}, "start the file with -- +goose Up, as goose requires", "no -- +goose Up annotation")
		return nil
	}

	// Tokens other than comments, to find where each statement really starts.
	var toks []*pg_query.ScanToken
	for _, tok := range scan.Tokens {
		if tok.Token != pg_query.Token_SQL_COMMENT && tok.Token != pg_query.Token_C_COMMENT {
			toks = append(toks, tok)
		}
	}
	ti, ci, prevEnd := 0, 0, 0
	var marker *Marker
	markerSection := Up
	for _, raw := range tree.Stmts {
		loc := int(raw.StmtLocation)
		end := len(text)
		if raw.StmtLen > 0 {
			end = loc + int(raw.StmtLen)
		}
		for ti < len(toks) && int(toks[ti].Start) < loc {
			ti++
		}
		if ti == len(toks) {
			break
		}
		start := int(toks[ti].Start)
		last := start
		for ti < len(toks) && int(toks[ti].Start) < end {
			last = int(toks[ti].End)
			ti++
		}
		st := &Statement{Node: raw.Stmt, Offset: start, Pos: src.Pos(start)}
		for ; ci < len(comments) && comments[ci].start < start; ci++ {
			c := comments[ci]
			if c.section != markerSection { // a new section starts with no marker in force
				marker, markerSection = nil, c.section
			}
			switch {
			case c.marker != nil:
				marker = c.marker
			case c.kind == 0 && c.start >= prevEnd:
				st.Leading = append(st.Leading, c.text)
			}
		}
		st.Section = Up
		if start > downOff {
			st.Section = Down
		}
		if st.Section != markerSection {
			marker, markerSection = nil, st.Section
		}
		st.Marker = marker
		if end < len(text) && text[end] == ';' {
			// Up to its terminating semicolon, with any comment before it:
			// that comment belongs to this statement, not to the next.
			last = end + 1
		}
		st.Text = strings.TrimRight(text[start:last], " \t\r\n")
		if !strings.HasSuffix(st.Text, ";") {
			st.Text += ";"
		}
		st.Block = strings.Contains(strings.TrimSuffix(st.Text, ";"), ";")
		for _, b := range blocks {
			if start >= b[0] && start < b[1] {
				st.Block = true
			}
		}
		prevEnd = last
		f.Statements = append(f.Statements, st)
	}
	return f
}

// ReadMarker reads one comment of a schema or query file with the marker
// grammar both kinds of file share: a line comment of its own,
// "-- tenantgen:shared" or "-- tenantgen:tenant". isMarker reports whether the
// comment is meant as a marker at all (it mentions tenantgen:); a malformed
// one is reported to diags and returns a nil Marker.
func ReadMarker(comment string, line bool, pos diag.Pos, diags *diag.List) (m *Marker, isMarker bool) {
	if mm := markerRe.FindStringSubmatch(comment); mm != nil && line {
		sc, ok := scopeWords[mm[1]]
		switch {
		case !ok:
			diags.Add(pos, "write -- tenantgen:shared or -- tenantgen:tenant"+suggest(mm[1]), "unknown tenantgen marker %q", mm[1])
		case mm[2] != "":
			diags.Add(pos, "put nothing after the scope word on a marker line", "unexpected %q after -- tenantgen:%s", mm[2], mm[1])
		default:
			return &Marker{Scope: sc, Pos: pos}, true
		}
		return nil, true
	}
	if strings.Contains(comment, "tenantgen:") {
		diags.Add(pos, "a marker is a line comment of its own: -- tenantgen:shared or -- tenantgen:tenant", "malformed tenantgen marker %q", strings.TrimSpace(comment))
		return nil, true
	}
	return nil, false
}

func addParseError(src *diag.Source, err error, diags *diag.List) {
	if pe, ok := err.(*parser.Error); ok {
		pos := diag.Pos{File: src.File, Line: 1, Col: 1}
		if pe.Cursorpos > 0 {
			pos = src.Pos(src.ByteOffset(pe.Cursorpos))
		}
		diags.Add(pos, "fix the SQL; the file is parsed by PostgreSQL's own parser", "%s", pe.Message)
		return
	}
	diags.Add(diag.Pos{File: src.File, Line: 1, Col: 1}, "", "cannot parse SQL: %v", err)
}

// suggest offers the closest scope word for a misspelt marker.
func suggest(word string) string {
	return diag.DidYouMean(word, []string{"shared", "tenant"}, 2)
}
