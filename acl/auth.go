package acl

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// Errors from [Authenticator.Check].
var (
	// ErrNoCredentials: no Proxy-Authorization at all. Answer 407 (or the
	// probe-resistance fallback); it does not count as a failed login,
	// since browsers ask without credentials first.
	ErrNoCredentials = errors.New("no proxy credentials")
	// ErrBadCredentials: malformed header, unknown user or wrong password.
	// Answer 407 (or the fallback); it spends one of the client's failures.
	ErrBadCredentials = errors.New("bad proxy credentials")
	// ErrRateLimited: the client's failure budget for the user is spent,
	// or it has too many checks in flight. Answer 429.
	ErrRateLimited = errors.New("too many failed proxy logins from this address")
	// ErrBusy: every password-hashing slot is taken and the queue for
	// them is full. Answer 503.
	ErrBusy = errors.New("too many proxy logins being checked")
)

// Bounds on password hashing (bcrypt costs tens of milliseconds of CPU per
// check). All checks together run on at most hashSlots goroutines, so the
// event loops and the tunnels on them always keep the rest of the cores;
// one client guessing one user's password may have maxInflight checks
// under way (and maxQueued waiting), and beyond maxWaitingPerSlot queued
// checks per slot new ones are refused.
const (
	maxInflight       = 2
	maxWaitingPerSlot = 64
)

func defaultHashSlots() int { return max(1, runtime.NumCPU()/4) }

// maxToken bounds the base64 credential (1024 bytes decoded); real ones are
// tiny, and a fixed bound lets the check run in stack buffers.
const maxToken = 1368

// Authenticator checks Proxy-Authorization values against the current
// [Users]. It is safe for concurrent use; one per process.
type Authenticator struct {
	users    atomic.Pointer[Users]
	cache    *credCache
	fails    *failureLimiter
	inflight *inflight
	flights  flights
	slots    chan struct{} // one token per password check allowed to run
	waiting  atomic.Int64  // checks waiting for a slot
	hashed   atomic.Int64  // password checks run, for metrics and tests
	secret   [32]byte      // keys the cache digests; never leaves the process
	// verify is the password check; tests wrap it to count hash runs.
	verify func(e *entry, password []byte) bool
}

// NewAuthenticator returns an Authenticator for u (nil means no user can
// log in) that caches up to cacheSize verified credentials (4096 if
// cacheSize <= 0). Failed logins are limited per [ClientKey] to a burst of
// 10, refilled at 10 a minute.
func NewAuthenticator(u *Users, cacheSize int) *Authenticator {
	a := &Authenticator{
		cache:    newCredCache(cacheSize),
		fails:    newFailureLimiter(failuresPerMinute, failureBurst, time.Now),
		inflight: newInflight(maxInflight),
		slots:    make(chan struct{}, defaultHashSlots()),
		verify:   (*entry).verify,
	}
	if _, err := rand.Read(a.secret[:]); err != nil {
		panic("acl: no randomness for the credential cache key: " + err.Error())
	}
	a.users.Store(u)
	return a
}

// SetUsers swaps in a reloaded user file and forgets every cached
// credential, so a removed user or a changed password stops working at
// once. Tunnels already open are not affected.
func (a *Authenticator) SetUsers(u *Users) {
	a.users.Store(u)
	a.cache.clear()
}

// HashChecks is how many password checks (bcrypt and the others) have run.
// Safe from any goroutine.
func (a *Authenticator) HashChecks() int64 { return a.hashed.Load() }

// Users returns the snapshot in use.
func (a *Authenticator) Users() *Users { return a.users.Load() }

// Check verifies a Proxy-Authorization value ("Basic base64(user:pass)",
// scheme case-insensitive) from client and returns the user name.
//
// A name that is not in the file is verified against the slowest hash in
// the file, so the answer takes as long as for a real user with a wrong
// password. A credential that verified is cached (a keyed SHA-256 of it,
// never the password), so bcrypt runs once per credential, not once per
// tunnel.
//
// Guessing is limited per client address and user name: each check takes
// one failure from that budget when it starts and gives it back if the
// password was right, at most a few checks of one budget run at once, and
// every check waits for one of a few hashing slots. A spent budget gets
// ErrRateLimited before any hashing, even with the right password
// (otherwise a correct guess would be confirmed at full speed), unless the
// credential is cached as verified from that same address: wrong guesses
// from a shared address must not lock out a user who already logged in.
//
// A cache miss may run bcrypt for tens of milliseconds and wait for a slot;
// on an event loop, call [Authenticator.TryCheck] first and run Check off
// the loop only when it says so.
func (a *Authenticator) Check(header string, client netip.Addr) (string, error) {
	var c cred
	user, err := a.check(header, client, &c)
	clear(c.buf[:]) // no password left behind on the stack
	return user, err
}

func (a *Authenticator) check(header string, client netip.Addr, c *cred) (string, error) {
	// One snapshot for the whole check: a reload in the middle must not
	// verify against one file and cache under another.
	u := a.users.Load()
	user, done, err := a.prepare(header, client, u, c)
	if done {
		return user, err
	}
	e, known := u.m[string(c.user())]
	stand := e
	if !known {
		stand = u.stand
	}
	f, leader := a.flights.join(&c.key, u)
	if !leader {
		<-f.done
		return f.name, f.err
	}
	name, err := a.verifyLimited(c, client, u, e, known, stand)
	a.flights.land(&c.key, f, name, err)
	return name, err
}

// verifyLimited runs one password check within the guessing budget, the
// client's in-flight bound and the hashing slots.
func (a *Authenticator) verifyLimited(c *cred, client netip.Addr, u *Users, e *entry, known bool, stand *entry) (string, error) {
	key := failKey{client: ClientKey(client)}
	if known {
		key.user = e.name
	}
	if !a.inflight.acquire(key) {
		return "", ErrRateLimited
	}
	defer a.inflight.release(key)
	if !a.fails.take(key) {
		return "", ErrRateLimited
	}
	if !a.acquireSlot() {
		a.fails.refund(key) // nothing was tried
		return "", ErrBusy
	}
	// verify is called indirectly, so whatever it is given escapes; a copy
	// on this slow path keeps c, and the cached path, off the heap.
	pw := append([]byte(nil), c.password()...)
	a.hashed.Add(1)
	ok := stand != nil && a.verify(stand, pw)
	<-a.slots
	clear(pw)
	if known && ok {
		a.fails.refund(key)
		a.cache.put(&c.key, u, e.name, key.client)
		return e.name, nil
	}
	return "", ErrBadCredentials
}

// acquireSlot waits for a hashing slot, or fails at once when too many
// checks wait already.
func (a *Authenticator) acquireSlot() bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	if a.waiting.Add(1) > int64(maxWaitingPerSlot*cap(a.slots)) {
		a.waiting.Add(-1)
		return false
	}
	a.slots <- struct{}{}
	a.waiting.Add(-1)
	return true
}

// TryCheck answers what can be answered without hashing a password:
// missing or malformed credentials, a rate-limited client, a cached
// credential. done is false when only [Authenticator.Check] can tell.
func (a *Authenticator) TryCheck(header string, client netip.Addr) (user string, done bool, err error) {
	var c cred
	user, done, err = a.prepare(header, client, a.users.Load(), &c)
	clear(c.buf[:])
	return user, done, err
}

// cred is a decoded credential in a stack buffer, laid out as
// secret || user:password so that the cache key is one SHA-256 call.
type cred struct {
	buf   [32 + maxToken/4*3]byte
	n     int // length of user:password
	colon int // index of ':' within user:password
	key   [32]byte
}

func (c *cred) user() []byte     { return c.buf[32 : 32+c.colon] }
func (c *cred) password() []byte { return c.buf[32+c.colon+1 : 32+c.n] }

func (a *Authenticator) prepare(header string, client netip.Addr, u *Users, c *cred) (string, bool, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", true, ErrNoCredentials
	}
	ck := ClientKey(client)
	if u == nil || !c.parse(header) {
		if !a.fails.take(failKey{client: ck}) {
			return "", true, ErrRateLimited
		}
		return "", true, ErrBadCredentials
	}
	key := failKey{client: ck}
	if e, known := u.m[string(c.user())]; known {
		key.user = e.name
	}
	blocked := a.fails.blocked(key)
	copy(c.buf[:32], a.secret[:])
	c.key = sha256.Sum256(c.buf[:32+c.n])
	if name, ok := a.cache.get(&c.key, u, ck, blocked); ok {
		return name, true, nil
	}
	if blocked {
		return "", true, ErrRateLimited
	}
	return "", false, nil
}

// b64 refuses non-canonical encodings (stray bits in the last character),
// so one credential has exactly one accepted spelling.
var b64 = base64.StdEncoding.Strict()

// parse decodes "Basic <token68>" into c. One or more spaces may follow
// the scheme (RFC 9110 says 1*SP); the token itself has no whitespace,
// which also stops the base64 decoder from skipping CR and LF.
func (c *cred) parse(header string) bool {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return false
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" || len(tok) > maxToken || strings.ContainsAny(tok, " \t\r\n") {
		return false
	}
	var src [maxToken]byte
	n, err := b64.Decode(c.buf[32:], src[:copy(src[:], tok)])
	if err != nil {
		return false
	}
	i := 0
	for i < n && c.buf[32+i] != ':' {
		i++
	}
	if i == 0 || i == n { // empty user name, or no ':'
		return false
	}
	c.n, c.colon = n, i
	return true
}
