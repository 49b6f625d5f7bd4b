package main

// The clients and origins of the fault matrix: one tunnel interface over
// HTTP/1.1 (plain and TLS), HTTP/2 and HTTP/3, origins that misbehave on
// cue, and the leak snapshot every scenario ends with.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/sluice-proxy/sluice/relay"
	"golang.org/x/net/http2"
	"golang.org/x/sys/unix"
)

// faultTunnel is one CONNECT tunnel as its client sees it.
type faultTunnel interface {
	io.ReadWriter
	closeWrite() error // the client's half-close
	reset()            // the client aborts this tunnel only
}

// faultClient opens tunnels on one client connection (h2, h3) or one
// connection per tunnel (h1).
type faultClient interface {
	connect(t *testing.T, target string) (faultTunnel, int)
	vanish() // the client's connection dies without a goodbye
	close()
}

// faultProto names a protocol and makes its clients.
type faultProto struct {
	name string
	dial func(t *testing.T, p *proxy) faultClient
}

var faultProtos = []faultProto{
	{"h1", func(t *testing.T, p *proxy) faultClient { return &h1Fault{p: p} }},
	{"h1tls", func(t *testing.T, p *proxy) faultClient { return &h1Fault{p: p, tls: true} }},
	{"h2", func(t *testing.T, p *proxy) faultClient { return dialH2Fault(t, p, true) }},
	{"h2c", func(t *testing.T, p *proxy) faultClient { return dialH2Fault(t, p, false) }},
	{"h3", dialH3Fault},
}

// h1Fault opens one TCP (or TLS) connection per tunnel. With sni set it
// is an SNI client instead: a ClientHello for the name sni gives the
// target (a target it does not know is itself the name), then the
// tunnel's bytes; there is no answer, so its status is always 200.
type h1Fault struct {
	p     *proxy
	tls   bool
	sni   map[string]string
	conns []*net.TCPConn
}

type h1FaultTunnel struct {
	c   net.Conn
	raw *net.TCPConn
	br  *bufio.Reader
}

func (h *h1Fault) connect(t *testing.T, target string) (faultTunnel, int) {
	t.Helper()
	addr := h.p.addr(h.tls)
	if h.sni != nil {
		addr = h.p.sni()
	}
	raw, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	tcp := raw.(*net.TCPConn)
	h.conns = append(h.conns, tcp)
	_ = raw.SetDeadline(time.Now().Add(3 * waitLimit))
	if h.sni != nil {
		name, ok := h.sni[target]
		if !ok {
			name = target
		}
		if _, err := raw.Write(clientHelloRecord(t, name)); err != nil {
			t.Fatal(err)
		}
		return &h1FaultTunnel{c: raw, raw: tcp, br: bufio.NewReader(raw)}, 200
	}
	var c net.Conn = raw
	if h.tls {
		c = tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	}
	if _, err := io.WriteString(c, connectReq(target)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	return &h1FaultTunnel{c: c, raw: tcp, br: br}, resp.StatusCode
}

func (h *h1Fault) vanish() {
	for _, c := range h.conns {
		_ = c.SetLinger(0)
		_ = c.Close()
	}
}

func (h *h1Fault) close() {
	for _, c := range h.conns {
		_ = c.Close()
	}
}

func (u *h1FaultTunnel) Read(b []byte) (int, error)  { return u.br.Read(b) }
func (u *h1FaultTunnel) Write(b []byte) (int, error) { return u.c.Write(b) }

func (u *h1FaultTunnel) closeWrite() error { return closeWrite(u.c) }

func (u *h1FaultTunnel) reset() {
	_ = u.raw.SetLinger(0)
	_ = u.raw.Close()
}

// h2Fault is one HTTP/2 connection (TLS or h2c) with streams on it.
type h2Fault struct {
	raw *net.TCPConn
	cc  *http2.ClientConn
}

type h2FaultTunnel struct {
	resp *http.Response
	pw   *io.PipeWriter
}

func dialH2Fault(t *testing.T, p *proxy, useTLS bool) faultClient {
	t.Helper()
	raw, cc := dialH2(t, p.addr(useTLS), useTLS, nil)
	return &h2Fault{raw: raw, cc: cc}
}

func (h *h2Fault) connect(t *testing.T, target string) (faultTunnel, int) {
	t.Helper()
	resp, pw, err := h2Connect(h.cc, target, nil)
	if err != nil {
		t.Fatalf("h2 CONNECT %s: %v", target, err)
	}
	if resp.StatusCode != 200 {
		pw.Close()
		_ = resp.Body.Close()
	}
	return &h2FaultTunnel{resp: resp, pw: pw}, resp.StatusCode
}

func (h *h2Fault) vanish() {
	_ = h.raw.SetLinger(0)
	_ = h.raw.Close()
}

func (h *h2Fault) close() {
	_ = h.cc.Close()
	_ = h.raw.Close()
}

func (u *h2FaultTunnel) Read(b []byte) (int, error)  { return u.resp.Body.Read(b) }
func (u *h2FaultTunnel) Write(b []byte) (int, error) { return u.pw.Write(b) }
func (u *h2FaultTunnel) closeWrite() error           { return u.pw.Close() }
func (u *h2FaultTunnel) reset()                      { _ = u.resp.Body.Close() } // RST_STREAM CANCEL

// h3Fault is one QUIC connection on a UDP socket of its own, so that the
// client can vanish by closing the socket: no CONNECTION_CLOSE is sent.
type h3Fault struct {
	udp  *net.UDPConn
	tr   *quic.Transport
	conn *quic.Conn
	cc   *http3.ClientConn
}

type h3FaultTunnel struct{ rs *http3.RequestStream }

func dialH3Fault(t *testing.T, p *proxy) faultClient {
	t.Helper()
	udp, tr, conn := dialQUICOwnSocket(t, p, &quic.Config{})
	return &h3Fault{udp: udp, tr: tr, conn: conn, cc: (&http3.Transport{}).NewClientConn(conn)}
}

// dialQUICOwnSocket opens a QUIC connection to the proxy's HTTP/3
// listener from a UDP socket of its own: closing that socket makes the
// client vanish without a CONNECTION_CLOSE.
func dialQUICOwnSocket(t *testing.T, p *proxy, qc *quic.Config) (*net.UDPConn, *quic.Transport, *quic.Conn) {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tr := &quic.Transport{Conn: udp}
	to, err := net.ResolveUDPAddr("udp", p.quic)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, err := tr.Dial(ctx, to, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}, qc)
	if err != nil {
		t.Fatalf("QUIC to the proxy: %v", err)
	}
	return udp, tr, conn
}

func (h *h3Fault) connect(t *testing.T, target string) (faultTunnel, int) {
	t.Helper()
	rs, resp := h3Connect(t, h.cc, target, nil)
	return &h3FaultTunnel{rs: rs}, resp.StatusCode
}

func (h *h3Fault) vanish() {
	_ = h.udp.Close()
	_ = h.tr.Close()
}

func (h *h3Fault) close() {
	_ = h.conn.CloseWithError(0, "")
	_ = h.tr.Close()
	_ = h.udp.Close()
}

func (u *h3FaultTunnel) Read(b []byte) (int, error)  { return u.rs.Read(b) }
func (u *h3FaultTunnel) Write(b []byte) (int, error) { return u.rs.Write(b) }
func (u *h3FaultTunnel) closeWrite() error           { return u.rs.Close() }
func (u *h3FaultTunnel) reset() {
	u.rs.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
	u.rs.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
}

// watchedOrigin is a TCP origin that runs fn on each conn and tells, on
// ended, when the proxy's side of the conn is gone (fn returned after
// reading EOF or an error).
type watchedOrigin struct {
	ln    net.Listener
	ended chan error
}

func startWatchedOrigin(t *testing.T, fn func(c net.Conn) error) *watchedOrigin {
	t.Helper()
	return startWatchedOriginOn(t, listenLoopback(t), fn)
}

// startWatchedOriginOn is startWatchedOrigin on ln.
func startWatchedOriginOn(t *testing.T, ln net.Listener, fn func(c net.Conn) error) *watchedOrigin {
	t.Helper()
	o := &watchedOrigin{ended: make(chan error, 16)}
	o.ln = funcOriginOn(t, ln, func(c net.Conn) { o.ended <- fn(c) })
	return o
}

func (o *watchedOrigin) addr() string { return o.ln.Addr().String() }

// waitEnded waits for the origin to see its conn end.
func (o *watchedOrigin) waitEnded(t *testing.T, what string) error {
	t.Helper()
	select {
	case err := <-o.ended:
		return err
	case <-time.After(3 * waitLimit):
		t.Fatalf("%s: the origin's conn was still open after %v", what, 3*waitLimit)
		return nil
	}
}

// drainUntilEnd reads c until EOF or an error and returns how many bytes
// came and why it stopped (nil for EOF).
func drainUntilEnd(c net.Conn) (int64, error) {
	n, err := io.Copy(io.Discard, c)
	return n, err
}

// leaks is what must come back to where it was once a scenario is over.
type leaks struct {
	fds, goroutines int
	clients         int64
	tunnels         int64
}

func snapshot(t *testing.T, p *proxy) leaks {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var open int64
	for _, byKind := range relay.Sum(p.s.eng.Loops(), time.Second).Open {
		for _, n := range byKind {
			open += n
		}
	}
	return leaks{fds: len(ents), goroutines: liveGoroutines(), clients: p.s.eng.ActiveConns(), tunnels: open}
}

// liveGoroutines counts goroutines other than idle pool workers and test
// runners waiting for a subtest: gnet's (ants) and engine's off-loop
// workers stay a while after their job, by design, and leave on their own
// clock. A worker busy in a job has the job on top of its stack, so it
// still counts.
func liveGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	n := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		lines := bytes.SplitN(g, []byte("\n"), 3)
		if len(lines) > 1 && (bytes.Contains(lines[1], []byte("ants/v2.(*goWorker).run")) ||
			bytes.Contains(lines[1], []byte("sluice/engine.(*workers).work(")) ||
			bytes.HasPrefix(lines[1], []byte("testing.(*T).Run("))) {
			continue
		}
		n++
	}
	return n
}

// noLeaks waits (bounded) until fds and goroutines are back at base or
// below and no client conn or tunnel is open.
func noLeaks(t *testing.T, p *proxy, base leaks, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * waitLimit)
	for {
		now := snapshot(t, p)
		if now.fds <= base.fds && now.goroutines <= base.goroutines && now.clients == 0 && now.tunnels == 0 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%s: leaked: now %+v, baseline %+v\nfds:\n%s\n%s", what, now, base, fdList(), buf)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fdList names this process's open fds and what each is, with the
// loopback TCP endpoints of each socket, for a leak report.
func fdList() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		b.WriteString(e.Name() + " " + target)
		if sa, err := unix.Getsockname(fd); err == nil {
			b.WriteString(" local " + sockaddrString(sa))
		}
		if sa, err := unix.Getpeername(fd); err == nil {
			b.WriteString(" peer " + sockaddrString(sa))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	}
	return "?"
}

// isStreamError reports whether err is the reset of a tunnel: h2
// RST_STREAM with code, h3 reset with code3, or for h1 a closed socket.
func isTunnelReset(err error, code http2.ErrCode, code3 http3.ErrCode) bool {
	var se http2.StreamError
	if errors.As(err, &se) {
		return se.Code == code
	}
	var he *http3.Error
	if errors.As(err, &he) {
		return he.ErrorCode == code3
	}
	return err != nil
}

// socketFD finds this process's fd for the loopback TCP socket from local
// port local (0: any) to peer port peer: the proxy's end of a conn, as the
// test's own sockets have other peers.
func socketFD(t *testing.T, local, peer int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		la, err1 := unix.Getsockname(fd)
		pa, err2 := unix.Getpeername(fd)
		l4, ok1 := la.(*unix.SockaddrInet4)
		p4, ok2 := pa.(*unix.SockaddrInet4)
		if err1 == nil && err2 == nil && ok1 && ok2 && (local == 0 || l4.Port == local) && p4.Port == peer {
			return fd
		}
	}
	t.Fatalf("no socket from port %d to port %d among this process's fds", local, peer)
	return -1
}

// portOf is the port of a host:port address.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return int(ap.Port())
}

// clientHelloRecord is the first record of a Go TLS client's handshake
// with name as its SNI.
func clientHelloRecord(t *testing.T, name string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() { _ = tls.Client(c, &tls.Config{ServerName: name, InsecureSkipVerify: true}).Handshake() }()
	defer c.Close()
	_ = s.SetDeadline(time.Now().Add(waitLimit))
	rec, err := readTLSRecord(s)
	if err != nil {
		t.Fatalf("capturing a ClientHello: %v", err)
	}
	return rec
}

// readTLSRecord reads one TLS record, header included.
func readTLSRecord(r io.Reader) ([]byte, error) {
	rec := make([]byte, 5)
	if _, err := io.ReadFull(r, rec); err != nil {
		return nil, err
	}
	rec = append(rec, make([]byte, int(rec[3])<<8|int(rec[4]))...)
	_, err := io.ReadFull(r, rec[5:])
	return rec, err
}

// skipClientHello reads the ClientHello an SNI tunnel's origin gets first.
func skipClientHello(c net.Conn) error {
	rec, err := readTLSRecord(c)
	if err == nil && rec[0] != 0x16 {
		err = errors.New("the first record is not a handshake record")
	}
	return err
}
