package golang

import (
	"fmt"
	"strings"

	"github.com/tenantgen/tenantgen/gen/config"
)

// migrationsFile is tenantgen's file embedding the migration sets.
const migrationsFile = "migrations.go"

// fileOptions are sqlc's options that name the files it writes, with the
// name each has when unset.
var fileOptions = map[string]string{
	"output_db_file_name":       "db.go",
	"output_models_file_name":   "models.go",
	"output_querier_file_name":  "querier.go",
	"output_copyfrom_file_name": "copyfrom.go",
	"output_batch_file_name":    "batch.go",
}

// dbFileName checks the file-naming sqlc options of cfg and returns the
// name of sqlc's db file, whose place tenantgen's own db file takes: the
// options work as they do with sqlc, or are refused before sqlc runs.
func dbFileName(cfg *config.Config) (string, error) {
	names := map[string]string{migrationsFile: "tenantgen's migrations file"}
	db := ""
	for _, opt := range sortedKeys(fileOptions) {
		name := fileOptions[opt]
		if v, ok := cfg.Sqlc[opt]; ok {
			s, err := fileName(cfg, opt, v)
			if err != nil {
				return "", err
			}
			name = s
		}
		if other, ok := names[name]; ok {
			return "", fmt.Errorf("%s: sqlc option %s names %s, which is also %s\n\thint: give every generated file its own name", cfg.Path, opt, name, other)
		}
		names[name] = "the file of " + opt
		if opt == "output_db_file_name" {
			db = name
		}
	}
	if v, ok := cfg.Sqlc["output_files_suffix"]; ok {
		s, isString := v.(string)
		if !isString || strings.ContainsAny(s, `/\`) {
			return "", fmt.Errorf("%s: sqlc option output_files_suffix is %v\n\thint: give a suffix for the query files' names, such as _gen, without a path separator", cfg.Path, v)
		}
	}
	return db, nil
}

// fileName checks one file-naming option: a file name of the generated
// package's directory, to which sqlc adds .go when it lacks it.
func fileName(cfg *config.Config, opt string, v any) (string, error) {
	s, ok := v.(string)
	if !ok || s == "" || strings.ContainsAny(s, `/\`) || s == "." || s == ".." {
		return "", fmt.Errorf("%s: sqlc option %s is %v\n\thint: give a file name of the generated package's directory, such as tenant_db.go", cfg.Path, opt, v)
	}
	if !strings.HasSuffix(s, ".go") {
		s += ".go"
	}
	if s == migrationsFile {
		return "", fmt.Errorf("%s: sqlc option %s names %s, which is tenantgen's migrations file\n\thint: choose another name", cfg.Path, opt, s)
	}
	return s, nil
}
