package query

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	tgruntime "github.com/tenantgen/tenantgen/runtime"

	"github.com/tenantgen/tenantgen/internal/bench"
)

// queryBench is the query-path family: a point SELECT by primary key and a
// one-row INSERT, per strategy, tenant count, access distribution and
// concurrency.
type queryBench struct {
	e       *bench.Env
	c       *Config
	tenants []tgruntime.Tenant
	names   []string
	prefix  []string // "<tenant>-": what the rows of the tenant are named
	insName []string // "<tenant>-i": the inserted rows' name
	setPath []string // SET search_path TO "<tenant>", public
	qualSel []string // the SQL tenantgen sends for the tenant
	qualIns []string

	limitSel, limitIns string // the generated SQL bound to limitSchema
	plainSel, plainIns string // the same, unqualified (search_path strategies)

	preps prepCounter
}

type workload struct {
	n    int
	zipf bool
	// cold: no explicit warm-up. Where N exceeds the default caches, warming
	// every connection for every tenant takes longer than the whole cell, so
	// those cells measure fresh connections (the first seconds after a
	// start); the steady state is measured apart, at c=1.
	cold bool
	// steady: measured after every strategy's connection has run the op for
	// every tenant, connections kept open across rounds (c=1 only).
	steady bool
	keys   []string // strategies measured
}

func (w workload) String() string {
	s := fmt.Sprintf("N=%d", w.n)
	if w.zipf {
		s += " Zipf"
	}
	if w.cold {
		s += " cold"
	}
	if w.steady {
		s += " warm"
	}
	return s
}

type cellKey struct {
	op   string
	conc int
	wl   string
	key  string
}

type cellResult struct {
	ops        int64
	qps        float64
	p50, p99   time.Duration
	conns      int
	heapMB     float64 // HeapAlloc after the run, pools open, after a GC
	ownMB      float64 // of which the strategy's: what closing it freed
	serverMB   float64 // sum over the bench connections of their memory contexts
	prepPerOp  float64
	errs       int64
	mismatches int64
	firstErr   string
	// ratio to L: the median of the rounds' ratios, and their range
	ratio, ratioLo, ratioHi float64
}

// Run measures every cell and the steady state, and reports them.
func (c *Config) Run(ctx context.Context, e *bench.Env) (bench.Section, []bench.TargetRow, error) {
	if err := c.check(); err != nil {
		return bench.Section{}, nil, err
	}
	q := &queryBench{e: e, c: c}
	var err error
	if q.limitSel, q.limitIns, err = querySQL(); err != nil {
		return bench.Section{}, nil, err
	}
	qual := bench.Ident(limitSchema) + "."
	q.plainSel = strings.ReplaceAll(q.limitSel, qual, "")
	q.plainIns = strings.ReplaceAll(q.limitIns, qual, "")

	maxN := slices.Max(append(append([]int{1, c.pptTenants}, c.tenants...), c.zipfN...))
	setupNote, err := q.setup(ctx, maxN)
	if err != nil {
		return bench.Section{}, nil, err
	}
	for i := range maxN {
		q.addTenant(queryTenantName(i))
	}

	wls := q.workloads()
	all := strategies(c.bigCache)
	byKey := map[string]strategy{}
	for _, s := range all {
		byKey[s.key] = s
	}
	results, err := q.cells(ctx, wls, byKey)
	if err != nil {
		return bench.Section{}, nil, err
	}
	if sw, ok := q.steadyWorkload(); ok {
		bench.Logf("  steady state at N=%d, c=1", sw.n)
		if err := q.steady(ctx, sw, byKey, results); err != nil {
			return bench.Section{}, nil, fmt.Errorf("steady state: %w", err)
		}
		wls = append(wls, sw)
	}
	return q.report(wls, all, results, setupNote)
}

// addTenant adds the strings each strategy needs for tenant name.
func (q *queryBench) addTenant(name string) {
	qual := bench.Ident(limitSchema) + "."
	q.names = append(q.names, name)
	q.tenants = append(q.tenants, tgruntime.MustTenant(name))
	q.prefix = append(q.prefix, name+"-")
	q.insName = append(q.insName, name+"-i")
	q.setPath = append(q.setPath, "SET search_path TO "+bench.Ident(name)+", public")
	q.qualSel = append(q.qualSel, strings.ReplaceAll(q.limitSel, qual, bench.Ident(name)+"."))
	q.qualIns = append(q.qualIns, strings.ReplaceAll(q.limitIns, qual, bench.Ident(name)+"."))
}

// setup makes the first maxN tenant schemas (and L-flat's table, for the
// steady state) exist, and returns the report's note on what it did.
func (q *queryBench) setup(ctx context.Context, maxN int) (string, error) {
	c := q.c
	t0 := time.Now()
	flatRows := 0
	if _, ok := q.steadyWorkload(); ok {
		flatRows = slices.Max(c.tenants) * c.rows
	}
	created, flatCreated, err := q.setupTenants(ctx, maxN, flatRows)
	if err != nil {
		return "", fmt.Errorf("creating the query-path tenants: %w", err)
	}
	took := time.Since(t0)
	note := fmt.Sprintf("Setup: %d tenant schemas q00000.. plus the limit's schema, each with benchdb's tenant set (CREATE TYPE + CREATE TABLE) and %d rows, made with plain SQL (not goose) in transactions of %d schemas on %d connections. ",
		maxN, c.rows, c.chunk, c.setupWorkers)
	switch {
	case created == 0:
		note += "This run reused them all from an earlier run kept with `-keep`"
		if prev := q.meta(ctx, "setup", ""); prev != "" {
			note += fmt.Sprintf(" (which created %s)", prev)
		}
	case created < maxN:
		note += fmt.Sprintf("This run created %d that an earlier run had not", created)
	default:
		note += "This run created them all"
	}
	if created > 0 {
		// Remembered for the runs that reuse them.
		q.meta(ctx, "setup", fmt.Sprintf("%d schemas in %s (%.0f/s)", created, took.Round(100*time.Millisecond), float64(created)/took.Seconds()))
	}
	if flatRows > 0 {
		if flatCreated {
			note += fmt.Sprintf(" and L-flat's table of %d rows", flatRows)
		} else {
			note += fmt.Sprintf(" (L-flat's table of %d rows too)", flatRows)
		}
	}
	return note + fmt.Sprintf("; setup took %s.", took.Round(100*time.Millisecond)), nil
}

// meta reads the bench database's note key, or, when value is not empty,
// sets it. Notes are best effort: a failure leaves them out of the report.
func (q *queryBench) meta(ctx context.Context, key, value string) string {
	conn, err := pgx.Connect(ctx, q.e.URL)
	if err != nil {
		return ""
	}
	defer conn.Close(ctx)
	if value != "" {
		_, _ = conn.Exec(ctx, `INSERT INTO public.tenantgen_bench_meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return value
	}
	_ = conn.QueryRow(ctx, `SELECT value FROM public.tenantgen_bench_meta WHERE key = $1`, key).Scan(&value)
	return value
}

// cells measures every strategy of every workload against L, for both
// queries and every concurrency level.
func (q *queryBench) cells(ctx context.Context, wls []workload, byKey map[string]strategy) (map[cellKey]cellResult, error) {
	results := map[cellKey]cellResult{}
	total := 0
	for _, w := range wls {
		total += len(w.keys) - 1
	}
	total *= 2 * len(q.c.conc)
	done, group := 0, 0
	for _, op := range []string{"select", "insert"} {
		for _, conc := range q.c.conc {
			for _, w := range wls {
				var lims []sliceResult
				for _, key := range rotated(w.keys, group) {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					r, lim, err := q.cell(ctx, op, conc, w, byKey[key], byKey["limit"])
					if err != nil {
						return nil, fmt.Errorf("%s c=%d %s %s: %w", op, conc, w, key, err)
					}
					lims = append(lims, lim...)
					results[cellKey{op, conc, w.String(), key}] = r
					done++
					bench.Logf("  [%d/%d] %-6s c=%-2d %-16s %-16s %8.0f q/s  %.2f of L (%.2f-%.2f)  p50 %s p99 %s  conns %d  prep/q %.2f  errs %d",
						done, total, op, conc, w, key, r.qps, r.ratio, r.ratioLo, r.ratioHi, fmtDur(r.p50), fmtDur(r.p99), r.conns, r.prepPerOp, r.errs+r.mismatches)
				}
				group++
				// L's row: every slice of L measured next to the others.
				lr := pool(lims)
				lr.ratio, lr.ratioLo, lr.ratioHi = 1, 1, 1
				results[cellKey{op, conc, w.String(), "limit"}] = lr
			}
		}
	}
	return results, nil
}

// rotated is keys without L, turned by group places: the strategies' order
// turns from group to group, so that whatever the previous cells leave
// behind (evicted buffers, autovacuum) does not always fall on the same one.
func rotated(keys []string, group int) []string {
	var out []string
	for _, k := range keys {
		if k != "limit" {
			out = append(out, k)
		}
	}
	if len(out) > 0 {
		r := group % len(out)
		out = append(out[r:], out[:r]...)
	}
	return out
}

// workloads lists the (tenant count, distribution) pairs and the strategies
// measured at each: the pool per tenant only up to -ppt-tenants tenants, the
// failing naive way only up to 100.
func (q *queryBench) workloads() []workload {
	c := q.c
	var wls []workload
	add := func(n int, zipf bool) {
		w := workload{n: n, zipf: zipf, cold: n > defaultCache}
		w.keys = []string{"limit"}
		if n > 1 && !zipf {
			w.keys = append(w.keys, "raw-qualified")
		}
		if n > 1 && n <= 100 {
			// It fails on most tenant switches (see the notes): measured
			// where that shows, not everywhere.
			w.keys = append(w.keys, "naive")
		}
		if !zipf {
			w.keys = append(w.keys, "naive-exec")
		}
		if n > 1 && n <= c.pptTenants {
			w.keys = append(w.keys, "ppt")
		}
		w.keys = append(w.keys, "tg-cache")
		if !w.cold || zipf {
			// Cold and uniform, CacheDescribe misses like CacheStatement
			// (one describe per query); its warm form is in the steady state.
			w.keys = append(w.keys, "tg-describe")
		}
		w.keys = append(w.keys, "tg-exec")
		if n == c.pptTenants && !slices.Contains(c.tenants, n) {
			w.keys = []string{"limit", "ppt", "tg-cache"} // only there for the pool per tenant
		}
		if c.keys != nil {
			w.keys = slices.DeleteFunc(w.keys, func(k string) bool { return !c.keys[k] })
		}
		wls = append(wls, w)
	}
	ns := slices.Clone(c.tenants)
	if c.pptTenants > 1 && !slices.Contains(ns, c.pptTenants) {
		ns = append(ns, c.pptTenants)
	}
	slices.Sort(ns)
	for _, n := range slices.Compact(ns) {
		if n < 1 {
			continue
		}
		add(n, false)
		if slices.Contains(c.zipfN, n) && n > 1 {
			add(n, true)
		}
	}
	return wls
}

// steadyWorkload is the warm measurement at the largest tenant count, when
// it exceeds the default caches.
func (q *queryBench) steadyWorkload() (workload, bool) {
	c := q.c
	if !c.steady || len(c.tenants) == 0 || slices.Max(c.tenants) <= defaultCache {
		return workload{}, false
	}
	w := workload{n: slices.Max(c.tenants), steady: true,
		keys: []string{"limit", "limit-flat", "tg-cache", "tg-cache-big", "tg-describe-big", "tg-exec"}}
	if c.keys != nil {
		w.keys = slices.DeleteFunc(w.keys, func(k string) bool { return !c.keys[k] && k != "limit-flat" })
	}
	return w, true
}

// steady measures w at c=1, SELECT: every strategy is opened and warmed up
// (its one connection runs the query for every tenant; all at once), then
// measured in rounds, L first in each, with connections kept open.
// SELECT only: a commit per INSERT (fsync) hides most of what the binding
// costs, and warming every connection up takes as long again.
func (q *queryBench) steady(ctx context.Context, w workload, byKey map[string]strategy, results map[cellKey]cellResult) error {
	const op = "select"
	targets := map[string]target{}
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	for _, key := range w.keys {
		t, err := byKey[key].open(ctx, q, w.n, appName(key))
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		targets[key] = t
	}
	if err := q.warmAll(ctx, w, op, targets); err != nil {
		return err
	}
	runs, lims, err := q.steadyRounds(ctx, w, op, targets)
	if err != nil {
		return err
	}
	for _, key := range w.keys {
		r := pool(runs[key])
		r.ratio, r.ratioLo, r.ratioHi = 1, 1, 1
		if key != "limit" {
			if ratio, lo, hi, ok := ratioTo(runs[key], lims[key]); ok {
				r.ratio, r.ratioLo, r.ratioHi = ratio, lo, hi
			}
		}
		r.conns = q.e.ServerConns(ctx, appName(key))
		r.serverMB = serverMemMB(ctx, targets[key])
		results[cellKey{op, 1, w.String(), key}] = r
		bench.Logf("  %-6s c=1  %-16s %-16s %8.0f q/s  %.2f of L (%.2f-%.2f)  p50 %s p99 %s  server mem %s  prep/q %.2f  errs %d",
			op, w, key, r.qps, r.ratio, r.ratioLo, r.ratioHi, fmtDur(r.p50), fmtDur(r.p99), fmtMB(r.serverMB), r.prepPerOp, r.errs+r.mismatches)
	}
	// The client heap each strategy holds: what closing it frees.
	for _, key := range w.keys {
		heap, own := heapOf(targets[key])
		delete(targets, key)
		k := cellKey{op, 1, w.String(), key}
		r := results[k]
		r.heapMB, r.ownMB = heap, own
		results[k] = r
	}
	return nil
}

// warmAll warms every target's connection up for every tenant (the limits
// for their one schema), all at once.
func (q *queryBench) warmAll(ctx context.Context, w workload, op string, targets map[string]target) error {
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(w.keys))
	for i, key := range w.keys {
		n := w.n
		if key == "limit" || key == "limit-flat" {
			n = 1
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.warm(ctx, targets[key], op, n, 1, 1); err != nil {
				errs[i] = fmt.Errorf("warming %s up: %w", key, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	bench.Logf("  warmed %d connections up for %d tenants (%s) in %s", len(w.keys)-2, w.n, op, time.Since(t0).Round(100*time.Millisecond))
	return nil
}

// steadyRounds alternates each strategy with L, slice by slice, as in the
// cells. It returns every target's slices, and the slices of L measured next
// to each strategy.
func (q *queryBench) steadyRounds(ctx context.Context, w workload, op string, targets map[string]target) (runs, lims map[string][]sliceResult, err error) {
	runs, lims = map[string][]sliceResult{}, map[string][]sliceResult{}
	rounds := max(1, q.c.rounds)
	slice := q.c.dur / time.Duration(rounds)
	for round := range rounds + rounds/2 {
		for _, key := range w.keys {
			if key == "limit" {
				continue
			}
			order := []string{"limit", key}
			if round%2 == 1 {
				order = []string{key, "limit"}
			}
			for _, k := range order {
				s, err := q.measure(ctx, targets[k], op, 1, w, 0, slice, uint64(round))
				if err != nil {
					return nil, nil, fmt.Errorf("%s: %w", k, err)
				}
				if k == "limit" {
					lims[key] = append(lims[key], s)
				}
				runs[k] = append(runs[k], s)
			}
		}
	}
	return runs, lims, nil
}

// ratioTo is the median of the ratios of ss's rates to those of ls, slice
// by slice, and their range; not ok (and 0) when no slice of ls has a rate.
func ratioTo(ss, ls []sliceResult) (ratio, lo, hi float64, ok bool) {
	var ratios []float64
	for i := range min(len(ss), len(ls)) {
		if l := ls[i].qps(); l > 0 {
			ratios = append(ratios, ss[i].qps()/l)
		}
	}
	n := len(ratios)
	if n == 0 {
		return 0, 0, 0, false
	}
	sort.Float64s(ratios)
	ratio = ratios[n/2]
	if n%2 == 0 {
		ratio = (ratios[n/2-1] + ratios[n/2]) / 2
	}
	return ratio, ratios[0], ratios[n-1], true
}

// heapOf closes t and returns HeapAlloc before closing (after a GC) and how
// much closing it freed, in MB.
func heapOf(t target) (heap, own float64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	t.close()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return float64(before) / (1 << 20), (float64(before) - float64(ms.HeapAlloc)) / (1 << 20)
}

// cell measures strategy s against L: both are opened (fresh pools) and
// warmed up, then measured alternately, L and s, in -rounds pairs of short
// slices, so that background load falls on both alike. The ratio is the
// median of the pairs' ratios. It returns s's result and L's slices.
func (q *queryBench) cell(ctx context.Context, op string, conc int, w workload, s, l strategy) (cellResult, []sliceResult, error) {
	c := q.c
	runtime.GC()
	lt, err := l.open(ctx, q, w.n, appName(l.key))
	if err != nil {
		return cellResult{}, nil, err
	}
	defer lt.close()
	st, err := s.open(ctx, q, w.n, appName(s.key))
	if err != nil {
		return cellResult{}, nil, err
	}
	closed := false
	defer func() {
		if !closed {
			st.close()
		}
	}()
	if err := q.warm(ctx, lt, op, 1, conc, c.warmExecs); err != nil {
		return cellResult{}, nil, fmt.Errorf("warming L up: %w", err)
	}
	if !w.cold {
		if err := q.warm(ctx, st, op, w.n, conc, c.warmExecs); err != nil {
			return cellResult{}, nil, fmt.Errorf("warming up: %w", err)
		}
	}
	rounds := max(1, c.rounds)
	slice := c.dur / time.Duration(rounds)
	var ls, ss []sliceResult
	for round := range rounds {
		order := []target{lt, st}
		if round%2 == 1 {
			order = []target{st, lt} // neither always goes first
		}
		for _, t := range order {
			warmup := time.Duration(0)
			if round == 0 {
				warmup = c.warmup
			}
			r, err := q.measure(ctx, t, op, conc, w, warmup, slice, uint64(round))
			if err != nil {
				return cellResult{}, nil, err
			}
			if t == lt {
				ls = append(ls, r)
			} else {
				ss = append(ss, r)
			}
		}
	}
	r := pool(ss)
	r.ratio, r.ratioLo, r.ratioHi, _ = ratioTo(ss, ls)
	r.conns = q.e.ServerConns(ctx, appName(s.key))
	r.serverMB = serverMemMB(ctx, st)
	r.heapMB, r.ownMB = heapOf(st)
	closed = true
	if c.verbose && r.firstErr != "" {
		bench.Logf("    first error: %s", r.firstErr)
	}
	return r, ls, nil
}

// pool sums slices of one strategy.
func pool(ss []sliceResult) cellResult {
	var r cellResult
	var h hist
	var elapsed time.Duration
	var preps int64
	for _, s := range ss {
		h.merge(&s.h)
		r.ops += s.ops
		r.errs += s.errs
		r.mismatches += s.mismatches
		elapsed += s.elapsed
		preps += s.preps
		if r.firstErr == "" {
			r.firstErr = s.firstErr
		}
	}
	if elapsed > 0 {
		r.qps = float64(r.ops-r.errs-r.mismatches) / elapsed.Seconds()
	}
	r.p50, r.p99 = h.quantile(0.50), h.quantile(0.99)
	if r.ops > 0 {
		r.prepPerOp = float64(preps) / float64(r.ops)
	}
	return r
}

// sliceResult is one strategy's run in one round.
type sliceResult struct {
	ops, errs, mismatches int64
	elapsed               time.Duration
	h                     hist
	preps                 int64
	firstErr              string
}

func (s *sliceResult) qps() float64 {
	return float64(s.ops-s.errs-s.mismatches) / s.elapsed.Seconds()
}

// warm runs op once for every tenant on each connection that conc
// goroutines will use, so that pgx's caches and the server's catalog caches
// hold what the measured run needs. Inserts are rolled back.
func (q *queryBench) warm(ctx context.Context, tgt target, op string, n, conc, execs int) error {
	for _, ws := range tgt.warmSets(n) {
		k := min(conc, int(ws.pool.Config().MaxConns))
		conns := make([]*pgxpool.Conn, 0, k)
		for range k {
			conn, err := ws.pool.Acquire(ctx)
			if err != nil {
				for _, c := range conns {
					c.Release()
				}
				return err
			}
			conns = append(conns, conn)
		}
		var wg sync.WaitGroup
		errs := make([]error, k)
		for i, conn := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				const perTx = 500
				for lo := ws.lo; lo < ws.hi; lo += perTx {
					if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
						errs[i] = err
						return
					}
				tenants:
					for ti := lo; ti < min(lo+perTx, ws.hi); ti++ {
						for range execs {
							if err := tgt.do(ctx, conn, op, ti, 1); err != nil {
								break tenants // the naive way fails here; its transaction is aborted
							}
						}
					}
					if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
						errs[i] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, c := range conns {
			c.Release()
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return nil
}

// measure runs op on tgt with conc goroutines: warmup unmeasured, then dur
// measured; then it samples the server connections and memory.
func (q *queryBench) measure(ctx context.Context, tgt target, op string, conc int, w workload, warmup, dur time.Duration, round uint64) (sliceResult, error) {
	c := q.c
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(dur)
	var prepFrom atomic.Int64
	prepFrom.Store(-1)
	if warmup == 0 {
		prepFrom.Store(q.preps.n.Load())
	} else {
		timer := time.AfterFunc(warmup, func() { prepFrom.Store(q.preps.n.Load()) })
		defer timer.Stop()
	}

	type workerOut struct {
		h          hist
		ops        int64
		errs       int64
		mismatches int64
		firstErr   error
	}
	outs := make([]*workerOut, conc)
	var wg sync.WaitGroup
	seed := uint64(time.Now().UnixNano())
	for i := range conc {
		out := &workerOut{}
		outs[i] = out
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, round<<16|uint64(i)))
			var zipf *rand.Zipf
			if w.zipf && w.n > 1 {
				zipf = rand.NewZipf(rng, c.zipfS, 1, uint64(w.n-1))
			}
			var k int64
			for {
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					return
				}
				ti := 0
				switch {
				case zipf != nil:
					ti = int(zipf.Uint64())
				case w.n > 1:
					ti = rng.IntN(w.n)
				}
				var arg int64
				if op == "select" {
					arg = 1 + rng.Int64N(int64(c.rows))
				} else {
					k++
					arg = k
				}
				err := tgt.do(ctx, nil, op, ti, arg)
				if t0.Before(measureFrom) {
					continue
				}
				out.ops++
				out.h.record(time.Since(t0))
				switch {
				case errors.Is(err, errMismatch):
					out.mismatches++
				case err != nil:
					out.errs++
					if out.firstErr == nil {
						out.firstErr = err
					}
				}
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return sliceResult{}, ctx.Err()
	}
	r := sliceResult{elapsed: time.Since(measureFrom)}
	prepTo := q.preps.n.Load()
	for _, o := range outs {
		r.h.merge(&o.h)
		r.ops += o.ops
		r.errs += o.errs
		r.mismatches += o.mismatches
		if r.firstErr == "" && o.firstErr != nil {
			r.firstErr = errSummary(o.firstErr)
		}
	}
	if pf := prepFrom.Load(); pf >= 0 {
		r.preps = prepTo - pf
	}
	return r, nil
}

// serverMemMB sums the memory contexts of the target's connections (each
// reports its own backend's; PostgreSQL 14 and later).
func serverMemMB(ctx context.Context, t target) float64 {
	var total int64
	for _, p := range t.pools() {
		for _, conn := range p.AcquireAllIdle(ctx) {
			var n int64
			err := conn.QueryRow(ctx, `SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts`, pgx.QueryExecModeSimpleProtocol).Scan(&n)
			conn.Release()
			if err != nil {
				return -1
			}
			total += n
		}
	}
	return float64(total) / (1 << 20)
}

func errSummary(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code + " " + pe.Message
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	}
}

// appName is the application_name of a strategy's connections, by which
// its server connections are counted.
func appName(key string) string { return "tenantgen-bench " + key }
