package relay_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

// proxy is a bare tunnel server over real sockets: every accepted conn is
// relayed to one fixed origin, with no HTTP in the way.
type proxy struct {
	eng   *engine.Engine
	addr  string
	ended chan *relay.Tunnel
}

func startProxy(t testing.TB, ecfg engine.Config, rcfg *relay.Config, origin string) *proxy {
	t.Helper()
	return startProxyWith(t, ecfg, rcfg, origin, nil)
}

func startProxyWith(t testing.TB, ecfg engine.Config, rcfg *relay.Config, origin string, tc *tls.Config) *proxy {
	t.Helper()
	ap := netip.MustParseAddrPort(origin)
	if ecfg.Workers == 0 {
		ecfg.Workers = 2
	}
	ecfg.Log = zerolog.Nop()
	p := &proxy{eng: engine.New(ecfg), ended: make(chan *relay.Tunnel, 1024)}
	c := *rcfg
	rcfg = &c
	rcfg.OnEnd = func(tun *relay.Tunnel) { p.ended <- tun }
	a, err := p.eng.Listen(engine.ListenerSpec{Addr: "127.0.0.1:0", TLS: tc, Open: func(c *engine.Conn) engine.Handler {
		tun := relay.New(rcfg, relay.OnLoop(c.Loop()), relay.Socket(c), relay.Record{})
		tun.Connect(engine.DialTarget{Host: ap.Addr().String(), Port: ap.Port(), Timeout: 5 * time.Second}, nil)
		return c.Handler()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.eng.Start(); err != nil {
		t.Fatal(err)
	}
	p.addr = a.String()
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(2 * time.Second)
		defer cancel()
		_ = p.eng.Shutdown(ctx)
	})
	return p
}

// nextEnded waits for the next tunnel to end.
func (p *proxy) nextEnded(t testing.TB) *relay.Tunnel {
	t.Helper()
	select {
	case tun := <-p.ended:
		return tun
	case <-time.After(20 * time.Second):
		t.Fatal("no tunnel ended within 20 s")
		return nil
	}
}

// origin is a loopback TCP server running fn per conn.
func origin(t testing.TB, fn func(net.Conn)) string {
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

func echo(c net.Conn) {
	defer c.Close()
	_, _ = io.Copy(c, c)
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// slowRead reads r to EOF in chunks of chunk bytes with pause between
// reads, hashing what it gets.
func slowRead(r io.Reader, chunk int, pause time.Duration) (n int64, sum [32]byte, err error) {
	h := sha256.New()
	buf := make([]byte, chunk)
	for {
		k, err := r.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if err == io.EOF {
			copy(sum[:], h.Sum(nil))
			return n, sum, nil
		}
		if err != nil {
			return n, sum, err
		}
		time.Sleep(pause)
	}
}

func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func testCert(t testing.TB) tls.Certificate {
	t.Helper()
	cert, err := engine.SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
