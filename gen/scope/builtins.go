package scope

//go:generate sh mkbuiltins.sh

import (
	"strings"
	"sync"
)

// signature is one routine's IN arguments, as overload resolution sees them.
type signature struct {
	schema   string // "" for public, else as written; "pg_catalog" for built-ins
	scope    Scope
	name     string
	args     []string // type names as pg_type spells them: int4, _text, tasks
	defaults int      // how many trailing args have defaults
	variadic bool     // the last arg is VARIADIC (an array)
}

// accepts reports whether a call with n positional arguments can be this
// routine, by count alone.
func (s *signature) accepts(n int) bool {
	min := len(s.args) - s.defaults
	if s.variadic {
		return n >= min-1
	}
	return n >= min && n <= len(s.args)
}

// param is the type the i-th argument of a call is passed as.
func (s *signature) param(i int) string {
	if s.variadic && i >= len(s.args)-1 {
		return strings.TrimPrefix(s.args[len(s.args)-1], "_")
	}
	if i < len(s.args) {
		return s.args[i]
	}
	return ""
}

// regArg says that argument index of a built-in called with nargs
// arguments is a name PostgreSQL looks up through search_path when given as
// text, and what kind of name it is.
type regArg struct {
	name  string
	nargs int
	index int
}

type builtinTables struct {
	funcs   map[string][]*signature
	regArgs map[regArg]string // -> regclass, regtype, regproc, regprocedure
	rels    map[string]bool
	ops     map[string]bool
}

var (
	builtinsOnce sync.Once
	builtinsData builtinTables
)

// builtins returns the pg_catalog tables of builtins_gen.go, parsed once.
func builtins() *builtinTables {
	builtinsOnce.Do(func() {
		b := &builtinsData
		b.funcs = map[string][]*signature{}
		for _, line := range strings.Split(strings.TrimSpace(builtinFuncs), "\n") {
			f := strings.Split(line, "|")
			s := &signature{schema: "pg_catalog", scope: Shared, name: f[0], defaults: atoi(f[1]), variadic: f[2] == "t"}
			if f[4] != "" {
				s.args = strings.Split(f[4], ",")
			}
			b.funcs[s.name] = append(b.funcs[s.name], s)
		}
		b.regArgs = map[regArg]string{}
		for _, line := range strings.Split(strings.TrimSpace(builtinRegArgs), "\n") {
			f := strings.Split(line, "|")
			b.regArgs[regArg{f[0], atoi(f[1]), atoi(f[2])}] = f[3]
		}
		// Built-ins that take a name as text and resolve it like the reg*
		// input functions do (pg_proc cannot tell these text args apart).
		for _, t := range textNameArgs {
			b.regArgs[t.arg] = t.kind
		}
		b.ops = map[string]bool{}
		for _, o := range strings.Fields(builtinOps) {
			b.ops[o] = true
		}
		b.rels = map[string]bool{}
		for _, r := range strings.Fields(builtinRels) {
			b.rels[r] = true
		}
	})
	return &builtinsData
}

var textNameArgs = []struct {
	arg  regArg
	kind string
}{
	{regArg{"to_regclass", 1, 0}, "regclass"},
	{regArg{"to_regtype", 1, 0}, "regtype"},
	{regArg{"to_regtypemod", 1, 0}, "regtype"},
	{regArg{"to_regproc", 1, 0}, "regproc"},
	{regArg{"to_regprocedure", 1, 0}, "regprocedure"},
	{regArg{"pg_get_serial_sequence", 2, 0}, "regclass"},
	{regArg{"has_table_privilege", 2, 0}, "regclass"},
	{regArg{"has_table_privilege", 3, 1}, "regclass"},
	{regArg{"has_sequence_privilege", 2, 0}, "regclass"},
	{regArg{"has_sequence_privilege", 3, 1}, "regclass"},
	{regArg{"has_any_column_privilege", 2, 0}, "regclass"},
	{regArg{"has_any_column_privilege", 3, 1}, "regclass"},
	{regArg{"has_column_privilege", 3, 0}, "regclass"},
	{regArg{"has_column_privilege", 4, 1}, "regclass"},
	{regArg{"has_function_privilege", 2, 0}, "regprocedure"},
	{regArg{"has_function_privilege", 3, 1}, "regprocedure"},
	{regArg{"has_type_privilege", 2, 0}, "regtype"},
	{regArg{"has_type_privilege", 3, 1}, "regtype"},
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
