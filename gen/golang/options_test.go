package golang_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/gen/sqlcrun"
)

func TestMain(m *testing.M) {
	sqlcrun.ServeChild()
	os.Exit(m.Run())
}

// TestFileNameOptions: sqlc's options that name its output files either
// work as with sqlc (and the package builds) or are refused before sqlc
// runs. output_db_file_name used to fail with "dbtx.go: sqlc method WithTx
// matches no query".
func TestFileNameOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  map[string]any
		files []string // that must be written
		gone  []string // that must not
		err   string
	}{
		{name: "db file", opts: map[string]any{"output_db_file_name": "dbtx.go"}, files: []string{"dbtx.go"}, gone: []string{"db.go"}},
		{name: "db file without .go", opts: map[string]any{"output_db_file_name": "handle"}, files: []string{"handle.go"}, gone: []string{"db.go"}},
		{name: "models file", opts: map[string]any{"output_models_file_name": "types.go"}, files: []string{"types.go", "db.go"}, gone: []string{"models.go"}},
		{name: "querier file", opts: map[string]any{"output_querier_file_name": "iface.go"}, files: []string{"iface.go"}, gone: []string{"querier.go"}},
		{name: "copyfrom file", opts: map[string]any{"output_copyfrom_file_name": "copy.go"}, files: []string{"copy.go"}, gone: []string{"copyfrom.go"}},
		{name: "batch file", opts: map[string]any{"output_batch_file_name": "batches.go"}, files: []string{"batches.go"}, gone: []string{"batch.go"}},
		{name: "query files suffix", opts: map[string]any{"output_files_suffix": "_gen"}, files: []string{"items.sql_gen.go", "plans.sql_gen.go"}, gone: []string{"items.sql.go"}},
		{name: "tenantgen's migrations file", opts: map[string]any{"output_models_file_name": "migrations.go"},
			err: "sqlc option output_models_file_name names migrations.go, which is tenantgen's migrations file"},
		{name: "a path", opts: map[string]any{"output_models_file_name": "models/models.go"},
			err: "sqlc option output_models_file_name is models/models.go\n\thint: give a file name"},
		{name: "not a string", opts: map[string]any{"output_db_file_name": 5}, err: "sqlc option output_db_file_name is 5"},
		{name: "two options, one name", opts: map[string]any{"output_querier_file_name": "models.go"},
			err: "sqlc option output_querier_file_name names models.go, which is also the file of output_models_file_name"},
		{name: "suffix with a path", opts: map[string]any{"output_files_suffix": "/x"}, err: "sqlc option output_files_suffix is /x"},
	}
	// Inside the module, so that the packages can be built against this
	// runtime; testdata keeps them out of ./... meanwhile.
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove("testdata") })
	top := t
	var built []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load("../../example/kitchensink/tenantgen.yaml")
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.opts {
				cfg.Sqlc[k] = v
			}
			out, err := os.MkdirTemp("testdata", "opts-")
			if err != nil {
				t.Fatal(err)
			}
			top.Cleanup(func() { os.RemoveAll(out) })
			cfg.Out, _ = filepath.Abs(out)
			res, err := gen.Generate(cfg, gen.Options{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "hint:") {
					t.Fatalf("error %v, want one containing %q with a hint", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := res.Write(); err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.files {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("%s not written: %v", f, err)
				}
			}
			for _, f := range tt.gone {
				if _, err := os.Stat(filepath.Join(out, f)); err == nil {
					t.Errorf("%s written", f)
				}
			}
			built = append(built, "./"+filepath.ToSlash(out))
		})
	}
	if len(built) == 0 || t.Failed() {
		return
	}
	// One build for all of them: each package compiles as generated.
	if out, err := exec.Command("go", append([]string{"build"}, built...)...).CombinedOutput(); err != nil {
		t.Fatalf("generated packages do not build: %v\n%s", err, out)
	}
}
