// Package sqlcrun runs sqlc in a child process. sqlc's CLI exits the process
// on errors, so tenantgen re-executes its own binary (or test binary) with an
// environment variable that turns it into sqlc; main and TestMain call
// ServeChild first thing.
package sqlcrun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sqlc-dev/sqlc/pkg/cli"

	"github.com/tenantgen/tenantgen/gen/diag"
)

const childEnv = "TENANTGEN_SQLC_CHILD"

// ServeChild runs sqlc and exits when this process was started as a sqlc
// child; otherwise it returns at once.
func ServeChild() {
	if os.Getenv(childEnv) != "1" {
		return
	}
	os.Exit(cli.Run(os.Args[1:]))
}

// Generate runs `sqlc generate` on the config file cfg. Errors that sqlc
// reports about input files come back as a diag.List, their paths mapped
// through display (from the path sqlc printed, relative to cfg's directory).
func Generate(ctx context.Context, cfg string, display func(abs string) string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating tenantgen's own binary to run sqlc: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, "generate", "-f", cfg)
	cmd.Dir = filepath.Dir(cfg)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if d := parseErrors(stderr.String(), filepath.Dir(cfg), display); len(d) > 0 {
			return d.Err()
		}
		return fmt.Errorf("sqlc: %v\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

var errLine = regexp.MustCompile(`^(.+?\.sql):(\d+):(\d+): (.*)$`)

func parseErrors(out, dir string, display func(string) string) diag.List {
	var l diag.List
	for _, line := range strings.Split(out, "\n") {
		m := errLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			if strings.HasPrefix(line, "# package") || strings.TrimSpace(line) == "" {
				continue
			}
			if len(l) > 0 { // a continuation of the previous message
				l[len(l)-1].Msg += "; " + strings.TrimSpace(line)
				continue
			}
			l.Add(diag.Pos{File: "sqlc"}, "", "%s", strings.TrimSpace(line))
			continue
		}
		p := m[1]
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		ln, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		l.Add(diag.Pos{File: display(p), Line: ln, Col: col}, hint(m[4]), "%s", m[4])
	}
	return l
}

func hint(msg string) string {
	switch {
	case strings.Contains(msg, "does not exist"):
		return "queries are checked against every table of sql/schema, shared and tenant"
	case strings.Contains(msg, "syntax error"):
		return "queries use sqlc syntax: -- name: Name :one|:many|:exec ..."
	}
	return ""
}
