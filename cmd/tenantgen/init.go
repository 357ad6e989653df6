package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantgen/tenantgen/templates"
)

func newInit(e *env) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "init [--force] [DIR]",
		Short: "Start a project: tenantgen.yaml, the tour's schema and queries, a go:generate file",
		Long: `Writes the README tour's polls project into DIR (default: the working
directory): tenantgen.yaml, an annotated schema (shared plans; tenant
questions, choices and votes), the queries, and internal/db/generate.go with
its //go:generate line. Existing files are left alone unless --force.`,
		Example: `  go mod init example.com/polls
  tenantgen init
  go get -tool github.com/tenantgen/tenantgen/cmd/tenantgen && go mod tidy
  go generate ./...`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("init takes at most one directory")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runInit(e, dir, force)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	return c
}

func runInit(e *env, dir string, force bool) error {
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
	if !force {
		var exist []string
		for _, f := range files {
			if _, err := os.Stat(f.dst); err == nil {
				exist = append(exist, f.dst)
			}
		}
		if len(exist) > 0 {
			return fmt.Errorf("init: not overwriting existing files:\n  %s\n\thint: this looks like a tenantgen project already; use --force to overwrite them", strings.Join(exist, "\n  "))
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
		fmt.Fprintln(e.stderr, "tenantgen: note: no go.mod here yet: run go mod init first")
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
