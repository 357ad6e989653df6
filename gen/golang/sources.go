package golang

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
)

// source is where a query is written, and the scope its comments ask for.
type source struct {
	Pos    diag.Pos
	Marker *migfile.Marker
	Lines  []string // of the whole file, to position errors inside the query
}

var (
	nameRe   = regexp.MustCompile(`^--\s*name:\s*(\S+)`)
	qmarkRe  = regexp.MustCompile(`^--\s*tenantgen:\s*(\S*)\s*$`)
	commentR = regexp.MustCompile(`^\s*--`)
)

// readSources finds every query's "-- name:" line and the tenantgen marker
// in its comment block (the comment lines right above and below that line).
func readSources(dir string, display func(string) string, diags *diag.List) map[string]source {
	out := map[string]source{}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
	sort.Strings(paths)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		file := display(p)
		if off, ok := diag.Valid(string(data)); !ok {
			diags.Add(diag.NewSource(file, string(data)).Pos(off), "query files must be UTF-8 SQL text", "invalid UTF-8 or NUL byte: this does not look like an SQL file")
			continue
		}
		lines := strings.Split(string(data), "\n")
		for i, line := range lines {
			m := nameRe.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				continue
			}
			src := source{Pos: diag.Pos{File: file, Line: i + 1, Col: 1}, Lines: lines}
			block := []int{}
			for j := i - 1; j >= 0 && commentR.MatchString(lines[j]) && !nameRe.MatchString(strings.TrimSpace(lines[j])); j-- {
				block = append(block, j)
			}
			for j := i + 1; j < len(lines) && commentR.MatchString(lines[j]); j++ {
				block = append(block, j)
			}
			for _, j := range block {
				mm := qmarkRe.FindStringSubmatch(strings.TrimSpace(lines[j]))
				if mm == nil {
					continue
				}
				pos := diag.Pos{File: file, Line: j + 1, Col: strings.Index(lines[j], "--") + 1}
				switch mm[1] {
				case "shared":
					src.Marker = &migfile.Marker{Scope: migfile.Shared, Pos: pos}
				case "tenant":
					src.Marker = &migfile.Marker{Scope: migfile.Tenant, Pos: pos}
				default:
					diags.Add(pos, "write -- tenantgen:shared or -- tenantgen:tenant", "unknown tenantgen marker %q", mm[1])
				}
			}
			out[m[1]] = src
		}
	}
	return out
}
