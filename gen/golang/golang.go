// Package golang emits the Go side of a tenantgen package: sqlc's pgx/v5
// query code, rewritten as package plan decides (each query a method of the
// type of its scope, its SQL naming tenant objects through the runtime's
// schema placeholder), plus tenantgen's own db.go and migrations.go, written
// with jennifer. Every file is re-parsed before it is handed out.
package golang

import (
	"context"
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/plan"
	"github.com/tenantgen/tenantgen/gen/scope"
)

// File is one generated Go file.
type File struct {
	Path    string // absolute
	Content []byte
}

// sqlcResult is what the sqlc child process produced.
type sqlcResult struct {
	sources map[string]plan.Source
	files   map[string][]byte
	dbFile  string // the name of sqlc's db file, which tenantgen's replaces
	err     error
}

// Start runs sqlc in the background and returns the function that finishes
// the package once the schema model is known. When the schema has errors,
// finish gets valid false and what of the model could be analysed (nil when
// the files could not be read): it then only reports the errors of the
// query files, which need no model to be found. display shows a path in
// messages.
func Start(cfg *config.Config, display func(string) string) func(model *scope.Model, valid bool) ([]File, error) {
	ch := make(chan sqlcResult, 1)
	dbFile, err := dbFileName(cfg)
	switch {
	case err != nil:
		ch <- sqlcResult{err: err}
	case !hasQueries(cfg.Abs(cfg.Queries)):
		ch <- sqlcResult{dbFile: dbFile}
	default:
		go func() {
			// Files sqlc would choke on get a positioned error first.
			var diags diag.List
			res := sqlcResult{dbFile: dbFile, sources: plan.ReadSources(cfg.Abs(cfg.Queries), display, &diags)}
			if res.err = diags.Err(); res.err == nil {
				res.files, res.err = runSqlc(context.Background(), cfg, display)
			}
			ch <- res
		}()
	}
	return func(model *scope.Model, valid bool) ([]File, error) {
		res := <-ch
		if !valid {
			return nil, queryErrors(cfg, display, model, res.err)
		}
		return Generate(cfg, model, res)
	}
}

// Generate returns the Go files of the package cfg describes, from sqlc's
// output.
func Generate(cfg *config.Config, model *scope.Model, res sqlcResult) ([]File, error) {
	dir := cfg.Abs(cfg.Out)
	var files []File
	var bad error
	seen := map[string]bool{}
	add := func(name string, content []byte) {
		if err := checkParses(name, content); err != nil && bad == nil {
			bad = err
		}
		if seen[name] && bad == nil {
			bad = fmt.Errorf("%s: sqlc and tenantgen would both write %s\n\thint: rename the query file or change the sqlc output_* option that names it", cfg.Path, name)
		}
		seen[name] = true
		files = append(files, File{Path: filepath.Join(dir, name), Content: content})
	}

	if res.err != nil {
		return nil, placeErrors(res.err, model)
	}
	if res.files != nil {
		var diags diag.List
		sqlcFiles := res.files
		fset := token.NewFileSet()
		r := &rewriter{fset: fset, model: model, sources: res.sources, diags: &diags}
		parsed := map[string]*ast.File{}
		for name, src := range sqlcFiles {
			if name == res.dbFile { // replaced by tenantgen's own
				continue
			}
			f, err := parseFile(fset, name, src)
			if err != nil {
				return nil, fmt.Errorf("sqlc's %s: %w", name, checkParses(name, src))
			}
			parsed[name] = f
		}
		r.plan(parsed)
		if err := diags.Err(); err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(parsed) {
			out, err := r.file(name, sqlcFiles[name], parsed[name])
			if err != nil {
				return nil, err
			}
			add(name, out)
		}
	}

	db, err := emitDB(cfg.Package)
	if err != nil {
		return nil, err
	}
	add(res.dbFile, db)
	var shared, tenant bool
	for _, st := range model.Scopes {
		shared = shared || st == scope.Shared
		tenant = tenant || st == scope.Tenant
	}
	migs, err := emitMigrations(cfg.Package, shared, tenant)
	if err != nil {
		return nil, err
	}
	add(migrationsFile, migs)
	if bad != nil {
		return nil, bad
	}
	return files, nil
}

// file rewrites one of sqlc's files.
func (r *rewriter) file(name string, src []byte, f *ast.File) ([]byte, error) {
	if err := r.rewrite(name, f); err != nil {
		return nil, err
	}
	split := r.splitQuerier(src, f)
	out := apply(r.fset, src, r.edits)
	if split {
		// The interfaces are new text: format them.
		var err error
		if out, err = format.Source(out); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	out, err := stripMarkers(name, out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

func hasQueries(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			return true
		}
	}
	return false
}
