package padding

import "math/rand/v2"

// Rand is the randomness the package draws from: padding lengths and header
// values. *rand.ChaCha8, *rand.PCG and *rand.Rand from math/rand/v2 all fit.
// A nil Rand means math/rand/v2's runtime generator. A Rand shared by
// encoders on several goroutines must be safe for concurrent use; the nil
// default is, *rand.ChaCha8 is not.
type Rand interface {
	Uint64() uint64
}

func next(r Rand) uint64 {
	if r == nil {
		return rand.Uint64()
	}
	return r.Uint64()
}

// uniform returns a number in [0, n) for n <= 256. Reducing 64 random bits
// modulo so small an n leaves a bias below 2^-56, which no observer of a few
// padding lengths can see, and it lets a test pick an outcome by value.
func uniform(r Rand, n int) int {
	return int(next(r) % uint64(n))
}
