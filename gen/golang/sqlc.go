package golang

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/gen/sqlcrun"
)

// runSqlc has sqlc analyse the queries against the whole schema and write
// its pgx/v5 code into a temporary directory; it returns that code by file
// name.
func runSqlc(ctx context.Context, cfg *config.Config, display func(string) string) (map[string][]byte, error) {
	tmp, err := os.MkdirTemp("", "tenantgen-sqlc-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rel := func(p string) (string, error) { return filepath.Rel(tmp, cfg.Abs(p)) }
	schema, err := rel(cfg.Schema)
	if err != nil {
		return nil, err
	}
	queries, err := rel(cfg.Queries)
	if err != nil {
		return nil, err
	}
	goOpts := map[string]any{}
	for k, v := range cfg.Sqlc {
		goOpts[k] = v
	}
	goOpts["package"] = cfg.Package
	goOpts["out"] = "out"
	goOpts["sql_package"] = "pgx/v5"
	conf := map[string]any{
		"version": "2",
		"sql": []any{map[string]any{
			"engine":  "postgresql",
			"schema":  []string{filepath.ToSlash(schema)},
			"queries": []string{filepath.ToSlash(queries)},
			"gen":     map[string]any{"go": goOpts},
		}},
	}
	data, err := yaml.Marshal(conf)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(tmp, "sqlc.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, err
	}
	if err := sqlcrun.Generate(ctx, path, display); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	entries, err := os.ReadDir(filepath.Join(tmp, "out"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(tmp, "out", e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
