package gen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// owned reports whether a file on disk was written by tenantgen.
func owned(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.Read(head)
	head = head[:n]
	return bytes.HasPrefix(head, []byte(Header)) || bytes.HasPrefix(head, []byte(SQLHeader))
}

// stale lists files tenantgen wrote before that this output no longer has.
func (o *Output) stale() []string {
	want := map[string]bool{}
	for _, f := range o.Files {
		want[f.Path] = true
	}
	var out []string
	for _, dir := range []string{o.Dir, filepath.Join(o.Dir, "migrations", "shared"), filepath.Join(o.Dir, "migrations", "tenant")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if e.IsDir() || want[p] {
				continue
			}
			if (strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".sql")) && owned(p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Write puts the output on disk: every file is written to a temporary name
// first and renamed into place only when all were written. Files tenantgen
// wrote before and no longer generates are removed. A file of the same name
// that tenantgen did not write is never overwritten.
func (o *Output) Write() (changed int, err error) {
	type pending struct{ tmp, dst string }
	var todo []pending
	defer func() {
		for _, p := range todo {
			os.Remove(p.tmp)
		}
	}()
	for _, f := range o.Files {
		old, err := os.ReadFile(f.Path)
		if err == nil && bytes.Equal(old, f.Content) {
			continue
		}
		if err == nil && !owned(f.Path) {
			return 0, fmt.Errorf("%s exists and was not written by tenantgen\n\thint: move it away, or change out: in the config", DisplayPath(f.Path))
		}
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return 0, err
		}
		tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".tenantgen-*")
		if err != nil {
			return 0, err
		}
		todo = append(todo, pending{tmp.Name(), f.Path})
		if _, err := tmp.Write(f.Content); err != nil {
			tmp.Close()
			return 0, err
		}
		if err := tmp.Close(); err != nil {
			return 0, err
		}
	}
	for _, p := range todo {
		if err := os.Chmod(p.tmp, 0o644); err != nil {
			return 0, err
		}
		if err := os.Rename(p.tmp, p.dst); err != nil {
			return 0, err
		}
	}
	changed = len(todo)
	todo = nil
	for _, p := range o.stale() {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return changed, err
		}
		changed++
	}
	return changed, nil
}

// Diff returns a unified diff from the files on disk to the output; empty
// when they are current.
func (o *Output) Diff() (string, error) {
	var b strings.Builder
	for _, f := range o.Files {
		old, err := os.ReadFile(f.Path)
		if err != nil && !os.IsNotExist(err) {
			return "", err
		}
		if bytes.Equal(old, f.Content) {
			continue
		}
		writeDiff(&b, f.Path, string(old), string(f.Content))
	}
	for _, p := range o.stale() {
		old, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		writeDiff(&b, p, string(old), "")
	}
	return b.String(), nil
}

func writeDiff(b *strings.Builder, path, a, z string) {
	name := DisplayPath(path)
	from, to := "a/"+name, "b/"+name
	if a == "" {
		from = "/dev/null"
	}
	if z == "" {
		to = "/dev/null"
	}
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(z), FromFile: from, ToFile: to, Context: 3,
	})
	b.WriteString(text)
}
