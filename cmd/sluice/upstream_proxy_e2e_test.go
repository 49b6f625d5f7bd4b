package main

// End-to-end tests of --upstream-proxy: a child sluice sends its tunnels
// and forwarded requests through a parent, a second in-process sluice.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startParent is an open sluice to be a parent; with user set, it wants
// that user's credentials (--auth-file).
func startParent(t *testing.T, user, pass string) *proxy {
	t.Helper()
	if user == "" {
		return startOpenProxy(t)
	}
	users := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, users, bcryptLine(t, user, pass, "$2y$")+"\n")
	return startOpenProxy(t, "--auth-file", users)
}

// parentURL is the --upstream-proxy value for p's plain listener.
func parentURL(p *proxy, user, pass string) string {
	u := url.URL{Scheme: "http", Host: p.plain}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// TestE2EUpstreamProxy: with --upstream-proxy, an HTTP/1.1 CONNECT (plain
// and in TLS), an HTTP/2 CONNECT and an absolute-URI request reach their
// loopback origins through the parent, with and without credentials: the
// parent's access log has each tunnel (the forwarded request as a CONNECT
// to the origin's port, by the child's user), and the child's names the
// parent as resolved.
func TestE2EUpstreamProxy(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	origin, seenCh := recordingOrigin(t)
	for _, tc := range []struct{ name, user, pass string }{
		{"open parent", "", ""},
		{"parent with credentials", "edge-7", "Parent-Secret:1"}, // a colon in the password is percent-escaped in the URL
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := startParent(t, tc.user, tc.pass)
			child := startOpenProxy(t, "--upstream-proxy", parentURL(parent, tc.user, tc.pass))

			for _, useTLS := range []bool{false, true} {
				c := openTunnel(t, child, useTLS, echo.addr())
				echoRoundTrip(t, c, 64<<10)
				_ = c.Close()
			}
			h2Echo(t, h2ClientConn(t, child, true), echo.addr(), nil)

			tr := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: child.plain}), DisableKeepAlives: true}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: waitLimit}).Get(origin.URL + "/via-parent")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "origin body for /via-parent" {
				t.Fatalf("forwarded GET through the parent: %d %q", resp.StatusCode, body)
			}
			if s := nextSeen(t, seenCh); s.requestURI != "/via-parent" || len(s.header.Values("Proxy-Authorization")) > 0 {
				t.Errorf("origin saw %q with %v; want origin-form and no proxy credentials", s.requestURI, s.header)
			}

			originHost := hostOf(origin)
			atParent := parent.waitLines("the parent's tunnels", 4, func(l logLine) bool {
				return l.str("method") == "CONNECT" && l.num("status") == 200 &&
					(l.str("target") == echo.addr() || l.str("target") == originHost)
			})
			for _, l := range atParent {
				if l.str("user") != tc.user {
					t.Errorf("parent logged user %q; want %q: %v", l.str("user"), tc.user, l)
				}
			}
			atChild := child.waitLines("the child's tunnels", 4, func(l logLine) bool { return l.num("status") == 200 })
			for _, l := range atChild {
				if l.str("resolved") != parent.plain {
					t.Errorf("child logged resolved %q; want the parent's %s: %v", l.str("resolved"), parent.plain, l)
				}
			}
			if !strings.Contains(child.errLog.String(), "upstream_proxy") || tc.pass != "" && strings.Contains(child.errLog.String(), tc.pass) {
				t.Errorf("the child's start log should name the parent, without its password:\n%s", child.errLog.String())
			}
		})
	}
}

// TestE2EUpstreamProxyFailures: a parent that refuses the child's
// credentials, and one that is not there, give the client 502 with the
// reason logged; the parent logs its 407. A parent that is the proxy
// itself is refused 403.
func TestE2EUpstreamProxyFailures(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	parent := startParent(t, "edge-7", "right-Secret-2")

	child := startOpenProxy(t, "--upstream-proxy", parentURL(parent, "edge-7", "wrong-Secret-2"))
	expectH1Status(t, child, false, "127.0.0.1", echo.addr(), "", 502, "wrong parent credentials")
	if l := child.waitLog(echo.addr()); l.str("reason") != "parent_auth" || l.str("resolved") != parent.plain {
		t.Errorf("child logged %v; want parent_auth, resolved %s", l, parent.plain)
	}
	if l := parent.waitLog(echo.addr()); l.num("status") != 407 {
		t.Errorf("parent logged %v; want its 407", l)
	}
	if resp := h2Status(t, h2ClientConn(t, child, true), echo.addr(), nil); resp.StatusCode != 502 {
		t.Errorf("h2 CONNECT with wrong parent credentials: %d; want 502", resp.StatusCode)
	}

	gone := "127.0.0.1:" + strconv.Itoa(closedPort(t))
	child = startOpenProxy(t, "--upstream-proxy", "http://"+gone)
	expectH1Status(t, child, false, "127.0.0.1", echo.addr(), "", 502, "unreachable parent")
	if l := child.waitLog(echo.addr()); l.str("reason") != "connect_failed" || l.str("resolved") != gone {
		t.Errorf("child logged %v; want connect_failed, resolved %s", l, gone)
	}
	if echo.count() != 0 {
		t.Errorf("the echo origin was reached %d times without a parent that let the child through", echo.count())
	}

	// A parent that is the child's own listener would loop: 403 self.
	own := freePort(t)
	loop := startOpenProxy(t, "--listen", own, "--upstream-proxy", "http://"+own)
	expectH1Status(t, loop, false, "127.0.0.1", echo.addr(), "", 403, "a parent that is the proxy itself")
	if l := loop.waitLog(echo.addr()); l.str("reason") != "self" {
		t.Errorf("logged %v; want self", l)
	}
	if n := len(loop.readLog()); n != 1 {
		t.Errorf("%d access-log lines; want the one refusal, no tunnel the proxy made to itself", n)
	}
}

// TestE2EUpstreamProxyPolicyFirst: the child's own policy decides on the
// client's target before the parent hears of it: --allow-ports and the ACL
// refuse with 403, and the address guard (without --allow-private) refuses
// a loopback target, as an IP literal and as a name the child resolves
// itself; the parent never gets a connection.
func TestE2EUpstreamProxyPolicyFirst(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	parent := startParent(t, "", "")
	up := parentURL(parent, "", "")
	aclPath := filepath.Join(t.TempDir(), "acl.map")
	writeFileAtomic(t, aclPath, "denied.test 0\ndefault 1\n")
	dns, asked := loopbackDNS(t)

	ports := startOpenProxy(t, "--upstream-proxy", up, "--allow-ports", "443")
	expectH1Status(t, ports, false, "127.0.0.1", echo.addr(), "", 403, "a port off --allow-ports")
	if l := ports.waitLog(echo.addr()); l.str("reason") != "port" {
		t.Errorf("logged %v; want port", l)
	}
	acl := startOpenProxy(t, "--upstream-proxy", up, "--acl", aclPath)
	expectH1Status(t, acl, false, "127.0.0.1", "denied.test:443", "", 403, "an ACL deny")
	if resp := h2Status(t, h2ClientConn(t, acl, true), "denied.test:443", nil); resp.StatusCode != 403 {
		t.Errorf("h2 CONNECT to an ACL-denied target: %d; want 403", resp.StatusCode)
	}
	guarded := startProxy(t, "--upstream-proxy", up, "--allow-ports", "all", "--resolver", dns)
	for _, target := range []string{echo.addr(), "guarded.test:" + strconv.Itoa(echo.port())} {
		expectH1Status(t, guarded, false, "127.0.0.1", target, "", 403, "a loopback target "+target)
		if l := guarded.waitLog(target); l.str("reason") != "private_address" {
			t.Errorf("%s: logged %v; want private_address", target, l)
		}
	}
	if !asked("guarded.test") {
		t.Error("the child did not resolve the name itself before it refused it")
	}
	if n := parent.s.eng.Stats().Accepted; n != 0 {
		t.Errorf("the parent accepted %d connections for targets the child refuses", n)
	}
	if echo.count() != 0 {
		t.Errorf("the echo origin was reached %d times", echo.count())
	}
}

// TestE2EUpstreamProxyFlag: a bad --upstream-proxy is an error at start
// and for --check, which accepts a good one.
func TestE2EUpstreamProxyFlag(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"127.0.0.1:3128", "socks5://127.0.0.1:1080", "http://127.0.0.1:99999", "http://127.0.0.1:3128/path", "https://"} {
		if _, err := parseFlags([]string{"--upstream-proxy", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), "--upstream-proxy") {
			t.Errorf("--upstream-proxy %q: %v; want an error naming the flag", bad, err)
		}
		if code, _, errOut := runCheck(t, "--listen", freePort(t), "--listen-tls", "", "--listen-quic", "", "--upstream-proxy", bad); code != 1 || !strings.Contains(errOut, "--upstream-proxy") {
			t.Errorf("--check --upstream-proxy %q: exit %d, %q; want 1 and the error", bad, code, errOut)
		}
	}
	dir := t.TempDir()
	ca, _ := writeCertPair(t, dir, "parent", "parent", time.Now().Add(24*time.Hour))
	notPEM := filepath.Join(dir, "not.pem")
	writeFileAtomic(t, notPEM, "not a certificate\n")
	for _, good := range [][]string{
		{"--upstream-proxy", "http://user:pa%3Ass@" + net.JoinHostPort("127.0.0.1", "3128")},
		{"--upstream-proxy", "https://parent.example", "--upstream-proxy-ca", ca},
	} {
		if code, out, errOut := runCheck(t, append([]string{"--listen", freePort(t), "--listen-tls", "", "--listen-quic", ""}, good...)...); code != 0 || !strings.Contains(out, "configuration ok") {
			t.Errorf("--check %q: exit %d, %q %q; want ok", good, code, out, errOut)
		}
	}
	for _, bad := range [][]string{
		{"--upstream-proxy", "http://127.0.0.1:3128", "--upstream-proxy-ca", ca}, // no TLS to verify
		{"--upstream-proxy-ca", ca},
		{"--upstream-proxy", "https://127.0.0.1:3128", "--upstream-proxy-ca", notPEM},
		{"--upstream-proxy", "https://127.0.0.1:3128", "--upstream-proxy-ca", filepath.Join(dir, "missing.pem")},
	} {
		if code, _, errOut := runCheck(t, append([]string{"--listen", freePort(t), "--listen-tls", "", "--listen-quic", ""}, bad...)...); code != 1 || !strings.Contains(errOut, "--upstream-proxy-ca") {
			t.Errorf("--check %q: exit %d, %q; want 1 and an error naming --upstream-proxy-ca", bad, code, errOut)
		}
	}
}

// TestE2EUpstreamProxyTLS: an https:// parent (a sluice's TLS listener) is
// verified against --upstream-proxy-ca, by name or IP; a CONNECT and a
// forwarded request go through it in TLS. Without the CA, the system's
// roots do not vouch for it: the client gets 502, logged parent_tls.
func TestE2EUpstreamProxyTLS(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	origin, _ := recordingOrigin(t)
	dir := t.TempDir()
	cert, key := writeCertPair(t, dir, "parent", "parent", time.Now().Add(24*time.Hour))
	users := filepath.Join(dir, "users.htpasswd")
	writeFileAtomic(t, users, bcryptLine(t, "edge-7", "tls-Secret-3", "$2y$")+"\n")
	parent := startOpenProxy(t, "--cert", cert, "--key", key, "--auth-file", users)
	_, port, _ := net.SplitHostPort(parent.tls)

	for _, host := range []string{"localhost", "127.0.0.1"} {
		child := startOpenProxy(t, "--upstream-proxy", "https://edge-7:tls-Secret-3@"+net.JoinHostPort(host, port), "--upstream-proxy-ca", cert)
		c := openTunnel(t, child, false, echo.addr())
		echoRoundTrip(t, c, 256<<10)
		_ = c.Close()
		if l := child.waitLog(echo.addr()); l.str("resolved") != parent.tls || l.num("status") != 200 {
			t.Errorf("%s: child logged %v; want 200 resolved %s", host, l, parent.tls)
		}
		tr := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: child.plain}), DisableKeepAlives: true}
		resp, err := (&http.Client{Transport: tr, Timeout: waitLimit}).Get(origin.URL + "/tls-parent")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode != 200 || string(body) != "origin body for /tls-parent" {
			t.Fatalf("%s: forwarded GET through the TLS parent: %d %q", host, resp.StatusCode, body)
		}
	}
	parent.waitLines("the parent's tunnels", 4, func(l logLine) bool {
		return l.str("method") == "CONNECT" && l.num("status") == 200 && l.str("user") == "edge-7"
	})

	untrusted := startOpenProxy(t, "--upstream-proxy", "https://edge-7:tls-Secret-3@"+parent.tls)
	expectH1Status(t, untrusted, false, "127.0.0.1", echo.addr(), "", 502, "a parent the system roots do not vouch for")
	if l := untrusted.waitLog(echo.addr()); l.str("reason") != "parent_tls" {
		t.Errorf("logged %v; want parent_tls", l)
	}
}

// TestE2EUpstreamProxySNIAndH3: an HTTP/3 CONNECT and an SNI-forwarded
// connection go through the parent too, the SNI one as a CONNECT to the
// ClientHello's name and --sni-port, which the parent resolves.
func TestE2EUpstreamProxySNIAndH3(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	origin := httpsOrigin(t)
	dns, asked := loopbackDNS(t)
	parent := startOpenProxy(t, "--resolver", dns)
	child := startOpenProxy(t, "--upstream-proxy", parentURL(parent, "", ""),
		"--listen-sni", "127.0.0.1:0", "--sni-port", strconv.Itoa(originPort(origin)))

	rs, resp := h3Connect(t, h3Conn(t, child, nil), echo.addr(), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("h3 CONNECT through the parent: %d", resp.StatusCode)
	}
	msg := []byte("h3 through the parent")
	go func() {
		_, _ = rs.Write(msg)
		_ = rs.Close() // FIN: the echo origin then closes too
	}()
	if got, err := io.ReadAll(rs); err != nil || string(got) != string(msg) {
		t.Fatalf("h3 echo through the parent: %q, %v", got, err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(origin.Certificate())
	raw, err := net.DialTimeout("tcp", child.sni(), waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(waitLimit))
	c := tls.Client(raw, &tls.Config{ServerName: "example.com", RootCAs: pool}) // in httptest's certificate
	if err := c.Handshake(); err != nil {
		t.Fatalf("TLS through the SNI listener and the parent: %v", err)
	}
	fmt.Fprintf(c, "GET /sni-via-parent HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
	r, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	if string(body) != "origin says /sni-via-parent" {
		t.Fatalf("SNI through the parent: body %q", body)
	}
	_ = raw.Close() // the origin's FIN came through half-closed; the tunnel ends with the client
	sniTarget := "example.com:" + strconv.Itoa(originPort(origin))
	if l := parent.waitLog(sniTarget); l.str("method") != "CONNECT" || l.num("status") != 200 {
		t.Errorf("parent logged %v; want the SNI connection's CONNECT", l)
	}
	if l := parent.waitLog(echo.addr()); l.num("status") != 200 {
		t.Errorf("parent logged %v; want the h3 tunnel's CONNECT", l)
	}
	if !asked("example.com") {
		t.Error("the parent did not resolve the SNI name")
	}
	if l := child.waitLog(sniTarget); l.str("proto") != "sni" || l.str("resolved") != parent.plain {
		t.Errorf("child logged %v; want proto sni resolved %s", l, parent.plain)
	}
}
