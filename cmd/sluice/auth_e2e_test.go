package main

// End-to-end tests of proxy authentication (--auth-file, --auth-realm), the
// failed-login limit and reloads of the user file (in process and by a real
// SIGHUP), over HTTP/1.1 (plain and TLS) and HTTP/2 (TLS) on loopback. Each
// test that spends failed logins does so from its own loopback source
// address, because the failure budget is per client address.

import (
	"fmt"
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
)

// TestE2EAuthLogin: bcrypt ($2y$ and $2b$), apr1 and {SHA} users each log in
// and tunnel over h1 plain, h1 TLS and h2; a wrong password, an unknown
// user, a malformed or missing header or another scheme get 407 with exactly
// the configured challenge; absolute-form forwarding needs credentials too,
// and the origin never sees them; the access log names the user of each
// tunnel, and no password or credential token appears in the access or the
// error log.
func TestE2EAuthLogin(t *testing.T) {
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

// TestE2EAuthBrokenFileAtStartup: an auth file with a format that is not
// accepted, a malformed or duplicate line, or no users at all stops
// newServer, with the file and line number in the error and without quoting
// the hash.
func TestE2EAuthBrokenFileAtStartup(t *testing.T) {
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

// TestE2EAuthRateLimit: missing credentials never count; ten wrong passwords
// for one user from one address are answered 407, the next attempt 429, and
// from then on further guesses get 429 without a password check. The
// guessing locks out nobody who logs in for real on that address (a shared
// NAT): the user whose credential verified there before, and any other user,
// still log in over h1 and h2; and other addresses are not affected.
// Regression (issue: the right password was locked out with the wrong
// ones): b3d5866.
func TestE2EAuthRateLimit(t *testing.T) {
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
		// Guessing goes on being refused without a password check...
		expectH1Status(t, p, useTLS, src, target, authHeader("bob", "wrong-again"), 429, "another wrong password after the limit")
		// ...but the wrong guesses lock out nobody who logs in for real:
		// bob's credential verified from this address before the guessing,
		// and alice's password was not the one guessed at.
		c := tunnelAs(t, p, useTLS, src, target, "bob", "bcrypt-Secret-5")
		_ = c.Close()
		c = tunnelAs(t, p, useTLS, src, target, "alice", apr1Pass)
		_ = c.Close()
	}
	h2Echo(t, h2From(t, p, src), target, authH2("bob", "bcrypt-Secret-5"))
	// The budget is per client address.
	c = tunnelAs(t, p, true, "127.0.0.22", target, "alice", apr1Pass)
	_ = c.Close()
	h2Echo(t, h2From(t, p, "127.0.0.23"), target, authH2("bob", "bcrypt-Secret-5"))
}

// TestE2EAuthReload: s.reload() (what SIGHUP calls) puts a new user file in
// force at once: a changed password works and the old one fails, a removed
// user fails, a new user works, and tunnels opened before (h1 and h2) keep
// moving bytes. A broken file keeps the old users and the error log names
// the file and line without quoting the hash.
func TestE2EAuthReload(t *testing.T) {
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
	h2resp, h2pw, err := h2Connect(cc, target, authH2("bob", "old-Secret-1"))
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

// TestE2EAuthEarlyData: bytes a client sends right behind its CONNECT, while
// an uncached bcrypt password is checked off the event loop, are held and
// reach the origin once the tunnel is up, over h1 (plain, TLS) and h2.
func TestE2EAuthEarlyData(t *testing.T) {
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

// TestE2EAuthHalfCloseDuringSlowCheck: a client that sends CONNECT, its
// first tunnel bytes and then a FIN (a half-close: "send this, then read the
// answer") while its password is still being checked off the event loop gets
// its 200, its bytes forwarded and the answer, and the tunnel is logged
// under its user, just as when the credential is already cached.
// Regression: bcc0b5b, fixed in 9580d13
func TestE2EAuthHalfCloseDuringSlowCheck(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	// The default cost: the check takes long enough for the FIN to arrive
	// while it runs.
	h, err := bcrypt.GenerateFromPassword([]byte("pw-slow"), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, "carol:"+string(h)+"\n")
	p := startOpenProxy(t, "--auth-file", authPath)

	c := dialProxy(t, p.plain, false)
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + authHeader("carol", "pw-slow") + "\r\n"
	payload := "ping through the tunnel"
	if _, err := io.WriteString(c, req+payload); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c) // dialProxy's deadline bounds it
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, got)
	}
	if want := established + payload; string(got) != want {
		t.Fatalf("got %q; want %q", got, want)
	}
	if l := p.waitLog(target); !strings.EqualFold(l.str("user"), "carol") {
		t.Errorf("access log user = %v, want carol", l["user"])
	}
}

// TestE2EAuthRealmQuoting: a realm with a quote or a backslash is sent as a
// valid quoted-string, over h1 and h2, so the challenge cannot be broken or
// extended.
func TestE2EAuthRealmQuoting(t *testing.T) {
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

// TestE2EAuthSighup runs the real main loop (run) in process and sends the
// process a real SIGHUP: the new auth file is in force afterwards, the old
// password fails, and a tunnel opened before keeps moving bytes; SIGTERM
// then drains and run returns 0. The test listens for SIGHUP and SIGTERM
// itself before run starts, so a signal that arrives before run's own
// signal.Notify cannot kill the test binary; SIGHUP is resent until the
// reload shows. Not parallel: the signals go to the whole process.
func TestE2EAuthSighup(t *testing.T) {
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

// TestE2EAuthRefusalsAreLogged: every refused proxy request has its
// access-log line with the status and why: no or wrong credentials (407,
// auth), a spent budget (429, rate_limited); with probe resistance the
// client sees the site, and only the log (site: true) says why.
func TestE2EAuthRefusalsAreLogged(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bob-pw", "$2y$")+"\n")
	p := startOpenProxy(t, "--auth-file", authPath, "--auth-realm", authRealm)
	const src = "127.0.0.41"
	expect407(t, p, false, src, target, "", "no credentials")
	for i := 0; i < 10; i++ {
		expect407(t, p, i%2 == 0, src, target, authHeader("bob", fmt.Sprint("wrong-", i)), "a wrong password")
	}
	expectH1Status(t, p, false, src, target, authHeader("bob", "wrong-11"), 429, "past the budget")
	got := p.waitLines("refusals", 12, func(l logLine) bool { return l.str("client") != "" && strings.HasPrefix(l.str("client"), src+":") })
	want := map[string]int{"auth/407": 11, "rate_limited/429": 1}
	seen := map[string]int{}
	for _, l := range got {
		seen[fmt.Sprintf("%s/%d", l.str("reason"), l.num("status"))]++
		checkLogFields(t, l)
	}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("access log: %d lines %s; want %d (all: %v)", seen[k], k, n, seen)
		}
	}

	pr := startOpenProxy(t, "--auth-file", authPath, "--probe-resistance")
	c := dialProxy(t, pr.plain, false)
	// The site keeps the conn alive: read its answer, not until a close.
	r := rawExchange(t, c, []byte(connectReq(target)), 3*time.Second)
	if r.resp.StatusCode == http.StatusProxyAuthRequired || r.resp.StatusCode == 200 && r.body == "" {
		t.Fatalf("probe resistance: the client got %d %q; want the site's answer", r.resp.StatusCode, r.body)
	}
	if l := pr.waitLog(target); l.str("reason") != "auth" || l["site"] != true || l.num("status") != 407 {
		t.Errorf("probe resistance: access log %v; want reason auth, site true, status 407", l)
	}
}
