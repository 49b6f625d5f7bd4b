package acl

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Failure limiting defaults (reliability-security-anchors.md 3.2): ten
// wrong passwords in a burst, then one every six seconds, per client.
const (
	failuresPerMinute = 10
	failureBurst      = 10
	failureTableSize  = 16384 // clients remembered, across all shards
	failureShards     = 16
)

// ClientKey is the unit a client address is counted in: the address for
// IPv4 and its /64 for IPv6, because one IPv6 host usually controls a
// whole /64 and would otherwise get 2^64 fresh budgets. Use it for
// per-address [Limiter]s too.
func ClientKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	bits := 64
	if ip.Is4() {
		bits = 32
	}
	p, _ := ip.Prefix(bits) // an invalid ip gives the zero Prefix: one shared key
	return p
}

// failureLimiter is a token bucket per client that only failed attempts
// drain. Memory is bounded: each shard remembers a fixed number of
// clients and forgets the oldest first, so an attacker with many
// addresses can at worst make us forget, never make us grow.
type failureLimiter struct {
	perSec float64
	burst  float64
	now    func() time.Time
	seed   maphash.Seed
	shards [failureShards]failureShard
}

type failureShard struct {
	mu      sync.Mutex
	buckets map[netip.Prefix]*bucket
	order   []netip.Prefix // insertion order, a ring once full
	next    int
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newFailureLimiter(perMinute, burst int, now func() time.Time) *failureLimiter {
	l := &failureLimiter{
		perSec: float64(perMinute) / 60,
		burst:  float64(burst),
		now:    now,
		seed:   maphash.MakeSeed(),
	}
	for i := range l.shards {
		l.shards[i].buckets = make(map[netip.Prefix]*bucket)
	}
	return l
}

func (l *failureLimiter) shard(k netip.Prefix) *failureShard {
	return &l.shards[maphash.Comparable(l.seed, k)%failureShards]
}

func (l *failureLimiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.perSec)
		b.last = now
	}
}

// blocked reports whether the client has no failures left to spend; it
// is asked before any password work so a blocked client costs nothing.
func (l *failureLimiter) blocked(ip netip.Addr) bool {
	k := ClientKey(ip)
	s := l.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[k]
	if b == nil {
		return false
	}
	l.refill(b, l.now())
	return b.tokens < 1
}

// fail spends one token of the client's budget.
func (l *failureLimiter) fail(ip netip.Addr) {
	k := ClientKey(ip)
	s := l.shard(k)
	now := l.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[k]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		if len(s.order) < failureTableSize/failureShards {
			s.order = append(s.order, k)
		} else {
			delete(s.buckets, s.order[s.next])
			s.order[s.next] = k
			s.next = (s.next + 1) % len(s.order)
		}
		s.buckets[k] = b
	}
	l.refill(b, now)
	b.tokens = max(0, b.tokens-1)
}
