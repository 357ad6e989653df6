// Command tenantgen generates schema-per-tenant PostgreSQL data layers and
// runs their migrations. See the README for the tour.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantgen/tenantgen/gen/diag"
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

// env is what a command writes to.
type env struct {
	stdout, stderr io.Writer
}

// usageError marks errors that exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errProblems exits 1 without more to print: the command printed them.
var errProblems = errors.New("problems found")

// exitStatus makes run exit with a command's own status (psql, exec).
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// run executes one command line and returns the process's exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	return report(e, cmd, err)
}

// report prints err, once, with the one prefix every message has, and maps
// it to an exit code.
func report(e *env, cmd *cobra.Command, err error) int {
	var ue usageError
	var status exitStatus
	var diags diag.List
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &status):
		return int(status) // the command's messages are its own
	case errors.Is(err, errProblems):
		return exitProblems
	case errors.As(err, &ue):
		if ue.msg == "" {
			return exitUsage // the help was printed instead
		}
		fmt.Fprintf(e.stderr, "tenantgen: %s\n", ue.msg)
		if cmd != nil {
			use := cmd.UseLine()
			if cmd.HasAvailableSubCommands() {
				use = cmd.CommandPath() + " [command]"
			}
			fmt.Fprintf(e.stderr, "usage: %s\nRun '%s --help' for more.\n", use, cmd.CommandPath())
		}
		return exitUsage
	case errors.As(err, &diags):
		// Positioned diagnostics read like a compiler's: no prefix.
		fmt.Fprintln(e.stderr, diags.Error())
		return exitProblems
	}
	fmt.Fprintf(e.stderr, "tenantgen: %s\n", strings.TrimPrefix(err.Error(), "tenantgen: "))
	return exitProblems
}

// newRoot builds the command tree; every run gets a fresh one, so flag
// values never leak from one run (or test) into the next.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "tenantgen",
		Short: "Schema-per-tenant PostgreSQL data layers for Go",
		Long: `tenantgen checks goose schema files whose statements are marked
-- tenantgen:shared or -- tenantgen:tenant, splits them into two migration
sets (public, and every tenant schema), has sqlc type the queries into a Go
package where scope is a compile-time fact, and runs the migrations of a
whole fleet of tenants.

Exit codes: 0 ok, 1 problems found, 2 usage error.`,
		Example: `  tenantgen init
  tenantgen generate
  tenantgen migrate
  tenantgen tenant create thor --domain thor.polls.local
  tenantgen status --check`,
		Annotations:   map[string]string{groupAnnotation: "true"},
		SilenceErrors: true,
		SilenceUsage:  true,
		// Unknown commands are usage errors (exit 2), with cobra's
		// suggestions; no command at all prints the help, also exit 2.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(e.stderr)
			_ = cmd.Help()
			return usageError{}
		},
	}
	cobra.EnableCommandSorting = false // the order of a project's life
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(), "{{if .Runnable}}", `{{if and .Runnable (not (index .Annotations "`+groupAnnotation+`"))}}`, 1))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.AddGroup(&cobra.Group{ID: "gen", Title: "Generating:"}, &cobra.Group{ID: "db", Title: "Database:"})
	for _, c := range []*cobra.Command{newInit(e), newGenerate(e), newVet(e), newDiff(e)} {
		c.GroupID = "gen"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newMigrate(e), newTenant(e), newStatus(e), newPsql(e), newExec(e)} {
		c.GroupID = "db"
		root.AddCommand(c)
	}
	root.AddCommand(newVersion(e))
	return root
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usageError{msg}
}

// group makes a command that only holds subcommands: run alone or with an
// unknown subcommand it is a usage error.
func group(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var names []string
			for _, s := range cmd.Commands() {
				names = append(names, s.Name())
			}
			return usagef("missing subcommand: %s", strings.Join(names, ", "))
		},
	}
	c.AddCommand(subs...)
	c.Annotations = map[string]string{groupAnnotation: "true"}
	return c
}

// groupAnnotation marks a command that is runnable only to report misuse:
// its usage shows the subcommands alone (see newRoot's usage template).
const groupAnnotation = "group"

// noArgs refuses positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}
