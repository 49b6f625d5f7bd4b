package main

// End-to-end tests of connect-udp (RFC 9298): masque-go over HTTP/3
// datagrams, and capsules (RFC 9297) over HTTP/1.1, HTTP/2 and HTTP/3
// streams, all through the one relay the TCP tunnels use.

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// TestE2EUDPMasqueDatagrams: masque-go sends 1000 datagrams of 1 to 1200
// bytes, 32 in flight, to a UDP echo origin over HTTP/3 datagrams; at most
// 2% may be lost (UDP), every one that comes back is one that was sent, and
// the access log counts the datagrams each way.
func TestE2EUDPMasqueDatagrams(t *testing.T) {
	t.Parallel()
	echo := startUDPEcho(t)
	p := startOpenProxy(t)
	f, resp := masqueDial(t, p, h3DatagramConn(t, p), echo.addr(), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("connect-udp status %d", resp.StatusCode)
	}
	if got := resp.Header.Get(http3.CapsuleProtocolHeader); got != "?1" {
		t.Errorf("Capsule-Protocol in the 200 = %q; want ?1", got)
	}
	const total, window = 1000, 32
	lost, back := sendAndMatch(t, f, total, window, 1200)
	if lost > total*2/100 {
		t.Errorf("%d of %d datagrams lost on loopback; want at most 2%%", lost, total)
	}
	f.close()
	l := p.waitLog(echo.addr())
	if l.str("proto") != "h3" || l.str("kind") != "udp" || l.num("status") != 200 {
		t.Errorf("access log %v", l)
	}
	if up := l.num("datagrams_up"); up < int64(echo.got.Load()) || up > total {
		t.Errorf("datagrams_up = %d; the origin got %d of %d", up, echo.got.Load(), total)
	}
	if down := l.num("datagrams_down"); down < int64(back) {
		t.Errorf("datagrams_down = %d; the client got %d", down, back)
	}
}

// sendAndMatch sends total datagrams of sizes 1..max through f, at most window
// unanswered, and checks each answer is an outstanding datagram; it
// returns how many never came back and how many did.
func sendAndMatch(t *testing.T, f udpFlow, total, window, max int) (lost, back int) {
	t.Helper()
	outstanding := map[string]int{}
	inFlight := 0
	wait := func() bool {
		p, err := f.recv(2 * time.Second)
		if err != nil {
			lost += inFlight // a lost datagram would stall the window
			inFlight = 0
			clear(outstanding)
			return false
		}
		k := string(p)
		if outstanding[k] == 0 {
			t.Fatalf("got back a %d-byte datagram that was not sent (or came twice)", len(p))
		}
		outstanding[k]--
		inFlight--
		back++
		return true
	}
	for i := 0; i < total; i++ {
		for inFlight >= window {
			wait()
		}
		p := make([]byte, 1+(i*37)%max)
		_, _ = rand.Read(p)
		if err := f.send(p); err != nil {
			t.Fatalf("send datagram %d: %v", i, err)
		}
		outstanding[string(p)]++
		inFlight++
	}
	for inFlight > 0 && wait() {
	}
	return lost, back
}

// TestE2EUDPCapsules: over every stream a connect-udp flow can take (an
// HTTP/1.1 upgrade, plain and TLS; HTTP/2 extended CONNECT over TLS and
// h2c; an HTTP/3 request stream whose client has no datagrams), datagrams
// go as DATAGRAM capsules split across writes, with unknown (GREASE)
// capsules between them, and come back byte-exact: 100 one at a time,
// then 1,000 of 1 to 1,200 bytes with 32 in flight.
func TestE2EUDPCapsules(t *testing.T) {
	t.Parallel()
	echo := startUDPEcho(t)
	p := startOpenProxy(t)
	for _, tc := range capsuleTransports(p) {
		t.Run(tc.name, func(t *testing.T) {
			f, resp := tc.mustOpen(t, echo.addr())
			if got := resp.Header.Get("Capsule-Protocol"); got != "?1" {
				t.Errorf("Capsule-Protocol = %q; want ?1", got)
			}
			for i := 0; i < 100; i++ {
				if i%10 == 0 {
					grease := uint64(0x29*i + 0x17) // RFC 9297 section 5.4: reserved types
					if err := f.sendCapsule(grease, bytes.Repeat([]byte{0xAA}, i)); err != nil {
						t.Fatal(err)
					}
				}
				want := make([]byte, 1+i*13)
				_, _ = rand.Read(want)
				if err := f.send(want); err != nil {
					t.Fatal(err)
				}
				got, err := f.recv(waitLimit)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("datagram %d: got %d bytes (%v), want %d", i, len(got), err, len(want))
				}
			}
			// The masque-go exchange: 32 in flight, with a GREASE capsule
			// before every seventh; a stream loses none.
			f.greaseEvery = 7
			if lost, _ := sendAndMatch(t, f, 1000, 32, 1200); lost != 0 {
				t.Errorf("%d of 1000 datagrams lost on a stream", lost)
			}
			f.close()
		})
	}
	lines := p.waitLines("udp flows", len(capsuleTransports(p)), func(l logLine) bool { return l.str("kind") == "udp" })
	for _, l := range lines {
		if l.num("datagrams_up") != 1100 || l.num("datagrams_down") != 1100 || l.num("dropped") != 0 {
			t.Errorf("access log %v", l)
		}
	}
}

// capsuleTransport opens a capsule flow one way.
type capsuleTransport struct {
	name string
	open func(t *testing.T, target string) (*capsuleFlow, *http.Response)
}

// mustOpen opens a flow to target and fails the test unless it opened.
func (tc capsuleTransport) mustOpen(t *testing.T, target string) (*capsuleFlow, *http.Response) {
	t.Helper()
	f, resp := tc.open(t, target)
	if f == nil {
		t.Fatalf("connect-udp over %s: status %d", tc.name, resp.StatusCode)
	}
	return f, resp
}

func capsuleTransports(p *proxy) []capsuleTransport {
	return []capsuleTransport{
		{"h1", func(t *testing.T, target string) (*capsuleFlow, *http.Response) {
			return h1UDP(t, p.plain, false, target, "")
		}},
		{"h1-tls", func(t *testing.T, target string) (*capsuleFlow, *http.Response) {
			return h1UDP(t, p.tls, true, target, "")
		}},
		{"h2", func(t *testing.T, target string) (*capsuleFlow, *http.Response) {
			return h2UDP(t, h2ClientConn(t, p, true), p.tls, target, nil)
		}},
		{"h2c", func(t *testing.T, target string) (*capsuleFlow, *http.Response) {
			return h2UDP(t, h2ClientConn(t, p, false), p.plain, target, nil)
		}},
		{"h3-stream", func(t *testing.T, target string) (*capsuleFlow, *http.Response) {
			return h3CapsuleUDP(t, h3Conn(t, p, nil), p.quic, target)
		}},
	}
}

// TestE2EUDPManyFlowsOneConnection: 200 flows at once on one QUIC
// connection (HTTP/3 datagrams) and 200 on one HTTP/2 connection
// (capsules), each to its own UDP origin port, keep their datagrams apart.
func TestE2EUDPManyFlowsOneConnection(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t, "--h2-max-streams", "500", "--quic-max-streams", "500")
	const flows = 200
	origins := make([]*udpOrigin, flows)
	for i := range origins {
		tag := []byte(strconv.Itoa(i) + ":")
		origins[i] = startUDPOrigin(t, func(b []byte, send func([]byte)) { send(append(append([]byte(nil), tag...), b...)) })
	}
	opens := map[string]func(t *testing.T, i int) udpFlow{
		"h3": func() func(t *testing.T, i int) udpFlow {
			cc := h3DatagramConn(t, p)
			return func(t *testing.T, i int) udpFlow {
				f, resp := masqueDial(t, p, cc, origins[i].addr(), nil)
				if f == nil {
					t.Errorf("flow %d: status %d", i, resp.StatusCode)
				}
				return f
			}
		}(),
		"h2": func() func(t *testing.T, i int) udpFlow {
			cc := h2ClientConn(t, p, true)
			return func(t *testing.T, i int) udpFlow {
				f, resp := h2UDP(t, cc, p.tls, origins[i].addr(), nil)
				if f == nil {
					t.Errorf("flow %d: status %d", i, resp.StatusCode)
					return nil
				}
				return f
			}
		}(),
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			for i := 0; i < flows; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f := open(t, i)
					if f == nil {
						return
					}
					defer f.close()
					want := []byte(fmt.Sprintf("%d:flow %d", i, i))
					for try := 0; try < 5; try++ { // UDP: a datagram may be lost
						if err := f.send(want[len(strconv.Itoa(i))+1:]); err != nil {
							t.Errorf("flow %d: %v", i, err)
							return
						}
						got, err := f.recv(time.Second)
						if err == nil {
							if !bytes.Equal(got, want) {
								t.Errorf("flow %d got %q; want %q", i, got, want)
							}
							return
						}
					}
					t.Errorf("flow %d: no answer in 5 tries", i)
				}()
			}
			wg.Wait()
		})
	}
}

// TestE2EUDPRefused: a target off the port allow-list, a private target
// and a path that names no port are refused (403, 403, 400) over every
// protocol with the reason logged, and no datagram reaches the origin; a
// request whose path does not fit the template at all gets 400.
func TestE2EUDPRefused(t *testing.T) {
	t.Parallel()
	echo := startUDPEcho(t)
	guarded := startProxy(t, "--allow-ports", strconv.Itoa(echo.port()))
	portless := startProxy(t, "--allow-private", "--allow-ports", "53")
	cases := []struct {
		name   string
		p      *proxy
		target string
		status int
		reason string
	}{
		{"private", guarded, echo.addr(), 403, "private_address"},
		{"port", portless, echo.addr(), 403, "port"},
		{"port-0", portless, "127.0.0.1:0", 400, "bad_request"},
	}
	for _, c := range cases {
		for _, tc := range capsuleTransports(c.p) {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				f, resp := tc.open(t, c.target)
				if f != nil || resp.StatusCode != c.status {
					t.Errorf("status %d; want %d", resp.StatusCode, c.status)
				}
			})
		}
		t.Run(c.name+"/masque", func(t *testing.T) {
			f, resp := masqueDial(t, c.p, h3DatagramConn(t, c.p), c.target, nil)
			if f != nil || resp.StatusCode != c.status {
				t.Errorf("status %d; want %d", resp.StatusCode, c.status)
			}
		})
	}
	t.Run("no-template", func(t *testing.T) {
		req := "GET /.well-known/masque/udp/127.0.0.1/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: connect-udp\r\n\r\n"
		expectStatus(t, portless.plain, false, req, 400)
	})
	if n := echo.got.Load(); n != 0 {
		t.Errorf("the origin got %d datagrams past a refusal", n)
	}
	for _, c := range cases {
		n := len(capsuleTransports(c.p)) + 1
		logged := c.target
		if c.status == 400 {
			logged = udpPath(c.target) // no target: the path is logged
		}
		lines := c.p.waitLines(c.name+" refusals", n, func(l logLine) bool {
			return l.str("kind") == "udp" && l.str("target") == logged
		})
		for _, l := range lines {
			if l.num("status") != int64(c.status) || l.str("reason") != c.reason {
				t.Errorf("%s: logged %v; want status %d reason %s", c.name, l, c.status, c.reason)
			}
		}
	}
}

// TestE2EUDPIdleTimeout: a flow with no datagram either way for
// --udp-idle-timeout is ended, its stream closed, and logged as idle; a
// TCP tunnel's idle timeout is not what ends it.
func TestE2EUDPIdleTimeout(t *testing.T) {
	t.Parallel()
	echo := startUDPEcho(t)
	p := startOpenProxy(t, "--udp-idle-timeout", "300ms", "--idle-timeout", "1h")
	for _, tc := range capsuleTransports(p) {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := tc.mustOpen(t, echo.addr())
			if err := f.send([]byte("one")); err != nil {
				t.Fatal(err)
			}
			if _, err := f.recv(waitLimit); err != nil {
				t.Fatal(err)
			}
			if _, ok := f.ended(waitLimit); !ok {
				t.Fatalf("the flow is still open %v after its last datagram", waitLimit)
			}
		})
	}
	lines := p.waitLines("idle flows", len(capsuleTransports(p)), func(l logLine) bool { return l.str("kind") == "udp" })
	for _, l := range lines {
		if l.str("reason") != "idle_timeout" {
			t.Errorf("reason %q; want idle_timeout: %v", l.str("reason"), l)
		}
	}
}

// TestE2EUDPFloodBounded: an origin sends 20000 datagrams of 1200 bytes
// (24 MB) at a client that reads none of them; the proxy holds a bounded
// amount, drops the rest and counts them in the access log, and the flow
// still works once the client reads.
func TestE2EUDPFloodBounded(t *testing.T) {
	const n, size = 20000, 1200
	flood := startUDPOrigin(t, func(b []byte, send func([]byte)) {
		if string(b) != "flood" {
			send(b)
			return
		}
		d := make([]byte, size)
		for i := 0; i < n; i++ {
			send(d)
		}
	})
	p := startOpenProxy(t)
	for _, tc := range []string{"h1", "h3"} {
		t.Run(tc, func(t *testing.T) {
			var f udpFlow
			if tc == "h1" {
				cf, resp := h1UDP(t, p.plain, false, flood.addr(), "")
				if cf == nil {
					t.Fatalf("status %d", resp.StatusCode)
				}
				f = cf // its reader starts at the first recv: until then the socket is not read
			} else {
				var resp *http.Response
				f, resp = masqueDial(t, p, h3DatagramConn(t, p), flood.addr(), nil)
				if f == nil {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			runtime.GC()
			before := heapInUse()
			if err := f.send([]byte("flood")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond) // the flood arrives; nothing reads it
			runtime.GC()
			if grew := int64(heapInUse()) - int64(before); grew > 8<<20 {
				t.Errorf("heap grew %d MiB under a %d MB flood at a client that does not read", grew>>20, n*size>>20)
			}
			drain(f)
			if !pingUntil(t, f, []byte("after")) {
				t.Errorf("the flow does not work after the flood; origin got %d", flood.got.Load())
			}
			f.close()
			l := p.waitLog(flood.addr())
			if l.num("dropped") == 0 || l.num("datagrams_down") >= n {
				t.Errorf("access log after a flood at a non-reading client: %v", l)
			}
		})
	}
}

func drain(f udpFlow) {
	for {
		if _, err := f.recv(200 * time.Millisecond); err != nil {
			return
		}
	}
}

// pingUntil sends p until it comes back, five times at most: UDP may lose
// a datagram, and a flow that just dropped a flood may lose several.
func pingUntil(t *testing.T, f udpFlow, p []byte) bool {
	for try := 0; try < 5; try++ {
		if err := f.send(p); err != nil {
			t.Errorf("send: %v", err)
			return false
		}
		for {
			got, err := f.recv(time.Second)
			if err != nil {
				break
			}
			if bytes.Equal(got, p) {
				return true
			}
		}
	}
	return false
}
