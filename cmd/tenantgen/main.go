// Command tenantgen generates schema-per-tenant PostgreSQL data layers and
// runs their migrations. See the README for the tour.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"

	"github.com/tenantgen/tenantgen/gen/sqlcrun"
)

// Exit codes.
const (
	exitOK       = 0
	exitProblems = 1
	exitUsage    = 2
)

func main() {
	sqlcrun.ServeChild() // returns unless this process is a sqlc child
	if path := os.Getenv("TENANTGEN_CPUPROFILE"); path != "" {
		// For measuring tenantgen itself (make bench); not a user feature.
		if f, err := os.Create(path); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	pprof.StopCPUProfile()
	os.Exit(code)
}

type command struct {
	name, args, help string
	run              func(ctx context.Context, e *env, args []string) error
}

// env is what a command writes to.
type env struct {
	stdout, stderr io.Writer
}

var commands []command

func register(c command) { commands = append(commands, c) }

// usageError marks errors that exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// problemsError exits 1 without more to print.
var errProblems = errors.New("problems found")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		var ue usageError
		var status exitStatus
		switch {
		case err == nil:
			return exitOK
		case errors.As(err, &status):
			// psql and exec: the command's own status, its messages its own.
			return int(status)
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "tenantgen %s: %s\n", c.name, ue.msg)
			fmt.Fprintf(stderr, "usage: tenantgen %s %s\n", c.name, c.args)
			return exitUsage
		case errors.Is(err, errProblems):
			return exitProblems
		default:
			fmt.Fprintln(stderr, err)
			return exitProblems
		}
	}
	fmt.Fprintf(stderr, "tenantgen: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tenantgen: schema-per-tenant PostgreSQL data layers for Go\n\nCommands:")
	order := []string{"init", "generate", "vet", "diff", "migrate", "tenant", "status", "psql", "exec"}
	rank := func(name string) int {
		for i, n := range order {
			if n == name {
				return i
			}
		}
		return len(order)
	}
	sorted := append([]command(nil), commands...)
	sort.SliceStable(sorted, func(i, j int) bool { return rank(sorted[i].name) < rank(sorted[j].name) })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.help)
	}
	fmt.Fprintln(w, "\nRun tenantgen COMMAND -h for a command's flags.")
}

// flags makes a FlagSet that reports errors as usage errors.
func flags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("tenantgen "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}
