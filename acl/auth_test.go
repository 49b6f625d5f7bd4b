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
	a.cache.put(&c.key, old, "carol", ClientKey(client))
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
	for _, h := range []string{basic("carol", "wrong"), basic("carol", "hunter2")} {
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
	if _, err := a.Check(basic("carol", "hunter3"), client); !errors.Is(err, ErrRateLimited) {
		t.Errorf("after 5s: %v", err)
	}
	clock.advance(time.Second)
	if _, err := a.Check(basic("carol", "wrong"), client); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("after 6s: %v", err)
	}
	if _, err := a.Check(basic("carol", "hunter3"), client); !errors.Is(err, ErrRateLimited) {
		t.Errorf("right after the refilled token was spent: %v", err)
	}
	// A full minute restores the whole burst.
	clock.advance(time.Minute)
	if got, err := a.Check(basic("carol", "hunter2"), client); err != nil || got != "carol" {
		t.Errorf("after a minute: %q, %v", got, err)
	}
}

// Malformed credentials spend the address's budget for names not in the
// file, and are refused once it is spent.
func TestFailureLimitMalformed(t *testing.T) {
	a, _, _ := testAuth(t, 0)
	for i := 0; i < failureBurst; i++ {
		if _, err := a.Check("Basic !!", client); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("malformed %d: %v", i+1, err)
		}
	}
	if _, err := a.Check("Basic !!", client); !errors.Is(err, ErrRateLimited) {
		t.Errorf("malformed after the budget: %v", err)
	}
	if _, err := a.Check(basic("mallory", "x"), client); !errors.Is(err, ErrRateLimited) {
		t.Errorf("unknown name after the budget: %v", err)
	}
}

// Wrong guesses from a shared address (NAT, CGNAT) must not lock out the
// users behind it: they spend the budget of the name guessed at (or of
// names not in the file), and a credential already verified from that
// address keeps passing even when its own user's budget is spent.
func TestFailureLimitSparesOthers(t *testing.T) {
	a, calls, _ := testAuth(t, 0)
	if _, err := a.Check(basic("alice", "alice-pw"), client); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3*failureBurst; i++ {
		a.Check(basic("alice", fmt.Sprint("guess", i)), client)
		a.Check(basic("mallory", fmt.Sprint("guess", i)), client)
	}
	calls.Store(0)
	if got, err := a.Check(basic("alice", "alice-pw"), client); err != nil || got != "alice" {
		t.Errorf("alice, verified before the guessing, from the same address: %q, %v", got, err)
	}
	if got, err := a.Check(basic("carol", "hunter2"), client); err != nil || got != "carol" {
		t.Errorf("carol, whose password nobody guessed, from the same address: %q, %v", got, err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d verifications; want 1 (carol's: alice's credential is cached)", calls.Load())
	}
	// The exemption is for the address the credential was verified from:
	// elsewhere a blocked guesser must not learn from the cache which of
	// its guesses is right.
	a2, calls2, _ := testAuth(t, 0)
	if _, err := a2.Check(basic("alice", "alice-pw"), client2); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < failureBurst; i++ {
		a2.Check(basic("alice", fmt.Sprint("guess", i)), client)
	}
	calls2.Store(0)
	if _, err := a2.Check(basic("alice", "alice-pw"), client); !errors.Is(err, ErrRateLimited) || calls2.Load() != 0 {
		t.Errorf("a blocked address presenting a credential cached for another: %v after %d verifications; want ErrRateLimited, none", err, calls2.Load())
	}
}

// A burst of parallel wrong guesses costs at most the failure budget in
// password hashing: a check counts against the budget when it starts, only
// a few of one client's checks run at once, a few more wait, and the rest
// are refused at once.
func TestParallelGuessesCountWhenTheyStart(t *testing.T) {
	a, calls, _ := testAuth(t, 0)
	a.slots = make(chan struct{}, 8) // hashing slots are not what is tested here
	release := make(chan struct{})
	var running, peak atomic.Int64
	a.verify = func(e *entry, p []byte) bool {
		calls.Add(1)
		if n := running.Add(1); n > peak.Load() {
			peak.Store(n)
		}
		<-release // hold the checks in flight until the burst has been answered
		running.Add(-1)
		return e.verify(p)
	}
	var wg sync.WaitGroup
	var limited, bad atomic.Int64
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Check(basic("alice", fmt.Sprint("guess", i)), client)
			switch {
			case errors.Is(err, ErrRateLimited):
				limited.Add(1)
			case errors.Is(err, ErrBadCredentials):
				bad.Add(1)
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for limited.Load() < 200-maxInflight-maxQueued && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := limited.Load(); n != 200-maxInflight-maxQueued {
		t.Errorf("%d of 200 parallel guesses refused at once; want all but %d running and %d waiting", n, maxInflight, maxQueued)
	}
	if p := peak.Load(); p > maxInflight {
		t.Errorf("%d guesses of one client hashed at once; want at most %d", p, maxInflight)
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n > failureBurst {
		t.Errorf("%d of 200 parallel guesses were hashed; want at most the budget, %d", n, failureBurst)
	}
	// Sequential guesses after the burst are refused without hashing.
	for i := 0; i < 3*failureBurst; i++ {
		a.Check(basic("alice", fmt.Sprint("again", i)), client)
	}
	if n := calls.Load(); n > failureBurst {
		t.Errorf("%d guesses hashed in all; want at most the budget, %d", n, failureBurst)
	}
}

// Parallel checks of one credential share one password check: a browser
// that opens several connections with the same credentials is neither
// refused nor charged bcrypt for each.
func TestParallelSameCredentialShareOneCheck(t *testing.T) {
	a, calls, _ := testAuth(t, 0)
	release := make(chan struct{})
	a.verify = func(e *entry, p []byte) bool {
		calls.Add(1)
		<-release
		return e.verify(p)
	}
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if u, err := a.Check(basic("alice", "alice-pw"), client); err == nil && u == "alice" {
				ok.Add(1)
			}
		}()
	}
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the others join the flight
	close(release)
	wg.Wait()
	// One check, or two if a login missed the cache just before the first
	// check stored its result and arrived just after its flight landed.
	if ok.Load() != 20 || calls.Load() > 2 {
		t.Errorf("%d of 20 parallel logins passed after %d password checks; want 20 after 1", ok.Load(), calls.Load())
	}
}

// All password hashing together runs on at most the hashing slots, however
// many clients ask at once; the loops keep the other cores.
func TestHashingSlotsBoundConcurrency(t *testing.T) {
	a, _, _ := testAuth(t, 0)
	a.slots = make(chan struct{}, 2)
	var running, peak atomic.Int64
	a.verify = func(e *entry, p []byte) bool {
		n := running.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		running.Add(-1)
		return e.verify(p)
	}
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.Check(basic("bob", "wrong"), netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Errorf("%d password checks ran at once; want at most the 2 slots", p)
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
		l.fail(failKey{client: ClientKey(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))})
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
		c.put(&k, u, "x", ClientKey(client))
		if i >= 16 { // keep one early key hot in its shard
			c.get(&keys[0], u, ClientKey(client), false)
		}
	}
	total := 0
	for i := range c.shards {
		total += c.shards[i].len()
	}
	if total > 32 {
		t.Errorf("cache holds %d entries, cap 32", total)
	}
	if _, ok := c.get(&keys[0], u, ClientKey(client), false); !ok {
		t.Error("recently used entry was evicted")
	}
	if _, ok := c.get(&keys[1], u, ClientKey(client), false); ok {
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
