package synth_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/internal/bench/synth"
	"github.com/tenantgen/tenantgen/runtime/contract"
)

// The synthetic input is valid tenantgen input: its schema splits into
// both migration sets without a diagnostic.
func TestWriteIsValidInput(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Write(dir, synth.Options{Tables: 6, Queries: 12}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "tenantgen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := gen.Generate(cfg, gen.Options{SchemaOnly: true})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	sets := map[string]int{}
	for _, f := range out.Files {
		rel, _ := filepath.Rel(out.Dir, f.Path)
		sets[filepath.Dir(filepath.ToSlash(rel))]++
	}
	if sets[contract.SharedDir] == 0 || sets[contract.TenantDir] == 0 {
		t.Errorf("migration files per set: %v, want both sets", sets)
	}
}

func TestWriteRefusesBadSizes(t *testing.T) {
	for _, o := range []synth.Options{{Tables: 1}, {Tables: 2, Queries: -1}} {
		err := synth.Write(t.TempDir(), o)
		if err == nil || !strings.HasPrefix(err.Error(), "synth: ") {
			t.Errorf("Write(%+v) = %v, want a synth: error", o, err)
		}
	}
}
