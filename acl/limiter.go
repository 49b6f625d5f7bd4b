package acl

import (
	"hash/maphash"
	"net/netip"
	"sync"
)

const limiterShards = 32

// Limiter caps concurrent tunnels per key, like nginx limit_conn: one
// Limiter[string] for users, one Limiter[netip.Prefix] (see [ClientKey])
// for client addresses. A refused Acquire means 429. It is safe for
// concurrent use; keys are spread over sharded mutexes so event loops
// rarely wait on each other. Keys at zero are forgotten, so memory tracks
// the tunnels that are open, not every key ever seen.
type Limiter[K comparable] struct {
	max    int
	seed   maphash.Seed
	shards [limiterShards]limiterShard[K]
}

type limiterShard[K comparable] struct {
	mu sync.Mutex
	n  map[K]int
	_  [64 - 16]byte // mutex + map pointer padded to a cache line, so shards do not false-share
}

// NewLimiter returns a Limiter allowing max concurrent holders per key.
// max <= 0 means no limit; so does a nil *Limiter.
func NewLimiter[K comparable](max int) *Limiter[K] {
	l := &Limiter[K]{max: max, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].n = make(map[K]int)
	}
	return l
}

// shard hashes the key types sluice uses by hand: maphash.Comparable
// forces its argument to the heap, one allocation per tunnel for nothing.
func (l *Limiter[K]) shard(k K) *limiterShard[K] {
	var h uint64
	switch v := any(k).(type) {
	case string:
		h = maphash.String(l.seed, v)
	case netip.Prefix:
		h = hashAddr(l.seed, v.Addr()) + uint64(v.Bits())
	case netip.Addr:
		h = hashAddr(l.seed, v)
	default:
		h = maphash.Comparable(l.seed, k)
	}
	return &l.shards[h%limiterShards]
}

func hashAddr(seed maphash.Seed, ip netip.Addr) uint64 {
	a := ip.As16()
	return maphash.Bytes(seed, a[:])
}

// Acquire takes a slot for k and reports whether one was free. Every
// successful Acquire must be paired with exactly one Release.
func (l *Limiter[K]) Acquire(k K) bool {
	if l == nil || l.max <= 0 {
		return true
	}
	s := l.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[k] >= l.max {
		return false
	}
	s.n[k]++
	return true
}

// Release gives back a slot taken by Acquire. Releasing a key that holds
// nothing is ignored rather than driving the count negative, which would
// silently raise that key's limit.
func (l *Limiter[K]) Release(k K) {
	if l == nil || l.max <= 0 {
		return
	}
	s := l.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch c := s.n[k]; {
	case c > 1:
		s.n[k] = c - 1
	case c == 1:
		delete(s.n, k)
	}
}

// Count returns the slots k holds now, for metrics and tests.
func (l *Limiter[K]) Count(k K) int {
	if l == nil || l.max <= 0 {
		return 0
	}
	s := l.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[k]
}
