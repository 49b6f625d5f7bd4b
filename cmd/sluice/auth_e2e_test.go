package main

// End-to-end tests of proxy authentication (--auth-file, --auth-realm),
// the failed-login limit, SIGHUP reloads of the user file, and the
// per-user and per-address tunnel limits, over HTTP/1.1 (plain and TLS)
// and HTTP/2 (TLS) on loopback. Each test that spends failed logins does
// so from its own loopback source address, because the failure budget is
// per client address.

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/http2"
)

const (
	authRealm     = "Corp Proxy"
	wantChallenge = `Basic realm="Corp Proxy"`

	// apr1Line is `openssl passwd -apr1 -salt s4ltS4lt 'apr-Secret-9'`.
	apr1Line = "alice:$apr1$s4ltS4lt$1nkxik1yOAHzQUh.MUc2r/"
	apr1Pass = "apr-Secret-9"
	// shaLine is `printf %s sha-Secret-7 | openssl dgst -sha1 -binary | base64`.
	shaLine = "carol:{SHA}K0iV06co1hMmbAGRCwiosNjk1wQ="
	shaPass = "sha-Secret-7"
)

// basic is a Proxy-Authorization value.
func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// authHeader is a Proxy-Authorization header line for connectFrom.
func authHeader(user, pass string) string {
	return "Proxy-Authorization: " + basic(user, pass) + "\r\n"
}

// bcryptLine is an htpasswd line for user with a bcrypt hash at MinCost,
// with the given prefix ("$2y$" is what htpasswd -B writes, Go writes
// "$2a$"; all three name the same algorithm for ASCII passwords).
func bcryptLine(t *testing.T, user, pass, prefix string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return user + ":" + prefix + strings.TrimPrefix(string(h), "$2a$")
}

// expect407 checks a 407 over HTTP/1.1: exactly one Proxy-Authenticate
// with the configured realm, then a close.
func expect407(t *testing.T, p *proxy, useTLS bool, src, target, extra, why string) {
	t.Helper()
	resp, c, r := connectFrom(t, p, useTLS, src, target, extra)
	if c != nil {
		_ = c.Close()
		t.Errorf("%s over %s: tunnel opened; want 407", why, listenerName(useTLS))
		return
	}
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("%s over %s: status %d; want 407", why, listenerName(useTLS), resp.StatusCode)
	}
	if got := resp.Header.Values("Proxy-Authenticate"); len(got) != 1 || got[0] != wantChallenge {
		t.Errorf("%s over %s: Proxy-Authenticate %q; want exactly [%q]", why, listenerName(useTLS), got, wantChallenge)
	}
	if !r.closedAfter() || len(r.after) != 0 {
		t.Errorf("%s over %s: after the 407: %q, end %v; want a close", why, listenerName(useTLS), r.after, r.endErr)
	}
}

// expectH1Status checks a non-tunnel answer over HTTP/1.1 from src.
func expectH1Status(t *testing.T, p *proxy, useTLS bool, src, target, extra string, code int, why string) {
	t.Helper()
	resp, c, _ := connectFrom(t, p, useTLS, src, target, extra)
	if c != nil {
		_ = c.Close()
	}
	if resp.StatusCode != code {
		t.Errorf("%s over %s: status %d; want %d", why, listenerName(useTLS), resp.StatusCode, code)
	}
}

// tunnelWith opens a tunnel over HTTP/1.1 from src, with extra header
// lines, and checks that bytes move.
func tunnelWith(t *testing.T, p *proxy, useTLS bool, src, target, extra, why string) net.Conn {
	t.Helper()
	resp, c, _ := connectFrom(t, p, useTLS, src, target, extra)
	if c == nil {
		t.Fatalf("%s: CONNECT %s over %s: status %d; want 200", why, target, listenerName(useTLS), resp.StatusCode)
	}
	echoOnce(t, c, why)
	return c
}

// tunnelAs opens a tunnel over HTTP/1.1 as user from src and checks that
// bytes move.
func tunnelAs(t *testing.T, p *proxy, useTLS bool, src, target, user, pass string) net.Conn {
	t.Helper()
	resp, c, _ := connectFrom(t, p, useTLS, src, target, authHeader(user, pass))
	if c == nil {
		t.Fatalf("CONNECT %s as %s over %s: status %d; want 200", target, user, listenerName(useTLS), resp.StatusCode)
	}
	echoOnce(t, c, user+" over "+listenerName(useTLS))
	return c
}

func authH2(user, pass string) http.Header {
	return http.Header{"Proxy-Authorization": {basic(user, pass)}}
}

// expectH2Challenge checks a 407 with the challenge over HTTP/2.
func expectH2Challenge(t *testing.T, p *proxy, src, target string, hdr http.Header, why string) {
	t.Helper()
	resp := h2Status(t, h2From(t, p, src), target, hdr)
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("%s over h2: status %d; want 407", why, resp.StatusCode)
	}
	if got := resp.Header.Values("Proxy-Authenticate"); len(got) != 1 || got[0] != wantChallenge {
		t.Errorf("%s over h2: proxy-authenticate %q; want exactly [%q]", why, got, wantChallenge)
	}
}

// TestAuthE2ELogin: bcrypt ($2y$ and $2b$), apr1 and {SHA} users each log
// in and tunnel over h1 plain, h1 TLS and h2; a wrong password, an unknown
// user, a malformed or missing header get 407 with exactly the configured
// challenge; the access log names the user of each tunnel, and no
// password or credential token appears in the access or the error log.
func TestAuthE2ELogin(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	dir := t.TempDir()
	authPath := filepath.Join(dir, "users.htpasswd")
	bob := bcryptLine(t, "bob", "bcrypt-Secret-5", "$2y$")
	erin := bcryptLine(t, "erin", "bcrypt-Secret-6", "$2b$")
	writeFileAtomic(t, authPath, strings.Join([]string{"# users", bob, apr1Line, "", shaLine, erin + ":a comment"}, "\n")+"\n")
	p := startOpenProxy(t, "--auth-file", authPath, "--auth-realm", authRealm)

	users := []struct{ name, pass string }{
		{"bob", "bcrypt-Secret-5"},
		{"alice", apr1Pass},
		{"carol", shaPass},
		{"erin", "bcrypt-Secret-6"},
	}
	var secrets []string
	for _, u := range users {
		secrets = append(secrets, u.pass, basic(u.name, u.pass)[len("Basic "):], basic(u.name, "wrong-"+u.pass)[len("Basic "):], "wrong-"+u.pass)
	}
	secrets = append(secrets, strings.TrimPrefix(bob, "bob:"), strings.TrimPrefix(apr1Line, "alice:"), "K0iV06co1hMmbAGRCwiosNjk1wQ=")

	for i, useTLS := range []bool{false, true} {
		src := "127.0.0." + strconv.Itoa(11+i)
		t.Run(listenerName(useTLS), func(t *testing.T) {
			for _, u := range users {
				c := tunnelAs(t, p, useTLS, src, target, u.name, u.pass)
				_ = c.Close()
				expect407(t, p, useTLS, src, target, authHeader(u.name, "wrong-"+u.pass), u.name+" with a wrong password")
			}
			// The scheme is case-insensitive.
			resp, c, _ := connectFrom(t, p, useTLS, src, target, "Proxy-Authorization: basic "+basic("carol", shaPass)[len("Basic "):]+"\r\n")
			if c == nil {
				t.Errorf("lowercase scheme: status %d; want 200", resp.StatusCode)
			} else {
				echoOnce(t, c, "lowercase scheme")
				_ = c.Close()
			}
			expect407(t, p, useTLS, src, target, "", "no Proxy-Authorization")
			expect407(t, p, useTLS, src, target, authHeader("mallory", "bcrypt-Secret-5"), "an unknown user")
			expect407(t, p, useTLS, src, target, "Proxy-Authorization: Basic !!notbase64\r\n", "a malformed token")
			expect407(t, p, useTLS, src, target, "Proxy-Authorization: Bearer "+basic("bob", "bcrypt-Secret-5")[len("Basic "):]+"\r\n", "another scheme")
		})
	}
	t.Run("h2", func(t *testing.T) {
		const src = "127.0.0.13"
		for _, u := range users {
			h2Echo(t, h2From(t, p, src), target, authH2(u.name, u.pass))
			expectH2Challenge(t, p, src, target, authH2(u.name, "wrong-"+u.pass), u.name+" with a wrong password")
		}
		expectH2Challenge(t, p, src, target, nil, "no proxy-authorization")
		expectH2Challenge(t, p, src, target, authH2("mallory", "x"), "an unknown user")
	})
	// Absolute-form forwarding needs credentials too, and the origin never
	// sees them.
	t.Run("forward", func(t *testing.T) {
		origin, seenCh := recordingOrigin(t)
		host := hostOf(origin)
		req := "GET http://" + host + "/fwd HTTP/1.1\r\nHost: " + host + "\r\n"
		r := expectStatus(t, p.plain, false, req+"\r\n", 407)
		if got := r.resp.Header.Values("Proxy-Authenticate"); len(got) != 1 || got[0] != wantChallenge {
			t.Errorf("forward without credentials: Proxy-Authenticate %q; want [%q]", got, wantChallenge)
		}
		for i, useTLS := range []bool{false, true} {
			c := dialFrom(t, p.addr(useTLS), useTLS, "127.0.0."+strconv.Itoa(14+i))
			r := rawExchange(t, c, []byte(req+authHeader("alice", apr1Pass)+"Connection: close\r\n\r\n"), waitLimit)
			if r.resp.StatusCode != 200 || r.body != "origin body for /fwd" {
				t.Fatalf("forward with credentials over %s: %d %q", listenerName(useTLS), r.resp.StatusCode, r.body)
			}
			if s := nextSeen(t, seenCh); len(s.header.Values("Proxy-Authorization")) != 0 {
				t.Errorf("the origin saw the proxy credentials: %v", s.header)
			}
		}
		p.waitLines("forwarded requests of alice", 2, func(l logLine) bool {
			return l.str("user") == "alice" && l.str("target") == "http://"+host+"/fwd"
		})
	})

	// One tunnel line per login, each naming its user; every line has a
	// user (no tunnel ran unauthenticated).
	for _, u := range users {
		want := 3 // plain, TLS, h2
		if u.name == "carol" {
			want = 5 // and the two lowercase-scheme logins
		}
		p.waitLines("tunnels of "+u.name, want, func(l logLine) bool {
			return l.str("user") == u.name && l.num("status") == 200 && l.str("target") == target
		})
	}
	for _, l := range p.readLog() {
		if l.num("status") == 200 && l.str("user") == "" {
			t.Errorf("a tunnel without a user in the access log: %v", l)
		}
	}
	access, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	errLog := p.errLog.String()
	for _, s := range secrets {
		if strings.Contains(string(access), s) {
			t.Errorf("the access log contains the secret %q", s)
		}
		if strings.Contains(errLog, s) {
			t.Errorf("the error log contains the secret %q", s)
		}
	}
}

// TestAuthE2EBrokenFileAtStartup: an auth file with a format that is not
// accepted, or a malformed line, stops newServer with the file and line
// number in the error, and without quoting the hash.
func TestAuthE2EBrokenFileAtStartup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := bcryptLine(t, "bob", "pw", "$2y$")
	for i, tc := range []struct {
		bad  string
		line int
		hash string
	}{
		{"dave:$1$saltsalt$8nPwFg2l7dOQ0uQrc2cm4.", 3, "$1$saltsalt$8nPwFg2l7dOQ0uQrc2cm4."},         // MD5-crypt
		{"dave:$6$saltsalt$abcdefghijklmnop", 3, "$6$saltsalt$abcdefghijklmnop"},                     // SHA-512 crypt
		{"dave:plaintextpassword", 3, "plaintextpassword"},                                           // plain text
		{"dave:rqXexS6ZhobKA", 3, "rqXexS6ZhobKA"},                                                   // crypt(3) DES
		{"dave:{SSHA}c2FsdGVkc2FsdGVkc2FsdGVkc2FsdA==", 3, "{SSHA}c2FsdGVkc2FsdGVkc2FsdGVkc2FsdA=="}, // salted SHA
		{"dave:{SHA}dG9vc2hvcnQ=", 3, "{SHA}dG9vc2hvcnQ="},                                           // wrong digest length
		{"dave:$apr1$s4ltS4lt$tooshort", 3, "$apr1$s4ltS4lt$tooshort"},                               // malformed apr1
		{"dave:$2y$05$tooshortforbcrypt", 3, "$2y$05$tooshortforbcrypt"},                             // malformed bcrypt
		{"no colon here", 3, ""},
		{"dave:", 3, ""},
		{good, 3, ""}, // bob again: a duplicate
	} {
		path := filepath.Join(dir, "broken"+strconv.Itoa(i)+".htpasswd")
		writeFileAtomic(t, path, good+"\n# comment\n"+tc.bad+"\n"+shaLine+"\n")
		cfg, err := parseFlags([]string{"--listen", "127.0.0.1:0", "--listen-tls", "", "--access-log", "off", "--auth-file", path}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		s, err := newServer(cfg, &lockedBuffer{})
		if err == nil {
			_ = s.shutdown(t.Context())
			t.Errorf("%q: newServer accepted the file", tc.bad)
			continue
		}
		want := path + ":" + strconv.Itoa(tc.line) + ":"
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %q does not name %q", tc.bad, err, want)
		}
		if tc.hash != "" && strings.Contains(err.Error(), tc.hash) {
			t.Errorf("%q: error %q quotes the hash", tc.bad, err)
		}
	}
	// A file without users is refused too (a truncated file on reload).
	empty := filepath.Join(dir, "empty.htpasswd")
	writeFileAtomic(t, empty, "# nobody\n")
	cfg, err := parseFlags([]string{"--listen", "127.0.0.1:0", "--listen-tls", "", "--access-log", "off", "--auth-file", empty}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := newServer(cfg, &lockedBuffer{}); err == nil {
		_ = s.shutdown(t.Context())
		t.Errorf("newServer accepted an auth file without users")
	}
}

// TestAuthE2ERateLimit: missing credentials never count; ten wrong
// passwords from one address are answered 407, the next attempt 429, and
// from then on even the right password (cached or not, over h1 or h2)
// gets 429 from that address, while another address still logs in.
func TestAuthE2ERateLimit(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bcrypt-Secret-5", "$2y$")+"\n"+apr1Line+"\n")
	p := startOpenProxy(t, "--auth-file", authPath, "--auth-realm", authRealm)
	const src = "127.0.0.21"

	for i := 0; i < 15; i++ { // browsers ask without credentials first
		expect407(t, p, i%2 == 1, src, target, "", "no credentials")
	}
	c := tunnelAs(t, p, false, src, target, "bob", "bcrypt-Secret-5") // now cached
	_ = c.Close()

	limited := false
	for i := 1; i <= 11 && !limited; i++ {
		resp, c, _ := connectFrom(t, p, i%2 == 1, src, target, authHeader("bob", "wrong-"+strconv.Itoa(i)))
		if c != nil {
			_ = c.Close()
			t.Fatalf("wrong password %d: tunnel opened", i)
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests && i == 11:
			limited = true
		case resp.StatusCode == http.StatusProxyAuthRequired && i <= 10:
		default:
			t.Fatalf("wrong password %d: status %d; want 407 for the first 10, then 429", i, resp.StatusCode)
		}
	}
	if !limited {
		t.Fatalf("11 wrong passwords from one address were never answered 429")
	}
	for _, useTLS := range []bool{false, true} {
		expectH1Status(t, p, useTLS, src, target, authHeader("bob", "bcrypt-Secret-5"), 429, "the right (cached) password after the limit")
		expectH1Status(t, p, useTLS, src, target, authHeader("alice", apr1Pass), 429, "the right (uncached) password after the limit")
	}
	if got := h2Status(t, h2From(t, p, src), target, authH2("bob", "bcrypt-Secret-5")).StatusCode; got != 429 {
		t.Errorf("the right password over h2 after the limit: %d; want 429", got)
	}
	// The budget is per client address.
	c = tunnelAs(t, p, true, "127.0.0.22", target, "alice", apr1Pass)
	_ = c.Close()
	h2Echo(t, h2From(t, p, "127.0.0.23"), target, authH2("bob", "bcrypt-Secret-5"))
}

// TestAuthE2EReload: s.reload() (what SIGHUP calls) puts a new user file in
// force at once: a changed password works and the old one fails, a removed
// user fails, a new user works, and tunnels opened before keep moving
// bytes. A broken file keeps the old users and the error log names the
// file and line.
func TestAuthE2EReload(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "old-Secret-1", "$2y$")+"\n"+apr1Line+"\n")
	p := startOpenProxy(t, "--auth-file", authPath, "--auth-realm", authRealm)
	const src, bad = "127.0.0.31", "127.0.0.32"

	before := tunnelAs(t, p, false, src, target, "bob", "old-Secret-1")
	beforeTLS := tunnelAs(t, p, true, src, target, "alice", apr1Pass)
	cc := h2From(t, p, src)
	h2resp, h2pw, err := h2ConnectWith(cc, target, authH2("bob", "old-Secret-1"))
	if err != nil || h2resp.StatusCode != 200 {
		t.Fatalf("h2 tunnel before the reload: %v %v", h2resp, err)
	}
	defer h2resp.Body.Close()
	defer h2pw.Close()
	h2Ping := func(what string) {
		t.Helper()
		msg := []byte("h2 " + what)
		go func() { _, _ = h2pw.Write(msg) }()
		got := make([]byte, len(msg))
		if _, err := readFullTimeout(h2resp.Body, got); err != nil || string(got) != string(msg) {
			t.Fatalf("h2 tunnel %s: got %q (%v)", what, got, err)
		}
	}
	h2Ping("before the reload")

	// v2: bob's password changes, alice is gone, dave ({SHA}) is new.
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "new-Secret-2", "$2y$")+"\n"+strings.Replace(shaLine, "carol:", "dave:", 1)+"\n")
	p.s.reload()
	p.waitErrLog("auth file reloaded")
	for _, useTLS := range []bool{false, true} {
		c := tunnelAs(t, p, useTLS, src, target, "bob", "new-Secret-2")
		_ = c.Close()
		c = tunnelAs(t, p, useTLS, src, target, "dave", shaPass)
		_ = c.Close()
		expect407(t, p, useTLS, bad, target, authHeader("bob", "old-Secret-1"), "bob's old (cached) password after the reload")
		expect407(t, p, useTLS, bad, target, authHeader("alice", apr1Pass), "a removed user")
	}
	h2Echo(t, h2From(t, p, src), target, authH2("bob", "new-Secret-2"))
	expectH2Challenge(t, p, bad, target, authH2("bob", "old-Secret-1"), "bob's old password after the reload")
	echoOnce(t, before, "a tunnel opened before the reload")
	echoOnce(t, beforeTLS, "a TLS tunnel of a since removed user")
	h2Ping("after the reload")

	// v3 is broken on line 2: the v2 users stay.
	const brokenHash = "$6$rounds=5000$saltsalt$notsupported"
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "third-Secret-3", "$2y$")+"\neve:"+brokenHash+"\n")
	p.s.reload()
	log := p.waitErrLog("auth file reload failed", authPath+":2:")
	if strings.Contains(log, brokenHash) {
		t.Errorf("the error log quotes the hash of the broken line:\n%s", log)
	}
	c := tunnelAs(t, p, false, src, target, "bob", "new-Secret-2")
	_ = c.Close()
	c = tunnelAs(t, p, true, src, target, "dave", shaPass)
	_ = c.Close()
	expect407(t, p, false, bad, target, authHeader("bob", "third-Secret-3"), "a password from the broken file")
	expect407(t, p, true, bad, target, authHeader("bob", "old-Secret-1"), "bob's first password after a failed reload")
	echoOnce(t, before, "a tunnel opened before both reloads")
	echoOnce(t, beforeTLS, "a TLS tunnel opened before both reloads")
	h2Ping("after the failed reload")
	if n := strings.Count(log, "auth file reloaded"); n != 1 {
		t.Errorf("error log: %d successful auth reloads; want 1", n)
	}
}

// readFullTimeout is io.ReadFull bounded by waitLimit, for bodies without
// a deadline of their own (h2 streams).
func readFullTimeout(r interface{ Read([]byte) (int, error) }, buf []byte) (int, error) {
	return readWithin(func() (int, error) {
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var k int
			k, err = r.Read(buf[n:])
			n += k
		}
		if n == len(buf) {
			err = nil
		}
		return n, err
	})
}

// retryTunnel polls (bounded) until a CONNECT from src gets 200: a limit
// slot is given back when the tunnel's end is processed, which is
// asynchronous to the client's close.
func retryTunnel(t *testing.T, p *proxy, useTLS bool, src, target, extra, why string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		resp, c, _ := connectFrom(t, p, useTLS, src, target, extra)
		if c != nil {
			echoOnce(t, c, why)
			return c
		}
		if resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("%s: status %d; want 200 once a slot is free", why, resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLimitE2EPerIP: --max-tunnels-per-ip 2 counts h1 and h2 tunnels of
// one client address together; the third gets 429 whatever the front end,
// another address is not affected, and closing one tunnel frees a slot.
func TestLimitE2EPerIP(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	p := startOpenProxy(t, "--max-tunnels-per-ip", "2")
	const src = "127.0.0.41"

	a := tunnelWith(t, p, false, src, target, "", "the first tunnel")
	cc := h2From(t, p, src)
	h2resp, h2pw, err := h2ConnectWith(cc, target, nil)
	if err != nil || h2resp.StatusCode != 200 {
		t.Fatalf("second tunnel (h2): %v %v", h2resp, err)
	}
	defer h2resp.Body.Close()
	defer h2pw.Close()

	for _, useTLS := range []bool{false, true} {
		expectH1Status(t, p, useTLS, src, target, "", 429, "a third tunnel from one address")
	}
	if got := h2Status(t, cc, target, nil).StatusCode; got != 429 {
		t.Errorf("a third tunnel over h2: %d; want 429", got)
	}
	if got := h2Status(t, h2From(t, p, src), target, nil).StatusCode; got != 429 {
		t.Errorf("a third tunnel over a new h2 conn: %d; want 429", got)
	}
	// Another address has its own budget.
	b := tunnelWith(t, p, true, "127.0.0.42", target, "", "another address, first tunnel")
	c := tunnelWith(t, p, false, "127.0.0.42", target, "", "another address, second tunnel")
	_, _ = b.Close(), c.Close()

	_ = a.Close()
	d := retryTunnel(t, p, true, src, target, "", "a tunnel after one of the two closed")
	expectH1Status(t, p, false, src, target, "", 429, "again a third tunnel")
	_ = d.Close()
	h2pw.Close()
	h2resp.Body.Close()
	e := retryTunnel(t, p, false, src, target, "", "a tunnel after the h2 one closed")
	f := retryTunnel(t, p, false, src, target, "", "a second tunnel after both closed")
	_, _ = e.Close(), f.Close()

	n := 0
	for _, l := range p.readLog() {
		if l.num("status") == 429 {
			n++
		}
	}
	if n < 5 {
		t.Errorf("%d access-log lines with status 429; want at least 5", n)
	}
}

// TestLimitE2EPerUser: --max-tunnels-per-user 1 with authentication: a
// user's second concurrent tunnel gets 429 from any address and front
// end, another user is not affected, and closing the first frees the slot.
func TestLimitE2EPerUser(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bcrypt-Secret-5", "$2y$")+"\n"+shaLine+"\n")
	p := startOpenProxy(t, "--auth-file", authPath, "--max-tunnels-per-user", "1")

	a := tunnelAs(t, p, false, "127.0.0.51", target, "bob", "bcrypt-Secret-5")
	for i, useTLS := range []bool{false, true} {
		expectH1Status(t, p, useTLS, "127.0.0."+strconv.Itoa(52+i), target, authHeader("bob", "bcrypt-Secret-5"), 429, "bob's second tunnel")
	}
	if got := h2Status(t, h2From(t, p, "127.0.0.54"), target, authH2("bob", "bcrypt-Secret-5")).StatusCode; got != 429 {
		t.Errorf("bob's second tunnel over h2: %d; want 429", got)
	}
	c := tunnelAs(t, p, true, "127.0.0.51", target, "carol", shaPass)
	expectH1Status(t, p, false, "127.0.0.52", target, authHeader("carol", shaPass), 429, "carol's second tunnel")
	_ = a.Close()
	b := retryTunnel(t, p, false, "127.0.0.52", target, authHeader("bob", "bcrypt-Secret-5"), "bob after his first tunnel closed")
	_, _ = b.Close(), c.Close()
	p.waitLines("bob's refused tunnels", 3, func(l logLine) bool { return l.str("user") == "bob" && l.num("status") == 429 })
}

// TestAuthE2EEarlyData: bytes a client sends right behind its CONNECT,
// while an uncached bcrypt password is checked off the event loop, are
// held and reach the origin once the tunnel is up, over h1 (plain, TLS)
// and h2.
func TestAuthE2EEarlyData(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	var lines []string
	for _, u := range []string{"u1", "u2", "u3"} {
		h, err := bcrypt.GenerateFromPassword([]byte("pw-"+u), 8) // slow enough that data arrives during the check
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, u+":"+string(h))
	}
	writeFileAtomic(t, authPath, strings.Join(lines, "\n")+"\n")
	p := startOpenProxy(t, "--auth-file", authPath)
	payload := make([]byte, 200<<10)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	for i, useTLS := range []bool{false, true} {
		u := "u" + strconv.Itoa(i+1)
		c := dialProxy(t, p.addr(useTLS), useTLS)
		head := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + authHeader(u, "pw-"+u) + "\r\n"
		go func() { _, _ = c.Write(append([]byte(head), payload...)) }()
		readEstablished(t, c)
		got := make([]byte, len(payload))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != string(payload) {
			t.Errorf("%s: early data through the tunnel: %d bytes match? %v (%v)", listenerName(useTLS), len(got), string(got) == string(payload), err)
		}
		_ = c.Close()
	}
	// h2: the request body starts flowing before the response arrives.
	cc := h2ClientConn(t, p, true)
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write(payload[:32<<10]) }() // within the initial stream window
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Host: target}, Host: target,
		Header: authH2("u3", "pw-u3"), Body: pr}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	defer pw.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("h2 CONNECT: %d", resp.StatusCode)
	}
	got := make([]byte, 32<<10)
	if _, err := readFullTimeout(resp.Body, got); err != nil || string(got) != string(payload[:32<<10]) {
		t.Errorf("h2: early data through the tunnel: match? %v (%v)", string(got) == string(payload[:32<<10]), err)
	}
}

// TestLimitE2ESlotsReleased: a tunnel slot is given back however the
// tunnel ends: a refused dial (502), or a client that leaves while the
// dial is still pending (FIN, RST, an h2 stream reset, the whole h2 conn
// closed). With --max-tunnels-per-ip 1, a slot that leaked turns every
// later CONNECT from that address into a 429, and the tunnel never gets
// its access-log line.
func TestLimitE2ESlotsReleased(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	closed := "127.0.0.1:" + strconv.Itoa(closedPort(t))
	const src = "127.0.0.43"
	// start gives a proxy whose resolver never answers, so a dial to a
	// name stays pending until --connect-timeout (1s) ends it, and a way
	// to wait until that dial is under way.
	start := func(t *testing.T) (*proxy, func(before int)) {
		dns, queries := fakeDNS(t, false)
		p := startOpenProxy(t, "--max-tunnels-per-ip", "1", "--resolver", dns, "--connect-timeout", "1s")
		return p, func(before int) {
			t.Helper()
			deadline := time.Now().Add(waitLimit)
			for queries() == before {
				if time.Now().After(deadline) {
					t.Fatal("the proxy never asked the resolver")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	// after checks that the slot comes back: one more tunnel from src.
	after := func(t *testing.T, p *proxy, stalled, why string) {
		t.Helper()
		c := retryTunnel(t, p, false, src, echo.addr(), "", why)
		_ = c.Close()
		p.waitLog(stalled) // the abandoned tunnel was logged
	}

	t.Run("dial-refused", func(t *testing.T) {
		t.Parallel()
		p, _ := start(t)
		// The previous tunnel's slot comes back when the proxy sees its
		// client conn close, which races with the next request: 429 is
		// fine for a while, then the 502 must come.
		untilNot429 := func(what string, try func() int) {
			t.Helper()
			deadline := time.Now().Add(waitLimit)
			for {
				got := try()
				if got == 502 {
					return
				}
				if got != 429 || time.Now().After(deadline) {
					t.Fatalf("%s: %d; want 502 (a lasting 429 means a leaked slot)", what, got)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		for i := 0; i < 3; i++ {
			for _, useTLS := range []bool{false, true} {
				untilNot429("h1 CONNECT to a closed port over "+listenerName(useTLS), func() int {
					resp, _, _ := connectFrom(t, p, useTLS, src, closed, "")
					return resp.StatusCode
				})
			}
			cc := h2From(t, p, src)
			untilNot429("h2 CONNECT to a closed port", func() int { return h2Status(t, cc, closed, nil).StatusCode })
		}
	})
	for _, rst := range []bool{false, true} {
		name := "h1-client-fin-during-dial"
		if rst {
			name = "h1-client-reset-during-dial"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, dialing := start(t)
			c := dialFrom(t, p.plain, false, src)
			if _, err := io.WriteString(c, connectReq("stall.test:443")); err != nil {
				t.Fatal(err)
			}
			dialing(0)
			if rst {
				_ = c.(*net.TCPConn).SetLinger(0)
			}
			_ = c.Close()
			after(t, p, "stall.test:443", "a tunnel after a client left during its dial")
		})
	}
	for _, whole := range []bool{false, true} {
		name := "h2-stream-reset-during-dial"
		if whole {
			name = "h2-conn-closed-during-dial"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, dialing := start(t)
			raw := dialFrom(t, p.tls, true, src, "h2")
			cc, err := (&http2.Transport{}).NewClientConn(raw)
			if err != nil {
				t.Fatal(err)
			}
			pr, pw := io.Pipe()
			defer pw.Close()
			req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Host: "stall.test:443"}, Host: "stall.test:443", Header: http.Header{}, Body: pr}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				resp, err := cc.RoundTrip(req.WithContext(ctx))
				if err == nil {
					resp.Body.Close()
				}
			}()
			dialing(0)
			if whole {
				_ = raw.Close()
			} else {
				cancel() // RST_STREAM CANCEL
			}
			<-done
			after(t, p, "stall.test:443", "a tunnel after an h2 CONNECT was abandoned during its dial")
		})
	}
}

// TestAuthE2ERealmQuoting: a realm with a quote or a backslash is sent as
// a valid quoted-string, so the challenge cannot be broken or extended.
func TestAuthE2ERealmQuoting(t *testing.T) {
	t.Parallel()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, shaLine+"\n")
	p := startProxy(t, "--auth-file", authPath, "--auth-realm", `Acme "Edge" \ Proxy`)
	const want = `Basic realm="Acme \"Edge\" \\ Proxy"`
	r := expectStatus(t, p.plain, false, connectReq("example.com:443"), 407)
	if got := r.resp.Header.Values("Proxy-Authenticate"); len(got) != 1 || got[0] != want {
		t.Errorf("Proxy-Authenticate %q; want [%q]", got, want)
	}
	resp := h2Status(t, h2ClientConn(t, p, true), "example.com:443", nil)
	if got := resp.Header.Values("Proxy-Authenticate"); resp.StatusCode != 407 || len(got) != 1 || got[0] != want {
		t.Errorf("h2: %d proxy-authenticate %q; want 407 [%q]", resp.StatusCode, got, want)
	}
}

// TestAuthE2ESighup runs the real main loop (run) in process and sends the
// process a real SIGHUP: the new auth file is in force afterwards, the old
// password fails, and a tunnel opened before keeps moving bytes; SIGTERM
// then drains and run returns 0. The test listens for SIGHUP and SIGTERM
// itself before run starts, so a signal that arrives before run's own
// signal.Notify cannot kill the test binary; SIGHUP is resent until the
// reload shows.
func TestAuthE2ESighup(t *testing.T) {
	echo := startEcho(t)
	target := echo.addr()
	safety := make(chan os.Signal, 16)
	signal.Notify(safety, syscall.SIGHUP, syscall.SIGTERM)
	t.Cleanup(func() {
		signal.Stop(safety)
		signal.Reset(syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT) // run leaves its own Notify behind
	})
	dir := t.TempDir()
	authPath := filepath.Join(dir, "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "old-Secret-1", "$2y$")+"\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	code := make(chan int, 1)
	go func() {
		code <- run([]string{"--listen", addr, "--listen-tls", "", "--access-log", filepath.Join(dir, "access.log"),
			"--auth-file", authPath, "--allow-private", "--allow-ports", "all", "--workers", "1",
			"--log-level", "error", "--drain-timeout", "2s"})
	}()
	p := &proxy{t: t, plain: addr, errLog: &lockedBuffer{}, logPath: filepath.Join(dir, "access.log")}
	deadline := time.Now().Add(waitLimit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run never listened on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	const src = "127.0.0.81"
	before := tunnelAs(t, p, false, src, target, "bob", "old-Secret-1")

	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "new-Secret-2", "$2y$")+"\n")
	deadline = time.Now().Add(waitLimit)
	for {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		resp, c, _ := connectFrom(t, p, false, src, target, authHeader("bob", "new-Secret-2"))
		if c != nil {
			echoOnce(t, c, "the new password after SIGHUP")
			_ = c.Close()
			break
		}
		if resp.StatusCode != 407 || time.Now().After(deadline) {
			t.Fatalf("the new password after SIGHUP: %d; want 200 once the reload is done", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	expectH1Status(t, p, false, "127.0.0.82", target, authHeader("bob", "old-Secret-1"), 407, "the old password after SIGHUP")
	echoOnce(t, before, "a tunnel opened before SIGHUP")
	_ = before.Close()

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("run returned %d after SIGTERM; want 0", c)
		}
	case <-time.After(waitLimit):
		t.Fatalf("run did not return within %v of SIGTERM", waitLimit)
	}
}
