// Package config reads tenantgen.yaml.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"gopkg.in/yaml.v3"
)

// DefaultFile is the config file name tenantgen looks for.
const DefaultFile = "tenantgen.yaml"

// Config is tenantgen.yaml. Paths are relative to the file's directory.
type Config struct {
	Version int    `yaml:"version"`
	Schema  string `yaml:"schema"`  // directory of goose schema files
	Queries string `yaml:"queries"` // directory of sqlc query files
	Out     string `yaml:"out"`     // directory of the generated package
	Package string `yaml:"package"` // its name; defaults to the directory's base name
	// Sqlc holds options of sqlc's "gen: go" block (overrides, emit_json_tags,
	// ...), passed through unchanged.
	Sqlc map[string]any `yaml:"sqlc"`

	// Dir is the directory of the config file, absolute.
	Dir string `yaml:"-"`
	// Path is the config file as given, for messages.
	Path string `yaml:"-"`
}

var packageRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// reserved are sqlc options tenantgen sets itself.
var reserved = map[string]string{
	"package":                       "use the top-level package key",
	"out":                           "use the top-level out key",
	"sql_package":                   "tenantgen generates for pgx/v5",
	"emit_methods_with_db_argument": "tenantgen binds queries to a scope through the receiver",
}

// Load reads and checks a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file\n\thint: run `tenantgen init` to create one, or pass -f", path)
		}
		return nil, err
	}
	c := &Config{Version: 1, Schema: "sql/schema", Queries: "sql/queries", Out: "internal/db"}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, os.ErrNotExist) && err.Error() != "EOF" {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	c.Dir, c.Path = abs, path
	if c.Package == "" {
		c.Package = filepath.Base(filepath.Clean(c.Out))
	}
	switch {
	case c.Version != 1:
		return nil, fmt.Errorf("%s: version %d is not supported\n\thint: this tenantgen reads version: 1", path, c.Version)
	case !packageRe.MatchString(c.Package):
		return nil, fmt.Errorf("%s: package %q is not a valid Go package name\n\thint: set package: to a lower-case identifier", path, c.Package)
	}
	for k, why := range reserved {
		if _, ok := c.Sqlc[k]; ok {
			return nil, fmt.Errorf("%s: sqlc option %q is set by tenantgen\n\thint: %s", path, k, why)
		}
	}
	return c, nil
}

// Abs resolves a config-relative path.
func (c *Config) Abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// Rel shows an absolute path relative to the config directory, for messages.
func (c *Config) Rel(p string) string {
	if r, err := filepath.Rel(c.Dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}
