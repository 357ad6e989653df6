package gen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tenantgen/tenantgen/gen/config"
)

// Fingerprint hashes everything a generate run of cfg depends on: the
// tool (its versions and binary, from the caller), the config file, every
// schema and query file, and every file in the output directories, names
// and contents. Equal fingerprints before a run and after the last
// successful one mean the run would write nothing. ok is false when the
// output holds something only a full run clears (a tombstone, a temporary
// file of an interrupted write).
func Fingerprint(cfg *config.Config, tool string) (sum string, ok bool, err error) {
	h := sha256.New()
	fmt.Fprintf(h, "tenantgen fingerprint 1\x00tool %s\x00", tool)
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return "", false, err
	}
	if err := hashFile(h, "config "+abs, abs); err != nil {
		return "", false, err
	}
	for _, in := range []string{cfg.Abs(cfg.Schema), cfg.Abs(cfg.Queries)} {
		if err := hashDir(h, in, func(name string) bool { return strings.HasSuffix(name, ".sql") }); err != nil {
			return "", false, err
		}
	}
	out := cfg.Abs(cfg.Out)
	ok = true
	for _, dir := range []string{out, filepath.Join(out, "migrations", "shared"), filepath.Join(out, "migrations", "tenant")} {
		err := hashDir(h, dir, func(name string) bool {
			if strings.HasPrefix(name, ".tenantgen-") {
				ok = false
			}
			return strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".sql")
		})
		if err != nil {
			return "", false, err
		}
	}
	if ok {
		ok = !hasTombstone(out)
	}
	return hex.EncodeToString(h.Sum(nil)), ok, nil
}

// hashDir hashes the names of a directory's regular files, and the
// contents of those for which content says so; a missing directory hashes
// as such.
func hashDir(h hash.Hash, dir string, content func(name string) bool) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		fmt.Fprintf(h, "dir %s absent\x00", dir)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "dir %s\x00", dir)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if !content(e.Name()) {
			fmt.Fprintf(h, "name %s\x00", e.Name())
			continue
		}
		if err := hashFile(h, "file "+e.Name(), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func hashFile(h hash.Hash, label, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// The length first, so that no two sequences of files hash alike.
	fmt.Fprintf(h, "%s %d\x00", label, st.Size())
	_, err = io.Copy(h, f)
	return err
}

// hasTombstone reports whether the package directory holds a tombstone,
// which the next full run deletes.
func hasTombstone(dir string) bool {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Size() == int64(len(tombstone)) && isTombstone(p) {
			return true
		}
	}
	return false
}
