package main

// End-to-end tests of the ACL map (--acl) and the private-address guard
// over loopback sockets, HTTP/1.1 (plain and TLS) and HTTP/2 (TLS), plus
// the helpers the auth_, probe_ and limit tests share: a DNS server that
// resolves every name to 127.0.0.1, clients that dial from a chosen
// loopback source address (the failure limiter and the per-address tunnel
// limit count per client address), and bounded access-log polling.

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// loopbackDNS is a UDP DNS server on loopback that answers every A query
// with 127.0.0.1 and every other query (AAAA) with an empty NOERROR
// answer, except for names whose first label picks another answer:
// "aaaa-mapped" (AAAA ::ffff:127.0.0.1 only), "aaaa-loop" (AAAA ::1 only),
// "aaaa-nat64" (AAAA 64:ff9b::7f00:1 only) and "metadata" (A
// 169.254.169.254). It records the names it was asked for, lowercased and
// without the trailing dot.
func loopbackDNS(t *testing.T) (addr string, asked func(name string) bool) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	names := map[string]bool{}
	done := make(chan struct{})
	t.Cleanup(func() { _ = pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			resp, name := answerLoopback(buf[:k])
			if resp == nil {
				continue
			}
			mu.Lock()
			names[name] = true
			mu.Unlock()
			_, _ = pc.WriteTo(resp, from)
		}
	}()
	return pc.LocalAddr().String(), func(name string) bool {
		mu.Lock()
		defer mu.Unlock()
		return names[strings.ToLower(strings.TrimSuffix(name, "."))]
	}
}

// answerLoopback builds the answer to query q: same ID and question, QR
// RD RA set, and for QTYPE A one record 127.0.0.1 (TTL 60).
func answerLoopback(q []byte) ([]byte, string) {
	if len(q) < 12 {
		return nil, ""
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		n := int(q[i])
		if n >= 64 || i+1+n > len(q) {
			return nil, ""
		}
		labels = append(labels, string(q[i+1:i+1+n]))
		i += 1 + n
	}
	end := i + 1 + 4 // the root label, QTYPE, QCLASS
	if end > len(q) {
		return nil, ""
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	first := ""
	if len(labels) > 0 {
		first = strings.ToLower(labels[0])
	}
	var a4 []byte
	var a6 []byte
	switch first {
	case "aaaa-mapped":
		a6 = netip.MustParseAddr("::ffff:127.0.0.1").AsSlice()
	case "aaaa-loop":
		a6 = netip.MustParseAddr("::1").AsSlice()
	case "aaaa-nat64":
		a6 = netip.MustParseAddr("64:ff9b::7f00:1").AsSlice()
	case "metadata":
		a4 = []byte{169, 254, 169, 254}
	default:
		a4 = []byte{127, 0, 0, 1}
	}
	r := append([]byte(nil), q[:end]...)
	r[2] = 0x80 | q[2]&0x01 // QR, opcode 0, RD copied
	r[3] = 0x80             // RA, RCODE NOERROR
	r[4], r[5] = 0, 1       // QDCOUNT
	r[6], r[7] = 0, 0       // ANCOUNT
	r[8], r[9], r[10], r[11] = 0, 0, 0, 0
	var rdata []byte
	switch {
	case qtype == 1 && a4 != nil: // A
		rdata = a4
	case qtype == 28 && a6 != nil: // AAAA
		rdata = a6
	}
	if rdata != nil {
		r[7] = 1
		r = append(r, 0xc0, 0x0c, // name: pointer to the question
			byte(qtype>>8), byte(qtype), 0, 1, // TYPE, CLASS IN
			0, 0, 0, 60, // TTL
			0, byte(len(rdata)))
		r = append(r, rdata...)
	}
	return r, strings.ToLower(strings.Join(labels, "."))
}

// dialFrom dials the proxy from the loopback address src (any of
// 127.0.0.0/8 works on Linux), with TLS when useTLS. The conn has an
// overall deadline and is closed at cleanup.
func dialFrom(t *testing.T, addr string, useTLS bool, src string, alpn ...string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial proxy %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	_ = raw.SetDeadline(time.Now().Add(30 * time.Second))
	if !useTLS {
		return raw
	}
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", NextProtos: alpn})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake with the proxy: %v", err)
	}
	return tc
}

// h2From opens an HTTP/2 conn over TLS (ALPN h2) to the proxy from src.
func h2From(t *testing.T, p *proxy, src string) *http2.ClientConn {
	t.Helper()
	c := dialFrom(t, p.tls, true, src, "h2")
	if got := c.(*tls.Conn).ConnectionState().NegotiatedProtocol; got != "h2" {
		t.Fatalf("ALPN = %q; want h2", got)
	}
	cc, err := (&http2.Transport{}).NewClientConn(c)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// h2ConnectWith is h2Connect with extra request header fields.
func h2ConnectWith(cc *http2.ClientConn, target string, hdr http.Header) (*http.Response, *io.PipeWriter, error) {
	pr, pw := io.Pipe()
	if hdr == nil {
		hdr = http.Header{}
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Host: target}, Host: target, Header: hdr, Body: pr}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		pw.Close()
		return nil, nil, err
	}
	return resp, pw, nil
}

// h2Status sends a CONNECT for target over cc, reads the response head,
// closes the stream and returns the response (its body already drained).
func h2Status(t *testing.T, cc *http2.ClientConn, target string, hdr http.Header) *http.Response {
	t.Helper()
	resp, pw, err := h2ConnectWith(cc, target, hdr)
	if err != nil {
		t.Fatalf("h2 CONNECT %s: %v", target, err)
	}
	pw.Close()
	if resp.StatusCode != 200 {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	return resp
}

// h2Echo opens a CONNECT stream to an echo origin and checks one round trip.
func h2Echo(t *testing.T, cc *http2.ClientConn, target string, hdr http.Header) {
	t.Helper()
	resp, pw, err := h2ConnectWith(cc, target, hdr)
	if err != nil {
		t.Fatalf("h2 CONNECT %s: %v", target, err)
	}
	defer resp.Body.Close()
	defer pw.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("h2 CONNECT %s: status %d; want 200", target, resp.StatusCode)
	}
	msg := []byte("h2 ping " + target)
	go func() { _, _ = pw.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != string(msg) {
		t.Fatalf("h2 echo through %s: got %q (%v); want %q", target, got, err, msg)
	}
}

// connectFrom sends a CONNECT (with extra header lines, each ending in
// CRLF) from src and returns the parsed response head; on 200 the conn is
// returned open for tunnel bytes, otherwise the whole exchange is read
// (body and close) as rawExchange does, and the conn is closed.
func connectFrom(t *testing.T, p *proxy, useTLS bool, src, target, extra string) (*http.Response, net.Conn, *rawResult) {
	t.Helper()
	c := dialFrom(t, p.addr(useTLS), useTLS, src)
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + extra + "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("write CONNECT: %v", err)
	}
	// Read the head byte by byte so that nothing of the tunnel is consumed.
	var head []byte
	one := make([]byte, 1)
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		if _, err := c.Read(one); err != nil {
			t.Fatalf("CONNECT %s: reading the response head: %v (got %q)", target, err, head)
		}
		head = append(head, one[0])
		if len(head) > 64<<10 {
			t.Fatalf("CONNECT %s: response head too long", target)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(head))), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("CONNECT %s: bad response head %q: %v", target, head, err)
	}
	if resp.StatusCode == 200 {
		if string(head) != established {
			t.Errorf("CONNECT %s: 200 head %q; want exactly %q", target, head, established)
		}
		return resp, c, nil
	}
	// Not a tunnel: read the body and how the conn ends.
	n, _ := strconv.Atoi(resp.Header.Get("Content-Length"))
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatalf("CONNECT %s: %d body: %v", target, resp.StatusCode, err)
	}
	r := &rawResult{resp: resp, body: string(body)}
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	buf := make([]byte, 4096)
	for {
		k, err := c.Read(buf)
		r.after = append(r.after, buf[:k]...)
		if err != nil {
			r.endErr = err
			break
		}
	}
	_ = c.Close() // as a client does after "Connection: close"
	return resp, nil, r
}

// echoOnce writes a message into a tunnel to an echo origin and reads it
// back.
func echoOnce(t *testing.T, c net.Conn, what string) {
	t.Helper()
	msg := []byte("ping through " + what)
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("%s: write into the tunnel: %v", what, err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
		t.Fatalf("%s: echo got %q (%v); want %q", what, got, err, msg)
	}
}

// anyLine keeps every access-log line, for waitLines.
func anyLine(logLine) bool { return true }

// waitLines polls the access log until at least n lines satisfy keep and
// returns them.
func (p *proxy) waitLines(what string, n int, keep func(logLine) bool) []logLine {
	p.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		var out []logLine
		for _, l := range p.readLog() {
			if keep(l) {
				out = append(out, l)
			}
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%d access-log lines for %s within %v; want %d; log: %v", len(out), what, waitLimit, n, p.readLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeFileAtomic replaces path with data the way an operator's tooling
// should (write elsewhere, rename), so a reload never reads half a file.
func writeFileAtomic(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitErrLog polls the error log until it contains every one of subs.
func (p *proxy) waitErrLog(subs ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		s := p.errLog.String()
		ok := true
		for _, sub := range subs {
			ok = ok && strings.Contains(s, sub)
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("error log lacks %q within %v:\n%s", subs, waitLimit, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// aclCase is one CONNECT and the ACL decision it must meet.
type aclCase struct {
	target string
	status int // 200 or 403
	acl    int // the value the access log must name
	why    string
	rule   string // the pattern the log must name as acl_rule (values 2 and 3 only)
}

// TestACLE2EMap: every pattern kind and every value 0-3 plus a default
// line, over h1 plain, h1 TLS and h2; the usual spellings that try to dodge
// a rule (case, trailing dot, IPv4-mapped IPv6, another port, another
// spelling of an IPv6 literal) all land on the rule; the access log names
// the deciding value for each.
func TestACLE2EMap(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	other := startEcho(t) // a second port, for host:port rules
	P, Q := strconv.Itoa(echo.port()), strconv.Itoa(other.port())
	dns, asked := loopbackDNS(t)
	aclPath := filepath.Join(t.TempDir(), "acl.map")
	writeFileAtomic(t, aclPath, strings.Join([]string{
		"# every pattern kind, every value",
		"denied.test 0           # exact host, deny",
		"hp.test:" + P + " 2      # exact host:port, deny+log",
		"zp.test:443 0",
		"*.corp.test 0           # suffix, deny (covers corp.test itself)",
		"ok.corp.test 1          # exact host beats the suffix, allow",
		".logged.test 3          # nginx-style suffix, allow+log",
		"127.0.0.2/32 2          # CIDR for IP literals, deny+log",
		"127.0.0.0/8 3           # CIDR, allow+log",
		"::1/128 0               # IPv6 CIDR, deny",
		`~^rx-deny[0-9]+\.test$ 2`,
		`~^rx-allow\.test:` + P + `$ 3`,
		"default 1",
		"",
	}, "\n"))
	p := startOpenProxy(t, "--acl", aclPath, "--resolver", dns)

	cases := []aclCase{
		{"denied.test:" + P, 403, 0, "exact host", ""},
		{"DENIED.TEST:" + P, 403, 0, "exact host, upper case", ""},
		{"denied.test.:" + P, 403, 0, "exact host, trailing dot", ""},
		{"DeNiEd.TeSt.:" + P, 403, 0, "exact host, mixed case and trailing dot", ""},
		{"denied.test:443", 403, 0, "a host rule covers every port", ""},
		{"hp.test:" + P, 403, 2, "exact host:port", "hp.test:" + P},
		{"HP.Test.:" + P, 403, 2, "exact host:port, case and trailing dot", "hp.test:" + P},
		{"hp.test:" + Q, 200, 1, "a host:port rule does not cover another port", ""},
		{"x.corp.test:" + P, 403, 0, "suffix", ""},
		{"a.b.CORP.test.:" + P, 403, 0, "suffix, deeper, case, trailing dot", ""},
		{"corp.test:" + P, 403, 0, "suffix covers the apex", ""},
		{"ok.corp.test:" + P, 200, 1, "exact allow inside a denied suffix", ""},
		{"OK.CORP.TEST.:" + P, 200, 1, "exact allow, case and trailing dot", ""},
		{"www.logged.test:" + P, 200, 3, "suffix allow+log", ".logged.test"},
		{"127.0.0.1:" + P, 200, 3, "CIDR allow+log", "127.0.0.0/8"},
		{"[::ffff:127.0.0.1]:" + P, 200, 3, "IPv4-mapped IPv6 literal hits the IPv4 CIDR", "127.0.0.0/8"},
		{"127.0.0.2:" + P, 403, 2, "more specific CIDR wins", "127.0.0.2/32"},
		{"[::ffff:127.0.0.2]:" + P, 403, 2, "IPv4-mapped spelling of a denied address", "127.0.0.2/32"},
		{"[::FFFF:7f00:2]:" + P, 403, 2, "hex IPv4-mapped spelling of a denied address", "127.0.0.2/32"},
		{"[::1]:" + P, 403, 0, "IPv6 CIDR", ""},
		{"[0:0:0:0:0:0:0:1]:" + P, 403, 0, "long spelling of ::1", ""},
		{"rx-deny7.test:" + P, 403, 2, "regex deny+log", `~^rx-deny[0-9]+\.test$`},
		{"RX-DENY7.TEST.:" + P, 403, 2, "regex sees the normalized host", `~^rx-deny[0-9]+\.test$`},
		{"rx-allow.test:" + P, 200, 3, "regex on host:port", `~^rx-allow\.test:` + P + `$`},
		{"rx-allow.test:" + Q, 200, 1, "regex on host:port does not match another port", ""},
		{"nothing.test:" + P, 200, 1, "default", ""},
	}
	listeners := []struct {
		name string
		run  func(t *testing.T, c aclCase)
	}{
		{"h1-plain", func(t *testing.T, c aclCase) { aclConnectH1(t, p, false, c) }},
		{"h1-tls", func(t *testing.T, c aclCase) { aclConnectH1(t, p, true, c) }},
		{"h2", func(t *testing.T, c aclCase) {
			cc := h2ClientConn(t, p, true)
			if c.status == 200 {
				h2Echo(t, cc, c.target, nil)
				return
			}
			if got := h2Status(t, cc, c.target, nil).StatusCode; got != c.status {
				t.Errorf("h2 CONNECT %s (%s): status %d; want %d", c.target, c.why, got, c.status)
			}
		}},
	}
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			for _, c := range cases {
				l.run(t, c)
			}
		})
	}
	// Every decision, by every front end, is in the access log with the
	// value that decided it.
	for _, proto := range []string{"h1", "h2"} {
		for _, c := range cases {
			want := 1
			if proto == "h1" {
				want = 2 // plain and TLS
			}
			lines := p.waitLines(proto+" "+c.target, want, func(l logLine) bool {
				return l.str("proto") == proto && l.str("target") == c.target
			})
			for _, l := range lines {
				if int(l.num("acl")) != c.acl || int(l.num("status")) != c.status {
					t.Errorf("access log for %s %s (%s): acl=%v status=%v; want acl=%d status=%d",
						proto, c.target, c.why, l["acl"], l["status"], c.acl, c.status)
				}
				// Values 2 and 3 name the deciding pattern; 0 and 1 do not.
				rule, has := l["acl_rule"]
				if c.rule != "" && rule != c.rule || c.rule == "" && has {
					t.Errorf("access log for %s %s (%s): acl_rule=%v; want %q", proto, c.target, c.why, rule, c.rule)
				}
			}
		}
	}
	if !asked("ok.corp.test") || asked("denied.test") || asked("x.corp.test") {
		t.Errorf("DNS: allowed names must be resolved, denied ones never: ok.corp.test=%v denied.test=%v x.corp.test=%v",
			asked("ok.corp.test"), asked("denied.test"), asked("x.corp.test"))
	}

	// Absolute-form forwarding goes through the same map.
	t.Run("forward", func(t *testing.T) {
		for _, host := range []string{"denied.test:" + P, "DENIED.test.:" + P, "x.corp.test:" + P, "127.0.0.2:" + P} {
			req := "GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
			expectStatus(t, p.plain, false, req, 403)
		}
	})
	// A port spelled with leading zeros is the same port: it must not get
	// past a host:port rule. 400 or 403 are both fine; 502 would mean the
	// proxy let it through and dialed 127.0.0.1:443.
	t.Run("leading-zero-port", func(t *testing.T) {
		for _, target := range []string{"zp.test:0443", "zp.test:00443", "ZP.test.:0443"} {
			c := dialProxy(t, p.plain, false)
			r := rawExchange(t, c, []byte(connectReq(target)), waitLimit)
			if s := r.resp.StatusCode; s != 403 && s != 400 {
				t.Errorf("CONNECT %s: %d; want 403 (or 400): a leading-zero port dodged the host:port rule", target, s)
			}
		}
	})
}

// aclConnectH1 runs one ACL case over HTTP/1.1.
func aclConnectH1(t *testing.T, p *proxy, useTLS bool, c aclCase) {
	t.Helper()
	if c.status == 200 {
		conn := openTunnel(t, p, useTLS, c.target)
		echoOnce(t, conn, c.target)
		_ = conn.Close()
		return
	}
	r := expectStatus(t, p.addr(useTLS), useTLS, connectReq(c.target), c.status)
	if r.resp.StatusCode != c.status {
		t.Errorf("CONNECT %s (%s) over %s: status %d; want %d", c.target, c.why, listenerName(useTLS), r.resp.StatusCode, c.status)
	}
}

// TestACLE2EReload: s.reload() (what SIGHUP calls) swaps the map in and
// changes decisions; a broken file keeps the old map and the error log
// says which line is wrong; open tunnels are not touched.
func TestACLE2EReload(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	P := strconv.Itoa(echo.port())
	dns, _ := loopbackDNS(t)
	aclPath := filepath.Join(t.TempDir(), "acl.map")
	writeFileAtomic(t, aclPath, "flip.test 0\nstay.test 1\ndefault 1\n")
	p := startOpenProxy(t, "--acl", aclPath, "--resolver", dns)

	flip, stay, other := "flip.test:"+P, "stay.test:"+P, "other.test:"+P
	expectStatus(t, p.plain, false, connectReq(flip), 403)
	open := openTunnel(t, p, false, stay)
	echoOnce(t, open, "a tunnel opened before the reload")

	writeFileAtomic(t, aclPath, "flip.test 3\nstay.test 0\ndefault 2\n")
	p.s.reload()
	p.waitErrLog("acl reloaded")
	c := openTunnel(t, p, true, flip)
	echoOnce(t, c, flip+" after the reload")
	_ = c.Close()
	expectStatus(t, p.plain, false, connectReq(stay), 403)
	expectStatus(t, p.tls, true, connectReq(other), 403) // the new default
	if got := h2Status(t, h2ClientConn(t, p, true), stay, nil).StatusCode; got != 403 {
		t.Errorf("h2 CONNECT %s after the reload: %d; want 403", stay, got)
	}
	echoOnce(t, open, "a tunnel opened before the reload, after it")

	// A broken file: line 2 has a value out of range. The old map stays.
	writeFileAtomic(t, aclPath, "flip.test 0\nstay.test 7\ndefault 1\n")
	p.s.reload()
	log := p.waitErrLog("acl reload failed", aclPath+":2:")
	c = openTunnel(t, p, false, flip) // still allowed by the second map
	echoOnce(t, c, flip+" after a failed reload")
	_ = c.Close()
	expectStatus(t, p.plain, false, connectReq(stay), 403)
	expectStatus(t, p.plain, false, connectReq(other), 403)
	echoOnce(t, open, "a tunnel opened before both reloads")
	_ = open.Close()

	l := p.waitLines("flip.test tunnels", 2, func(l logLine) bool { return l.str("target") == flip && l.num("status") == 200 })
	for _, x := range l {
		if x.num("acl") != 3 || x.str("acl_rule") != "flip.test" {
			t.Errorf("access log for %s after the reload: acl=%v acl_rule=%v; want 3, flip.test", flip, x["acl"], x["acl_rule"])
		}
	}
	for _, x := range p.readLog() {
		if x.str("target") == other && (x.num("acl") != 2 || x.str("acl_rule") != "default") {
			t.Errorf("access log for %s (the new default 2): %v; want acl 2, acl_rule default", other, x)
		}
	}
	if strings.Count(log, "acl reloaded") != 1 {
		t.Errorf("error log: want exactly one successful acl reload:\n%s", log)
	}
}

// TestGuardE2EPrivateAfterDNS: without --allow-private the resolved
// address is checked just before the dial, so neither a name that resolves
// to 127.0.0.1 (localhost, or one a DNS server under the client's control
// answers) nor a literal reaches a loopback or metadata address, over h1
// and h2; the origin is never dialed.
func TestGuardE2EPrivateAfterDNS(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	P := strconv.Itoa(echo.port())
	dns, asked := loopbackDNS(t)
	p := startProxy(t, "--allow-ports", "all", "--resolver", dns)
	targets := []string{
		"localhost:" + P,
		"smuggle.test:" + P,
		"169.254.169.254:443",
		"[::1]:" + P,
		"127.0.0.1:" + P,
		"[::ffff:127.0.0.1]:" + P,
		"[::ffff:169.254.169.254]:443",
		"[64:ff9b::7f00:1]:" + P, // NAT64 wrapping 127.0.0.1
		"0.0.0.0:" + P,
		"aaaa-mapped.test:" + P, // AAAA ::ffff:127.0.0.1
		"aaaa-loop.test:" + P,   // AAAA ::1
		"aaaa-nat64.test:" + P,  // AAAA 64:ff9b::7f00:1
		"metadata.test:443",     // A 169.254.169.254
	}
	for _, target := range targets {
		for _, useTLS := range []bool{false, true} {
			expectStatus(t, p.addr(useTLS), useTLS, connectReq(target), 403)
		}
		if got := h2Status(t, h2ClientConn(t, p, true), target, nil).StatusCode; got != 403 {
			t.Errorf("h2 CONNECT %s: %d; want 403", target, got)
		}
	}
	req := "GET http://smuggle.test:" + P + "/ HTTP/1.1\r\nHost: smuggle.test:" + P + "\r\n\r\n"
	expectStatus(t, p.plain, false, req, 403)
	if !asked("smuggle.test") {
		t.Errorf("smuggle.test was never resolved: the 403 did not come from the guard after DNS")
	}
	if n := echo.count(); n != 0 {
		t.Errorf("the loopback origin was dialed %d times past the guard", n)
	}
	for target, resolved := range map[string]string{
		"smuggle.test:" + P:     "127.0.0.1:" + P,
		"aaaa-mapped.test:" + P: "127.0.0.1:" + P,
		"aaaa-loop.test:" + P:   "[::1]:" + P,
		"metadata.test:443":     "169.254.169.254:443",
	} {
		l := p.waitLog(target)
		if l.num("status") != 403 || l.str("resolved") != resolved {
			t.Errorf("access log for %s: %v; want status 403, resolved %s", target, l, resolved)
		}
	}
}

// TestGuardE2EACLOpensRange: an ACL allow line for a CIDR opens that
// private range (and only it) to the guard, for names that resolve into
// it and for literals; a broader allow line (0.0.0.0/0) does not switch
// the guard off, and a default allow does not either.
func TestGuardE2EACLOpensRange(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	P := strconv.Itoa(echo.port())
	dns, _ := loopbackDNS(t)
	dir := t.TempDir()

	t.Run("127.0.0.0/8", func(t *testing.T) {
		path := filepath.Join(dir, "open.map")
		writeFileAtomic(t, path, "127.0.0.0/8 1\ndefault 1\n")
		p := startProxy(t, "--allow-ports", "all", "--resolver", dns, "--acl", path)
		for _, target := range []string{"smuggle.test:" + P, "127.0.0.1:" + P, "localhost:" + P, "[::ffff:127.0.0.1]:" + P} {
			for _, useTLS := range []bool{false, true} {
				c := openTunnel(t, p, useTLS, target)
				echoOnce(t, c, target)
				_ = c.Close()
			}
			h2Echo(t, h2ClientConn(t, p, true), target, nil)
		}
		// Other private ranges stay shut.
		for _, target := range []string{"[::1]:" + P, "169.254.169.254:443", "10.0.0.1:443", "192.168.1.1:443"} {
			expectStatus(t, p.plain, false, connectReq(target), 403)
		}
	})
	t.Run("single-address", func(t *testing.T) {
		path := filepath.Join(dir, "one.map")
		writeFileAtomic(t, path, "127.0.0.1 3\n")
		p := startProxy(t, "--allow-ports", "all", "--resolver", dns, "--acl", path)
		c := openTunnel(t, p, false, "smuggle.test:"+P)
		echoOnce(t, c, "smuggle.test with 127.0.0.1 opened")
		_ = c.Close()
		expectStatus(t, p.plain, false, connectReq("127.0.0.2:"+P), 403)
	})
	t.Run("too-broad", func(t *testing.T) {
		path := filepath.Join(dir, "broad.map")
		writeFileAtomic(t, path, "0.0.0.0/0 1\n::/0 1\ndefault 1\n")
		p := startProxy(t, "--allow-ports", "all", "--resolver", dns, "--acl", path)
		for _, target := range []string{"smuggle.test:" + P, "127.0.0.1:" + P, "[::1]:" + P, "169.254.169.254:443"} {
			expectStatus(t, p.plain, false, connectReq(target), 403)
		}
	})
	t.Run("more-specific-deny", func(t *testing.T) {
		path := filepath.Join(dir, "hole.map")
		writeFileAtomic(t, path, "127.0.0.0/8 1\n127.0.0.0/24 0\n")
		p := startProxy(t, "--allow-ports", "all", "--resolver", dns, "--acl", path)
		expectStatus(t, p.plain, false, connectReq("smuggle.test:"+P), 403)
	})
}

// fmtHeader renders a header for error messages.
func fmtHeader(h http.Header) string {
	var b strings.Builder
	_ = h.Write(&b)
	return fmt.Sprintf("%q", b.String())
}
