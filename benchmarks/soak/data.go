package main

import (
	"math"
	"math/rand/v2"
)

// Every tunnel sends a slice of one buffer of random bytes, from an offset
// of its own: its bytes never repeat within the tunnel (the buffer is
// longer than the largest transfer plus the largest offset), so a lost,
// repeated or misplaced byte, or bytes of another tunnel, are caught by a
// plain comparison, and the origin's sha256 of what it received is
// checked against the sha256 of what was sent.
const (
	maxTransfer = 4 << 20 // the largest amount one tunnel moves each way
	startSpread = 1 << 20 // tunnels start at offsets in [0, startSpread)
)

// newRandom fills the shared buffer from seed.
func newRandom(seed uint64) []byte {
	b := make([]byte, maxTransfer+startSpread)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// logUniform draws from [lo, hi] with every power of two equally likely,
// so that most tunnels are small and some are large (1 B to 4 MiB:
// a median of about 2 KiB, a mean of about 280 KiB).
func logUniform(r *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	a, b := math.Log(float64(lo)), math.Log(float64(hi)+1)
	v := int64(math.Exp(a + r.Float64()*(b-a)))
	return min(max(v, lo), hi)
}
