package main

// End-to-end tests of a restart without loss: a second sluice started with
// --takeover binds the first one's addresses (SO_REUSEPORT), the first
// drains, and what that does to open tunnels, to new connections and to
// QUIC connections.

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// busyTunnel streams pseudo-random bytes into a tunnel to an echo origin
// (up to 4 KiB every 5 ms, about 400 KB/s: busy, yet 50 of them leave the
// machine's cores to the handover) until told to stop, then half-closes,
// reads the echo to its end, and compares the digests of what went in and
// what came back.
type busyTunnel struct {
	c          net.Conn
	sent, got  atomic.Int64
	sentSum    hash.Hash
	gotSum     hash.Hash
	werr, rerr error
	done       chan struct{}
}

func startBusyTunnel(c net.Conn, seed uint64, stop <-chan struct{}) *busyTunnel {
	b := &busyTunnel{c: c, sentSum: sha256.New(), gotSum: sha256.New(), done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}))
		buf := make([]byte, 4<<10)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				b.werr = closeWrite(c)
				return
			case <-tick.C:
			}
			n := 1 + rng.IntN(len(buf))
			for i := 0; i < n; i += 8 {
				v := rng.Uint64()
				for j := 0; j < 8 && i+j < n; j++ {
					buf[i+j] = byte(v >> (8 * j))
				}
			}
			if _, err := c.Write(buf[:n]); err != nil {
				b.werr = err
				return
			}
			b.sentSum.Write(buf[:n])
			b.sent.Add(int64(n))
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			b.gotSum.Write(buf[:n])
			b.got.Add(int64(n))
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				b.rerr = err
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		_ = c.Close() // as a client does once it has everything
		close(b.done)
	}()
	return b
}

// probe is one new connection made during the handover: a CONNECT, a
// short echo, a close.
type probe struct {
	start, end time.Time
	tls        bool
	err        error
}

// tcpMigrateReq reports net.ipv4.tcp_migrate_req: with it on (Linux 5.14+)
// the kernel moves connections waiting in a closing listener's accept
// queue to another socket of its SO_REUSEPORT group; off, they are reset.
func tcpMigrateReq() bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_migrate_req")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// TestE2ETakeoverNoTunnelLosesAByte: 50 tunnels (plain and TLS) stream
// data to an echo origin through a first sluice while a second one takes
// its addresses over with --takeover and the first drains (as on
// SIGTERM). Every tunnel delivers every byte both ways (sha256), the
// first's drain ends by itself once the tunnels are done, none is logged as
// cut, and new connections made before, during and after the handover are
// all served, by the second once the first has closed its listeners.
//
// One kind of failure is the kernel's, not sluice's: when a listener of a
// SO_REUSEPORT group closes, the connections in its accept queue (and
// handshakes in flight to it) are reset, unless net.ipv4.tcp_migrate_req
// is 1 (Linux 5.14+), which moves them to the group's other socket. With
// it off, a connection reset around the moment the first sluice closes its
// listeners is logged and counted instead of failing the test; with it on,
// every connection must succeed. (Measured here: with it off, 2 of 15 runs
// saw one such reset among about 270 new connections; with it on, none in
// 20 runs.)
func TestE2ETakeoverNoTunnelLosesAByte(t *testing.T) {
	echo := startEcho(t)
	a := startOpenProxy(t, "--metrics", "127.0.0.1:0")
	target := echo.addr()
	metrics := a.s.addrs["metrics"].String()

	const tunnels = 50
	stop := make(chan struct{})
	busy := make([]*busyTunnel, tunnels)
	for i := range busy {
		c := openTunnel(t, a, i%2 == 1, target)
		_ = c.SetDeadline(time.Now().Add(60 * time.Second))
		if tc, ok := c.(*tls.Conn); ok {
			_ = tc.NetConn().SetDeadline(time.Now().Add(60 * time.Second))
		}
		busy[i] = startBusyTunnel(c, uint64(i), stop)
	}
	stopped := false
	stopAll := func() {
		if !stopped {
			stopped = true
			close(stop)
		}
	}
	defer stopAll()
	// Every tunnel is moving bytes before the handover begins.
	waitFor(t, "every tunnel to carry 64 KiB", func() bool {
		for _, b := range busy {
			if b.got.Load() < 64<<10 {
				return false
			}
		}
		return true
	})

	// New connections, one after the other on each listener, all along.
	var (
		probesMu sync.Mutex
		probes   []probe
	)
	probing := make(chan struct{})
	var probeWG sync.WaitGroup
	for _, useTLS := range []bool{false, true} {
		probeWG.Add(1)
		go func() {
			defer probeWG.Done()
			for {
				select {
				case <-probing:
					return
				default:
				}
				pr := probe{start: time.Now(), tls: useTLS}
				pr.err = probeOnce(a.addr(useTLS), target, useTLS)
				pr.end = time.Now()
				probesMu.Lock()
				probes = append(probes, pr)
				probesMu.Unlock()
				time.Sleep(2 * time.Millisecond) // pacing, not synchronization
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // probes while the first is alone

	// Without --takeover, the first's metrics address is in use, as its
	// proxy addresses are (TestE2EFlagsAddressInUse).
	cfg, err := parseFlags([]string{"--listen", "127.0.0.1:0", "--listen-tls", "", "--access-log", "off", "--metrics", metrics}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := newServer(cfg, io.Discard); err != nil {
		t.Fatal(err)
	} else if err := s.start(); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("a second server on the first's --metrics address without --takeover: %v; want address already in use", err)
		_ = s.shutdown(t.Context())
	} else {
		_ = s.shutdown(t.Context())
	}

	b := startOpenProxy(t, "--takeover", "--listen", a.plain, "--listen-tls", a.tls, "--listen-quic", a.quic, "--metrics", metrics)
	time.Sleep(300 * time.Millisecond) // both listen: the kernel spreads new conns over the two

	a.stopped = true
	drainStart := time.Now()
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		drained <- a.s.shutdown(ctx)
	}()
	// The first has stopped accepting once its listeners are closed; from
	// then on only the second serves.
	acceptedA := func() int64 { return a.s.eng.Stats().Accepted }
	waitFor(t, "the first sluice to stop accepting", func() bool {
		before := acceptedA()
		time.Sleep(100 * time.Millisecond)
		return acceptedA() == before
	})
	acceptedB := b.s.eng.Stats().Accepted
	time.Sleep(500 * time.Millisecond) // probes while the first drains
	if b.s.eng.Stats().Accepted == acceptedB {
		t.Errorf("the second sluice accepted no connection while the first drained")
	}
	select {
	case err := <-drained:
		t.Fatalf("the first sluice's drain ended (%v) while %d tunnels were still streaming", err, tunnels)
	default:
	}

	// The tunnels finish: a FIN from each client, the echo's end back.
	stopAll()
	for i, bt := range busy {
		select {
		case <-bt.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("tunnel %d did not end within 30s of its client's FIN (sent %d, got back %d)", i, bt.sent.Load(), bt.got.Load())
		}
		if bt.werr != nil || bt.rerr != nil {
			t.Errorf("tunnel %d: write %v, read %v", i, bt.werr, bt.rerr)
		}
		if bt.sent.Load() != bt.got.Load() || string(bt.sentSum.Sum(nil)) != string(bt.gotSum.Sum(nil)) {
			t.Errorf("tunnel %d: sent %d bytes, got back %d, digests equal: %v", i, bt.sent.Load(), bt.got.Load(),
				string(bt.sentSum.Sum(nil)) == string(bt.gotSum.Sum(nil)))
		}
	}
	select {
	case err := <-drained:
		if err != nil {
			t.Errorf("the first sluice's drain: %v; want it to end by itself once its tunnels ended", err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("the first sluice's drain did not end within %v of its last tunnel: %d client conns still open, stats %+v",
			waitLimit, a.s.eng.ActiveConns(), a.s.eng.Stats())
	}
	drainEnd := time.Now()
	// The metrics address was taken over too, and now answers from the second.
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("--metrics on the taken-over address: %v %v", resp, err)
	} else {
		_ = resp.Body.Close()
	}
	time.Sleep(200 * time.Millisecond) // probes once the first is gone
	close(probing)
	probeWG.Wait()

	var total int64
	for _, bt := range busy {
		total += bt.sent.Load()
	}
	lines := a.waitLines("the busy tunnels", tunnels, func(l logLine) bool { return l.num("bytes_up") >= 64<<10 })
	for _, l := range lines {
		if l.str("reason") == "shutdown" || l.num("bytes_up") != l.num("bytes_down") {
			t.Errorf("a busy tunnel through the draining sluice logged %v", l)
		}
	}

	migrate := tcpMigrateReq()
	var during, after, reset int
	for _, pr := range probes {
		switch {
		case pr.start.After(drainEnd):
			after++
		case pr.end.After(drainStart):
			during++
		}
		if pr.err == nil {
			continue
		}
		at := pr.start.Sub(drainStart).Round(time.Millisecond)
		// Pending on the first's listener when it closed: begun before
		// (or just as) it closed, ended after, reset.
		if !migrate && errors.Is(pr.err, syscall.ECONNRESET) && pr.end.After(drainStart) && pr.start.Before(drainStart.Add(50*time.Millisecond)) {
			reset++
			t.Logf("a new connection (tls %v) made %v after the drain began was reset as the first sluice's listener closed (net.ipv4.tcp_migrate_req is 0): %v", pr.tls, at, pr.err)
			continue
		}
		t.Errorf("a new connection (tls %v) made %v after the drain began failed: %v", pr.tls, at, pr.err)
	}
	t.Logf("%d tunnels, %d MiB each way in all, drained in %v; %d new connections in all, %d during the drain, %d after it; %d reset by the kernel as the listener closed (tcp_migrate_req %v)",
		tunnels, total>>20, drainEnd.Sub(drainStart).Round(time.Millisecond), len(probes), during, after, reset, migrate)
	if during == 0 || after == 0 {
		t.Errorf("new connections during the drain: %d, after it: %d; want some of each", during, after)
	}
}

// h3Tunnel is one QUIC connection to the proxy with one CONNECT tunnel to
// an echo origin.
type h3Tunnel struct {
	conn *quic.Conn
	rs   *http3.RequestStream
}

// dialH3Tunnel opens a QUIC connection to addr (bounded by timeout) and a
// tunnel to target on it, or says why it could not.
func dialH3Tunnel(addr, target string, timeout time.Duration) (*h3Tunnel, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}},
		&quic.Config{HandshakeIdleTimeout: timeout, MaxIdleTimeout: 30 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("QUIC handshake: %w", err)
	}
	cc := (&http3.Transport{}).NewClientConn(conn)
	rs, err := cc.OpenRequestStream(ctx)
	if err == nil {
		req := &http.Request{Method: http.MethodConnect, Host: target, URL: &url.URL{Host: target}, Header: http.Header{}}
		if err = rs.SendRequestHeader(req.WithContext(ctx)); err == nil {
			var resp *http.Response
			if resp, err = rs.ReadResponse(); err == nil && resp.StatusCode != 200 {
				err = fmt.Errorf("CONNECT: status %d", resp.StatusCode)
			}
		}
	}
	if err != nil {
		_ = conn.CloseWithError(0, "")
		return nil, err
	}
	return &h3Tunnel{conn: conn, rs: rs}, nil
}

// ping echoes a few bytes through the tunnel within timeout.
func (h *h3Tunnel) ping(timeout time.Duration) error {
	msg := []byte("ping")
	_ = h.rs.SetDeadline(time.Now().Add(timeout))
	defer func() { _ = h.rs.SetDeadline(time.Time{}) }()
	if _, err := h.rs.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(h.rs, got); err != nil {
		return err
	}
	if string(got) != string(msg) {
		return errors.New("other bytes came back")
	}
	return nil
}

func (h *h3Tunnel) close() { _ = h.conn.CloseWithError(0, "") }

// TestE2ETakeoverQUIC measures what a --takeover does to HTTP/3. With
// SO_REUSEPORT on UDP the kernel picks a group's socket by a hash of each
// datagram's 4-tuple, over the sockets open now: once the second sluice
// has bound the port, the datagrams of about half of the first one's QUIC
// connections go to the second, which does not know them and drops them,
// so those connections stall (until their idle timeout). While the first
// drains, the new connections the kernel hashes to it are not accepted.
// Once it has closed its socket, every QUIC datagram goes to the second,
// and every new connection works. Only that last part is asserted; the
// shares are logged (they depend on the ports the hash sees).
func TestE2ETakeoverQUIC(t *testing.T) {
	echo := startEcho(t)
	// A QUIC connection whose datagrams the kernel sends to the second
	// sluice is silent to the first, which holds it (and its drain) until
	// --quic-idle-timeout: short here, so the drain ends soon.
	a := startOpenProxy(t, "--quic-idle-timeout", "3s")
	target := echo.addr()
	const n = 16
	const short = time.Second

	dialAll := func(what string) (ok int, tunnels []*h3Tunnel) {
		t.Helper()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := dialH3Tunnel(a.quic, target, short)
				if err == nil {
					err = h.ping(short)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Logf("%s: a new QUIC connection failed: %v", what, err)
					return
				}
				ok++
				tunnels = append(tunnels, h)
			}()
		}
		wg.Wait()
		return ok, tunnels
	}
	closeAll := func(ts []*h3Tunnel) {
		for _, h := range ts {
			h.close()
		}
	}

	okBefore, old := dialAll("before the takeover")
	if okBefore != n {
		t.Fatalf("%d of %d QUIC tunnels to the first sluice alone worked", okBefore, n)
	}
	b := startOpenProxy(t, "--takeover", "--listen", a.plain, "--listen-tls", a.tls, "--listen-quic", a.quic)

	survived := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, h := range old {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if h.ping(short) == nil {
				mu.Lock()
				survived++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	okOverlap, overlap := dialAll("both sluices serving")
	closeAll(overlap)

	// The first drains; one tunnel of its own keeps the drain going.
	hold, err := dialH3Tunnel(a.quic, target, short)
	for tries := 0; err != nil || hold.ping(short) != nil; tries++ {
		if tries > 20 {
			t.Fatalf("no QUIC tunnel through the first sluice to hold its drain open: %v", err)
		}
		if hold != nil {
			hold.close()
		}
		hold, err = dialH3Tunnel(a.quic, target, short)
	}
	_ = hold // may have landed on either; the old ones that survived hold the first
	a.stopped = true
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		err := a.s.shutdown(ctx)
		t.Logf("the first sluice drained in %v: %v", time.Since(start).Round(10*time.Millisecond), err)
		drained <- err
	}()
	time.Sleep(200 * time.Millisecond) // the first's HTTP/3 server has stopped accepting
	okDrain, drainTs := dialAll("the first sluice draining")
	closeAll(drainTs)

	closeAll(old)
	hold.close()
	select {
	case <-drained:
	case <-time.After(30 * time.Second):
		t.Fatal("the first sluice's drain did not end within 30s")
	}
	okAfter, after := dialAll("after the first sluice closed its socket")
	closeAll(after)
	t.Logf("QUIC over a takeover, %d connections each time: before %d/%d work; after the second bound the port %d/%d old ones still work, %d/%d new ones connect; while the first drains %d/%d new ones connect; after it closed %d/%d",
		n, okBefore, n, survived, n, okOverlap, n, okDrain, n, okAfter, n)
	if okAfter != n {
		t.Errorf("after the first sluice closed its socket %d of %d new QUIC connections worked; want all, through the second", okAfter, n)
	}
	_ = b
}
