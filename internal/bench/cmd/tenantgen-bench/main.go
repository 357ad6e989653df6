// Command tenantgen-bench measures tenantgen against baselines measured in the
// same run and writes BENCHMARKS.md. It needs a PostgreSQL server
// (TENANTGEN_TEST_DATABASE_URL, default the local one) on which it creates the
// database tenantgen_bench (the query path's 10,000 tenant schemas; dropped
// at the end unless -keep is given, and reused by the next run if kept) and
// tenantgen_bench_fleet (fleet migration and creation; always dropped).
//
// The families are packages of internal/bench, each with its own flags:
// query (the query path through a generated tenant handle), migrate (fleet
// migration), create (tenant creation), generate (code generation on a
// synthetic input from internal/bench/synth).
//
//	go run ./internal/bench/cmd/tenantgen-bench -out BENCHMARKS.md
//	go run ./internal/bench/cmd/tenantgen-bench -only query -dur 3s -keep
//	go run ./internal/bench/cmd/tenantgen-bench -write-synth /tmp/synth   # the generation input only
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/tenantgen/tenantgen/gen/sqlcrun"
	"github.com/tenantgen/tenantgen/internal/bench"
	"github.com/tenantgen/tenantgen/internal/bench/create"
	"github.com/tenantgen/tenantgen/internal/bench/generate"
	"github.com/tenantgen/tenantgen/internal/bench/migrate"
	"github.com/tenantgen/tenantgen/internal/bench/query"
	"github.com/tenantgen/tenantgen/internal/bench/synth"
)

// flags are the command's own flags; each family registers its own.
type flags struct {
	out        string
	only       bench.Names
	writeSynth string
	env        bench.Config
	query      query.Config
	migrate    migrate.Config
	create     create.Config
	generate   generate.Config
}

// familyNames are the families in the order they run and are reported.
var familyNames = []string{"query", "migrate", "create", "generate"}

func main() {
	sqlcrun.ServeChild() // the generation family runs gen.Generate in process, which runs sqlc as a child of this binary
	f, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err != nil {
		fatal(err)
	}
	if f.writeSynth != "" {
		if err := synth.Write(f.writeSynth, f.generate.Synth); err != nil {
			fatal(err)
		}
		fmt.Fprintf(os.Stderr, "synthetic input written to %s (tenantgen.yaml and sqlc.yaml)\n", f.writeSynth)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	report, err := run(ctx, f)
	if report != nil {
		if werr := writeReport(f.out, report); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fatal(err)
	}
}

// parseFlags registers every family's flags on fs and parses args.
func parseFlags(fs *flag.FlagSet, args []string) (*flags, error) {
	f := &flags{}
	fs.StringVar(&f.out, "out", "", "write the report to this file (default: stdout)")
	fs.Var(&f.only, "only", "benchmark families to run (default: all of query,migrate,create,generate)")
	fs.StringVar(&f.writeSynth, "write-synth", "", "only write the synthetic generation input into this directory, then exit")
	f.env.Flags(fs)
	f.query.Flags(fs)
	f.migrate.Flags(fs)
	f.create.Flags(fs)
	f.generate.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.only == nil {
		f.only = bench.Names{}
		for _, n := range familyNames {
			f.only[n] = true
		}
	}
	for n := range f.only {
		if !slices.Contains(familyNames, n) {
			return nil, fmt.Errorf("-only: unknown family %q (query, migrate, create, generate)", n)
		}
	}
	return f, nil
}

// families are the selected families, in report order.
func (f *flags) families() []bench.Family {
	all := []bench.Family{
		{Name: "query", Run: f.query.Run},
		{Name: "migrate", Run: f.migrate.Run},
		{Name: "create", Run: f.create.Run},
		{Name: "generate", Run: f.generate.Run},
	}
	var out []bench.Family
	for _, fam := range all {
		if f.only[fam.Name] {
			out = append(out, fam)
		}
	}
	return out
}

// run runs the selected families and returns the report, also a partial one
// when a family fails.
func run(ctx context.Context, f *flags) (*bytes.Buffer, error) {
	start := time.Now()
	e, err := bench.Open(ctx, f.env, f.query.Layout())
	if err != nil {
		return nil, err
	}
	defer e.Close()
	var sections []bench.Section
	var targets []bench.TargetRow
	var runErr error
	for _, fam := range f.families() {
		bench.Logf("== %s", fam.Name)
		t0 := time.Now()
		s, t, err := fam.Run(ctx, e)
		s.Took = time.Since(t0)
		bench.Logf("== %s done in %s", fam.Name, s.Took.Round(time.Second))
		if s.Title != "" {
			sections = append(sections, s)
		}
		targets = append(targets, t...)
		if err != nil {
			runErr = fmt.Errorf("%s: %w", fam.Name, err)
			break
		}
	}
	e.Finish(ctx)
	return bench.Render(e, sections, targets, time.Since(start), runErr), runErr
}

func writeReport(path string, buf *bytes.Buffer) error {
	if path == "" {
		_, err := os.Stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	bench.Logf("report written to %s", path)
	return nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "tenantgen-bench:", err)
	os.Exit(1)
}
