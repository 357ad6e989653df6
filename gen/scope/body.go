package scope

import "github.com/tenantgen/tenantgen/gen/migfile"

func (a *analyser) bodyRefs(f *migfile.File, st *migfile.Statement) []ref { return nil }

func (a *analyser) checkRunTime(f *migfile.File, st *migfile.Statement, sum summary, sc Scope) {}
