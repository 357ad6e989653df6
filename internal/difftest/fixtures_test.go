package difftest_test

import (
	"path/filepath"
	"testing"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
)

// fixtures are the projects written for this test; gen's TestGolden checks
// polls and kitchensink the same way.
var fixtures = []string{
	"saas", "adversarial",
	"sqlc/authors", "sqlc/batch", "sqlc/booktest", "sqlc/jets", "sqlc/ondeck",
}

// TestFixturesUpToDate regenerates every fixture in memory and compares it
// with the committed package: the differential test must run what today's
// generator makes of the queries, so a generator change shows up here until
// the fixtures are regenerated (go run ./cmd/tenantgen generate -f
// example/<fixture>/tenantgen.yaml).
func TestFixturesUpToDate(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Load(filepath.Join("../../example", name, config.DefaultFile))
			if err != nil {
				t.Fatal(err)
			}
			out, err := gen.Generate(cfg, gen.Options{})
			if err != nil {
				t.Fatal(err)
			}
			diff, err := out.Diff()
			if err != nil {
				t.Fatal(err)
			}
			if diff != "" {
				t.Errorf("example/%s is stale: run go run ./cmd/tenantgen generate -f example/%s/tenantgen.yaml\n%s", name, name, diff)
			}
		})
	}
}
