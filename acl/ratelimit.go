package acl

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Failure limiting defaults: ten wrong passwords in a burst, then one
// every six seconds, per client address and user name.
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
// drain, kept as GCRA: one "theoretical arrival time" per client instead
// of a float token count, so refills are exact integer arithmetic on
// durations. Memory is bounded: each shard remembers a fixed number of
// clients and forgets the oldest first, so an attacker with many
// addresses can at worst make us forget, never make us grow.
type failureLimiter struct {
	interval time.Duration // one failure's worth of refill
	slack    time.Duration // how far tat may run ahead of now: (burst-1)*interval
	now      func() time.Time
	seed     maphash.Seed
	shards   [failureShards]failureShard
}

type failureShard struct {
	mu    sync.Mutex
	tat   map[failKey]time.Time // when the key's budget is full again
	order []failKey             // insertion order, a ring once full
	next  int
}

// failKey is what a failure budget belongs to: a client address (see
// [ClientKey]) guessing one user's password. Guesses at names that are not
// in the file all share user "". Keying on the user too means that wrong
// passwords for one account, or for made-up ones, do not lock everyone else
// behind the same NAT out of theirs.
type failKey struct {
	client netip.Prefix
	user   string
}

func newFailureLimiter(perMinute, burst int, now func() time.Time) *failureLimiter {
	interval := time.Minute / time.Duration(perMinute)
	l := &failureLimiter{
		interval: interval,
		slack:    time.Duration(burst-1) * interval,
		now:      now,
		seed:     maphash.MakeSeed(),
	}
	for i := range l.shards {
		l.shards[i].tat = make(map[failKey]time.Time)
	}
	return l
}

func (l *failureLimiter) shard(k failKey) *failureShard {
	return &l.shards[(hashAddr(l.seed, k.client.Addr())+uint64(len(k.user)))%failureShards]
}

// blocked reports whether k has no failures left to spend; it is asked
// before any password work so a blocked guesser costs nothing.
func (l *failureLimiter) blocked(k failKey) bool {
	s := l.shard(k)
	s.mu.Lock()
	tat, ok := s.tat[k]
	s.mu.Unlock()
	return ok && tat.Sub(l.now()) > l.slack
}

// fail spends one failure of k's budget.
func (l *failureLimiter) fail(k failKey) { l.take(k) }

// take spends one failure of k's budget if one is left. A password check
// takes its failure when it starts and gives it back if the password was
// right, so checks in flight count against the budget: a burst of parallel
// guesses cannot all be verified before the first of them is counted.
func (l *failureLimiter) take(k failKey) bool {
	s := l.shard(k)
	now := l.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, ok := s.tat[k]
	if ok && tat.Sub(now) > l.slack {
		return false
	}
	if !ok {
		if len(s.order) < failureTableSize/failureShards {
			s.order = append(s.order, k)
		} else {
			delete(s.tat, s.order[s.next])
			s.order[s.next] = k
			s.next = (s.next + 1) % len(s.order)
		}
	}
	if tat.Before(now) {
		tat = now
	}
	s.tat[k] = tat.Add(l.interval)
	return true
}

// refund gives back a failure taken by a check whose password was right.
func (l *failureLimiter) refund(k failKey) {
	s := l.shard(k)
	now := l.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if tat, ok := s.tat[k]; ok {
		tat = tat.Add(-l.interval)
		if !tat.After(now) {
			tat = now
		}
		s.tat[k] = tat
	}
}
