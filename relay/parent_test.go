package relay

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/acl"
	"github.com/sluice-proxy/sluice/engine"
)

func TestParseParent(t *testing.T) {
	for _, tc := range []struct {
		in, host string
		port     uint16
		auth     string // the Proxy-Authorization value
		logged   string
	}{
		{"http://127.0.0.1:3128", "127.0.0.1", 3128, "", "http://127.0.0.1:3128"},
		{"http://parent.example", "parent.example", 80, "", "http://parent.example:80"},
		{"http://[::1]:8080/", "::1", 8080, "", "http://[::1]:8080"},
		// Aladdin:open sesame is RFC 7617's example; a percent-escaped
		// password is decoded before it is encoded.
		{"http://Aladdin:open%20sesame@parent.example:3128", "parent.example", 3128, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "http://Aladdin:xxxxx@parent.example:3128"},
		{"https://parent.example", "parent.example", 443, "", "https://parent.example:443"},
		{"https://u:p@127.0.0.1:8443", "127.0.0.1", 8443, "Basic dTpw", "https://u:xxxxx@127.0.0.1:8443"},
	} {
		p, err := ParseParent(tc.in)
		if err != nil {
			t.Errorf("ParseParent(%q): %v", tc.in, err)
			continue
		}
		if p.Host != tc.host || p.Port != tc.port || p.auth != tc.auth || p.String() != tc.logged {
			t.Errorf("ParseParent(%q) = %q %d %q %q; want %q %d %q %q", tc.in, p.Host, p.Port, p.auth, p, tc.host, tc.port, tc.auth, tc.logged)
		}
		if https := strings.HasPrefix(tc.in, "https:"); https != (p.TLS != nil) || https && p.TLS.ServerName != tc.host {
			t.Errorf("ParseParent(%q): TLS %+v; want TLS toward %q only for https://", tc.in, p.TLS, tc.host)
		}
		if strings.Contains(p.String(), "sesame") {
			t.Errorf("%q: String() shows the password: %s", tc.in, p)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:3128", "socks5://127.0.0.1:1080", "http://", "http://:3128",
		"http://127.0.0.1:0", "http://127.0.0.1:70000", "http://127.0.0.1:3128/path", "http://127.0.0.1:3128?q",
		"http://:pass@127.0.0.1:3128", "ftp://127.0.0.1:21", "http://a b:1"} {
		if _, err := ParseParent(bad); err == nil {
			t.Errorf("ParseParent(%q) accepted", bad)
		}
	}
}

func TestParseParentHead(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int
		n    int // 0: incomplete
		bad  bool
	}{
		{"HTTP/1.1 200 Connection established\r\n\r\nrest", 200, 39, false},
		{"HTTP/1.0 200\r\n\r\n", 200, 16, false},
		{"HTTP/1.1 200 OK\n\n", 200, 17, false},
		{"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n", 407, 102, false},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 200, 44, false},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 20", 0, 0, false},
		{"HTTP/1.1 200 OK\r\nVia: x\r\n", 0, 0, false},
		{"HTTP/1.1 2", 0, 0, false},
		{"SSH-2.0-OpenSSH\r\n\r\n", 0, 0, true},
		// A banner is refused at its first line: such a server never
		// sends the empty line that would end a head.
		{"SSH-2.0-OpenSSH_9.2\r\n", 0, 0, true},
		{"220 mail.example ESMTP\r\n", 0, 0, true},
		{"HTTP/1.1 100 Continue\r\n\r\nSSH-2.0\r\n", 0, 0, true},
		{"HTTP/1.1 abc x\r\n\r\n", 0, 0, true},
		{"HTTP/1.1 099 x\r\n\r\n", 0, 0, true},
		{"HTTP/1.1 2000\r\n\r\n", 0, 0, true},
		{"\r\n\r\n", 0, 0, true},
		{"HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: 0123456789\r\n", 1000), 0, 0, true},
	} {
		code, n, err := parseParentHead([]byte(tc.in))
		if (err != nil) != tc.bad || code != tc.code && !tc.bad || n != tc.n {
			t.Errorf("parseParentHead(%.50q) = %d, %d, %v; want %d, %d, bad %v", tc.in, code, n, err, tc.code, tc.n, tc.bad)
		}
	}
}

// fakeParent is a loopback parent proxy that reads a CONNECT head and
// answers it with answer; after a 2xx it echoes. heads gets each head it
// read, conns counts the connections it accepted.
type fakeParent struct {
	addr   string
	heads  chan string
	early  chan string   // what came before its answer went out (nothing, for a correct child)
	gone   chan struct{} // a silent parent's one connection was closed by the child
	conns  atomic.Int32
	answer string
}

func startFakeParent(t *testing.T, answer string) *fakeParent {
	t.Helper()
	return startFakeParentWith(t, answer, nil)
}

// startFakeParentWith is startFakeParent speaking TLS with cert, if set.
func startFakeParentWith(t *testing.T, answer string, cert *tls.Certificate) *fakeParent {
	t.Helper()
	p := &fakeParent{heads: make(chan string, 16), early: make(chan string, 16), gone: make(chan struct{}), answer: answer}
	p.addr = parentListen(t, func(c net.Conn) {
		if cert != nil {
			c = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*cert}})
		}
		defer c.Close()
		p.conns.Add(1)
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil {
				if head.Len() > 0 {
					p.heads <- head.String()
				}
				return
			}
			if line == "\r\n" {
				break
			}
		}
		p.heads <- head.String()
		if p.answer == "" { // silent: wait for the child to give up
			_, _ = io.Copy(io.Discard, br)
			close(p.gone)
			return
		}
		// Nothing of the client's may come before the answer. A late
		// byte only makes this check pass more easily, never fail.
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		b := make([]byte, 64)
		n, _ := br.Read(b)
		p.early <- string(b[:n])
		_ = c.SetReadDeadline(time.Time{})
		if _, err := io.WriteString(c, p.answer); err != nil || !strings.HasPrefix(p.answer, "HTTP/1.1 2") {
			return
		}
		_, _ = io.Copy(c, br)
	})
	return p
}

// lineFront answers a test client with "STATUS nnn\n".
type lineFront struct{ c *engine.Conn }

func (f *lineFront) Reply(status int) {
	f.c.Write([]byte(fmt.Sprintf("STATUS %d\n", status)))
	if status != 200 {
		f.c.CloseAfterFlush()
	}
}
func (f *lineFront) Site([]byte) { f.c.Close() }

type parentProxy struct {
	addr  string
	ended chan *Tunnel
}

// startParentProxy serves every connection as a CONNECT to target, opened
// through pol (whose Parent is set), on real loops.
func startParentProxy(t *testing.T, pol *Policy, kind Kind, target string) *parentProxy {
	t.Helper()
	eng := engine.New(engine.Config{Workers: 2, Log: zerolog.Nop()})
	pp := &parentProxy{ended: make(chan *Tunnel, 16)}
	rcfg := &Config{OnEnd: func(tun *Tunnel) { pp.ended <- tun }}
	a, err := eng.Listen(engine.ListenerSpec{Addr: "127.0.0.1:0", Open: func(c *engine.Conn) engine.Handler {
		pol.Open(OnLoop(c.Loop()), rcfg, Socket(c), &lineFront{c: c}, Request{
			Proto: ProtoH1, Kind: kind, Use: UseConnect, Client: c.RemoteAddr(), Method: "CONNECT", Target: target,
		})
		return c.Handler()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = eng.Shutdown(ctx)
	})
	pp.addr = a.String()
	return pp
}

func (pp *parentProxy) nextEnded(t *testing.T) *Tunnel {
	t.Helper()
	select {
	case tun := <-pp.ended:
		return tun
	case <-time.After(10 * time.Second):
		t.Fatal("no tunnel ended within 10 s")
		return nil
	}
}

// refused dials pp, wants status ("STATUS 502") as its client's answer,
// and returns the tunnel as it ended.
func (pp *parentProxy) refused(t *testing.T, status string) *Tunnel {
	t.Helper()
	c := parentDialTo(t, pp.addr)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if s := readStatus(t, bufio.NewReader(c)); s != status {
		t.Fatalf("client got %q; want %s", s, status)
	}
	return pp.nextEnded(t)
}

func parentPolicy(t *testing.T, parentURL string, allowPrivate bool) *Policy {
	t.Helper()
	par, err := ParseParent(parentURL)
	if err != nil {
		t.Fatal(err)
	}
	pol := &Policy{AllowPrivate: allowPrivate, ConnectTimeout: 5 * time.Second, Parent: par}
	if pol.Ports, err = acl.ParsePorts("all"); err != nil {
		t.Fatal(err)
	}
	return pol
}

// readStatus reads the test front's status line.
func readStatus(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("no status line: %q, %v", line, err)
	}
	return strings.TrimSuffix(line, "\n")
}

// TestParentTunnel: the child dials the parent, not the target, and sends
// the parent CONNECT with Host and Proxy-Authorization; the client's
// early bytes wait for the parent's 2xx, bytes the parent sent after its
// answer reach the client after the 200, and the tunnel then carries
// bytes both ways. The access log's resolved is the parent's address.
func TestParentTunnel(t *testing.T) {
	t.Parallel()
	parent := startFakeParent(t, "HTTP/1.1 200 Connection established\r\nVia: 1.1 parent\r\n\r\nHELLO")
	pol := parentPolicy(t, "http://alice:s3cret@"+parent.addr, true)
	pp := startParentProxy(t, pol, KindTCP, "origin.example:8443")

	c := parentDialTo(t, pp.addr)
	if _, err := io.WriteString(c, "EARLY"); err != nil {
		t.Fatal(err)
	}
	head := <-parent.heads
	want := "CONNECT origin.example:8443 HTTP/1.1\r\nHost: origin.example:8443\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n"
	if head != want {
		t.Fatalf("parent got %q; want %q", head, want)
	}
	if early := <-parent.early; early != "" {
		t.Fatalf("the parent got %q before it answered: client bytes went ahead of the 2xx", early)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if s := readStatus(t, br); s != "STATUS 200" {
		t.Fatalf("client got %q; want STATUS 200", s)
	}
	got := make([]byte, len("HELLOEARLY"))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "HELLOEARLY" {
		t.Fatalf("after the 200: %q, %v; want the parent's HELLO, then EARLY echoed", got, err)
	}
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	got = got[:4]
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo through the parent: %q, %v", got, err)
	}
	c.Close()
	tun := pp.nextEnded(t)
	if tun.Rec.Status != 200 || tun.Rec.Resolved.String() != parent.addr {
		t.Errorf("logged status %d resolved %v; want 200 and the parent's %s", tun.Rec.Status, tun.Rec.Resolved, parent.addr)
	}
}

// TestParentRefusals: what the parent answers decides the client's status
// and the logged reason; nothing of the client's reaches a parent that
// refused.
func TestParentRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, answer string
		reason       Reason
	}{
		{"407", "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n", ReasonParentAuth},
		{"403", "HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno\n", ReasonParentRefused},
		{"502", "HTTP/1.1 502 Bad Gateway\r\n\r\n", ReasonParentRefused},
		{"not http", "SSH-2.0-OpenSSH_9.2\r\n\r\n", ReasonParentBad},
		{"closed mid-head", "HTTP/1.1 ", ReasonParentBad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			parent := startFakeParent(t, tc.answer)
			pp := startParentProxy(t, parentPolicy(t, "http://"+parent.addr, true), KindTCP, "origin.example:443")
			c := parentDialTo(t, pp.addr)
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, "EARLY"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			if s := readStatus(t, br); s != "STATUS 502" {
				t.Fatalf("client got %q; want STATUS 502", s)
			}
			if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
				t.Errorf("after the 502: %q, %v; want the close", rest, err)
			}
			tun := pp.nextEnded(t)
			if tun.Rec.Status != 502 || tun.Rec.Reason != tc.reason {
				t.Errorf("logged %d %q; want 502 %q", tun.Rec.Status, tun.Rec.Reason, tc.reason)
			}
			if early := <-parent.early; early != "" {
				t.Errorf("the parent got %q before it answered", early)
			}
		})
	}
}

// TestParentUnreachable: a parent that refuses connections is an
// unreachable upstream (502 connect_failed), logged with its address; a
// parent that never answers the CONNECT is a connect timeout (504), and
// the child hangs up on it.
func TestParentUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	pp := startParentProxy(t, parentPolicy(t, "http://"+closed, true), KindTCP, "origin.example:443")
	tun := pp.refused(t, "STATUS 502")
	if tun.Rec.Reason != ReasonConnectFailed || tun.Rec.Resolved.String() != closed {
		t.Errorf("logged %q resolved %v; want connect_failed at %s", tun.Rec.Reason, tun.Rec.Resolved, closed)
	}

	silent := startFakeParent(t, "")
	pol := parentPolicy(t, "http://"+silent.addr, true)
	pol.ConnectTimeout = 300 * time.Millisecond
	pp = startParentProxy(t, pol, KindTCP, "origin.example:443")
	if tun = pp.refused(t, "STATUS 504"); tun.Rec.Reason != ReasonConnectTimeout {
		t.Errorf("silent parent: logged %q; want connect_timeout", tun.Rec.Reason)
	}
	select {
	case <-silent.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the child kept its connection to a parent that timed out")
	}
}

// TestParentClientLeaves: a client that goes while the parent has not
// answered is logged 499, and the child closes its connection to the
// parent.
func TestParentClientLeaves(t *testing.T) {
	t.Parallel()
	silent := startFakeParent(t, "")
	pp := startParentProxy(t, parentPolicy(t, "http://"+silent.addr, true), KindTCP, "origin.example:443")
	c := parentDialTo(t, pp.addr)
	<-silent.heads // the CONNECT is at the parent
	c.Close()
	tun := pp.nextEnded(t)
	if tun.Rec.Status != StatusClientGone {
		t.Errorf("logged %d %q; want 499", tun.Rec.Status, tun.Rec.Reason)
	}
	select {
	case <-silent.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the child kept its connection to the parent after the client left")
	}
}

// TestParentGuard: with the address guard on, the target is resolved
// locally and refused (403) when one of its addresses is guarded, before
// the parent hears anything.
func TestParentGuard(t *testing.T) {
	t.Parallel()
	parent := startFakeParent(t, "HTTP/1.1 200 OK\r\n\r\n")
	for _, target := range []string{"127.0.0.1:443", "[::1]:443", "localhost:443"} {
		pp := startParentProxy(t, parentPolicy(t, "http://"+parent.addr, false), KindTCP, target)
		tun := pp.refused(t, "STATUS 403")
		if tun.Rec.Reason != ReasonPrivate || !tun.Rec.Resolved.Addr().IsLoopback() {
			t.Errorf("%s: logged %q resolved %v; want private_address at a loopback address", target, tun.Rec.Reason, tun.Rec.Resolved)
		}
	}
	if n := parent.conns.Load(); n != 0 {
		t.Errorf("the parent was connected to %d times for guarded targets", n)
	}
}

// TestParentNoUDP: a connect-udp flow is refused with 502 when a parent is
// set, and nothing is dialed. The refusal comes before the tunnel limits:
// a client at its limit learns the flow can never go, not that it should
// wait.
func TestParentNoUDP(t *testing.T) {
	t.Parallel()
	pol := parentPolicy(t, "http://127.0.0.1:3128", true)
	pol.Gate = &Gate{PerIP: acl.NewLimiter[netip.Prefix](1)}
	client := netip.MustParseAddrPort("192.0.2.9:5000")
	if _, ok := pol.Gate.Acquire("", client.Addr()); !ok {
		t.Fatal("the client's one tunnel slot was not free")
	}
	l := &fakeLoop{}
	f := &fakeFront{}
	tun := pol.Open(l, &Config{}, newFakeEnd(), f, Request{Proto: ProtoH3, Kind: KindUDP, Method: "CONNECT", Target: "192.0.2.1:53",
		Client: client})
	if len(f.replies) != 1 || f.replies[0] != 502 || tun.Rec.Reason != ReasonParentUDP || len(l.dials) != 0 {
		t.Errorf("connect-udp with a parent: replies %v reason %q dials %d; want [502] parent_no_udp and no dial", f.replies, tun.Rec.Reason, len(l.dials))
	}
}

func TestParentStatus(t *testing.T) {
	t.Parallel()
	for _, r := range []Reason{ReasonParentAuth, ReasonParentRefused, ReasonParentBad, ReasonParentUDP} {
		err := fmt.Errorf("wrapped: %w", &ParentError{Reason: r, Err: errors.New("x")})
		if Status(err) != 502 || DialReason(err) != r {
			t.Errorf("%s: Status %d DialReason %q; want 502 %q", r, Status(err), DialReason(err), r)
		}
	}
}

// parentListen is a loopback TCP server running fn per conn.
func parentListen(t *testing.T, fn func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go fn(c)
		}
	}()
	return ln.Addr().String()
}

func parentDialTo(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestParentTLS: an https:// parent is spoken to in TLS, its certificate
// verified for the URL's host (a name or an IP literal): through one the
// roots vouch for the tunnel carries bytes; one they do not is refused 502
// parent_tls, and no CONNECT is sent to it.
func TestParentTLS(t *testing.T) {
	t.Parallel()
	cert, err := engine.SelfSignedCert() // for localhost and 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	parent := startFakeParentWith(t, "HTTP/1.1 200 Connection established\r\n\r\n", &cert)
	_, port, _ := net.SplitHostPort(parent.addr)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		pol := parentPolicy(t, "https://u:p@"+net.JoinHostPort(host, port), true)
		pol.Parent.TLS.RootCAs = x509.NewCertPool()
		pol.Parent.TLS.RootCAs.AddCert(leaf)
		pp := startParentProxy(t, pol, KindTCP, "origin.example:443")
		c := parentDialTo(t, pp.addr)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		if s := readStatus(t, br); s != "STATUS 200" {
			t.Fatalf("%s: client got %q; want STATUS 200", host, s)
		}
		if head := <-parent.heads; !strings.HasPrefix(head, "CONNECT origin.example:443 HTTP/1.1\r\n") || !strings.Contains(head, "Proxy-Authorization: Basic dTpw\r\n") {
			t.Errorf("%s: the parent got %q", host, head)
		}
		<-parent.early
		if _, err := io.WriteString(c, "over tls"); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len("over tls"))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != "over tls" {
			t.Fatalf("%s: echo through the TLS parent: %q, %v", host, got, err)
		}
		c.Close()
		if tun := pp.nextEnded(t); tun.Rec.Status != 200 {
			t.Errorf("%s: logged %d; want 200", host, tun.Rec.Status)
		}
	}

	before := len(parent.heads)
	pol := parentPolicy(t, "https://"+parent.addr, true)
	pol.Parent.TLS.RootCAs = x509.NewCertPool() // vouches for nobody
	pp := startParentProxy(t, pol, KindTCP, "origin.example:443")
	if tun := pp.refused(t, "STATUS 502"); tun.Rec.Reason != ReasonParentTLS || tun.Rec.Resolved.String() != parent.addr {
		t.Errorf("untrusted parent: logged %q resolved %v; want parent_tls at %s", tun.Rec.Reason, tun.Rec.Resolved, parent.addr)
	}
	if len(parent.heads) != before {
		t.Errorf("a CONNECT went to a parent whose certificate failed")
	}
}

// TestParentTLSHangUp: an https:// parent that takes the connection and
// closes it at the ClientHello failed the TLS handshake, not the connect:
// 502 parent_tls, as for a certificate it cannot prove.
func TestParentTLSHangUp(t *testing.T) {
	t.Parallel()
	addr := parentListen(t, func(c net.Conn) { c.Close() })
	pp := startParentProxy(t, parentPolicy(t, "https://"+addr, true), KindTCP, "origin.example:443")
	if tun := pp.refused(t, "STATUS 502"); tun.Rec.Reason != ReasonParentTLS {
		t.Errorf("logged %q; want parent_tls", tun.Rec.Reason)
	}
}

// holdLoop is a fakeLoop whose dials are answered only by the test, even
// when canceled.
type holdLoop struct{ fakeLoop }

func (l *holdLoop) Dial(t engine.DialTarget, done Dialed) func() {
	l.dials = append(l.dials, done)
	l.target = append(l.target, t)
	return func() {}
}

// TestParentClientLeavesWhileDialing: the tunnel dials the parent, not the
// target; a parent connected after the client left is closed without a
// CONNECT, and the request is logged 499.
func TestParentClientLeavesWhileDialing(t *testing.T) {
	t.Parallel()
	pol := parentPolicy(t, "http://127.0.0.1:3128", true)
	l := &holdLoop{}
	c, f := newFakeEnd(), &fakeFront{}
	tun := pol.Open(l, &Config{}, c, f, Request{Proto: ProtoH1, Kind: KindTCP, Method: "CONNECT", Target: "192.0.2.1:443",
		Client: netip.MustParseAddrPort("192.0.2.9:5000")})
	if len(l.dials) != 1 || l.target[0].Host != "127.0.0.1" || l.target[0].Port != 3128 || l.target[0].Check != nil {
		t.Fatalf("dials %v; want one, to the parent, with no address check (no Self in this policy)", l.target)
	}
	c.ev.Closed(nil) // the client leaves
	up := newFakeEnd()
	l.dials[0].Dialed(up, engine.DialInfo{Addr: netip.MustParseAddrPort("127.0.0.1:3128")}, nil)
	if !up.reset || len(up.got) != 0 {
		t.Errorf("parent connected after the client left: closed %v, sent %q; want closed, nothing sent", up.reset, up.got)
	}
	if tun.Rec.Status != StatusClientGone || len(f.replies) != 0 {
		t.Errorf("logged %d, replies %v; want 499 and no answer", tun.Rec.Status, f.replies)
	}
}

// TestParentIsSelf: a parent that is one of this proxy's own listeners
// would send every tunnel around in a loop: refused 403 self, whatever
// the target, while the guard (off here) does not apply to the parent.
func TestParentIsSelf(t *testing.T) {
	t.Parallel()
	parent := startFakeParent(t, "HTTP/1.1 200 OK\r\n\r\n")
	pol := parentPolicy(t, "http://"+parent.addr, true)
	self := netip.MustParseAddrPort(parent.addr)
	pol.Self = func(a netip.AddrPort) bool { return a == self }
	pp := startParentProxy(t, pol, KindTCP, "origin.example:443")
	if tun := pp.refused(t, "STATUS 403"); tun.Rec.Reason != ReasonSelf {
		t.Errorf("logged %q; want self", tun.Rec.Reason)
	}
	if n := parent.conns.Load(); n != 0 {
		t.Errorf("the parent that is this proxy was connected to %d times", n)
	}
}

// dialedErr records the error a parentDial reports.
type dialedErr struct {
	Nowhere
	err error
}

func (r *dialedErr) Dialed(up End, _ engine.DialInfo, err error) { r.err = err }

// TestParentPartialAnswerBuffer: the buffer a partial answer waits in goes
// back to its pool however the answer ends short: EOF, the socket's close,
// the timeout, the client's leaving.
func TestParentPartialAnswerBuffer(t *testing.T) {
	t.Parallel()
	for _, end := range []struct {
		name string
		fn   func(d *parentDial)
	}{
		{"EOF", (*parentDial).EOF},
		{"closed", func(d *parentDial) { d.Closed(io.EOF) }},
		{"timeout", (*parentDial).timedOut},
		{"cancel", (*parentDial).cancel},
	} {
		next := &dialedErr{}
		d := &parentDial{next: next, phase: parentAsking, up: newFakeEnd()}
		d.Data([]byte("HTTP/1.1 200 Connection established\r\nVia: 1.1 par"))
		if d.head == nil {
			t.Fatalf("%s: a partial answer was not kept", end.name)
		}
		end.fn(d)
		if next.err == nil || d.head != nil {
			t.Errorf("%s: reported %v, buffer kept %v; want an error and the buffer back in the pool", end.name, next.err, d.head != nil)
		}
	}
}
