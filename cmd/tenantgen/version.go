package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

const (
	modulePath = "github.com/tenantgen/tenantgen"
	sqlcPath   = "github.com/sqlc-dev/sqlc"
)

func newVersion(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print tenantgen's version and sqlc's",
		Example: "  tenantgen version\n  go tool tenantgen version",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := readVersions()
			fmt.Fprintf(e.stdout, "tenantgen %s\nsqlc %s\n%s\n", v.tenantgen, v.sqlc, v.goVersion)
			return nil
		},
	}
}

// versions are what the binary was built from.
type versions struct {
	tenantgen, sqlc, goVersion string
}

// readVersions reads the build info: tenantgen is the main module when
// installed with go install or run with go run pkg@version, and a
// dependency when run with go tool from the user's module.
func readVersions() versions {
	v := versions{tenantgen: "unknown", sqlc: "unknown", goVersion: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.goVersion = bi.GoVersion
	if bi.Main.Path == modulePath {
		v.tenantgen = moduleVersion(&bi.Main, bi.Settings)
	}
	for _, d := range bi.Deps {
		switch d.Path {
		case modulePath:
			v.tenantgen = moduleVersion(d, nil)
		case sqlcPath:
			v.sqlc = moduleVersion(d, nil)
		}
	}
	return v
}

// moduleVersion shows a module's version, its replacement, and for a
// development build the VCS revision it was built at.
func moduleVersion(m *debug.Module, settings []debug.BuildSetting) string {
	if m.Replace != nil {
		r := m.Replace.Path
		if v := m.Replace.Version; v != "" && v != "(devel)" { // a directory has none
			r += " " + m.Replace.Version
		}
		return m.Version + " => " + r
	}
	s := m.Version
	var rev, modified string
	for _, kv := range settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.modified":
			modified = kv.Value
		}
	}
	if rev != "" && s == "(devel)" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " " + rev
		if modified == "true" {
			s += "+dirty"
		}
	}
	return s
}
