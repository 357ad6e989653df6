package query

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram: exact below 64ns, then 32
// sub-buckets per power of two (about 3% resolution). It has a fixed size,
// so recording costs no allocation and the client heap figures do not
// depend on the number of operations.
type hist struct {
	counts [64 + 64*32]uint32
	n      uint64
}

func bucketOf(v uint64) int {
	if v < 64 {
		return int(v)
	}
	e := bits.Len64(v) - 6 // v>>e is in [32, 64)
	return 64 + (e-1)*32 + int(v>>e) - 32
}

func bucketMid(i int) float64 {
	if i < 64 {
		return float64(i)
	}
	k := i - 64
	e := uint(k/32 + 1)
	lo := uint64(k%32+32) << e
	return float64(lo) + float64(uint64(1)<<e)/2
}

func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the q-quantile (0 < q <= 1).
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(rank, 1)
	var cum uint64
	for i, c := range h.counts {
		cum += uint64(c)
		if cum >= rank {
			return time.Duration(bucketMid(i))
		}
	}
	return 0
}
