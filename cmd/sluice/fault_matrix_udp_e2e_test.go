package main

// The fault matrix of connect-udp: flows over HTTP/3 datagrams, HTTP/2
// and HTTP/1.1 capsules that end every way a client can end them, each
// followed by the leak check of the TCP matrix.

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/quic-go/masque-go"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// udpFaultClient is one client connection that carries flows.
type udpFaultClient struct {
	open   func(t *testing.T, target string) udpFlow
	vanish func() // the connection dies without a goodbye
	close  func()
}

var udpFaultProtos = []struct {
	name string
	dial func(t *testing.T, p *proxy) *udpFaultClient
}{
	{"h1", func(t *testing.T, p *proxy) *udpFaultClient {
		var flows []*capsuleFlow
		return &udpFaultClient{
			open: func(t *testing.T, target string) udpFlow {
				f, resp := h1UDP(t, p.plain, false, target, "")
				if resp.StatusCode != 101 {
					t.Fatalf("connect-udp over HTTP/1.1: status %d", resp.StatusCode)
				}
				flows = append(flows, f)
				return f
			},
			vanish: func() {
				for _, f := range flows {
					_ = f.conn.(*net.TCPConn).SetLinger(0)
					f.close()
				}
			},
			close: func() {
				for _, f := range flows {
					f.close()
				}
			},
		}
	}},
	{"h2c", func(t *testing.T, p *proxy) *udpFaultClient {
		h := dialH2Fault(t, p, false).(*h2Fault)
		return &udpFaultClient{
			open: func(t *testing.T, target string) udpFlow {
				f, resp := h2UDP(t, h.cc, p.plain, target, nil)
				if resp.StatusCode != 200 {
					t.Fatalf("connect-udp over HTTP/2: status %d", resp.StatusCode)
				}
				return f
			},
			vanish: h.vanish,
			close:  h.close,
		}
	}},
	{"h3", dialH3DatagramFault},
}

// dialH3DatagramFault is a masque-go client on a QUIC connection with a
// UDP socket of its own, so that it can vanish without CONNECTION_CLOSE.
func dialH3DatagramFault(t *testing.T, p *proxy) *udpFaultClient {
	t.Helper()
	udp, tr, conn := dialQUICOwnSocket(t, p, &quic.Config{EnableDatagrams: true, InitialPacketSize: 1350})
	cc := masque.NewClientConn((&http3.Transport{EnableDatagrams: true}).NewClientConn(conn))
	var flows []udpFlow
	return &udpFaultClient{
		open: func(t *testing.T, target string) udpFlow {
			f, resp := masqueDial(t, p, cc, target, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("connect-udp over HTTP/3: status %d", resp.StatusCode)
			}
			flows = append(flows, f)
			return f
		},
		vanish: func() { _ = udp.Close(); _ = tr.Close() },
		close: func() {
			for _, f := range flows {
				f.close()
			}
			_ = conn.CloseWithError(0, "")
			_ = tr.Close()
			_ = udp.Close()
		},
	}
}

// echoed sends datagrams until one comes back (bounded), so loss on the
// way does not fail the check that the flow carries them.
func echoed(t *testing.T, f udpFlow, p []byte) {
	t.Helper()
	for range 20 {
		if err := f.send(p); err != nil {
			t.Fatalf("send: %v", err)
		}
		if got, err := f.recv(500 * time.Millisecond); err == nil {
			if string(got) != string(p) {
				t.Fatalf("echo %q; want %q", got, p)
			}
			return
		}
	}
	t.Fatalf("no datagram came back in 20 tries")
}

// TestE2EFaultMatrixUDP: flows that are used and closed, flows to a port
// nothing listens on (the ICMP error does not end the flow), and clients
// whose connection dies with flows open; after each, fds (the flows' UDP
// sockets), goroutines, client conns and the tunnel gauge come back. Not
// parallel, like the TCP matrix.
func TestE2EFaultMatrixUDP(t *testing.T) {
	echo := startUDPEcho(t)
	closed, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "127.0.0.1:" + strconv.Itoa(closed.LocalAddr().(*net.UDPAddr).Port)
	_ = closed.Close()
	p := startOpenProxy(t, "--quic-idle-timeout", "2s")

	scenarios := []struct {
		name string
		run  func(t *testing.T, c *udpFaultClient)
	}{
		{"echo-then-close", func(t *testing.T, c *udpFaultClient) {
			f := c.open(t, echo.addr())
			echoed(t, f, []byte("datagram one"))
			f.close()
		}},
		{"unreachable-port-keeps-flow", func(t *testing.T, c *udpFaultClient) {
			dead := c.open(t, unreachable)
			for range 3 {
				if err := dead.send([]byte("to nobody")); err != nil {
					t.Fatalf("send: %v", err)
				}
			}
			// The ICMP errors came and went; the connection and its
			// other flows are untouched.
			echoed(t, c.open(t, echo.addr()), []byte("still here"))
			if err := dead.send([]byte("again")); err != nil {
				t.Fatalf("the flow to the closed port ended: %v", err)
			}
		}},
		{"client-vanishes", func(t *testing.T, c *udpFaultClient) {
			for range 2 {
				echoed(t, c.open(t, echo.addr()), []byte("before the end"))
			}
			c.vanish()
		}},
	}

	for _, pr := range udpFaultProtos {
		c := pr.dial(t, p)
		scenarios[0].run(t, c)
		c.close()
	}
	base := snapshot(t, p)
	noLeaks(t, p, base, "warm-up")
	base = snapshot(t, p)
	for _, pr := range udpFaultProtos {
		for _, sc := range scenarios {
			t.Run(pr.name+"/"+sc.name, func(t *testing.T) {
				c := pr.dial(t, p)
				t.Cleanup(c.close)
				sc.run(t, c)
				c.close()
				noLeaks(t, p, base, pr.name+"/"+sc.name)
			})
		}
	}
}
