package runtime

import (
	"strings"
	"testing"
)

func TestUpSection(t *testing.T) {
	cases := []struct {
		name, src string
		up        string // substring the Up section must hold
		notUp     string // substring it must not
		viaGoose  string
	}{
		{"plain", "-- +goose Up\nCREATE TABLE a (id int);\n\n-- +goose Down\nDROP TABLE a;\n", "CREATE TABLE a", "DROP TABLE", ""},
		{"header comments", "-- generated\n\n-- +goose Up\nSELECT 1;\n", "SELECT 1", "generated", ""},
		{"statement block", "-- +goose Up\n-- +goose StatementBegin\nDO $$ BEGIN PERFORM 1; END $$;\n-- +goose StatementEnd\n-- +goose Down\nSELECT 2;\n", "DO $$ BEGIN PERFORM 1; END $$;", "SELECT 2", ""},
		{"no transaction", "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON a (id);\n", "", "", "NO TRANSACTION"},
		{"no transaction, lower case", "-- +goose no transaction\n-- +goose Up\nSELECT 1;\n", "", "", "NO TRANSACTION"},
		{"envsub", "-- +goose Up\n-- +goose ENVSUB ON\nSELECT '${X}';\n", "", "", "annotation -- +goose ENVSUB ON"},
		{"no up", "SELECT 1;\n", "", "", "statements before -- +goose Up"},
		{"nothing", "-- just a comment\n", "", "", "no -- +goose Up"},
		{"two ups", "-- +goose Up\nSELECT 1;\n-- +goose Up\nSELECT 2;\n", "", "", "two Up sections"},
		{"indented annotation", "-- +goose Up\n  -- +goose StatementBegin\nSELECT 1;\n", "", "", "annotation -- +goose indented"},
		{"down before up", "-- +goose Down\nDROP TABLE a;\n-- +goose Up\nCREATE TABLE a (id int);\n", "", "", "statements before -- +goose Up"},
		{"no newline at the end", "-- +goose Up\nSELECT 1 -- trailing comment", "SELECT 1 -- trailing comment", "", ""},
	}
	for _, c := range cases {
		up, why := upSection(c.src)
		if why != c.viaGoose {
			t.Errorf("%s: viaGoose %q, want %q", c.name, why, c.viaGoose)
			continue
		}
		if c.up != "" && !strings.Contains(up, c.up) || c.notUp != "" && strings.Contains(up, c.notUp) {
			t.Errorf("%s: up section %q", c.name, up)
		}
	}
}
