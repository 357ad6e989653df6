package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
	"github.com/tenantgen/tenantgen/gen/diag"
	"github.com/tenantgen/tenantgen/gen/migrations"
)

// configFlag is -f: the config file, by default the nearest tenantgen.yaml
// in the working directory or above it, as git and go find theirs.
type configFlag struct {
	file string
	cmd  *cobra.Command
}

func addConfigFlag(c *cobra.Command, what string) *configFlag {
	f := &configFlag{cmd: c}
	c.Flags().StringVarP(&f.file, "file", "f", "", what+" (default: the nearest "+config.DefaultFile+" here or above)")
	return f
}

// path finds the config file.
func (f *configFlag) path() (string, error) {
	if f.file != "" {
		if _, err := os.Stat(f.file); err != nil {
			return "", fmt.Errorf("%s: no such file\n\thint: check the -f path (relative to the working directory)", f.file)
		}
		return f.file, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		p := filepath.Join(dir, config.DefaultFile)
		if _, err := os.Stat(p); err == nil {
			return gen.DisplayPath(p), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in %s or any directory above it\n\thint: run `tenantgen init` to start a project, or pass -f", config.DefaultFile, wd)
		}
		dir = parent
	}
}

// load reads the config file.
func (f *configFlag) load() (*config.Config, error) {
	p, err := f.path()
	if err != nil {
		return nil, err
	}
	return config.Load(p)
}

func newGenerate(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "generate [-f tenantgen.yaml]",
		Short: "Check the schema and queries, write the migration sets and the Go package",
		Long: `Checks every schema and query file and, only when all are correct, writes the
two migration sets and the Go package (all or nothing). Generated files that
are no longer generated are removed; files tenantgen did not write are never
touched.

A generate that finds the project as the last one left it (the same config,
schema and query files, output files and tenantgen binary, by content hash)
does nothing; --force runs it anyway.`,
		Example: `  tenantgen generate
  tenantgen generate -f services/billing/tenantgen.yaml
  //go:generate go tool tenantgen generate -f ../../tenantgen.yaml`,
		Args: noArgs,
	}
	cf := addConfigFlag(c, "config file")
	var force bool
	c.Flags().BoolVar(&force, "force", false, "regenerate even when nothing changed since the last generate")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		return runGenerate(e, cfg, force)
	}
	return c
}

// fullRuns counts the runs that did not stop at the stamp, for the tests.
var fullRuns int

func runGenerate(e *env, cfg *config.Config, force bool) error {
	st := newStamp(cfg)
	if !force && st.current() {
		return nil
	}
	fullRuns++
	out, err := gen.Generate(cfg, gen.Options{})
	if err != nil {
		return err
	}
	n, err := out.Write()
	if err != nil {
		return err
	}
	st.save()
	if len(out.Tombstones) > 0 {
		fmt.Fprintf(e.stderr, "tenantgen: note: %d stale file(s) emptied into build-ignored stubs instead of deleted, as go generate reads them after this run; the next generate deletes them\n", len(out.Tombstones))
	}
	if n > 0 {
		// Relative to the config, not the working directory: go generate
		// runs in the package's directory, where it would say ".".
		fmt.Fprintf(e.stderr, "tenantgen: %d file(s) updated in %s\n", n, cfg.Rel(out.Dir))
	}
	return nil
}

func newVet(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "vet [-f tenantgen.yaml]",
		Short: "Check the schema and queries without writing anything",
		Long: `Checks the schema and queries as generate does, without writing anything.

It also prints, as warnings on stderr (the exit code stays 0), what Citus
schema-based sharding refuses or changes in tenant schemas: int/smallint
sequences written by tenant triggers or functions, current_schema() in
tenant SQL, tenant statements naming other schemas. They are printed whether
or not the project runs on Citus: the files stay valid on plain PostgreSQL,
and they are what would break the day it moves to Citus.`,
		Example: "  tenantgen vet",
		Args:    noArgs,
	}
	cf := addConfigFlag(c, "config file")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		st := newStamp(cfg)
		if !st.current() { // else checked by the generate that left it so
			fullRuns++
			if _, err := gen.Generate(cfg, gen.Options{}); err != nil {
				return err
			}
		}
		return printCitusWarnings(e, cfg, st)
	}
	return c
}

// citusLoads counts the schema loads for Citus warnings, for the tests.
var citusLoads int

// printCitusWarnings prints the schema's Citus warnings, compiler style:
// file:line:col: warning: ..., with the hint below. They are kept beside
// the stamp, so that a vet with nothing to check stays as cheap as the
// stamp (loading a 200-table schema costs 35-95 ms).
func printCitusWarnings(e *env, cfg *config.Config, st *stamp) error {
	text, ok := st.loadWarnings()
	if !ok {
		citusLoads++
		m, err := gen.LoadSchema(cfg)
		if err != nil {
			return err
		}
		var b strings.Builder
		ws, _ := migrations.CitusWarnings(m).Err().(diag.List) // sorted by position
		for _, w := range ws {
			w.Msg = "warning: " + w.Msg // Msg starts with "Citus: "
			b.WriteString(w.Error() + "\n")
		}
		text = b.String()
		st.saveWarnings(text)
	}
	_, err := io.WriteString(e.stderr, text)
	return err
}

func newDiff(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "diff [-f tenantgen.yaml]",
		Short: "Exit 1 with a unified diff when the generated files are stale",
		Long: `Prints, as a patch that git apply and patch -p1 accept from the working
directory (from the config's directory when the generated package is not
below it), what generate would change, and exits 1 when that is anything.`,
		Example: `  tenantgen diff            # in CI: fails when someone forgot to generate
  tenantgen diff | git apply`,
		Args: noArgs,
	}
	cf := addConfigFlag(c, "config file")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		if newStamp(cfg).current() {
			return nil // the files are as generate wrote them from these inputs
		}
		fullRuns++
		out, err := gen.Generate(cfg, gen.Options{})
		if err != nil {
			return err
		}
		d, err := out.Diff()
		if err != nil {
			return err
		}
		if d != "" {
			fmt.Fprint(e.stdout, d)
			fmt.Fprintln(e.stderr, "tenantgen: generated files are stale; run tenantgen generate")
			return errProblems
		}
		return nil
	}
	return c
}
