package runtime

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
)

// Tenant-scoped types (an enum, domain or composite type created by the
// tenant migrations) have a different OID in every tenant schema, so pgx's
// type map never knows them. pgx copes with scalars of such types by
// sending and reading them as text, but not with arrays of them: it cannot
// encode []TaskStatus for an unknown OID ("cannot find encode plan") nor
// scan one ("cannot scan unknown type (OID ...)").
//
// Registering each tenant's types by OID cannot fix the parameters in the
// exec modes that go through PgBouncer (QueryExecModeExec and
// SimpleProtocol): there pgx never learns a parameter's OID and plans the
// encoding for OID 0. So the runtime teaches every connection's type map the
// one thing that works for every tenant and mode, with no catalog lookup and
// nothing to go stale when a tenant is dropped and recreated: an array
// whose element type pgx does not know is sent and read in PostgreSQL's text
// array format, its elements as text, exactly as pgx already does for the
// scalar elements themselves. The server, which knows the type, parses or
// prints it.
//
// The wrappers run only where pgx would have failed: pgx tries them after
// every codec and after its own wrappers, so no type pgx handles today
// changes representation.

// installTypeFallbacks appends the text-array wrappers to m, once.
func installTypeFallbacks(m *pgtype.Map) {
	if hasFunc(m.TryWrapEncodePlanFuncs, tryTextArrayEncodePlan) {
		return
	}
	m.TryWrapEncodePlanFuncs = append(m.TryWrapEncodePlanFuncs, tryTextArrayEncodePlan)
	m.TryWrapScanPlanFuncs = append(m.TryWrapScanPlanFuncs, tryTextArrayScanPlan)
}

func hasFunc(fs []pgtype.TryWrapEncodePlanFunc, f pgtype.TryWrapEncodePlanFunc) bool {
	want := reflect.ValueOf(f).Pointer()
	for _, g := range fs {
		if reflect.ValueOf(g).Pointer() == want {
			return true
		}
	}
	return false
}

// textElem reports whether values of t can be array elements in text form:
// kinds whose text is unambiguous, driver.Valuers, and interfaces (checked
// per value when encoding).
func textElem(t reflect.Type) bool {
	if t.Implements(valuerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Interface,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

var valuerType = reflect.TypeFor[driver.Valuer]()

// tryTextArrayEncodePlan wraps a slice (not []byte) of text-able elements
// as a pgtype.TextValuer producing an array literal.
func tryTextArrayEncodePlan(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	t := reflect.TypeOf(value)
	if t == nil || t.Kind() != reflect.Slice || t.Elem().Kind() == reflect.Uint8 || !textElem(t.Elem()) {
		return nil, nil, false
	}
	return &textArrayEncodePlan{}, textArray{}, true
}

type textArrayEncodePlan struct{ next pgtype.EncodePlan }

func (p *textArrayEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *textArrayEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(textArray{v: reflect.ValueOf(value)}, buf)
}

// textArray is a slice as a one-dimensional PostgreSQL array literal.
type textArray struct{ v reflect.Value }

func (a textArray) TextValue() (pgtype.Text, error) {
	if !a.v.IsValid() || a.v.IsNil() {
		return pgtype.Text{}, nil
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < a.v.Len(); i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		s, null, err := elemText(a.v.Index(i))
		if err != nil {
			return pgtype.Text{}, fmt.Errorf("array element %d: %w", i, err)
		}
		if null {
			b.WriteString("NULL")
			continue
		}
		quoteArrayElem(&b, s)
	}
	b.WriteByte('}')
	return pgtype.Text{String: b.String(), Valid: true}, nil
}

// elemText is the text form of one element; null reports SQL NULL.
func elemText(v reflect.Value) (s string, null bool, err error) {
	if v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", true, nil
		}
	}
	if vr, ok := v.Interface().(driver.Valuer); ok {
		dv, err := vr.Value()
		if err != nil {
			return "", false, err
		}
		if dv == nil {
			return "", true, nil
		}
		v = reflect.ValueOf(dv)
	}
	if v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), false, nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), false, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), false, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), false, nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits()), false, nil
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 { // a driver.Valuer's []byte
			return string(v.Bytes()), false, nil
		}
	}
	return "", false, fmt.Errorf("cannot send %s as text", v.Type())
}

// quoteArrayElem writes s double-quoted, as array_in reads it: every
// element quoted, so that commas, braces, spaces and the word NULL in a
// value stay the value.
func quoteArrayElem(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// tryTextArrayScanPlan wraps a pointer to a slice of strings (or string
// kinds, such as sqlc's enum types) or of interfaces as a
// pgtype.TextScanner that parses an array literal. Interface elements get
// strings, as pgx scans a scalar of an unknown type into *any.
func tryTextArrayScanPlan(target any) (pgtype.WrappedScanPlanNextSetter, any, bool) {
	t := reflect.TypeOf(target)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Slice {
		return nil, nil, false
	}
	switch e := t.Elem().Elem(); {
	case e.Kind() == reflect.String:
	case e.Kind() == reflect.Interface && e.NumMethod() == 0:
	default:
		return nil, nil, false
	}
	return &textArrayScanPlan{}, &textArrayScanner{}, true
}

type textArrayScanPlan struct{ next pgtype.ScanPlan }

func (p *textArrayScanPlan) SetNext(next pgtype.ScanPlan) { p.next = next }

func (p *textArrayScanPlan) Scan(src []byte, target any) error {
	return p.next.Scan(src, &textArrayScanner{dst: reflect.ValueOf(target).Elem()})
}

// textArrayScanner parses a one-dimensional array literal into dst.
type textArrayScanner struct{ dst reflect.Value }

func (s *textArrayScanner) ScanText(v pgtype.Text) error {
	if !v.Valid {
		s.dst.SetZero()
		return nil
	}
	elems, nulls, err := parseTextArray(v.String)
	if err != nil {
		return err
	}
	et := s.dst.Type().Elem()
	out := reflect.MakeSlice(s.dst.Type(), len(elems), len(elems))
	for i, e := range elems {
		switch {
		case nulls[i] && et.Kind() == reflect.Interface:
			// the zero value: nil
		case nulls[i]:
			return fmt.Errorf("cannot scan NULL array element %d into %s", i, et)
		case et.Kind() == reflect.Interface:
			out.Index(i).Set(reflect.ValueOf(e))
		default:
			out.Index(i).SetString(e)
		}
	}
	s.dst.Set(out)
	return nil
}

var errArrayLiteral = errors.New("malformed array literal")

// parseTextArray splits a one-dimensional array literal as array_out
// prints it: {a,"b c",NULL}. Multi-dimensional arrays and explicit bounds
// are refused rather than misread.
func parseTextArray(s string) (elems []string, nulls []bool, err error) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, nil, fmt.Errorf("%w %q: want {...} (multi-dimensional arrays and explicit bounds are not supported for tenant-scoped types)", errArrayLiteral, truncate(s))
	}
	body := s[1 : len(s)-1]
	elems, nulls = []string{}, []bool{}
	if body == "" {
		return elems, nulls, nil
	}
	for i := 0; ; {
		e, null, n, err := parseArrayElem(body[i:])
		if err != nil {
			return nil, nil, fmt.Errorf("%w %q: %v", errArrayLiteral, truncate(s), err)
		}
		elems, nulls = append(elems, e), append(nulls, null)
		i += n
		if i == len(body) {
			return elems, nulls, nil
		}
		if body[i] != ',' {
			return nil, nil, fmt.Errorf("%w %q: want , at offset %d", errArrayLiteral, truncate(s), i+1)
		}
		i++
	}
}

// parseArrayElem reads one element from the start of s and returns it and
// the bytes it took.
func parseArrayElem(s string) (elem string, null bool, n int, err error) {
	if s == "" || s[0] == ',' {
		return "", false, 0, errors.New("empty element")
	}
	if s[0] == '{' {
		return "", false, 0, errors.New("nested array")
	}
	if s[0] != '"' {
		end := strings.IndexAny(s, ",{}\"\\")
		if end < 0 {
			end = len(s)
		}
		if end < len(s) && s[end] != ',' {
			return "", false, 0, fmt.Errorf("unexpected %q in an unquoted element", s[end])
		}
		e := s[:end]
		return e, strings.EqualFold(e, "NULL"), end, nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
			if i == len(s) {
				return "", false, 0, errors.New("unterminated escape")
			}
			b.WriteByte(s[i])
		case '"':
			return b.String(), false, i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", false, 0, errors.New("unterminated quoted element")
}
