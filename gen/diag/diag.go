// Package diag holds the diagnostics tenantgen reports about its input:
// positioned, collected rather than thrown, and printed as
// "file:line:col: message" followed by an indented hint.
package diag

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Pos is a position in an input file. Line and Col are 1-based; Col counts
// bytes, as go vet and most editors expect.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Diagnostic is one problem found in the input.
type Diagnostic struct {
	Pos  Pos
	Msg  string
	Hint string
}

func (d Diagnostic) Error() string {
	if d.Hint == "" {
		return fmt.Sprintf("%s: %s", d.Pos, d.Msg)
	}
	return fmt.Sprintf("%s: %s\n\thint: %s", d.Pos, d.Msg, d.Hint)
}

// List collects diagnostics. The zero value is ready to use.
type List []Diagnostic

// Add records a diagnostic.
func (l *List) Add(pos Pos, hint, format string, args ...any) {
	*l = append(*l, Diagnostic{Pos: pos, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// Err returns the list as an error, sorted by position, or nil when empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	s := append(List(nil), l...)
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i].Pos, s[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return s
}

func (l List) Error() string {
	var b strings.Builder
	for i, d := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Error())
	}
	return b.String()
}

// Source maps byte offsets of one file's text to line:col positions.
type Source struct {
	File  string
	Text  string
	lines []int // byte offset of the start of each line
}

// NewSource indexes text for position lookups.
func NewSource(file, text string) *Source {
	s := &Source{File: file, Text: text, lines: []int{0}}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// Pos converts a byte offset into a position. Offsets out of range are clamped.
func (s *Source) Pos(off int) Pos {
	if off < 0 {
		off = 0
	}
	if off > len(s.Text) {
		off = len(s.Text)
	}
	line := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off })
	return Pos{File: s.File, Line: line, Col: off - s.lines[line-1] + 1}
}

// ByteOffset converts a 1-based character (rune) position, as PostgreSQL's
// parser reports it in error cursors, into a byte offset.
func (s *Source) ByteOffset(charPos int) int {
	n := 0
	for i := range s.Text {
		n++
		if n == charPos {
			return i
		}
	}
	return len(s.Text)
}

// Valid reports whether text is UTF-8 without NUL bytes, which PostgreSQL
// rejects anyway and which point to a binary file given by mistake.
func Valid(text string) (bad int, ok bool) {
	for i, r := range text {
		if r == utf8.RuneError || r == 0 {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(text[i:]); size != 1 {
					continue
				}
			}
			return i, false
		}
	}
	return 0, true
}
