package main

// End-to-end tests of probe resistance (--probe-resistance, --probe-secret):
// a proxy request without valid credentials gets, byte for byte apart from
// the Date value, what a plain net/http server serving the same site handler
// answers to the same request bytes, over HTTP/1.1 (plain and TLS) and
// HTTP/2; only the secret host gets the 407 challenge. These proxies serve
// no HTTP/3 (--listen-quic ""), so that their TLS answers carry no Alt-Svc
// that the reference, which has no HTTP/3 either, would not send; HTTP/3's
// own probe test compares against quic-go's server.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// referenceSite serves h on a plain net/http server on loopback: the
// "site alone" that the proxy's answers are compared with.
func referenceSite(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// readOneResponse reads from c until buf holds one complete response to a
// request with the given method and returns every byte read.
func readOneResponse(t *testing.T, c net.Conn, method string) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	var buf []byte
	chunk := make([]byte, 4096)
	for {
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if complete(buf, method) {
			return buf
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(buf) > 0 {
				return buf // a close-delimited body
			}
			t.Fatalf("reading a response to %s: %v after %q", method, err, buf)
		}
	}
}

// complete reports whether b holds a whole response (head and body) to a
// request with method; a body without a length is never complete until EOF.
func complete(b []byte, method string) bool {
	br := bufio.NewReader(bytes.NewReader(b))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 && method != http.MethodHead &&
		resp.StatusCode != 204 && resp.StatusCode != 304 && !(method == http.MethodConnect && resp.StatusCode/100 == 2) {
		return false
	}
	_, err = io.ReadAll(resp.Body)
	return err == nil
}

var dateField = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r$`)

func maskDate(b []byte) string {
	return dateField.ReplaceAllString(string(b), "Date: <masked>\r")
}

// exchange sends each request in turn on c and returns the raw responses.
func exchange(t *testing.T, c net.Conn, reqs []string) []string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		if _, err := io.WriteString(c, r); err != nil {
			t.Fatalf("write %.60q: %v", r, err)
		}
		method, _, _ := strings.Cut(r, " ")
		out = append(out, maskDate(readOneResponse(t, c, method)))
	}
	return out
}

// probeCase is a sequence of requests sent on one conn (the second and
// later ones test that the conn goes on as the site's would).
type probeCase struct {
	name string
	reqs []string
}

func probeCases(echoAddr string) []probeCase {
	wrong := "Proxy-Authorization: " + basic("bob", "wrong-password") + "\r\n"
	connect := func(target, extra string) string {
		return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + extra + "\r\n"
	}
	get := "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nUser-Agent: probe/1\r\n\r\n"
	return []probeCase{
		{"connect", []string{connect("example.com:443", "")}},
		{"connect-wrong-password", []string{connect("example.com:443", wrong)}},
		{"connect-malformed-credentials", []string{connect("example.com:443", "Proxy-Authorization: Basic !!\r\n")}},
		{"connect-to-a-real-origin", []string{connect(echoAddr, "")}},
		{"connect-then-get", []string{connect("www.example.org:443", ""), "GET / HTTP/1.1\r\nHost: www.example.org\r\n\r\n"}},
		{"absolute-get", []string{get}},
		{"absolute-get-wrong-password", []string{strings.Replace(get, "\r\n\r\n", "\r\n"+wrong+"\r\n", 1)}},
		{"absolute-get-missing", []string{"GET http://example.com/missing.txt HTTP/1.1\r\nHost: example.com\r\n\r\n"}},
		{"absolute-head", []string{"HEAD http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n"}},
		{"absolute-post", []string{"POST http://example.com/form HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"}},
		{"absolute-get-to-origin", []string{"GET http://" + echoAddr + "/ HTTP/1.1\r\nHost: " + echoAddr + "\r\n\r\n", get}},
	}
}

// siteDir makes a static site with fixed modification times.
func siteDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"index.html": "<!doctype html><title>Static</title><p>static site</p>\n",
		"style.css":  "body { color: #333 }\n",
	}
	mt := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestE2EProbeH1SameAsSite: with --probe-resistance, proxy requests without
// valid credentials over HTTP/1.1 (plain and TLS) get exactly the bytes a
// plain net/http server with the same site handler sends for the same
// request bytes (Date masked), for a --site directory and for the built-in
// page; never a 407, nothing that names a proxy, and no dial. With valid
// credentials the same proxy tunnels as usual.
func TestE2EProbeH1SameAsSite(t *testing.T) {
	t.Parallel()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bcrypt-Secret-5", "$2y$")+"\n")
	dir := siteDir(t)
	for _, site := range []struct{ name, spec string }{{"site-dir", dir}, {"builtin", ""}} {
		t.Run(site.name, func(t *testing.T) {
			t.Parallel()
			echo := startEcho(t)
			args := []string{"--auth-file", authPath, "--probe-resistance", "--allow-ports", "all", "--allow-private", "--listen-quic", ""} // no Alt-Svc: the reference site has no HTTP/3
			if site.spec != "" {
				args = append(args, "--site", site.spec)
			}
			p := startProxy(t, args...)
			h, err := siteHandler(site.spec)
			if err != nil {
				t.Fatal(err)
			}
			ref := referenceSite(t, h)
			for _, pc := range probeCases(echo.addr()) {
				refConn, err := net.DialTimeout("tcp", ref, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				want := exchange(t, refConn, pc.reqs)
				_ = refConn.Close()
				for _, useTLS := range []bool{false, true} {
					got := exchange(t, dialProxy(t, p.addr(useTLS), useTLS), pc.reqs)
					for i := range want {
						if got[i] != want[i] {
							t.Errorf("%s over %s, response %d differs from the site's:\n got: %q\nwant: %q",
								pc.name, listenerName(useTLS), i+1, got[i], want[i])
						}
						low := strings.ToLower(got[i])
						if strings.HasPrefix(got[i], "HTTP/1.1 407") || strings.Contains(low, "proxy-") || strings.Contains(low, "\r\nvia:") {
							t.Errorf("%s over %s: the answer reveals a proxy: %q", pc.name, listenerName(useTLS), got[i])
						}
					}
				}
			}
			if site.spec == "" {
				// Sanity: what was compared is the site's CONNECT answer.
				c := dialProxy(t, p.plain, false)
				got := exchange(t, c, []string{connectReq("example.com:443")})[0]
				if !strings.HasPrefix(got, "HTTP/1.1 405 ") || !strings.Contains(got, "\r\nAllow: GET, HEAD\r\n") {
					t.Errorf("CONNECT to the built-in page: %q; want 405 with Allow", got)
				}
			}
			// The probes, spent failures and all, never made the proxy dial.
			if n := echo.count(); n != 0 {
				t.Errorf("the origin was dialed %d times by requests without credentials", n)
			}
			// With valid credentials the same proxy tunnels as usual.
			for _, useTLS := range []bool{false, true} {
				c := tunnelAs(t, p, useTLS, "127.0.0.61", echo.addr(), "bob", "bcrypt-Secret-5")
				_ = c.Close()
			}
		})
	}
}

// TestE2EProbeRateLimitedStillSite: with probe resistance, a client whose
// failure budget is spent still gets the site's answer, even with the right
// password, not a 429 that would reveal the proxy.
func TestE2EProbeRateLimitedStillSite(t *testing.T) {
	t.Parallel()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bcrypt-Secret-5", "$2y$")+"\n")
	p := startProxy(t, "--auth-file", authPath, "--probe-resistance", "--listen-quic", "")
	h, _ := siteHandler("")
	ref := referenceSite(t, h)
	req := "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: " + basic("bob", "guess") + "\r\n\r\n"
	rc, err := net.DialTimeout("tcp", ref, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := exchange(t, rc, []string{req})[0]
	_ = rc.Close()
	for i := 0; i < 14; i++ {
		got := exchange(t, dialFrom(t, p.plain, false, "127.0.0.62"), []string{req})[0]
		if got != want {
			t.Fatalf("wrong password %d: %q; want the site's %q", i+1, got, want)
		}
	}
	// The right password from the spent address gets the site too.
	good := strings.Replace(req, basic("bob", "guess"), basic("bob", "bcrypt-Secret-5"), 1)
	if got := exchange(t, dialFrom(t, p.tls, true, "127.0.0.62"), []string{good})[0]; got != want {
		t.Errorf("the right password from a rate-limited address: %q; want the site's %q", got, want)
	}
}

// h2Reference is the site handler on a net/http HTTP/2 server over TLS,
// and a client conn to it.
func h2Reference(t *testing.T, h http.Handler) *http2.ClientConn {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return h2Over(t, c)
}

// TestE2EProbeH2SameAsSite: over HTTP/2 (TLS and h2c), a CONNECT without
// valid credentials gets the status, header fields (but date) and body that
// a net/http HTTP/2 server with the same site handler gives the same
// CONNECT: 405 for the built-in page; never 407 or a proxy-authenticate, and
// no dial.
func TestE2EProbeH2SameAsSite(t *testing.T) {
	t.Parallel()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bcrypt-Secret-5", "$2y$")+"\n")
	dir := siteDir(t)
	for _, site := range []struct{ name, spec string }{{"builtin", ""}, {"site-dir", dir}} {
		t.Run(site.name, func(t *testing.T) {
			t.Parallel()
			echo := startEcho(t)
			args := []string{"--auth-file", authPath, "--probe-resistance", "--allow-ports", "all", "--allow-private", "--listen-quic", ""} // no Alt-Svc: the reference site has no HTTP/3
			if site.spec != "" {
				args = append(args, "--site", site.spec)
			}
			p := startProxy(t, args...)
			h, err := siteHandler(site.spec)
			if err != nil {
				t.Fatal(err)
			}
			refCC := h2Reference(t, h)
			for _, tc := range []struct {
				name, target string
				hdr          http.Header
			}{
				{"no-credentials", "example.com:443", nil},
				{"wrong-password", "example.com:443", authH2("bob", "wrong")},
				{"unknown-user", "example.com:443", authH2("mallory", "x")},
				{"real-origin", echo.addr(), nil},
			} {
				want := h2Ask(t, refCC, tc.target, tc.hdr)
				for _, useTLS := range []bool{true, false} { // TLS with ALPN h2, and h2c
					got := h2Ask(t, h2ClientConn(t, p, useTLS), tc.target, tc.hdr)
					if got.status != want.status || fmtHeader(got.header) != fmtHeader(want.header) || got.body != want.body {
						t.Errorf("%s: proxy answered %d %s %q; the site answers %d %s %q",
							tc.name, got.status, fmtHeader(got.header), got.body, want.status, fmtHeader(want.header), want.body)
					}
					if got.status == 407 || got.header.Get("Proxy-Authenticate") != "" {
						t.Errorf("%s: the answer reveals a proxy: %d %s", tc.name, got.status, fmtHeader(got.header))
					}
					if site.spec == "" && got.status != 405 {
						t.Errorf("%s: status %d; the built-in page answers CONNECT with 405", tc.name, got.status)
					}
				}
			}
			if n := echo.count(); n != 0 {
				t.Errorf("the origin was dialed %d times by requests without credentials", n)
			}
			h2Echo(t, h2ClientConn(t, p, true), echo.addr(), authH2("bob", "bcrypt-Secret-5"))
		})
	}
}

// TestE2EProbeSecret: with --probe-secret secret.example, a request for that
// host (in any spelling) without valid credentials gets the 407 challenge
// over h1 and h2, and no other host does; with credentials everything
// tunnels, the secret host included.
func TestE2EProbeSecret(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	P := strconv.Itoa(echo.port())
	dns, _ := loopbackDNS(t)
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bcrypt-Secret-5", "$2y$")+"\n")
	p := startProxy(t, "--listen-quic", "", "--auth-file", authPath, "--auth-realm", authRealm, "--probe-resistance",
		"--probe-secret", "secret.example", "--allow-ports", "all", "--allow-private", "--resolver", dns)
	h, _ := siteHandler("")
	ref := referenceSite(t, h)
	const src = "127.0.0.71"
	wrong := authHeader("bob", "wrong")

	for _, useTLS := range []bool{false, true} {
		for _, target := range []string{"secret.example:443", "SECRET.Example.:443", "secret.example:" + P} {
			expect407(t, p, useTLS, src, target, "", "CONNECT "+target+" without credentials")
		}
		expect407(t, p, useTLS, src, "secret.example:443", wrong, "CONNECT to the secret host with a wrong password")
		for _, target := range []string{"example.com:443", "notsecret.example:443", "secret.example.evil:443", "www.secret.example:443"} {
			req := connectReq(target)
			rc, err := net.DialTimeout("tcp", ref, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			want := exchange(t, rc, []string{req})[0]
			_ = rc.Close()
			got := exchange(t, dialFrom(t, p.addr(useTLS), useTLS, src), []string{req})[0]
			if got != want {
				t.Errorf("CONNECT %s over %s (not the secret): %q; want the site's %q", target, listenerName(useTLS), got, want)
			}
		}
	}
	req := "GET http://secret.example/ HTTP/1.1\r\nHost: secret.example\r\n\r\n"
	r := expectStatus(t, p.plain, false, req, 407)
	if got := r.resp.Header.Values("Proxy-Authenticate"); len(got) != 1 || got[0] != wantChallenge {
		t.Errorf("GET http://secret.example/: Proxy-Authenticate %q; want [%q]", got, wantChallenge)
	}

	expectH2Challenge(t, p, src, "secret.example:443", nil, "CONNECT to the secret host")
	expectH2Challenge(t, p, src, "Secret.Example.:443", authH2("bob", "wrong"), "CONNECT to the secret host, odd spelling, wrong password")
	if a := h2Ask(t, h2From(t, p, src), "other.example:443", nil); a.status != 405 || a.header.Get("Proxy-Authenticate") != "" {
		t.Errorf("h2 CONNECT to another host: %d %s; want the site's 405", a.status, fmtHeader(a.header))
	}

	// With credentials: tunnels, to the secret host as well.
	for _, useTLS := range []bool{false, true} {
		c := tunnelAs(t, p, useTLS, src, echo.addr(), "bob", "bcrypt-Secret-5")
		_ = c.Close()
		c = tunnelAs(t, p, useTLS, src, "secret.example:"+P, "bob", "bcrypt-Secret-5")
		_ = c.Close()
	}
	h2Echo(t, h2From(t, p, src), "secret.example:"+P, authH2("bob", "bcrypt-Secret-5"))
	h2Echo(t, h2From(t, p, src), echo.addr(), authH2("bob", "bcrypt-Secret-5"))
}

// TestE2EProbeMalformedConnect: a CONNECT that the proxy would refuse as
// malformed (no port, a port out of range, userinfo, a body) is still a
// request without credentials, so with --probe-resistance it gets the site's
// answer: net/http's file server and the built-in page answer 405 to all of
// these. A 400 in the proxy's own format (no Date, its own body) would tell
// a prober that something other than the site is listening.
// Regression: c6e9c1b
func TestE2EProbeMalformedConnect(t *testing.T) {
	t.Parallel()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, shaLine+"\n")
	p := startProxy(t, "--auth-file", authPath, "--probe-resistance", "--listen-quic", "")
	h, _ := siteHandler("")
	ref := referenceSite(t, h)
	for _, tc := range []struct{ name, req string }{
		{"no port", "CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"},
		{"port out of range", "CONNECT example.com:99999 HTTP/1.1\r\nHost: example.com\r\n\r\n"},
		{"userinfo", "CONNECT user@example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n"},
		{"content-length", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nContent-Length: 0\r\n\r\n"},
		{"chunked body", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	} {
		rc, err := net.DialTimeout("tcp", ref, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		want := exchange(t, rc, []string{tc.req})[0]
		_ = rc.Close()
		if !strings.HasPrefix(want, "HTTP/1.1 405 ") {
			t.Fatalf("%s: the reference site answered %q; this test expects its 405", tc.name, want)
		}
		for _, useTLS := range []bool{false, true} {
			got := exchange(t, dialProxy(t, p.addr(useTLS), useTLS), []string{tc.req})[0]
			if got != want {
				t.Errorf("%s over %s without credentials:\n got %q\nwant %q (the site's answer)", tc.name, listenerName(useTLS), got, want)
			}
		}
	}
}

// TestE2EProbeHeaderTimeoutLikeSite: with probe resistance, a client that
// never finishes its request head gets, once --header-timeout passes, what a
// net/http site gives at its own header timeout (a silent close, or 400 for
// half a request line), not the 408 an open proxy sends.
// Regression: 84ac68a
func TestE2EProbeHeaderTimeoutLikeSite(t *testing.T) {
	t.Parallel()
	answer := func(t *testing.T, c net.Conn, sent string) string {
		t.Helper()
		defer c.Close()
		if _, err := c.Write([]byte(sent)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(waitLimit))
		b, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("conn still open after the header timeout (read %q)", b)
		}
		return maskDate(b)
	}

	h, err := siteHandler("")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ref := &http.Server{Handler: h, ReadHeaderTimeout: 500 * time.Millisecond}
	go func() { _ = ref.Serve(ln) }()
	t.Cleanup(func() { _ = ref.Close() })

	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, shaLine+"\n")
	p := startProxy(t, "--listen-quic", "", "--probe-resistance", "--auth-file", authPath, "--header-timeout", "500ms")

	for _, sent := range []string{
		"",                   // net/http: silence
		"CONNECT 127.0.0.1:", // 400
		"GET / HTTP/1.1\r\n", // silence again: EOF here would get a 400
		"GET / HTTP/1.1\r\nHost: example.com\r\n",
	} {
		t.Run(strconv.Quote(sent), func(t *testing.T) {
			t.Parallel() // each exchange waits out a header timeout
			rc, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			want := answer(t, rc, sent)
			for _, useTLS := range []bool{false, true} {
				got := answer(t, dialProxy(t, p.addr(useTLS), useTLS), sent)
				if got != want {
					t.Errorf("over %s: got %q, the site alone answers %q", listenerName(useTLS), got, want)
				}
			}
		})
	}
}

// fmtHeader renders a header for error messages.
func fmtHeader(h http.Header) string {
	var b strings.Builder
	_ = h.Write(&b)
	return fmt.Sprintf("%q", b.String())
}

// TestE2EProbeWrongPasswordWithEarlyDataGetsSite: a CONNECT with a wrong
// password and more early data than --buffer-size pauses its client (the
// socket leaves gnet) while the password is checked; the verdict then
// hands the paused socket to the site, which answers. A detach of a socket
// off gnet used to wait for gnet forever, and the client for an answer.
func TestE2EProbeWrongPasswordWithEarlyDataGetsSite(t *testing.T) {
	t.Parallel()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bcrypt-Secret-5", "$2y$")+"\n")
	p := startProxy(t, "--auth-file", authPath, "--probe-resistance", "--buffer-size", "4KiB", "--listen-quic", "")
	for _, useTLS := range []bool{false, true} {
		c := dialProxy(t, p.addr(useTLS), useTLS)
		req := "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: " + basic("bob", "guess") + "\r\n\r\n"
		go func() { _, _ = io.WriteString(c, req+strings.Repeat("e", 64<<10)+"\r\n\r\n") }()
		_ = c.SetReadDeadline(time.Now().Add(waitLimit))
		// The built-in site's answer to CONNECT; a 407 would be the leak
		// probe resistance exists to prevent.
		line, err := bufio.NewReader(c).ReadString('\n')
		if line != "HTTP/1.1 405 Method Not Allowed\r\n" {
			t.Fatalf("TLS %v: read %q, %v; want the site's 405", useTLS, line, err)
		}
		_ = c.Close()
	}
}
