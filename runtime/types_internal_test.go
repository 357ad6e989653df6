package runtime

import (
	"database/sql"
	"errors"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

type status string

func TestTextArrayEncode(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string
		null bool
	}{
		{"enum values", []status{"todo", "done"}, `{"todo","done"}`, false},
		{"empty", []status{}, `{}`, false},
		{"nil is NULL", []status(nil), ``, true},
		{"quotes and backslashes", []string{`a"b`, `c\d`}, `{"a\"b","c\\d"}`, false},
		{"delimiters and the word NULL stay values", []string{"a,b", "{x}", "NULL", " sp "}, `{"a,b","{x}","NULL"," sp "}`, false},
		{"interface elements", []any{1, "x", nil, true, 2.5}, `{"1","x",NULL,"true","2.5"}`, false},
		{"valuers", []sql.NullString{{String: "(1,a)", Valid: true}, {}}, `{"(1,a)",NULL}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			txt, err := textArray{v: reflect.ValueOf(tc.in)}.TextValue()
			if err != nil {
				t.Fatal(err)
			}
			if txt.Valid == tc.null || txt.String != tc.want {
				t.Fatalf("got %q (valid %v), want %q (null %v)", txt.String, txt.Valid, tc.want, tc.null)
			}
		})
	}
	if _, err := (textArray{v: reflect.ValueOf([]any{struct{}{}})}).TextValue(); err == nil {
		t.Fatal("a struct element was sent as text")
	}
}

func TestParseTextArray(t *testing.T) {
	for _, tc := range []struct {
		in    string
		elems []string
		nulls []bool
		err   bool
	}{
		{in: `{}`, elems: []string{}, nulls: []bool{}},
		{in: `{todo,done}`, elems: []string{"todo", "done"}, nulls: []bool{false, false}},
		{in: `{"a,b","c\"d","e\\f",NULL,null,"NULL"}`, elems: []string{"a,b", `c"d`, `e\f`, "NULL", "null", "NULL"}, nulls: []bool{false, false, false, true, true, false}},
		{in: `{"(1,\"x y\")","(2,z)"}`, elems: []string{`(1,"x y")`, "(2,z)"}, nulls: []bool{false, false}},
		{in: `{{a},{b}}`, err: true},
		{in: `[0:1]={a,b}`, err: true},
		{in: `{a,,b}`, err: true},
		{in: `{a,}`, err: true},
		{in: `{"a}`, err: true},
		{in: `{"a"b}`, err: true},
		{in: `{a"b}`, err: true},
		{in: ``, err: true},
	} {
		elems, nulls, err := parseTextArray(tc.in)
		switch {
		case tc.err && err == nil:
			t.Errorf("%s: parsed as %q %v", tc.in, elems, nulls)
		case tc.err && !errors.Is(err, errArrayLiteral):
			t.Errorf("%s: error %v does not wrap errArrayLiteral", tc.in, err)
		case !tc.err && (err != nil || !reflect.DeepEqual(elems, tc.elems) || !reflect.DeepEqual(nulls, tc.nulls)):
			t.Errorf("%s: got %q %v %v, want %q %v", tc.in, elems, nulls, err, tc.elems, tc.nulls)
		}
	}
}

// TestTextArrayRoundTrip: what the encoder writes, the scanner reads back.
func TestTextArrayRoundTrip(t *testing.T) {
	in := []status{"a", `b"`, `c\`, "d,e", "NULL", "", "{f}"}
	txt, err := textArray{v: reflect.ValueOf(in)}.TextValue()
	if err != nil {
		t.Fatal(err)
	}
	var out []status
	if err := (&textArrayScanner{dst: reflect.ValueOf(&out).Elem()}).ScanText(txt); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip: %q became %q", in, out)
	}
	var anys []any
	if err := (&textArrayScanner{dst: reflect.ValueOf(&anys).Elem()}).ScanText(pgtype.Text{String: `{1,NULL}`, Valid: true}); err != nil || !reflect.DeepEqual(anys, []any{"1", nil}) {
		t.Fatalf("into []any: %#v %v", anys, err)
	}
	if err := (&textArrayScanner{dst: reflect.ValueOf(&out).Elem()}).ScanText(pgtype.Text{String: `{a,NULL}`, Valid: true}); err == nil {
		t.Fatal("NULL element scanned into a string kind")
	}
	if err := (&textArrayScanner{dst: reflect.ValueOf(&out).Elem()}).ScanText(pgtype.Text{}); err != nil || out != nil {
		t.Fatalf("NULL array: %q %v", out, err)
	}
}

// TestTypeFallbacksOnlyWherePgxFails: the wrappers never change how a value
// pgx can send is sent, or how a type it knows is read, and installing them
// twice adds them once.
func TestTypeFallbacksOnlyWherePgxFails(t *testing.T) {
	m := pgtype.NewMap()
	installTypeFallbacks(m)
	installTypeFallbacks(m)
	n := len(pgtype.NewMap().TryWrapEncodePlanFuncs)
	if len(m.TryWrapEncodePlanFuncs) != n+1 {
		t.Fatalf("%d encode wrappers, want %d", len(m.TryWrapEncodePlanFuncs), n+1)
	}
	plain := pgtype.NewMap()
	for _, v := range []any{[]string{"a", "b"}, []int32{1, 2}, []status{"x"}} {
		for _, format := range []int16{pgtype.TextFormatCode, pgtype.BinaryFormatCode} {
			want, err1 := plain.Encode(pgtype.TextArrayOID, format, v, nil)
			if err1 != nil {
				continue // pgx cannot: the fallback may
			}
			got, err2 := m.Encode(pgtype.TextArrayOID, format, v, nil)
			if err2 != nil || string(want) != string(got) {
				t.Fatalf("%T format %d: %q %v, without the fallbacks %q %v", v, format, got, err2, want, err1)
			}
		}
	}
	const unknownOID = 999999
	if _, err := plain.Encode(unknownOID, pgtype.TextFormatCode, []status{"x"}, nil); err == nil {
		t.Fatal("pgx encodes arrays of unknown types now: the fallback may be obsolete")
	}
	got, err := m.Encode(unknownOID, pgtype.TextFormatCode, []status{"x"}, nil)
	if err != nil || string(got) != `{"x"}` {
		t.Fatalf("unknown OID: %q %v", got, err)
	}
	var out []status
	if err := m.Scan(unknownOID, pgtype.TextFormatCode, []byte(`{x,y}`), &out); err != nil || !reflect.DeepEqual(out, []status{"x", "y"}) {
		t.Fatalf("scan unknown OID: %q %v", out, err)
	}
	var texts []string
	if err := m.Scan(pgtype.TextArrayOID, pgtype.TextFormatCode, []byte(`{"a b",c}`), &texts); err != nil || !reflect.DeepEqual(texts, []string{"a b", "c"}) {
		t.Fatalf("scan text[]: %q %v", texts, err)
	}
}
