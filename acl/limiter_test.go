package acl

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
)

func TestLimiter(t *testing.T) {
	l := NewLimiter[string](2)
	if !l.Acquire("u") || !l.Acquire("u") {
		t.Fatal("first two acquires refused")
	}
	if l.Acquire("u") {
		t.Error("third acquire allowed with max 2")
	}
	if !l.Acquire("v") {
		t.Error("other key refused")
	}
	l.Release("u")
	if l.Count("u") != 1 || !l.Acquire("u") {
		t.Error("slot not given back")
	}
	l.Release("u")
	l.Release("u")
	l.Release("u") // one too many: ignored
	if l.Count("u") != 0 {
		t.Errorf("count %d after releasing everything", l.Count("u"))
	}
	if !l.Acquire("u") || !l.Acquire("u") || l.Acquire("u") {
		t.Error("extra Release raised the limit")
	}
	if n := len(l.shard("never").n) + len(l.shard("u").n); n > 2 {
		t.Errorf("%d keys remembered", n)
	}
	l.Release("v")
	if _, kept := l.shard("v").n["v"]; kept {
		t.Error("key at zero still in memory")
	}
}

func TestLimiterUnlimited(t *testing.T) {
	var nilL *Limiter[string]
	zero := NewLimiter[netip.Prefix](0)
	for i := 0; i < 1000; i++ {
		if !nilL.Acquire("x") || !zero.Acquire(ClientKey(client)) {
			t.Fatal("unlimited limiter refused")
		}
	}
	nilL.Release("x")
	zero.Release(ClientKey(client))
}

func TestLimiterConcurrent(t *testing.T) {
	const max, goroutines, rounds = 3, 16, 2000
	l := NewLimiter[netip.Prefix](max)
	keys := []netip.Prefix{ClientKey(client), ClientKey(client2), ClientKey(netip.MustParseAddr("2001:db8::1"))}
	var held [3]atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				k := (g + i) % len(keys)
				if !l.Acquire(keys[k]) {
					continue
				}
				if n := held[k].Add(1); n > max {
					t.Errorf("key %d held %d times, max %d", k, n, max)
				}
				held[k].Add(-1)
				l.Release(keys[k])
			}
		}(g)
	}
	wg.Wait()
	for _, k := range keys {
		if n := l.Count(k); n != 0 {
			t.Errorf("%v: %d slots left after everyone released", k, n)
		}
	}
}

func TestLimiterNoAlloc(t *testing.T) {
	ls := NewLimiter[string](10)
	lp := NewLimiter[netip.Prefix](10)
	k := ClientKey(client)
	if n := testing.AllocsPerRun(100, func() {
		ls.Acquire("alice")
		ls.Release("alice")
		lp.Acquire(k)
		lp.Release(k)
	}); n != 0 {
		t.Errorf("Acquire+Release allocate %v times", n)
	}
}

// TestLimiterSetMax: a cap changed while slots are held applies to the next
// Acquire, never cuts what is held, and counts stay right across turning
// the cap off and on again; a cap turned on from off does not count what
// was acquired while it was off.
func TestLimiterSetMax(t *testing.T) {
	l := NewLimiter[string](2)
	if !l.Acquire("u") || !l.Acquire("u") || l.Acquire("u") {
		t.Fatal("max 2 not enforced")
	}
	l.SetMax(1) // lowered below what is held: nothing new until below
	if l.Acquire("u") || l.Max() != 1 {
		t.Fatal("lowered cap not enforced")
	}
	l.Release("u")
	if l.Acquire("u") {
		t.Fatal("acquired at the cap after one release")
	}
	l.SetMax(3)
	if !l.Acquire("u") || !l.Acquire("u") || l.Acquire("u") {
		t.Fatalf("raised cap: count %d", l.Count("u"))
	}
	l.SetMax(0) // off: anything goes, and held slots still come back
	for i := 0; i < 10; i++ {
		if !l.Acquire("u") {
			t.Fatal("refused with the cap off")
		}
	}
	if l.Count("u") != 3 || l.Max() != 0 {
		t.Fatalf("count %d with the cap off; want the 3 held before", l.Count("u"))
	}
	l.Release("u")
	l.Release("u")
	l.SetMax(2)
	if !l.Acquire("u") || l.Acquire("u") {
		t.Fatalf("cap back on: count %d; want 1 held, one more allowed", l.Count("u")-1)
	}

	off := NewLimiter[string](0)
	for i := 0; i < 5; i++ {
		off.Acquire("v") // not counted: no cap
	}
	off.SetMax(1)
	if !off.Acquire("v") || off.Acquire("v") {
		t.Fatal("cap turned on: want exactly one new slot, the old ones uncounted")
	}
	for i := 0; i < 6; i++ {
		off.Release("v")
	}
	if off.Count("v") != 0 {
		t.Fatalf("count %d after every release", off.Count("v"))
	}
}
