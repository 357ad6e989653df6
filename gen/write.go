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
	underGoGenerate := os.Getenv("GOFILE") != "" && os.Getenv("GOPACKAGE") != ""
	for _, p := range o.stale() {
		buried, err := removeStale(p, underGoGenerate)
		if err != nil {
			return changed, err
		}
		if buried {
			o.Tombstones = append(o.Tombstones, p)
		}
		changed++
	}
	return changed, nil
}

// removeStale deletes a file tenantgen no longer generates. Under go
// generate a Go file is emptied into a build-ignored tombstone instead: go
// generate lists a package's files before it runs the directives and then
// reads each one for //go:generate lines, failing the whole run on a file
// that has gone. A tombstone still reads, builds into nothing, and is no
// longer listed (build-ignored files are not), so the next run deletes it.
func removeStale(path string, underGoGenerate bool) (buried bool, err error) {
	if underGoGenerate && strings.HasSuffix(path, ".go") && !isTombstone(path) {
		return true, os.WriteFile(path, []byte(tombstone), 0o644)
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return false, err
	}
	return false, nil
}

// tombstone replaces a stale Go file while go generate runs.
const tombstone = Header + `

//go:build ignore

// This file is no longer generated; the next tenantgen generate deletes it.

package removed
`

func isTombstone(path string) bool {
	data, err := os.ReadFile(path)
	return err == nil && string(data) == tombstone
}

// Diff returns a unified diff from the files on disk to the output; empty
// when they are current. It applies with git apply and patch -p1 (see
// patchPath for where). A stale tombstone counts as deleted already: the
// next generate deletes it, and nothing builds it meanwhile.
func (o *Output) Diff() (string, error) {
	var b strings.Builder
	for _, f := range o.Files {
		old, err := os.ReadFile(f.Path)
		switch {
		case os.IsNotExist(err):
			o.writeDiff(&b, f.Path, nil, f.Content)
			continue
		case err != nil:
			return "", err
		case bytes.Equal(old, f.Content):
			continue
		}
		o.writeDiff(&b, f.Path, old, f.Content)
	}
	for _, p := range o.stale() {
		old, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		if string(old) == tombstone {
			continue
		}
		o.writeDiff(&b, p, old, nil)
	}
	return b.String(), nil
}

// writeDiff writes one file's patch; a nil side is an absent file (shown
// as /dev/null, with no lines: difflib would make one empty line of it).
func (o *Output) writeDiff(b *strings.Builder, path string, a, z []byte) {
	name := o.patchPath(path)
	from, to := "a/"+name, "b/"+name
	if a == nil {
		from = "/dev/null"
	}
	if z == nil {
		to = "/dev/null"
	}
	fmt.Fprintf(b, "diff --git a/%s b/%s\n", name, name)
	switch {
	case a == nil:
		b.WriteString("new file mode 100644\n")
	case z == nil:
		b.WriteString("deleted file mode 100644\n")
	}
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(a), B: lines(z), FromFile: from, ToFile: to, Context: 3,
	})
	b.WriteString(text)
}

// patchPath names a file in a patch: relative to the working directory
// when the file is below it (apply it from there), else to the config's
// directory. Patches take no absolute or ../ paths.
func (o *Output) patchPath(path string) string {
	if p := DisplayPath(path); !filepath.IsAbs(p) {
		return p
	}
	if r, err := filepath.Rel(o.Root, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(path)
}

// lines splits text after each newline. A last line without one carries
// the marker patch and git expect, so that difflib prints it after the line.
func lines(text []byte) []string {
	if len(text) == 0 {
		return nil
	}
	out := strings.SplitAfter(string(text), "\n")
	if out[len(out)-1] == "" {
		return out[:len(out)-1]
	}
	out[len(out)-1] += "\n\\ No newline at end of file\n"
	return out
}
