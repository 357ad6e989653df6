package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenantgen/tenantgen/gen"
	"github.com/tenantgen/tenantgen/gen/config"
)

// A stamp records the fingerprint (gen.Fingerprint) of a project after a
// successful generate, in the user's cache directory: a later generate, vet
// or diff that finds the same fingerprint has nothing to do, and skips
// sqlc and the analysis. The stamp is only ever a shortcut: a missing,
// unreadable or foreign one means a full run.
type stamp struct {
	path string // the stamp file; "" when there is no cache directory
	cfg  *config.Config
	sum  string // the fingerprint before the run; "" when not computable
}

// toolID identifies the generator: versions from the build info, and the
// binary itself (path, size, time), since a development build's version
// does not change with its code. A variable for the tests.
var toolID = func() string {
	v := readVersions()
	id := fmt.Sprintf("tenantgen %s sqlc %s %s", v.tenantgen, v.sqlc, v.goVersion)
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			id += fmt.Sprintf(" %s %d %d", exe, st.Size(), st.ModTime().UnixNano())
		}
	}
	return id
}

// stampDir is where stamps live: $TENANTGEN_CACHE, else tenantgen/stamps
// in the user's cache directory ($XDG_CACHE_HOME or ~/.cache on Linux).
func stampDir() string {
	if dir := os.Getenv("TENANTGEN_CACHE"); dir != "" {
		return dir
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "tenantgen", "stamps")
}

func newStamp(cfg *config.Config) *stamp {
	s := &stamp{cfg: cfg}
	dir := stampDir()
	abs, err := filepath.Abs(cfg.Path)
	if dir == "" || err != nil {
		return s
	}
	key := sha256.Sum256([]byte(abs))
	s.path = filepath.Join(dir, hex.EncodeToString(key[:16]))
	if sum, ok, err := gen.Fingerprint(cfg, toolID()); err == nil && ok {
		s.sum = sum
	}
	return s
}

// current reports whether the project is exactly as the last successful
// generate left it.
func (s *stamp) current() bool {
	if s.path == "" || s.sum == "" {
		return false
	}
	data, err := os.ReadFile(s.path)
	return err == nil && strings.TrimSpace(string(data)) == s.sum
}

// save records the project's fingerprint after a successful generate.
// Failing to is not an error: the next run is a full one.
func (s *stamp) save() {
	if s.path == "" {
		return
	}
	sum, ok, err := gen.Fingerprint(s.cfg, toolID())
	if err != nil || !ok {
		_ = os.Remove(s.path)
		return
	}
	writeCache(s.path, sum+"\n")
}

// writeCache replaces path with content through a temporary file, so that
// a reader never sees half of it; errors leave the cache as it was.
func writeCache(path, content string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".stamp-*")
	if err != nil {
		return
	}
	_, werr := tmp.WriteString(content)
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		_ = os.Remove(tmp.Name())
		return
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
	}
}

// warningsPath is where vet keeps the Citus warnings of the fingerprinted
// inputs: the stamp's path with .citus, its first line the fingerprint.
func (s *stamp) warningsPath() string {
	if s.path == "" || s.sum == "" {
		return ""
	}
	return s.path + ".citus"
}

// loadWarnings returns the warnings saved for these very inputs.
func (s *stamp) loadWarnings() (string, bool) {
	path := s.warningsPath()
	if path == "" {
		return "", false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	sum, text, ok := strings.Cut(string(data), "\n")
	return text, ok && sum == s.sum
}

// saveWarnings keeps text for the inputs fingerprinted when the stamp was
// made; like save, failing to is not an error.
func (s *stamp) saveWarnings(text string) {
	path := s.warningsPath()
	if path != "" {
		writeCache(path, s.sum+"\n"+text)
	}
}
