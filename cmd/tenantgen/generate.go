package main

import (
	"context"
	"fmt"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
	_ "github.com/tenantgen/tenantgen/gen/golang" // installs the Go emitter
)

func init() {
	register(command{"generate", "[-f tenantgen.yaml]", "check the schema and queries, write migrations and Go code", runGenerate})
	register(command{"vet", "[-f tenantgen.yaml]", "check the schema and queries without writing anything", runVet})
	register(command{"diff", "[-f tenantgen.yaml]", "exit 1 with a unified diff when generated files are stale", runDiff})
}

func loadOutput(e *env, name string, args []string) (*gen.Output, error) {
	fs := flags(e, name)
	file := fs.String("f", config.DefaultFile, "config file")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return nil, err
	}
	return gen.Generate(cfg, gen.Options{})
}

func runGenerate(ctx context.Context, e *env, args []string) error {
	out, err := loadOutput(e, "generate", args)
	if err != nil {
		return err
	}
	n, err := out.Write()
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(e.stderr, "tenantgen: %d file(s) updated in %s\n", n, gen.DisplayPath(out.Dir))
	}
	return nil
}

func runVet(ctx context.Context, e *env, args []string) error {
	_, err := loadOutput(e, "vet", args)
	return err
}

func runDiff(ctx context.Context, e *env, args []string) error {
	out, err := loadOutput(e, "diff", args)
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
