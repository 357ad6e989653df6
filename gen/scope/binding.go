package scope

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/tenantgen/tenantgen/gen/migfile"
)

// A tenant routine with a string body finds its tenant's objects through
// the SET search_path FROM CURRENT clause the tenant migrations give it. A
// procedure that commits or rolls back cannot have a SET clause: PostgreSQL
// then fails its first COMMIT with 2D000 (invalid transaction termination).
// Such a procedure is bound another way, measured on PostgreSQL 15 to keep
// COMMIT and ROLLBACK working and to leave the caller's search_path as it was:
// its body sets search_path itself, transaction-locally (set_config(...,
// true)), when it starts and again after every COMMIT and ROLLBACK, which end
// the transaction the setting belonged to. The path is the migration's, the
// tenant's, fixed when the migration creates the procedure: a DO block
// substitutes it into the procedure's text and creates it with EXECUTE.
//
// What this cannot cover is rejected: names in variable declarations
// (resolved when the procedure is first called in a session, before its body
// runs) and COMMIT/ROLLBACK that cannot be found in the body's tokens.

// pathToken stands for the migration's search_path in the procedure's text
// until the DO block replaces it.
const pathToken = "$tenantgen_search_path$"

// bindTransactional returns the statement a tenant migration runs instead
// of st, a CREATE PROCEDURE whose plpgsql body commits or rolls back.
func (a *analyser) bindTransactional(st *migfile.Statement, b body) (string, error) {
	for _, r := range b.decl {
		if o := a.lookup(r); o != nil && o.Scope == Tenant {
			return "", fmt.Errorf("its DECLARE section names tenant %s %s, which PostgreSQL resolves before the body can set the tenant's search_path: "+
				"declare the variable as record (or of a shared type) and assign it in the body", o.Kind, o.Name)
		}
	}
	if strings.Contains(st.Text, pathToken) {
		return "", errors.New("its text contains " + pathToken + ", which tenantgen uses itself")
	}
	at, err := setPoints(b.text, len(b.control))
	if err != nil {
		return "", err
	}
	set := " PERFORM pg_catalog.set_config('search_path', " + pathToken + ", true);"
	text := b.text
	for _, off := range at { // from the end, so that offsets stay valid
		text = text[:off] + set + text[off:]
	}
	create := strings.TrimSuffix(strings.TrimSpace(st.Text[:b.lit.tokStart]+dollarQuote(text)+st.Text[b.lit.tokEnd:]), ";")
	ddl := uniqueTag("$tenantgen_ddl$", create)
	do := uniqueTag("$tenantgen_do$", create+ddl)
	// (The comment must not read as a tenantgen marker.)
	return "-- This procedure commits or rolls back, so it cannot carry SET search_path FROM CURRENT:\n" +
		"-- its body sets the tenant's search_path (this migration's) for each of its transactions instead.\n" +
		"DO " + do + "\nBEGIN\n  EXECUTE pg_catalog.replace(" + ddl + create + ddl + ",\n" +
		"    '" + pathToken + "', pg_catalog.quote_literal(pg_catalog.current_setting('search_path')));\nEND\n" + do + ";", nil
}

// setPoints returns, last first, the body offsets where the search_path is
// set: after the BEGIN of the outermost block and after each of the n
// COMMIT and ROLLBACK statements.
func setPoints(text string, n int) ([]int, error) {
	res, err := pg_query.Scan(text)
	if err != nil {
		return nil, fmt.Errorf("scanning the body: %w", err)
	}
	toks := res.Tokens
	var at []int
	found := 0
	for i, t := range toks {
		switch {
		case t.Token == pg_query.Token_BEGIN_P && len(at) == 0:
			at = append(at, int(t.End))
		case (t.Token == pg_query.Token_COMMIT || t.Token == pg_query.Token_ROLLBACK) && len(at) > 0:
			if end, ok := controlEnd(toks, i+1); ok {
				at = append(at, end)
				found++
			}
		}
	}
	if len(at) == 0 || found != n {
		return nil, fmt.Errorf("tenantgen found %d of its %d COMMIT/ROLLBACK statements in the body's text", found, n)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(at)))
	return at, nil
}

// controlEnd returns the end of "[AND [NO] CHAIN] ;" from toks[i] on: what
// makes COMMIT or ROLLBACK a plpgsql statement rather than part of SQL (ON
// COMMIT DROP).
func controlEnd(toks []*pg_query.ScanToken, i int) (int, bool) {
	next := func(tok pg_query.Token) bool {
		if i < len(toks) && toks[i].Token == tok {
			i++
			return true
		}
		return false
	}
	if next(pg_query.Token_AND) {
		next(pg_query.Token_NO)
		if !next(pg_query.Token_CHAIN) {
			return 0, false
		}
	}
	if i < len(toks) && toks[i].Token == pg_query.Token_ASCII_59 {
		return int(toks[i].End), true
	}
	return 0, false
}

// uniqueTag returns a dollar-quote tag like tag that text does not contain.
func uniqueTag(tag, text string) string {
	out := tag
	for i := 0; strings.Contains(text, out); i++ {
		out = fmt.Sprintf("%s%d$", strings.TrimSuffix(tag, "$"), i)
	}
	return out
}
