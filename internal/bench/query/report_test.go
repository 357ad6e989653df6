package query

import (
	"flag"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/report.golden")

// fakeResults fills every cell the default workloads measure with numbers
// derived from the cell's key: deterministic, and different per cell.
func fakeResults(q *queryBench, wls []workload) map[cellKey]cellResult {
	res := map[cellKey]cellResult{}
	for _, op := range []string{"select", "insert"} {
		for _, w := range wls {
			concs := q.c.conc
			if w.steady {
				if op == "insert" {
					continue
				}
				concs = []int{1}
			}
			for _, conc := range concs {
				for _, key := range w.keys {
					k := cellKey{op, conc, w.String(), key}
					h := fnv.New32a()
					h.Write([]byte(k.op + k.wl + k.key))
					v := float64(h.Sum32()%1000) / 1000
					r := cellResult{ops: 1000, qps: 1000 * (1 + v), p50: time.Duration(100+int(v*100)) * time.Microsecond,
						p99: time.Duration(1+int(v*10)) * time.Millisecond, conns: conc, heapMB: 10 * v, ownMB: v, serverMB: 20 * v,
						prepPerOp: v / 10, ratio: 0.5 + v/2, ratioLo: 0.4 + v/2, ratioHi: 0.6 + v/2}
					if key == "limit" {
						r.ratio, r.ratioLo, r.ratioHi = 1, 1, 1
					}
					if key == "naive" {
						r.errs, r.firstErr = 500, "0A000 cached plan must not change result type"
					}
					res[k] = r
				}
			}
		}
	}
	return res
}

// TestReportFormat pins the query path's section of BENCHMARKS.md for
// fixed numbers: its tables, notes and targets. Regenerate with -update and
// review the diff.
func TestReportFormat(t *testing.T) {
	var c Config
	c.Flags(flag.NewFlagSet("query", flag.ContinueOnError))
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	q := &queryBench{c: &c}
	wls := q.workloads()
	sw, ok := q.steadyWorkload()
	if !ok {
		t.Fatal("the defaults measure no steady state")
	}
	wls = append(wls, sw)
	s, targets, err := q.report(wls, strategies(c.bigCache), fakeResults(q, wls), "Setup: fixed.")
	if err != nil {
		t.Fatal(err)
	}
	got := "# " + s.Title + "\n\n" + s.Body + "\n# targets\n\n"
	for _, tr := range targets {
		got += tr.Family + " | " + tr.Target + " | " + tr.Measured + " | " + tr.Status + "\n"
	}
	golden := filepath.Join("testdata", "report.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the report differs from %s (rerun with -update and review the diff):\n%s", golden, got)
	}
}
