package golang

import (
	"testing"

	"github.com/tenantgen/tenantgen/gen/diag"
)

// TestFindIdent: the name sqlc complains about is found as an identifier,
// not inside comments, string literals or longer names.
func TestFindIdent(t *testing.T) {
	for _, tc := range []struct {
		text string
		pos  diag.Pos // where sqlc pointed
		name string
		want diag.Pos
	}{
		{"-- name: A :many\nSELECT * FROM questons;\n", diag.Pos{Line: 1, Col: 1}, "questons", diag.Pos{Line: 2, Col: 15}},
		{"-- name: A :many\n-- questons in a comment\nSELECT 'questons', questons_x, \"questons\" FROM questons;\n", diag.Pos{Line: 1, Col: 1}, "questons", diag.Pos{Line: 3, Col: 32}}, // "questons" is questons
		{"-- name: A :many\nSELECT 'it''s questons' FROM Questons;\n", diag.Pos{Line: 1, Col: 1}, "questons", diag.Pos{Line: 2, Col: 30}},
		{"-- name: A :many\nSELECT 1 /* questons */ FROM \"Questons\";\n", diag.Pos{Line: 1, Col: 1}, "Questons", diag.Pos{Line: 2, Col: 30}},
		// Two queries: the one holding sqlc's position is searched.
		{"-- name: A :many\nSELECT txt FROM a;\n\n-- name: B :many\nSELECT q.txt FROM q;\n", diag.Pos{Line: 5, Col: 8}, "txt", diag.Pos{Line: 5, Col: 10}},
		// Not found: the position stays.
		{"-- name: A :many\nSELECT 1;\n", diag.Pos{Line: 2, Col: 1}, "nope", diag.Pos{}},
	} {
		q := queryAt(tc.text, tc.pos)
		off := findIdent(tc.text, q, offsetOf(tc.text, tc.pos), tc.name)
		var got diag.Pos
		if off >= 0 {
			got = diag.NewSource("", tc.text).Pos(off)
		}
		if got != tc.want {
			t.Errorf("%q in\n%s\nat %v, want %v", tc.name, tc.text, got, tc.want)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct {
		word  string
		cands []string
		want  string
	}{
		{"questons", []string{"plans", "questions", "choices"}, ` (did you mean "questions"?)`},
		{"choice", []string{"id", "choice_id", "cast_at"}, ` (did you mean "choice_id"?)`},
		{"txt", []string{"id", "text"}, ` (did you mean "text"?)`},
		{"zebra", []string{"plans", "questions"}, ""},
	} {
		if got := didYouMean(tc.word, tc.cands); got != tc.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}
