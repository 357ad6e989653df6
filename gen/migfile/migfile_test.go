package migfile_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
)

const fileName = "00001_init.sql"

// stmt is what a test expects of one Statement. Leading is compared only
// when non-nil; use []string{} to require none.
type stmt struct {
	text    string
	pos     string // "line:col"
	section migfile.Section
	marker  string // "", "shared" or "tenant"
	block   bool
	leading []string
}

func parseOK(t *testing.T, name, input string) *migfile.File {
	t.Helper()
	var diags diag.List
	f := migfile.Parse(name, input, &diags)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%v", diags)
	}
	if f == nil {
		t.Fatalf("Parse returned nil without diagnostics")
	}
	return f
}

func checkStatements(t *testing.T, f *migfile.File, want []stmt) {
	t.Helper()
	if len(f.Statements) != len(want) {
		var got []string
		for _, st := range f.Statements {
			got = append(got, st.Text)
		}
		t.Fatalf("got %d statements, want %d:\n%q", len(f.Statements), len(want), got)
	}
	for i, w := range want {
		st := f.Statements[i]
		if st.Text != w.text {
			t.Errorf("statement %d: text\n got %q\nwant %q", i, st.Text, w.text)
		}
		if got := st.Pos.String(); got != fileName+":"+w.pos {
			t.Errorf("statement %d (%q): pos %s, want %s:%s", i, w.text, got, fileName, w.pos)
		}
		if st.Pos.File != f.Path {
			t.Errorf("statement %d: pos file %q, want %q", i, st.Pos.File, f.Path)
		}
		if st.Section != w.section {
			t.Errorf("statement %d (%q): section %s, want %s", i, w.text, st.Section, w.section)
		}
		marker := ""
		if st.Marker != nil {
			marker = st.Marker.Scope.String()
		}
		if marker != w.marker {
			t.Errorf("statement %d (%q): marker %q, want %q", i, w.text, marker, w.marker)
		}
		if st.Block != w.block {
			t.Errorf("statement %d (%q): block %v, want %v", i, w.text, st.Block, w.block)
		}
		if w.leading != nil {
			got := st.Leading
			if got == nil {
				got = []string{}
			}
			if !reflect.DeepEqual(got, w.leading) {
				t.Errorf("statement %d (%q): leading %q, want %q", i, w.text, got, w.leading)
			}
		}
		if st.Node == nil {
			t.Errorf("statement %d: no parse tree", i)
		}
		if f.Source.Text[st.Offset:st.Offset+len(strings.TrimSuffix(st.Text, ";"))] != strings.TrimSuffix(st.Text, ";") {
			t.Errorf("statement %d: Offset %d does not point at its text", i, st.Offset)
		}
	}
}

func TestParseSplit(t *testing.T) {
	const up, down = migfile.Up, migfile.Down
	tests := []struct {
		name  string
		input string
		want  []stmt
		noTx  bool
	}{
		{
			name:  "two simple statements",
			input: "-- +goose Up\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
			want: []stmt{
				{text: "CREATE TABLE a (id int);", pos: "2:1", leading: []string{}},
				{text: "CREATE TABLE b (id int);", pos: "3:1", leading: []string{}},
			},
		},
		{
			name: "dollar-quoted body with semicolons",
			input: "-- +goose Up\n" +
				"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\n" +
				"BEGIN\n" +
				"  PERFORM 1;\n" +
				"  RETURN 2;\n" +
				"END\n" +
				"$$;\n" +
				"SELECT f();\n",
			want: []stmt{
				{text: "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM 1;\n  RETURN 2;\nEND\n$$;", pos: "2:1", block: true},
				{text: "SELECT f();", pos: "8:1"},
			},
		},
		{
			name: "tagged dollar quote holding $$ and a semicolon",
			input: "-- +goose Up\n" +
				"CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $fn$ SELECT $$;$$ $fn$; SELECT 2;\n",
			want: []stmt{
				{text: "CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $fn$ SELECT $$;$$ $fn$;", pos: "2:1", block: true},
				{text: "SELECT 2;", pos: "2:74"},
			},
		},
		{
			name:  "nested block comment with semicolons",
			input: "-- +goose Up\n/* outer /* inner; */ still; */ SELECT 1;\nSELECT 2;\n",
			want: []stmt{
				{text: "SELECT 1;", pos: "2:33", leading: []string{"/* outer /* inner; */ still; */"}},
				{text: "SELECT 2;", pos: "3:1", leading: []string{}},
			},
		},
		{
			name:  "E strings with doubled and escaped quotes",
			input: "-- +goose Up\nINSERT INTO t VALUES (E'it''s; x', E'\\'; y');\nSELECT 2;\n",
			want: []stmt{
				{text: "INSERT INTO t VALUES (E'it''s; x', E'\\'; y');", pos: "2:1", block: true},
				{text: "SELECT 2;", pos: "3:1"},
			},
		},
		{
			name:  "plain string and quoted identifier with semicolons",
			input: "-- +goose Up\nSELECT 'a;b' AS \"x;y\"; SELECT 3;\n",
			want: []stmt{
				{text: "SELECT 'a;b' AS \"x;y\";", pos: "2:1", block: true},
				{text: "SELECT 3;", pos: "2:24"},
			},
		},
		{
			name:  "semicolon in a line comment inside a statement",
			input: "-- +goose Up\nCREATE TABLE t (\n  id int -- the id; really\n);\n",
			want: []stmt{
				{text: "CREATE TABLE t (\n  id int -- the id; really\n);", pos: "2:1", block: true},
			},
		},
		{
			name: "StatementBegin and StatementEnd",
			input: "-- +goose Up\n" +
				"-- +goose StatementBegin\n" +
				"CREATE VIEW v AS SELECT 1;\n" +
				"-- +goose StatementEnd\n" +
				"SELECT 2;\n",
			want: []stmt{
				{text: "CREATE VIEW v AS SELECT 1;", pos: "3:1", block: true, leading: []string{}},
				{text: "SELECT 2;", pos: "5:1", block: false, leading: []string{}},
			},
		},
		{
			name: "two statements in one block",
			input: "-- +goose Up\n" +
				"-- +goose StatementBegin\n" +
				"SELECT 1;\n" +
				"SELECT 2;\n" +
				"-- +goose StatementEnd\n",
			want: []stmt{
				{text: "SELECT 1;", pos: "3:1", block: true},
				{text: "SELECT 2;", pos: "4:1", block: true},
			},
		},
		{
			name: "annotations are case-insensitive, as in goose",
			input: "-- +goose up\n" +
				"--+goose statementbegin\n" +
				"SELECT 1;\n" +
				"-- +goose STATEMENTEND\n" +
				"-- +goose down\n" +
				"SELECT 2;\n",
			want: []stmt{
				{text: "SELECT 1;", pos: "3:1", block: true},
				{text: "SELECT 2;", pos: "6:1", section: down},
			},
		},
		{
			name:  "NO TRANSACTION",
			input: "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
			noTx:  true,
			want:  []stmt{{text: "CREATE INDEX CONCURRENTLY i ON t (a);", pos: "3:1", leading: []string{}}},
		},
		{
			name: "leading comments kept, annotations and markers left out",
			input: "-- +goose Up\n" +
				"-- tenantgen:shared\n" +
				"-- plans are global\n" +
				"/* billing */\n" +
				"CREATE TABLE plans (id int);\n" +
				"\n" +
				"-- one\n" +
				"-- +goose StatementBegin\n" +
				"-- two\n" +
				"SELECT 1;\n" +
				"-- +goose StatementEnd\n",
			want: []stmt{
				{text: "CREATE TABLE plans (id int);", pos: "5:1", marker: "shared", leading: []string{"-- plans are global", "/* billing */"}},
				{text: "SELECT 1;", pos: "10:1", marker: "shared", block: true, leading: []string{"-- one", "-- two"}},
			},
		},
		{
			name:  "a comment inside a statement stays in it",
			input: "-- +goose Up\nSELECT 1 /* inside */ ;\nSELECT 2 -- two\n;\nSELECT 3;\n",
			want: []stmt{
				{text: "SELECT 1 /* inside */ ;", pos: "2:1", leading: []string{}},
				{text: "SELECT 2 -- two\n;", pos: "3:1", leading: []string{}},
				{text: "SELECT 3;", pos: "5:1", leading: []string{}},
			},
		},
		{
			name:  "comments before the Up annotation lead the first statement",
			input: "-- Copyright header\n\n-- +goose Up\nSELECT 1;\n",
			want:  []stmt{{text: "SELECT 1;", pos: "4:1", leading: []string{"-- Copyright header"}}},
		},
		{
			name: "sections and markers, reset at Down",
			input: "-- +goose Up\n" +
				"SELECT 0;\n" +
				"-- tenantgen:tenant\n" +
				"CREATE TABLE t (id int);\n" +
				"CREATE INDEX ON t (id);\n" +
				"-- tenantgen:shared\n" +
				"CREATE TABLE s (id int);\n" +
				"\n" +
				"-- +goose Down\n" +
				"DROP TABLE s;\n" +
				"-- tenantgen:tenant\n" +
				"DROP TABLE t;\n",
			want: []stmt{
				{text: "SELECT 0;", pos: "2:1"},
				{text: "CREATE TABLE t (id int);", pos: "4:1", marker: "tenant"},
				{text: "CREATE INDEX ON t (id);", pos: "5:1", marker: "tenant"},
				{text: "CREATE TABLE s (id int);", pos: "7:1", marker: "shared"},
				{text: "DROP TABLE s;", pos: "10:1", section: down},
				{text: "DROP TABLE t;", pos: "12:1", section: down, marker: "tenant"},
			},
		},
		{
			name: "marker just before Down does not leak into it",
			input: "-- +goose Up\n" +
				"SELECT 1;\n" +
				"-- tenantgen:tenant\n" +
				"-- +goose Down\n" +
				"SELECT 2;\n",
			want: []stmt{
				{text: "SELECT 1;", pos: "2:1"},
				{text: "SELECT 2;", pos: "5:1", section: down},
			},
		},
		{
			name:  "marker spellings",
			input: "-- +goose Up\n--tenantgen:tenant\nSELECT 1;\n--   tenantgen: shared   \nSELECT 2;\n\t-- tenantgen:tenant\nSELECT 3;\n",
			want: []stmt{
				{text: "SELECT 1;", pos: "3:1", marker: "tenant"},
				{text: "SELECT 2;", pos: "5:1", marker: "shared"},
				{text: "SELECT 3;", pos: "7:1", marker: "tenant"},
			},
		},
		{
			name:  "marker on a statement's line applies to the next one",
			input: "-- +goose Up\nSELECT 1; -- tenantgen:tenant\nSELECT 2;\n",
			want: []stmt{
				{text: "SELECT 1;", pos: "2:1"},
				{text: "SELECT 2;", pos: "3:1", marker: "tenant"},
			},
		},
		{
			name:  "columns count bytes",
			input: "-- +goose Up\nSELECT 'é'; SELECT 2;\n",
			want: []stmt{
				{text: "SELECT 'é';", pos: "2:1"},
				{text: "SELECT 2;", pos: "2:14"},
			},
		},
		{
			name:  "last statement without a semicolon",
			input: "-- +goose Up\nSELECT 1;\nSELECT 2\n-- the end\n",
			want: []stmt{
				{text: "SELECT 1;", pos: "2:1"},
				{text: "SELECT 2;", pos: "3:1"},
			},
		},
		{
			name:  "empty statements are skipped",
			input: "-- +goose Up\n;;\nSELECT 1;;SELECT 2;\n;\n",
			want: []stmt{
				{text: "SELECT 1;", pos: "3:1"},
				{text: "SELECT 2;", pos: "3:11"},
			},
		},
		{
			name:  "CRLF line endings",
			input: "-- +goose Up\r\n-- tenantgen:shared\r\nSELECT 1;\r\n-- +goose Down\r\nSELECT 2;\r\n",
			want: []stmt{
				{text: "SELECT 1;", pos: "3:1", marker: "shared"},
				{text: "SELECT 2;", pos: "5:1", section: down},
			},
		},
		{
			name:  "only an Up annotation",
			input: "-- +goose Up\n",
			want:  nil,
		},
		{
			name:  "Down section only holds comments",
			input: "-- +goose Up\nSELECT 1;\n-- +goose Down\n-- nothing to undo\n",
			want:  []stmt{{text: "SELECT 1;", pos: "2:1", section: up}},
		},
		{
			name:  "goose words inside bodies and strings are not annotations",
			input: "-- +goose Up\nSELECT '\n-- +goose Down\n', $$\n-- tenantgen:tenant\n$$;\nSELECT 2;\n",
			want: []stmt{
				{text: "SELECT '\n-- +goose Down\n', $$\n-- tenantgen:tenant\n$$;", pos: "2:1"},
				{text: "SELECT 2;", pos: "7:1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseOK(t, fileName, tt.input)
			if f.NoTransaction != tt.noTx {
				t.Errorf("NoTransaction = %v, want %v", f.NoTransaction, tt.noTx)
			}
			if f.Version != 1 || f.Base != fileName || f.Path != fileName {
				t.Errorf("Version %d Base %q Path %q", f.Version, f.Base, f.Path)
			}
			checkStatements(t, f, tt.want)
		})
	}
}

func TestParsePathAndVersion(t *testing.T) {
	f := parseOK(t, "db/schema/20240102030405_init.sql", "-- +goose Up\nSELECT 1;\n")
	if f.Version != 20240102030405 || f.Base != "20240102030405_init.sql" || f.Path != "db/schema/20240102030405_init.sql" {
		t.Errorf("Version %d Base %q Path %q", f.Version, f.Base, f.Path)
	}
	if got := f.Statements[0].Pos.String(); got != "db/schema/20240102030405_init.sql:2:1" {
		t.Errorf("pos %s", got)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		base string
		v    int64
		ok   bool
	}{
		{"00001_init.sql", 1, true},
		{"1_init.sql", 1, true},
		{"20240102030405_add_tasks.sql", 20240102030405, true},
		{"00000_init.sql", 0, false},
		{"init.sql", 0, false},
		{"00001.sql", 0, false},
		{"00001_init.txt", 0, false},
		{"00001_init.sql.bak", 0, false},
		{"v1_init.sql", 0, false},
		{"99999999999999999999_init.sql", 0, false},
	}
	for _, tt := range tests {
		v, ok := migfile.ParseVersion(tt.base)
		if v != tt.v || ok != tt.ok {
			t.Errorf("ParseVersion(%q) = %d, %v; want %d, %v", tt.base, v, ok, tt.v, tt.ok)
		}
	}
}

func TestScopeString(t *testing.T) {
	for sc, want := range map[migfile.Scope]string{migfile.Unknown: "unknown", migfile.Shared: "shared", migfile.Tenant: "tenant"} {
		if sc.String() != want {
			t.Errorf("%d.String() = %q", sc, sc.String())
		}
	}
	if migfile.Up.String() != "Up" || migfile.Down.String() != "Down" {
		t.Errorf("Section strings %s %s", migfile.Up, migfile.Down)
	}
}

// wantDiag is an expected diagnostic: its exact position and a phrase of its
// message (and, when set, of its hint).
type wantDiag struct {
	pos, msg, hint string
}

func checkDiags(t *testing.T, diags diag.List, want []wantDiag) {
	t.Helper()
	var sorted diag.List
	if err := diags.Err(); err != nil {
		sorted = err.(diag.List)
	}
	if len(sorted) != len(want) {
		t.Fatalf("got %d diagnostics, want %d:\n%v", len(sorted), len(want), sorted)
	}
	for i, w := range want {
		d := sorted[i]
		if d.Pos.String() != w.pos {
			t.Errorf("diagnostic %d: pos %s, want %s (%s)", i, d.Pos, w.pos, d.Msg)
		}
		if !strings.Contains(d.Msg, w.msg) {
			t.Errorf("diagnostic %d: message %q does not contain %q", i, d.Msg, w.msg)
		}
		if w.hint != "" && !strings.Contains(d.Hint, w.hint) {
			t.Errorf("diagnostic %d: hint %q does not contain %q", i, d.Hint, w.hint)
		}
		if d.Hint == "" && w.hint != "" {
			t.Errorf("diagnostic %d has no hint", i)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const f = fileName
	tests := []struct {
		name    string
		file    string // defaults to fileName
		input   string
		want    []wantDiag
		nilFile bool
	}{
		{
			name:    "no version in the file name",
			file:    "init.sql",
			input:   "-- +goose Up\nSELECT 1;\n",
			want:    []wantDiag{{"init.sql", "no goose version prefix", "00001_create_tasks.sql"}},
			nilFile: true,
		},
		{
			name:    "invalid UTF-8",
			input:   "-- +goose Up\nSELECT '\xff';\n",
			want:    []wantDiag{{f + ":2:9", "invalid UTF-8", "UTF-8"}},
			nilFile: true,
		},
		{
			name:    "NUL byte",
			input:   "-- +goose Up\nSELECT 1;\x00\n",
			want:    []wantDiag{{f + ":2:10", "NUL byte", ""}},
			nilFile: true,
		},
		{
			name:    "unterminated string",
			input:   "-- +goose Up\nSELECT 1;\nSELECT 'abc;\n",
			want:    []wantDiag{{f + ":3:8", "unterminated quoted string", "PostgreSQL's own parser"}},
			nilFile: true,
		},
		{
			name:    "unterminated dollar quote",
			input:   "-- +goose Up\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $$;\n",
			want:    []wantDiag{{f + ":2:36", "unterminated dollar-quoted string", ""}},
			nilFile: true,
		},
		{
			name:    "unterminated nested comment",
			input:   "-- +goose Up\nSELECT 1; /* a /* b */\n",
			want:    []wantDiag{{f + ":2:11", "unterminated /* comment", ""}},
			nilFile: true,
		},
		{
			name:    "syntax error after multibyte text, column in bytes",
			input:   "-- +goose Up\nSELECT 'é' + ) ;\n",
			want:    []wantDiag{{f + ":2:15", `syntax error at or near ")"`, ""}},
			nilFile: true,
		},
		{
			name:    "missing semicolon before Down",
			input:   "-- +goose Up\nCREATE TABLE t (id int)\n-- +goose Down\nDROP TABLE t;\n",
			want:    []wantDiag{{f + ":4:1", `syntax error at or near "DROP"`, ""}},
			nilFile: true,
		},
		{
			name:    "no Up annotation",
			input:   "SELECT 1;\n",
			want:    []wantDiag{{f + ":1:1", "no -- +goose Up annotation", "start the file with -- +goose Up"}},
			nilFile: true,
		},
		{
			name:    "empty file",
			input:   "",
			want:    []wantDiag{{f + ":1:1", "no -- +goose Up annotation", ""}},
			nilFile: true,
		},
		{
			name:  "Down before Up",
			input: "-- +goose Down\nDROP TABLE t;\n-- +goose Up\nCREATE TABLE t (id int);\n",
			want: []wantDiag{
				{f + ":1:1", "-- +goose Down without a preceding -- +goose Up", "add -- +goose Up before it"},
				{f + ":3:1", "-- +goose Up after -- +goose Down", "Up section before the Down section"},
			},
		},
		{
			name:    "only Down",
			input:   "-- +goose Down\nDROP TABLE t;\n",
			nilFile: true,
			want: []wantDiag{
				{f + ":1:1", "-- +goose Down without a preceding -- +goose Up", ""},
				{f + ":1:1", "no -- +goose Up annotation", ""},
			},
		},
		{
			name:  "two Up and two Down",
			input: "-- +goose Up\nSELECT 1;\n-- +goose Up\n-- +goose Down\nSELECT 2;\n-- +goose Down\n",
			want: []wantDiag{
				{f + ":3:1", "second -- +goose Up annotation", "one Up section"},
				{f + ":6:1", "second -- +goose Down annotation", "one Down section"},
			},
		},
		{
			name:  "unknown goose annotation",
			input: "-- +goose Up\n-- +goose Foo\nSELECT 1;\n  -- +goose StatementBegin please\n",
			want: []wantDiag{
				{f + ":2:1", `unknown goose annotation "-- +goose Foo"`, "goose knows Up, Down"},
				{f + ":4:3", `unknown goose annotation "-- +goose StatementBegin please"`, ""},
			},
		},
		{
			name:  "comment mentioning +goose is read by goose as an annotation",
			input: "-- +goose Up\n-- see the +goose docs\nSELECT 1;\n",
			want:  []wantDiag{{f + ":2:1", `malformed goose annotation "-- see the +goose docs"`, "goose annotations read"}},
		},
		{
			name:  "ENVSUB",
			input: "-- +goose Up\n-- +goose ENVSUB ON\nSELECT '${X}';\n-- +goose ENVSUB OFF\n",
			want: []wantDiag{
				{f + ":2:1", "-- +goose ENVSUB is not supported", "substitute variables"},
				{f + ":4:1", "-- +goose ENVSUB is not supported", ""},
			},
		},
		{
			name:  "StatementBegin without End",
			input: "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n",
			want:  []wantDiag{{f + ":2:1", "-- +goose StatementBegin is never closed", "close it with -- +goose StatementEnd"}},
		},
		{
			name:  "StatementBegin not closed before Down",
			input: "-- +goose Up\nSELECT 1;\n-- +goose StatementBegin\nSELECT 2;\n-- +goose Down\nSELECT 3;\n",
			want:  []wantDiag{{f + ":3:1", "is not closed before -- +goose Down", "StatementEnd"}},
		},
		{
			name:  "StatementEnd without Begin",
			input: "-- +goose Up\nSELECT 1;\n-- +goose StatementEnd\n",
			want:  []wantDiag{{f + ":3:1", "-- +goose StatementEnd without StatementBegin", "open the block"}},
		},
		{
			name:  "nested StatementBegin",
			input: "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n-- +goose StatementBegin\nSELECT 2;\n-- +goose StatementEnd\n",
			want:  []wantDiag{{f + ":4:1", "nested -- +goose StatementBegin", "close the previous block"}},
		},
		{
			name:  "misspelt marker",
			input: "-- +goose Up\n-- tenantgen:tenat\nSELECT 1;\n",
			want:  []wantDiag{{f + ":2:1", `unknown tenantgen marker "tenat"`, `did you mean "tenant"?`}},
		},
		{
			name:  "marker in the wrong case",
			input: "-- +goose Up\n  -- tenantgen:Shared\nSELECT 1;\n",
			want:  []wantDiag{{f + ":2:3", `unknown tenantgen marker "Shared"`, `did you mean "shared"?`}},
		},
		{
			name:  "empty marker",
			input: "-- +goose Up\n-- tenantgen:\nSELECT 1;\n",
			want:  []wantDiag{{f + ":2:1", `unknown tenantgen marker ""`, "write -- tenantgen:shared or -- tenantgen:tenant"}},
		},
		{
			name:  "text after the marker word",
			input: "-- +goose Up\n-- tenantgen:shared because plans are global\nSELECT 1;\n",
			want:  []wantDiag{{f + ":2:1", `unexpected "because plans are global" after -- tenantgen:shared`, "put nothing after the scope word"}},
		},
		{
			name:  "marker in a block comment",
			input: "-- +goose Up\nSELECT 1; /* tenantgen:tenant */\nSELECT 2;\n",
			want:  []wantDiag{{f + ":2:11", `malformed tenantgen marker "/* tenantgen:tenant */"`, "a marker is a line comment of its own"}},
		},
		{
			name: "every error is collected",
			input: "-- +goose Up\n" +
				"-- tenantgen:tenat\n" +
				"SELECT 1;\n" +
				"-- +goose Foo\n" +
				"-- tenantgen:sharde\n" +
				"-- +goose StatementEnd\n" +
				"SELECT 2;\n" +
				"-- +goose StatementBegin\n",
			want: []wantDiag{
				{f + ":2:1", `unknown tenantgen marker "tenat"`, `"tenant"`},
				{f + ":4:1", "unknown goose annotation", ""},
				{f + ":5:1", `unknown tenantgen marker "sharde"`, `"shared"`},
				{f + ":6:1", "StatementEnd without StatementBegin", ""},
				{f + ":8:1", "StatementBegin is never closed", ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.file
			if name == "" {
				name = fileName
			}
			var diags diag.List
			file := migfile.Parse(name, tt.input, &diags)
			if (file == nil) != tt.nilFile {
				t.Errorf("file == nil is %v, want %v", file == nil, tt.nilFile)
			}
			checkDiags(t, diags, tt.want)
		})
	}
}

// A rejected marker is reported and does not replace the marker in force;
// the file is still returned so that later checks can report more.
func TestParseBadMarkerNotInForce(t *testing.T) {
	var diags diag.List
	f := migfile.Parse(fileName, "-- +goose Up\n-- tenantgen:shared\nSELECT 1;\n-- tenantgen:tenat\nSELECT 2;\n", &diags)
	if f == nil || len(diags) != 1 {
		t.Fatalf("file %v, diags %v", f, diags)
	}
	if m := f.Statements[0].Marker; m == nil || m.Scope != migfile.Shared || m.Pos.String() != fileName+":2:1" {
		t.Errorf("first statement marker %+v", m)
	}
	if m := f.Statements[1].Marker; m == nil || m.Scope != migfile.Shared {
		t.Errorf("second statement marker %+v", m)
	}
}

// Diagnostics accumulate in the caller's list across files.
func TestParseAppendsToList(t *testing.T) {
	var diags diag.List
	migfile.Parse("00001_a.sql", "-- +goose Up\n-- +goose Foo\nSELECT 1;\n", &diags)
	migfile.Parse("00002_b.sql", "-- +goose Up\n-- tenantgen:x\nSELECT 1;\n", &diags)
	if len(diags) != 2 || diags[0].Pos.File != "00001_a.sql" || diags[1].Pos.File != "00002_b.sql" {
		t.Fatalf("diags %v", diags)
	}
	err := diags.Err()
	if err == nil || !strings.Contains(err.Error(), "00001_a.sql:2:1: unknown goose annotation") ||
		!strings.Contains(err.Error(), "\n\thint: ") {
		t.Errorf("Err() = %v", err)
	}
}
