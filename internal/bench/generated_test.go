package bench_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
	_ "github.com/tenantgen/tenantgen/gen/golang" // the Go emitter, for gen.Generate
	"github.com/tenantgen/tenantgen/gen/sqlcrun"
	"github.com/tenantgen/tenantgen/runtime/contract"
)

func TestMain(m *testing.M) {
	sqlcrun.ServeChild() // gen.Generate runs sqlc as a child of this binary
	m.Run()
}

// The benchmarks' generated packages are what the repo's generator makes of
// their inputs today (go generate ./internal/bench/... rewrites them), every
// file headed as generated.
func TestGeneratedPackagesCurrent(t *testing.T) {
	for _, dir := range []string{"benchdb", "fleetdb"} {
		t.Run(dir, func(t *testing.T) {
			cfg, err := config.Load(filepath.Join(dir, config.DefaultFile))
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
				t.Errorf("internal/bench/%s is stale (go generate ./internal/bench/...):\n%s", dir, diff)
			}
			for _, f := range out.Files {
				if !bytes.HasPrefix(f.Content, []byte(contract.GoHeader)) && !bytes.HasPrefix(f.Content, []byte(contract.SQLHeader)) {
					t.Errorf("%s lacks the generated-code header", f.Path)
				}
			}
		})
	}
}
