package main

// End-to-end tests of the limits on tunnels and conns: per client address
// (--max-tunnels-per-ip), per user (--max-tunnels-per-user), slots given
// back however a tunnel ends, and the engine's --max-conns.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

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

// TestE2ELimitsPerIP: --max-tunnels-per-ip 2 counts h1 and h2 tunnels of one
// client address together; the third gets 429 whatever the front end,
// another address is not affected, and closing one tunnel frees a slot.
func TestE2ELimitsPerIP(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	p := startOpenProxy(t, "--max-tunnels-per-ip", "2")
	const src = "127.0.0.41"

	a := tunnelWith(t, p, false, src, target, "", "the first tunnel")
	cc := h2From(t, p, src)
	h2resp, h2pw, err := h2Connect(cc, target, nil)
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

// TestE2ELimitsPerUser: --max-tunnels-per-user 1 with authentication: a
// user's second concurrent tunnel gets 429 from any address and front end,
// another user is not affected, and closing the first frees the slot.
func TestE2ELimitsPerUser(t *testing.T) {
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

// TestE2ELimitsSlotsReleased: a tunnel slot is given back however the tunnel
// ends: a refused dial (502), or a client that leaves while the dial is
// still pending (FIN, RST, an h2 stream reset, the whole h2 conn closed),
// and the abandoned tunnel gets its access-log line. With
// --max-tunnels-per-ip 1, a slot that leaked would turn every later CONNECT
// from that address into a 429.
// Regression: 01c71f8, fixed in 437026a
func TestE2ELimitsSlotsReleased(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	closed := "127.0.0.1:" + strconv.Itoa(closedPort(t))
	const src = "127.0.0.43"
	// start gives a proxy whose resolver never answers, so a dial to a
	// name stays pending until --connect-timeout (1s) ends it, and a way
	// to wait until that dial is under way.
	start := func(t *testing.T) (*proxy, func(before int)) {
		dns, queries := silentDNS(t)
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
			cc := h2Over(t, raw)
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

// TestE2ELimitsMaxConns: with --max-conns 2 and two conns held, a third is
// closed at once without an answer on either listener and counted as
// rejected; the held tunnels are unaffected, and after one closes, a new
// conn is served.
func TestE2ELimitsMaxConns(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t, "--max-conns", "2")
	first := openTunnel(t, p, false, echo.addr())
	second := openTunnel(t, p, true, echo.addr())
	if got := p.s.eng.ActiveConns(); got != 2 {
		t.Fatalf("active conns %d, want 2", got)
	}

	for _, useTLS := range []bool{false, true} {
		raw, err := net.DialTimeout("tcp", p.addr(useTLS), 5*time.Second)
		if errors.Is(err, syscall.ECONNRESET) {
			continue // the proxy's reset won the race with connect's return
		}
		if err != nil {
			t.Fatalf("dial: %v", err) // the kernel completes the handshake; the proxy closes it
		}
		_ = raw.SetDeadline(time.Now().Add(waitLimit))
		_, _ = io.WriteString(raw, connectReq(echo.addr())) // may fail once the reset arrives
		b, err := io.ReadAll(raw)
		_ = raw.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%s: third conn not closed within %v", listenerName(useTLS), waitLimit)
		}
		if len(b) > 0 {
			t.Fatalf("%s: third conn got %q", listenerName(useTLS), b)
		}
	}
	if st := p.s.eng.Stats(); st.Rejected != 2 {
		t.Errorf("rejected %d conns, want 2", st.Rejected)
	}
	// The held tunnels are unaffected.
	for _, c := range []net.Conn{first, second} {
		if err := pingPong(c, 'x'); err != nil {
			t.Fatalf("held tunnel broken: %v", err)
		}
	}

	_ = first.Close()
	deadline := time.Now().Add(waitLimit)
	for p.s.eng.ActiveConns() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("closing a tunnel did not free its slot: active=%d", p.s.eng.ActiveConns())
		}
		time.Sleep(10 * time.Millisecond)
	}
	third := openTunnel(t, p, false, echo.addr())
	if err := pingPong(third, 'y'); err != nil {
		t.Fatal(err)
	}
	_ = third.Close()
	_ = second.Close()
}
