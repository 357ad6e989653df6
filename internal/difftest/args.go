package difftest

import (
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// argGen builds one variant of a method's arguments by reflection. The
// variants match what Seed wrote, so that reads find rows:
//
//	0: ids 1, strings the tenant's name (the first seeded row)
//	1: ids 2, strings "<tenant>-2" (the second), NULL where NULL is possible
//	2: fresh ids and strings, found nowhere, so that inserts succeed
//	3: ids 1, strings "shared" (the first seeded row of a shared table)
//	4: ids 3 (the third row, referenced by nothing else), fresh strings, so
//	   that inserts referencing existing rows pass unique constraints
type argGen struct {
	variant int
	tenant  string
	info    *Info
	fresh   *int
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	numericType = reflect.TypeFor[pgtype.Numeric]()
	bigIntType  = reflect.TypeFor[*big.Int]()
)

// fixedTime is the time every time argument gets: values must not depend on
// when the test runs.
var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func (g *argGen) next() int {
	*g.fresh++
	return *g.fresh
}

// str is the variant's string; field names the struct field it is for
// ("" for a positional argument).
func (g *argGen) str(field string) string {
	if strings.EqualFold(field, "tenant") {
		return g.tenant
	}
	switch g.variant {
	case 0:
		return g.tenant
	case 1:
		return g.tenant + "-2"
	case 3:
		return "shared"
	default:
		return fmt.Sprintf("%s-new-%d", g.tenant, g.next())
	}
}

func (g *argGen) int() int64 {
	switch g.variant {
	case 1:
		return 2
	case 2:
		return int64(100000 + g.next())
	case 4:
		return 3
	default:
		return 1
	}
}

// null reports whether the variant passes NULL where a type allows it.
func (g *argGen) null() bool { return g.variant == 1 }

func (g *argGen) value(t reflect.Type, field string) reflect.Value {
	v := reflect.New(t).Elem()
	g.fill(v, field)
	return v
}

func (g *argGen) fill(v reflect.Value, field string) {
	t := v.Type()
	switch {
	case t == timeType:
		v.Set(reflect.ValueOf(fixedTime))
		return
	case t == numericType:
		v.Set(reflect.ValueOf(pgtype.Numeric{Int: big.NewInt(g.int()), Valid: !g.null()}))
		return
	case t == bigIntType:
		v.Set(reflect.ValueOf(big.NewInt(g.int())))
		return
	}
	switch t.Kind() {
	case reflect.String:
		if labels, ok := g.info.enumLabels(t); ok {
			v.SetString(labels[g.variant%len(labels)])
			return
		}
		v.SetString(g.str(field))
	case reflect.Bool:
		v.SetBool(g.variant != 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := g.int()
		if v.OverflowInt(n) {
			n = 1
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(g.int()))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(g.int()) + 0.5)
	case reflect.Slice, reflect.Array:
		g.fillList(v, field)
	case reflect.Pointer:
		if g.null() {
			return
		}
		p := reflect.New(t.Elem())
		g.fill(p.Elem(), field)
		v.Set(p)
	case reflect.Interface:
		if t.NumMethod() == 0 {
			v.Set(reflect.ValueOf(g.str(field)))
		}
	case reflect.Struct:
		g.fillStruct(v)
	}
}

// fillList fills a slice with two values, []byte with JSON (which json,
// jsonb and bytea all take), and a byte array (pgtype.UUID's Bytes) with
// bytes distinct per call.
func (g *argGen) fillList(v reflect.Value, field string) {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		v.SetBytes([]byte(fmt.Sprintf(`{"tenant": %q}`, g.str(field))))
	case t.Kind() == reflect.Slice:
		s := reflect.MakeSlice(t, 2, 2)
		for i := 0; i < 2; i++ {
			g.fill(s.Index(i), field)
		}
		v.Set(s)
	case t.Elem().Kind() == reflect.Uint8:
		n := g.next()
		for i := 0; i < v.Len(); i++ {
			v.Index(i).SetUint(uint64(byte(n >> (8 * (i % 4)))))
		}
	}
}

// fillStruct fills a params struct field by field, and a nullable wrapper
// (pgtype.Text, sqlc's NullX enums: a struct with a Valid field) with a
// value and Valid, or leaves it NULL.
func (g *argGen) fillStruct(v reflect.Value) {
	t := v.Type()
	_, nullable := t.FieldByName("Valid")
	if nullable && g.null() {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		switch {
		case nullable && f.Name == "Valid":
			v.Field(i).SetBool(true)
		case nullable && (f.Name == "InfinityModifier" || f.Name == "NaN" || f.Name == "Exp"):
			// finite, a number, no scaling: leave zero.
		default:
			g.fill(v.Field(i), f.Name)
		}
	}
}

// enumLabels returns the labels of the enum a generated Go type stands for
// (sqlc names TaskStatus after task_status), when it is one.
func (i *Info) enumLabels(t reflect.Type) ([]string, bool) {
	if t.PkgPath() == "" || t.Name() == "" {
		return nil, false
	}
	labels, ok := i.Enums[normalizeTypeName(t.Name())]
	return labels, ok && len(labels) > 0
}

func normalizeTypeName(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}
