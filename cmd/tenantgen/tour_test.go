package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tenantgen/tenantgen/internal/pgtest"
)

// tourStep is one thing the README's tour has the reader do: write a file
// (or find it as init wrote it), or run a command and see its output.
type tourStep struct {
	line int // in README.md, for messages

	file, content string // a file block: <!-- file: PATH --> before it

	command string
	output  string // what the README shows after the command; "" shows nothing
}

// readTour extracts the steps of the README's tour, from "### 1." to the
// end of the section: sh blocks hold "$ command" lines, each followed by its
// output; a block right after <!-- file: PATH --> is that file. Other
// blocks are illustrations.
func readTour(t *testing.T, readme string) []tourStep {
	t.Helper()
	lines := strings.Split(readme, "\n")
	start, end := -1, len(lines)
	for i, l := range lines {
		switch {
		case start < 0 && l == "## The tour":
			start = i
		case start >= 0 && strings.HasPrefix(l, "## "):
			end = i
		}
		if end < len(lines) {
			break
		}
	}
	if start < 0 {
		t.Fatal("README.md has no tour")
	}
	for start < end && !strings.HasPrefix(lines[start], "### 1.") {
		start++
	}
	fileRe := regexp.MustCompile(`^<!-- file: (\S+) -->$`)
	var steps []tourStep
	file := ""
	for i := start; i < end; i++ {
		l := lines[i]
		if m := fileRe.FindStringSubmatch(l); m != nil {
			file = m[1]
			continue
		}
		if !strings.HasPrefix(l, "```") {
			if strings.TrimSpace(l) != "" {
				file = ""
			}
			continue
		}
		lang := strings.TrimPrefix(l, "```")
		j := i + 1
		for j < end && lines[j] != "```" {
			j++
		}
		body := lines[i+1 : j]
		switch {
		case file != "":
			steps = append(steps, tourStep{line: i + 1, file: file, content: strings.Join(body, "\n") + "\n"})
		case lang == "sh":
			for k, b := range body {
				if cmd, ok := strings.CutPrefix(b, "$ "); ok {
					steps = append(steps, tourStep{line: i + 2 + k, command: cmd})
				} else if len(steps) > 0 && steps[len(steps)-1].command != "" {
					steps[len(steps)-1].output += b + "\n"
				}
			}
		}
		file = ""
		i = j
	}
	return steps
}

// timings are normalised away: 8ms, 1.2s, 950µs.
var timingRe = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|us|ms|s|m)\b`)

func normalise(s string) string { return timingRe.ReplaceAllString(s, "<duration>") }

// TestREADMETour follows the README's tour literally in a fresh module,
// against a database of its own, with this checkout standing in for the
// published module.
func TestREADMETour(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	steps := readTour(t, string(readme))
	if len(steps) < 15 {
		t.Fatalf("found only %d steps in the tour", len(steps))
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.NewDatabase(t)
	dir := t.TempDir()
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "DATABASE_URL=")
	aliases := map[string]string{}
	for _, st := range steps {
		where := fmt.Sprintf("README.md:%d", st.line)
		if st.file != "" {
			path := filepath.Join(dir, filepath.FromSlash(st.file))
			if have, err := os.ReadFile(path); err == nil {
				if string(have) != st.content {
					t.Fatalf("%s: %s is not what the project has:\n%s", where, st.file, have)
				}
				continue
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(st.content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		command := st.command
		if i := strings.Index(command, "  #"); i >= 0 {
			command = strings.TrimSpace(command[:i])
		}
		// What the shell would do with an alias and an export.
		if name, def, ok := strings.Cut(strings.TrimPrefix(command, "alias "), "="); ok && strings.HasPrefix(command, "alias ") {
			aliases[name] = strings.Trim(def, "'")
			continue
		}
		if name, _, ok := strings.Cut(strings.TrimPrefix(command, "export "), "="); ok && strings.HasPrefix(command, "export ") {
			if name != "DATABASE_URL" {
				t.Fatalf("%s: unexpected export %s", where, command)
			}
			env = append(env, "DATABASE_URL="+dbURL) // the test's own database
			continue
		}
		word, rest, _ := strings.Cut(command, " ")
		if def, ok := aliases[word]; ok {
			command = def + " " + rest
		}
		if command == "go get -tool github.com/tenantgen/tenantgen/cmd/tenantgen" {
			// The published module, in the form of this checkout.
			command = "go mod edit -require github.com/tenantgen/tenantgen@v0.0.0-00010101000000-000000000000 -replace github.com/tenantgen/tenantgen=" + repo + " -tool github.com/tenantgen/tenantgen/cmd/tenantgen && go mod tidy"
		}
		cmd := exec.Command("sh", "-c", command)
		cmd.Dir = dir
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if st.output == "" {
			if err != nil {
				t.Fatalf("%s: %s: %v\n%s", where, st.command, err, out)
			}
			continue // the README shows no output: go's own chatter is not compared
		}
		// A command whose output the README shows may fail (vet on
		// mistakes): the output is what counts.
		if got, want := normalise(string(out)), normalise(st.output); got != want {
			t.Fatalf("%s: %s (%v): output differs from the README's\ngot:\n%s\nwant:\n%s", where, st.command, err, got, want)
		}
	}
}
