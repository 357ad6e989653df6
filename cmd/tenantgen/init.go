package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tenantgen/tenantgen/templates"
)

func init() {
	register(command{"init", "[--force] [DIR]", "write tenantgen.yaml, sample schema and queries, and a go:generate file", runInit})
}

func runInit(ctx context.Context, e *env, args []string) error {
	fset := flags(e, "init")
	force := fset.Bool("force", false, "overwrite existing files")
	if err := parse(fset, args); err != nil {
		return err
	}
	if fset.NArg() > 1 {
		return usageError{"init takes at most one directory"}
	}
	dir := "."
	if fset.NArg() == 1 {
		dir = fset.Arg(0)
	}
	type file struct {
		dst  string
		data []byte
	}
	var files []file
	err := fs.WalkDir(templates.Init, "init", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(templates.Init, p)
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "init/"), ".tmpl")
		files = append(files, file{filepath.Join(dir, filepath.FromSlash(rel)), data})
		return nil
	})
	if err != nil {
		return err
	}
	if !*force {
		var exist []string
		for _, f := range files {
			if _, err := os.Stat(f.dst); err == nil {
				exist = append(exist, f.dst)
			}
		}
		if len(exist) > 0 {
			return fmt.Errorf("tenantgen init: not overwriting existing files:\n  %s\n\thint: this looks like a tenantgen project already; use --force to overwrite them", strings.Join(exist, "\n  "))
		}
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f.dst, f.data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", path.Clean(filepath.ToSlash(f.dst)))
	}
	if _, err := findGoMod(dir); err != nil {
		fmt.Fprintln(e.stderr, "note: no go.mod here yet: run go mod init first")
	}
	fmt.Fprint(e.stdout, `
next:
  go get -tool github.com/tenantgen/tenantgen/cmd/tenantgen
  go mod tidy
  go generate ./...
`)
	return nil
}

func findGoMod(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(abs, "go.mod")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", os.ErrNotExist
		}
		abs = parent
	}
}
