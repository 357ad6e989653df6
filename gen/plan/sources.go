package plan

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migfile"
)

// Source is where a query is written, and the scope its comments ask for.
type Source struct {
	Pos    diag.Pos
	Marker *migfile.Marker
	Lines  []string // of the whole file, to position errors inside the query
}

var (
	nameRe    = regexp.MustCompile(`^--\s*name:\s*(\S+)`)
	commentRe = regexp.MustCompile(`^\s*--`)
)

// ReadSources finds every query's "-- name:" line in the query files of dir
// and the tenantgen marker in its comment block (the comment lines right
// above and below that line). Markers are read with the grammar of the
// schema files (migfile.ReadMarker), so a marker the schema side refuses is
// refused here too.
func ReadSources(dir string, display func(string) string, diags *diag.List) map[string]Source {
	out := map[string]Source{}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
	sort.Strings(paths)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			diags.Add(diag.Pos{File: display(p)}, "", "reading query file: %v", err)
			continue
		}
		file := display(p)
		if off, ok := diag.Valid(string(data)); !ok {
			diags.Add(diag.NewSource(file, string(data)).Pos(off), "query files must be UTF-8 SQL text", "invalid UTF-8 or NUL byte: this does not look like an SQL file")
			continue
		}
		readFile(file, strings.Split(string(data), "\n"), out, diags)
	}
	return out
}

func readFile(file string, lines []string, out map[string]Source, diags *diag.List) {
	for i, line := range lines {
		m := nameRe.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		src := Source{Pos: diag.Pos{File: file, Line: i + 1, Col: 1}, Lines: lines}
		for _, j := range commentBlock(lines, i) {
			pos := diag.Pos{File: file, Line: j + 1, Col: strings.Index(lines[j], "--") + 1}
			if mk, ok := migfile.ReadMarker(strings.TrimSpace(lines[j]), true, pos, diags); ok && mk != nil {
				src.Marker = mk
			}
		}
		out[m[1]] = src
	}
}

// commentBlock returns the comment lines around the "-- name:" line at i:
// those above it up to the previous query's, and those right below it.
func commentBlock(lines []string, i int) []int {
	var block []int
	for j := i - 1; j >= 0 && commentRe.MatchString(lines[j]) && !nameRe.MatchString(strings.TrimSpace(lines[j])); j-- {
		block = append(block, j)
	}
	for j := i + 1; j < len(lines) && commentRe.MatchString(lines[j]); j++ {
		block = append(block, j)
	}
	return block
}

// IsNameLine reports whether line is a query's "-- name:" line: the one
// grammar of query headers, for the emitter's error placement too.
func IsNameLine(line string) bool { return nameRe.MatchString(strings.TrimSpace(line)) }
