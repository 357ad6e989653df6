package migfile_test

import (
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
)

// fuzzSeeds are inputs that have broken SQL splitters before: they are
// added with f.Add, next to the corpus in testdata/fuzz/FuzzParse.
var fuzzSeeds = []string{
	"-- +goose Up\nSELECT 1;\n",
	"-- +goose Up\n-- tenantgen:tenant\nCREATE TABLE t (id int);\n-- +goose Down\nDROP TABLE t;\n",
	"-- +goose Up\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2; $$;\n",
	"-- +goose Up\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT $$;$$; $fn$;\n",
	"-- +goose Up\n/* a /* nested; */ comment; */ SELECT 1;\n",
	"-- +goose Up\nSELECT E'it''s; x', E'\\'; y', 'a'';b';\n",
	"-- +goose Up\n-- +goose StatementBegin\nDO $$ BEGIN PERFORM 1; END $$;\n-- +goose StatementEnd\n",
	"-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
	"-- +goose Up\nSELECT 1 /* before ; */ ;;; SELECT 2 -- tail\n;\n",
	"-- +goose Up\nSELECT 'é'; SELECT \"ß\";\n",
	"-- +goose Up\nSELECT 1\n",
	"-- +goose Up\r\n-- tenantgen:shared\r\nSELECT 1;\r\n",
	"-- +goose Up\nSELECT U&'d\\0061t;a', $a$x$a$;\n",
	"-- +goose Down\n-- +goose Up\nSELECT 1;\n",
	"-- +goose Up\n-- tenantgen:tenat\nSELECT 1;\n",
	"-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		var diags diag.List
		file := migfile.Parse("00001_fuzz.sql", input, &diags)
		if file == nil {
			if len(diags) == 0 {
				t.Fatalf("Parse returned no file and no diagnostic")
			}
			return
		}
		for _, d := range diags {
			if d.Pos.File != "00001_fuzz.sql" {
				t.Errorf("diagnostic %q has file %q", d.Msg, d.Pos.File)
			}
			if d.Pos.Line < 1 || d.Pos.Col < 1 {
				t.Errorf("diagnostic %q has no position: %s", d.Msg, d.Pos)
			}
		}
		if len(diags) > 0 {
			return
		}
		prev, section := -1, migfile.Up
		for i, st := range file.Statements {
			if !strings.HasSuffix(st.Text, ";") {
				t.Fatalf("statement %d does not end with a semicolon: %q", i, st.Text)
			}
			body := strings.TrimSuffix(st.Text, ";")
			if body == "" || body != strings.TrimLeft(body, " \t\r\n") {
				t.Fatalf("statement %d does not start at a token: %q", i, st.Text)
			}
			if !strings.Contains(input, body) {
				t.Fatalf("statement %d text is not in the input: %q", i, st.Text)
			}
			if st.Offset <= prev || !strings.HasPrefix(input[st.Offset:], body) {
				t.Fatalf("statement %d has offset %d, previous %d, text %q", i, st.Offset, prev, st.Text)
			}
			prev = st.Offset
			if got := file.Source.Pos(st.Offset); got != st.Pos {
				t.Fatalf("statement %d: Pos %s, offset gives %s", i, st.Pos, got)
			}
			if st.Section < section {
				t.Fatalf("statement %d is in Up after a Down statement", i)
			}
			section = st.Section
			if !st.Block && strings.Contains(body, ";") {
				t.Fatalf("statement %d holds a semicolon but is not a Block: %q", i, st.Text)
			}
			// Each piece must be exactly one statement for PostgreSQL too.
			tree, err := pg_query.Parse(st.Text)
			if err != nil {
				t.Fatalf("statement %d does not parse alone: %v\n%s", i, err, st.Text)
			}
			if len(tree.Stmts) != 1 {
				t.Fatalf("statement %d is %d statements: %q", i, len(tree.Stmts), st.Text)
			}
		}
	})
}

// FuzzMarker checks marker comments: whatever follows "-- tenantgen:",
// Parse either accepts it as one of the two scopes or reports it, and never
// panics.
func FuzzMarker(f *testing.F) {
	for _, s := range []string{"shared", "tenant", "tenat", "Shared", "", " tenant", "tenant extra", "tenant\t", "shared;", "ténant"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, word string) {
		if strings.ContainsAny(word, "\r\n") {
			return
		}
		input := "-- +goose Up\n-- tenantgen:" + word + "\nSELECT 1;\n"
		var diags diag.List
		file := migfile.Parse("00001_fuzz.sql", input, &diags)
		if file == nil {
			return // not UTF-8, or a NUL byte
		}
		w := strings.Trim(word, " \t\f") // what the marker regexp calls space
		if w == "shared" || w == "tenant" {
			if len(diags) != 0 {
				t.Fatalf("marker %q: unexpected %v", word, diags)
			}
			if st := file.Statements[0]; st.Marker == nil || st.Marker.Scope.String() != w {
				t.Fatalf("marker %q not in force on the statement", word)
			}
			return
		}
		if len(diags) == 0 {
			t.Fatalf("marker %q accepted without a diagnostic", word)
		}
		if st := file.Statements[0]; st.Marker != nil {
			t.Fatalf("rejected marker %q is in force", word)
		}
	})
}
