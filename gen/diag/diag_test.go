package diag

import (
	"errors"
	"testing"
)

func TestPosString(t *testing.T) {
	tests := []struct {
		pos  Pos
		want string
	}{
		{Pos{File: "a.sql"}, "a.sql"},
		{Pos{File: "a.sql", Line: 3}, "a.sql:3"},
		{Pos{File: "a.sql", Line: 3, Col: 7}, "a.sql:3:7"},
	}
	for _, tt := range tests {
		if got := tt.pos.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.pos, got, tt.want)
		}
	}
}

func TestSourcePos(t *testing.T) {
	s := NewSource("f.sql", "ab\néc\n\nx")
	tests := []struct {
		off  int
		want string
	}{
		{-5, "f.sql:1:1"},
		{0, "f.sql:1:1"},
		{2, "f.sql:1:3"}, // the newline itself
		{3, "f.sql:2:1"},
		{5, "f.sql:2:3"}, // after the two bytes of é
		{7, "f.sql:3:1"},
		{8, "f.sql:4:1"},
		{9, "f.sql:4:2"},
		{100, "f.sql:4:2"},
	}
	for _, tt := range tests {
		if got := s.Pos(tt.off).String(); got != tt.want {
			t.Errorf("Pos(%d) = %s, want %s", tt.off, got, tt.want)
		}
	}
}

func TestByteOffset(t *testing.T) {
	s := NewSource("f.sql", "aé😀b")
	for char, want := range map[int]int{1: 0, 2: 1, 3: 3, 4: 7, 5: len(s.Text), 99: len(s.Text)} {
		if got := s.ByteOffset(char); got != want {
			t.Errorf("ByteOffset(%d) = %d, want %d", char, got, want)
		}
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		text string
		bad  int
		ok   bool
	}{
		{"SELECT 'é';", 0, true},
		{"SELECT '\uFFFD';", 0, true}, // a real replacement character is fine
		{"SELECT '\xff';", 8, false},
		{"SELECT 1;\x00", 9, false},
		{"", 0, true},
	}
	for _, tt := range tests {
		bad, ok := Valid(tt.text)
		if bad != tt.bad || ok != tt.ok {
			t.Errorf("Valid(%q) = %d, %v; want %d, %v", tt.text, bad, ok, tt.bad, tt.ok)
		}
	}
}

func TestListErr(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("empty list gives an error")
	}
	l.Add(Pos{File: "b.sql", Line: 1, Col: 1}, "", "third")
	l.Add(Pos{File: "a.sql", Line: 2, Col: 5}, "fix it", "second %d", 2)
	l.Add(Pos{File: "a.sql", Line: 2, Col: 1}, "", "first")
	l.Add(Pos{File: "a.sql"}, "", "file-level")
	err := l.Err()
	var sorted List
	if !errors.As(err, &sorted) || len(sorted) != 4 {
		t.Fatalf("Err() = %#v", err)
	}
	want := "a.sql: file-level\na.sql:2:1: first\na.sql:2:5: second 2\n\thint: fix it\nb.sql:1:1: third"
	if err.Error() != want {
		t.Errorf("Err().Error() =\n%s\nwant\n%s", err, want)
	}
	if l[0].Msg != "third" {
		t.Error("Err sorted the list in place")
	}
}
