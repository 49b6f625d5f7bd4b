package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram is a log-linear latency histogram: 32 linear sub-buckets per
// power of two, so any quantile is within about 3 % of the true value, in
// a fixed 15 KiB no matter how many millions of samples a run records.
// Adds are atomic so that all workers can share one histogram.
type histogram struct {
	counts [64 * 32]atomic.Uint64
}

const subBits = 5

func bucketOf(ns uint64) int {
	if ns < 1<<subBits {
		return int(ns)
	}
	shift := bits.Len64(ns) - 1 - subBits
	return shift<<subBits + int(ns>>uint(shift))
}

// bucketValue is the midpoint of a bucket, in nanoseconds.
func bucketValue(i int) float64 {
	if i < 2<<subBits {
		return float64(i)
	}
	shift := i>>subBits - 1
	mant := i - shift<<subBits
	lo := uint64(mant) << uint(shift)
	return float64(lo) + float64(uint64(1)<<uint(shift))/2
}

func (h *histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
}

// Quantile returns the q-quantile (0<q<=1) in microseconds, 0 if empty.
func (h *histogram) Quantile(q float64) float64 {
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= rank {
			return bucketValue(i) / 1e3
		}
	}
	return 0
}
