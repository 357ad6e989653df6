package bench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Section is one family's part of the report.
type Section struct {
	Title string
	Body  string // markdown
	Took  time.Duration
}

// TargetRow is one line of the report's targets table.
type TargetRow struct {
	Family, Target, Measured, Status string
}

// Family is one benchmark family, run by the command in turn with the
// others on one Env.
type Family struct {
	Name string
	Run  func(context.Context, *Env) (Section, []TargetRow, error)
}

// Status is "met" when ok, else "missed".
func Status(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

var logStart = time.Now()

// Logf logs progress to stderr, with the time since the start.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(logStart).Seconds(), fmt.Sprintf(format, args...))
}

// Percentile is the q-quantile of exact samples (used where there are few).
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return s[i]
}

// Median is the 0.5-Percentile.
func Median(ds []time.Duration) time.Duration { return Percentile(ds, 0.5) }

// FmtMs formats d in milliseconds with one decimal.
func FmtMs(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// MdEscape makes s safe in a markdown table cell.
func MdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// Ints is a flag holding a comma-separated list of counts.
type Ints []int

func (l *Ints) String() string {
	s := make([]string, len(*l))
	for i, n := range *l {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

// Set parses a comma-separated list of non-negative integers; empty items
// are skipped.
func (l *Ints) Set(s string) error {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(f, "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != f {
			return fmt.Errorf("not a list of counts: %q", s)
		}
		out = append(out, n)
	}
	*l = out
	return nil
}

// Names is a flag holding a comma-separated set of names.
type Names map[string]bool

func (n *Names) String() string {
	keys := make([]string, 0, len(*n))
	for k := range *n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// Set parses a comma-separated list; empty items are skipped, and no
// names at all leave n nil (no selection).
func (n *Names) Set(s string) error {
	m := Names{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			m[f] = true
		}
	}
	*n = nil
	if len(m) > 0 {
		*n = m
	}
	return nil
}
