// Package gen is tenantgen's generator: it reads the schema and query files
// named by a config, checks them, and plans the generated package. Data flows
// one way: parse (migfile) -> analyse (scope) -> emit (migrations, golang).
// Nothing is written until every check has passed.
package gen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/golang"
	"github.com/tenantgen/tenantgen/gen/migfile"
	"github.com/tenantgen/tenantgen/gen/migrations"
	"github.com/tenantgen/tenantgen/gen/scope"
	"github.com/tenantgen/tenantgen/runtime/contract"
)

// Header starts every generated Go file; the SQL files start with its SQL
// form. Files carrying it belong to tenantgen, which may replace or delete them.
const (
	Header    = contract.GoHeader
	SQLHeader = contract.SQLHeader
)

// File is one generated file.
type File struct {
	Path    string // absolute
	Content []byte
}

// Output is everything one config generates.
type Output struct {
	Dir   string // the generated package's directory, absolute
	Root  string // the config file's directory, absolute: Diff's paths are below it
	Files []File
	Model *scope.Model
	// Tombstones are the stale Go files Write emptied rather than deleted
	// because go generate was running it (see removeStale).
	Tombstones []string
}

// Options tune a run.
type Options struct {
	// SchemaOnly skips the queries and the Go code: only the migration sets.
	SchemaOnly bool
}

// Generate runs the whole pipeline in memory. Errors in the input come back
// as a diag.List.
func Generate(cfg *config.Config, opts Options) (*Output, error) {
	// The Go side starts first: its slowest part, sqlc, needs none of the
	// schema analysis, so the two run at once.
	var finish func(*scope.Model, bool) ([]golang.File, error)
	if !opts.SchemaOnly {
		finish = golang.Start(cfg, DisplayPath)
	}
	model, err := loadSchema(cfg)
	if err != nil {
		if finish == nil {
			return nil, err
		}
		// The query errors too, all at once: schema first, then queries.
		_, qerr := finish(model, false)
		return nil, joinDiags(err, qerr)
	}
	out := &Output{Dir: cfg.Abs(cfg.Out), Root: cfg.Dir, Model: model}
	for _, f := range migrations.Build(model) {
		out.Files = append(out.Files, File{Path: filepath.Join(out.Dir, filepath.FromSlash(f.Path)), Content: f.Content})
	}
	if finish != nil {
		files, err := finish(model, true)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			out.Files = append(out.Files, File(f))
		}
	}
	sort.Slice(out.Files, func(i, j int) bool { return out.Files[i].Path < out.Files[j].Path })
	return out, nil
}

// joinDiags puts the query diagnostics after the schema ones; an error
// that is not a diagnostic (a file that cannot be read) wins alone.
func joinDiags(schemaErr, queryErr error) error {
	var s, q diag.List
	if queryErr == nil || !errors.As(schemaErr, &s) {
		return schemaErr
	}
	if !errors.As(queryErr, &q) {
		return queryErr
	}
	return append(append(diag.List(nil), s...), q...)
}

// LoadSchema parses and analyses the schema files of cfg.
func LoadSchema(cfg *config.Config) (*scope.Model, error) {
	model, err := loadSchema(cfg)
	if err != nil {
		return nil, err
	}
	return model, nil
}

// loadSchema is LoadSchema, returning the model analysed so far along with
// the diagnostics.
func loadSchema(cfg *config.Config) (*scope.Model, error) {
	dir := cfg.Abs(cfg.Schema)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading schema directory: %w\n\thint: set schema: in %s", err, cfg.Path)
	}
	var diags diag.List
	var files []*migfile.File
	versions := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		f := migfile.Parse(DisplayPath(p), string(data), &diags)
		if f == nil {
			continue
		}
		if prev, ok := versions[f.Version]; ok {
			diags.Add(diag.Pos{File: f.Path}, "give every migration its own version number",
				"version %d is also used by %s", f.Version, prev)
			continue
		}
		versions[f.Version] = f.Path
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Version < files[j].Version })
	if len(files) == 0 && len(diags) == 0 {
		diags.Add(diag.Pos{File: DisplayPath(dir)}, "add goose migration files such as 00001_init.sql", "no schema files")
	}
	model := scope.Analyse(files, &diags)
	if err := diags.Err(); err != nil {
		return model, err
	}
	return model, nil
}

// DisplayPath shows a path relative to the working directory when it is
// below it, as compilers do.
func DisplayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}
