package acl

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
)

const limiterShards = 32

// Limiter caps concurrent tunnels per key, like nginx limit_conn: one
// Limiter[string] for users, one Limiter[netip.Prefix] (see [ClientKey])
// for client addresses. A refused Acquire means 429. It is safe for
// concurrent use; keys are spread over sharded mutexes so event loops
// rarely wait on each other. Keys at zero are forgotten, so memory tracks
// the tunnels that are open, not every key ever seen. The cap can be
// changed while tunnels hold slots ([Limiter.SetMax], a reload).
type Limiter[K comparable] struct {
	max atomic.Int64
	// counted is set once a cap has been in force: from then on Release
	// gives slots back even while the cap is off, so that the counts are
	// right again when it is turned back on.
	counted atomic.Bool
	seed    maphash.Seed
	shards  [limiterShards]limiterShard[K]
}

type limiterShard[K comparable] struct {
	mu sync.Mutex
	n  map[K]int
	_  [64 - 16]byte // mutex + map pointer padded to a cache line, so shards do not false-share
}

// NewLimiter returns a Limiter allowing max concurrent holders per key.
// max <= 0 means no limit; so does a nil *Limiter.
func NewLimiter[K comparable](max int) *Limiter[K] {
	l := &Limiter[K]{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].n = make(map[K]int)
	}
	l.SetMax(max)
	return l
}

// SetMax changes the cap; n <= 0 turns it off. Tunnels already open are
// never cut: a lowered cap refuses new ones until a key is below it. Slots
// are counted only while a cap is on, so after a cap is turned on (from
// off) the tunnels a key had open before are not counted against it: until
// they end, that key may hold up to that many tunnels more than the cap.
func (l *Limiter[K]) SetMax(n int) {
	if n > 0 {
		l.counted.Store(true)
	}
	l.max.Store(int64(n))
}

// Max returns the cap in force, 0 when there is none.
func (l *Limiter[K]) Max() int {
	if l == nil {
		return 0
	}
	return max(0, int(l.max.Load()))
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
	if l == nil {
		return true
	}
	limit := l.max.Load()
	if limit <= 0 {
		return true
	}
	s := l.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if int64(s.n[k]) >= limit {
		return false
	}
	s.n[k]++
	return true
}

// Release gives back a slot taken by Acquire. Releasing a key that holds
// nothing is ignored rather than driving the count negative, which would
// silently raise that key's limit.
func (l *Limiter[K]) Release(k K) {
	if l == nil || !l.counted.Load() {
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
	if l == nil || !l.counted.Load() {
		return 0
	}
	s := l.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[k]
}
