package acl

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// fakeClock is the injected time source: tests move it instead of sleeping.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// testAuth returns an Authenticator over three users, one per format, whose
// verify calls are counted and whose clock is fake.
func testAuth(t testing.TB, cacheSize int) (*Authenticator, *atomic.Int64, *fakeClock) {
	t.Helper()
	text := "alice:" + bcryptHash(t, "alice-pw", bcrypt.MinCost) + "\n" +
		"bob:" + apr1Vectors[0].hash + "\n" + // password
		"carol:" + shaVectors[2].hash + "\n" // hunter2
	u, err := ParseHtpasswd(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuthenticator(u, cacheSize)
	calls := new(atomic.Int64)
	a.verify = func(e *entry, p []byte) bool {
		calls.Add(1)
		return e.verify(p)
	}
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	a.fails.now = clock.now
	return a, calls, clock
}

var (
	client  = netip.MustParseAddr("192.0.2.10")
	client2 = netip.MustParseAddr("192.0.2.11")
)

func TestCheckAllFormats(t *testing.T) {
	a, _, _ := testAuth(t, 0)
	for user, pass := range map[string]string{"alice": "alice-pw", "bob": "password", "carol": "hunter2"} {
		got, err := a.Check(basic(user, pass), client)
		if err != nil || got != user {
			t.Errorf("%s: Check = %q, %v", user, got, err)
		}
		if _, err := a.Check(basic(user, pass+"!"), client2); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s with a wrong password: err = %v", user, err)
		}
	}
	// A password containing ':' keeps everything after the first one.
	u, _ := ParseHtpasswd(strings.NewReader("dan:" + bcryptHash(t, "a:b:c", bcrypt.MinCost) + "\n"))
	a.SetUsers(u)
	if got, err := a.Check(basic("dan", "a:b:c"), client); err != nil || got != "dan" {
		t.Errorf("password with colons: %q, %v", got, err)
	}
}

func TestCheckHeaderForms(t *testing.T) {
	a, _, _ := testAuth(t, 0)
	tok := base64.StdEncoding.EncodeToString([]byte("carol:hunter2"))
	for _, h := range []string{"Basic " + tok, "basic " + tok, "BASIC " + tok, "Basic   " + tok, "  Basic " + tok + "  "} {
		if got, err := a.Check(h, client); err != nil || got != "carol" {
			t.Errorf("%q: %q, %v", h, got, err)
		}
	}
	for _, h := range []string{"", "   "} {
		if _, err := a.Check(h, client); !errors.Is(err, ErrNoCredentials) {
			t.Errorf("%q: err = %v, want ErrNoCredentials", h, err)
		}
	}
	bad := []string{
		"Basic", "Basic ", "Bearer " + tok, "Basic" + tok, "Basic\t" + tok, "Basic " + tok + " x",
		"Basic " + tok[:4] + "\r\n" + tok[4:], "Basic " + tok[:4] + "\n" + tok[4:],
		"Basic " + strings.TrimRight(tok, "="), // unpadded
		"Basic " + tok[:len(tok)-2] + "Q=",     // non-canonical final bits
		"Basic !!!!", basic("", "pw"), "Basic " + base64.StdEncoding.EncodeToString([]byte("carol")),
		"Basic " + strings.Repeat("A", maxToken+4),
		"Basic " + strings.Repeat("A", maxToken), // longest token: 1026 bytes, no ':'
	}
	for i, h := range bad {
		cl := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) // stay under the failure limit
		if _, err := a.Check(h, cl); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%.40q: err = %v, want ErrBadCredentials", h, err)
		}
	}
}

func TestCheckCachesVerifiedCredentials(t *testing.T) {
	a, calls, _ := testAuth(t, 0)
	for i := 0; i < 5; i++ {
		if _, err := a.Check(basic("alice", "alice-pw"), client); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("bcrypt ran %d times for one credential, want 1", n)
	}
	if user, done, err := a.TryCheck(basic("alice", "alice-pw"), client); !done || err != nil || user != "alice" {
		t.Errorf("TryCheck on a cached credential = %q, %v, %v", user, done, err)
	}
	// Wrong passwords are never cached: each one is verified.
	calls.Store(0)
	for i := 0; i < 3; i++ {
		a.Check(basic("alice", "guess"), client2)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("wrong password verified %d times, want 3", n)
	}
	if _, done, _ := a.TryCheck(basic("alice", "other"), client); done {
		t.Error("TryCheck claims to know an unverified credential")
	}
}

func TestCheckUnknownUserDoesTheWork(t *testing.T) {
	a, calls, _ := testAuth(t, 0)
	var got *entry
	a.verify = func(e *entry, p []byte) bool {
		calls.Add(1)
		got = e
		return e.verify(p)
	}
	if _, err := a.Check(basic("mallory", "alice-pw"), client); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown user: err = %v", err)
	}
	if calls.Load() != 1 || got != a.Users().m["alice"] {
		t.Errorf("unknown user: %d verifications against %v, want 1 against the bcrypt stand-in", calls.Load(), got)
	}
	// Even the stand-in's own password does not let an unknown name in.
	if _, err := a.Check(basic("mallory", "alice-pw"), client); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("unknown user with the stand-in's password: %v", err)
	}
}

func TestSetUsersDropsCache(t *testing.T) {
	a, calls, _ := testAuth(t, 0)
	if _, err := a.Check(basic("carol", "hunter2"), client); err != nil {
		t.Fatal(err)
	}
	old := a.Users()
	u, err := ParseHtpasswd(strings.NewReader("carol:" + shaVectors[0].hash + "\n")) // now "password"
	if err != nil {
		t.Fatal(err)
	}
	a.SetUsers(u)
	if _, err := a.Check(basic("carol", "hunter2"), client); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password after reload: %v", err)
	}
	if _, err := a.Check(basic("bob", "password"), client); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("removed user after reload: %v", err)
	}
	if got, err := a.Check(basic("carol", "password"), client); err != nil || got != "carol" {
		t.Errorf("new password after reload: %q, %v", got, err)
	}
	// A Check that verified against the old snapshot and stores its result
	// after the reload must not resurrect the old password.
	var c cred
	c.parse(basic("carol", "hunter2"))
	copy(c.buf[:32], a.secret[:])
	a.cache.put(&c.key, old, "carol")
	calls.Store(0)
	if _, err := a.Check(basic("carol", "hunter2"), client2); !errors.Is(err, ErrBadCredentials) || calls.Load() != 1 {
		t.Errorf("stale cache entry used: %v after %d verifications", err, calls.Load())
	}
}

func TestNilUsers(t *testing.T) {
	a := NewAuthenticator(nil, 0)
	if _, err := a.Check(basic("a", "b"), client); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("nil users: %v", err)
	}
}

func TestFailureLimit(t *testing.T) {
	a, calls, clock := testAuth(t, 0)
	for i := 0; i < failureBurst; i++ {
		if _, err := a.Check(basic("carol", "wrong"), client); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	calls.Store(0)
	for _, h := range []string{basic("carol", "wrong"), basic("carol", "hunter2"), "Basic !!"} {
		if _, err := a.Check(h, client); !errors.Is(err, ErrRateLimited) {
			t.Errorf("after %d failures: err = %v, want ErrRateLimited", failureBurst, err)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("a limited client still cost %d verifications", calls.Load())
	}
	// No credentials at all is not a failure, and not refused as one.
	if _, err := a.Check("", client); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("empty header from a limited client: %v", err)
	}
	// Other clients are unaffected, including the next IPv4 address.
	if _, err := a.Check(basic("carol", "hunter2"), client2); err != nil {
		t.Errorf("other client: %v", err)
	}
	// One token comes back every 6 s: one attempt, then limited again.
	clock.advance(5 * time.Second)
	if _, err := a.Check(basic("carol", "hunter2"), client); !errors.Is(err, ErrRateLimited) {
		t.Errorf("after 5s: %v", err)
	}
	clock.advance(time.Second)
	if _, err := a.Check(basic("carol", "wrong"), client); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("after 6s: %v", err)
	}
	if _, err := a.Check(basic("carol", "hunter2"), client); !errors.Is(err, ErrRateLimited) {
		t.Errorf("right after the refilled token was spent: %v", err)
	}
	// A full minute restores the whole burst.
	clock.advance(time.Minute)
	if got, err := a.Check(basic("carol", "hunter2"), client); err != nil || got != "carol" {
		t.Errorf("after a minute: %q, %v", got, err)
	}
}

func TestFailureLimitIPv6Prefix(t *testing.T) {
	a, _, _ := testAuth(t, 0)
	for i := 0; i < failureBurst; i++ {
		ip := netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1))
		a.Check(basic("carol", "wrong"), ip)
	}
	if _, err := a.Check(basic("carol", "hunter2"), netip.MustParseAddr("2001:db8:1:2:ffff::1")); !errors.Is(err, ErrRateLimited) {
		t.Errorf("same /64: %v, want ErrRateLimited", err)
	}
	if _, err := a.Check(basic("carol", "hunter2"), netip.MustParseAddr("2001:db8:1:3::1")); err != nil {
		t.Errorf("next /64: %v", err)
	}
	if ClientKey(netip.MustParseAddr("::ffff:192.0.2.1")) != netip.MustParsePrefix("192.0.2.1/32") {
		t.Error("mapped IPv4 client not keyed as IPv4")
	}
}

func TestFailureTableBounded(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	l := newFailureLimiter(10, 10, clock.now)
	for i := 0; i < 5*failureTableSize; i++ {
		l.fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	total := 0
	for i := range l.shards {
		s := &l.shards[i]
		if len(s.tat) != len(s.order) || len(s.order) > failureTableSize/failureShards {
			t.Fatalf("shard %d: %d clients, %d in order", i, len(s.tat), len(s.order))
		}
		total += len(s.tat)
	}
	if total > failureTableSize {
		t.Errorf("table holds %d clients, cap %d", total, failureTableSize)
	}
}

func TestCredCacheBounded(t *testing.T) {
	c := newCredCache(32) // 2 per shard
	u := &Users{}
	var keys [][32]byte
	for i := 0; i < 1000; i++ {
		var k [32]byte
		k[0], k[1], k[2] = byte(i), byte(i>>8), 1
		keys = append(keys, k)
		c.put(&k, u, "x")
		if i >= 16 { // keep one early key hot in its shard
			c.get(&keys[0], u)
		}
	}
	total := 0
	for i := range c.shards {
		total += c.shards[i].len()
	}
	if total > 32 {
		t.Errorf("cache holds %d entries, cap 32", total)
	}
	if _, ok := c.get(&keys[0], u); !ok {
		t.Error("recently used entry was evicted")
	}
	if _, ok := c.get(&keys[1], u); ok {
		t.Error("old unused entry survived")
	}
}

func TestCheckConcurrent(t *testing.T) {
	a, _, _ := testAuth(t, 64)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				switch i % 4 {
				case 0:
					if u, err := a.Check(basic("carol", "hunter2"), client); err != nil || u != "carol" {
						t.Errorf("carol: %q, %v", u, err)
						return
					}
				case 1:
					if u, err := a.Check(basic("bob", "password"), client); err != nil || u != "bob" {
						t.Errorf("bob: %q, %v", u, err)
						return
					}
				case 2:
					a.Check(basic("bob", fmt.Sprint(i)), netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}))
				case 3:
					if g == 0 && i%40 == 3 {
						a.SetUsers(a.Users())
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestCheckCachedNoAlloc(t *testing.T) {
	a, _, _ := testAuth(t, 0)
	h := basic("alice", "alice-pw")
	if _, err := a.Check(h, client); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { a.Check(h, client) }); n != 0 {
		t.Errorf("cached Check allocates %v times", n)
	}
}

func BenchmarkAuthCached(b *testing.B) {
	a, _, _ := testAuth(b, 0)
	a.fails.now = time.Now
	h := basic("alice", "alice-pw")
	if _, err := a.Check(h, client); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Check(h, client); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}
