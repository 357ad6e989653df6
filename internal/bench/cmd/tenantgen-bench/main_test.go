package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m, "bench") }

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    string // the families, in run order
		wantErr string
	}{
		{args: nil, want: "query,migrate,create,generate"},
		{args: []string{"-only", "create, query"}, want: "query,create"},
		{args: []string{"-only", "migrate", "-fleet", "7", "-parallel", "2"}, want: "migrate"},
		{args: []string{"-only", "qeury"}, wantErr: `unknown family "qeury"`},
		{args: []string{"-conc", "1,x"}, wantErr: "not a list of counts"},
	} {
		fs := flag.NewFlagSet("tenantgen-bench", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f, err := parseFlags(fs, tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		var names []string
		for _, fam := range f.families() {
			names = append(names, fam.Name)
		}
		if got := strings.Join(names, ","); got != tc.want {
			t.Errorf("%q: families %s, want %s", tc.args, got, tc.want)
		}
	}
	// Each family's flags land in its own config.
	fs := flag.NewFlagSet("tenantgen-bench", flag.ContinueOnError)
	f, err := parseFlags(fs, []string{"-fleet", "7", "-parallel", "2,3", "-creates", "5", "-synth-tables", "9", "-db", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if f.migrate.Fleet != 7 || len(f.migrate.Parallel) != 2 || f.create.Creates != 5 || f.generate.Synth.Tables != 9 || f.env.DB != "x" {
		t.Errorf("flags not routed to their family: %+v %+v %+v %+v", f.migrate, f.create, f.generate, f.env)
	}
}

// Each family refuses sizes it cannot measure before it touches the server
// (the Env is nil here).
func TestFamiliesRefuseBadSizes(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		family  string
		wantErr string
	}{
		{[]string{"-zipf-s", "1"}, "query", "-zipf-s must be > 1"},
		{[]string{"-rows", "0"}, "query", "-rows, -pool and -chunk must be at least 1"},
		{[]string{"-conc", ""}, "query", "-conc must name at least one"},
		{[]string{"-fleet", "0"}, "migrate", "-fleet must be at least 1"},
		{[]string{"-parallel", ""}, "migrate", "-parallel not empty"},
		{[]string{"-creates", "0"}, "create", "-creates must be at least 1"},
		{[]string{"-gen-runs", "0"}, "generate", "-gen-runs must be at least 1"},
	} {
		fs := flag.NewFlagSet("tenantgen-bench", flag.ContinueOnError)
		f, err := parseFlags(fs, append([]string{"-only", tc.family}, tc.args...))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.families()[0].Run(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s %q: err %v, want %q", tc.family, tc.args, err, tc.wantErr)
		}
	}
}

// TestFamiliesTiny runs the query, fleet-migration and creation families
// once at a tiny size against the server, to prove they run and report; and
// the query path's steady state, which needs more tenants than pgx's cache
// holds (512), with one strategy. (The generation family builds sqlc, which
// takes longer than the rest of the package's tests; `make bench` runs it.)
func TestFamiliesTiny(t *testing.T) {
	pgtest.URL(t) // skips (or fails under CI) without a server
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{{
		name: "all",
		args: []string{"-only", "query,migrate,create",
			"-tenants", "3", "-zipf", "3", "-conc", "2", "-ppt-tenants", "2", "-rows", "5",
			"-dur", "10ms", "-rounds", "2", "-warmup", "5ms", "-warm-execs", "1",
			"-fleet", "4", "-parallel", "2", "-migrate-chunks", "2", "-baseline-every", "1", "-creates", "2"},
		want: []string{
			"# tenantgen benchmarks", "## How it was run", "## Targets",
			"| N=3 Zipf |", // the query path's table of modes
			"| fleet migration | MigrateTenants >= 3x faster than a sequential goose loop (4 tenants) |",
			"## 1. Query path", "## 2. Fleet migration", "## 3. Tenant creation",
			"go run ./internal/bench/cmd/tenantgen-bench",
		},
	}, {
		name: "steady",
		args: []string{"-only", "query", "-tenants", "513", "-zipf", "", "-conc", "1", "-ppt-tenants", "0",
			"-rows", "2", "-strategies", "tg-cache", "-dur", "10ms", "-rounds", "2", "-warmup", "5ms", "-warm-execs", "1"},
		want: []string{"| query path | tenantgen >= 0.95 of L at N=513 warm |", "## 1. Query path"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("tenantgen_test_benchrun_%s_%d", tc.name, os.Getpid())
			fs := flag.NewFlagSet("tenantgen-bench", flag.ContinueOnError)
			f, err := parseFlags(fs, append([]string{"-db", db}, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			report, err := run(context.Background(), f)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			got := report.String()
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("the report lacks %q", want)
				}
			}
			if strings.Contains(got, "stopped early") {
				t.Error("the report says the run stopped early")
			}
			var exists bool
			if err := pgtest.Connect(t).QueryRow(context.Background(),
				`SELECT EXISTS (SELECT FROM pg_database WHERE datname IN ($1::text, $1::text || '_fleet'))`, db).Scan(&exists); err != nil {
				t.Fatal(err)
			}
			if exists {
				t.Errorf("the bench databases %s, %s_fleet are left behind", db, db)
			}
			if t.Failed() {
				t.Logf("report:\n%s", got)
			}
		})
	}
}
