package main

// connect-udp clients and UDP origins for the end-to-end tests: masque-go
// over HTTP/3 datagrams, and a capsule client (quic-go's capsule codec, not
// ours) over any byte stream: an HTTP/1.1 upgrade, an HTTP/2 extended
// CONNECT stream, an HTTP/3 request stream.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/masque-go"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
	"github.com/yosida95/uritemplate/v3"
	"golang.org/x/net/http2"
)

// udpOrigin is a UDP server on loopback that answers each datagram with
// reply(datagram) (none when reply returns nil), and counts what it got.
type udpOrigin struct {
	pc    *net.UDPConn
	got   atomic.Int64
	reply func(p []byte, send func([]byte))
}

func startUDPOrigin(t *testing.T, reply func(p []byte, send func([]byte))) *udpOrigin {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	o := &udpOrigin{pc: pc, reply: reply}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			o.got.Add(1)
			send := func(b []byte) { _, _ = pc.WriteToUDP(b, from) }
			o.reply(append([]byte(nil), buf[:n]...), send)
		}
	}()
	return o
}

// startUDPEcho is a UDP origin that echoes every datagram.
func startUDPEcho(t *testing.T) *udpOrigin {
	return startUDPOrigin(t, func(p []byte, send func([]byte)) { send(p) })
}

func (o *udpOrigin) addr() string { return o.pc.LocalAddr().String() }
func (o *udpOrigin) port() int    { return o.pc.LocalAddr().(*net.UDPAddr).Port }

// udpPath is the default template's path for target.
func udpPath(target string) string {
	host, port, _ := net.SplitHostPort(target)
	return "/.well-known/masque/udp/" + url.PathEscape(host) + "/" + port + "/"
}

// udpFlow is a connect-udp flow seen from the client.
type udpFlow interface {
	send(p []byte) error
	// recv returns the next datagram from the target, or an error after
	// d without one.
	recv(d time.Duration) ([]byte, error)
	close()
}

// masqueFlow is masque-go's Conn: QUIC datagrams, context ID 0. A reader
// goroutine feeds in: masque-go v0.6.0's SetReadDeadline keeps the
// cancelled context of an expired deadline, so after one timeout every
// later read fails at once; the flow uses no deadlines.
type masqueFlow struct {
	c  *masque.Conn
	in chan []byte
}

func newMasqueFlow(c *masque.Conn) *masqueFlow {
	f := &masqueFlow{c: c, in: make(chan []byte, 64)}
	go func() {
		defer close(f.in)
		for {
			buf := make([]byte, 2048)
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			f.in <- buf[:n]
		}
	}()
	return f
}

func (f *masqueFlow) send(p []byte) error { _, err := f.c.WriteTo(p, nil); return err }
func (f *masqueFlow) close()              { _ = f.c.Close() }
func (f *masqueFlow) recv(d time.Duration) ([]byte, error) {
	select {
	case p, ok := <-f.in:
		if !ok {
			return nil, errors.New("the flow ended")
		}
		return p, nil
	case <-time.After(d):
		return nil, fmt.Errorf("no datagram within %v", d)
	}
}

// h3DatagramConn opens a QUIC connection with HTTP/3 datagrams on, for
// masque-go; every flow of a test may share it.
func h3DatagramConn(t *testing.T, p *proxy) *masque.ClientConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, err := quic.DialAddr(ctx, p.quic, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}},
		&quic.Config{EnableDatagrams: true, InitialPacketSize: 1350})
	if err != nil {
		t.Fatalf("QUIC to the proxy: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseWithError(0, "") })
	return masque.NewClientConn((&http3.Transport{EnableDatagrams: true}).NewClientConn(conn))
}

// masqueDial opens a flow to target with masque-go on cc; resp is the
// proxy's answer (non-200 with a nil flow when refused).
func masqueDial(t *testing.T, p *proxy, cc *masque.ClientConn, target string, hdr http.Header) (udpFlow, *http.Response) {
	t.Helper()
	return masqueDialTemplate(t, p, cc, "/.well-known/masque/udp/{target_host}/{target_port}/", target, hdr)
}

// masqueDialTemplate is masqueDial with the path template path.
func masqueDialTemplate(t *testing.T, p *proxy, cc *masque.ClientConn, path, target string, hdr http.Header) (udpFlow, *http.Response) {
	t.Helper()
	tmpl := uritemplate.MustNew("https://" + p.quic + path)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	req, err := masque.NewRequest(ctx, tmpl, target)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header()[k] = v
	}
	c, resp, err := cc.Dial(req)
	if resp == nil {
		t.Fatalf("masque dial %s: %v", target, err)
	}
	if err != nil {
		return nil, resp
	}
	t.Cleanup(func() { _ = c.Close() })
	return newMasqueFlow(c), resp
}

// capsuleFlow carries datagrams as DATAGRAM capsules on a byte stream.
// Each capsule is written in three pieces, so the proxy sees capsules
// split across reads (and HTTP/2 or HTTP/3 DATA frames).
// Nothing reads the stream before the first recv or ended.
type capsuleFlow struct {
	w     io.Writer
	r     io.Reader
	stop  func()
	in    chan []byte
	err   chan error
	wmu   sync.Mutex
	start sync.Once
	// greaseEvery > 0 puts a reserved-type capsule before every
	// greaseEvery-th datagram (RFC 9297 section 5.4).
	greaseEvery int
	sent        int
	conn        net.Conn // HTTP/1.1: the flow's own connection
}

func newCapsuleFlow(r io.Reader, w io.Writer, stop func()) *capsuleFlow {
	return &capsuleFlow{w: w, r: r, stop: stop, in: make(chan []byte, 64), err: make(chan error, 1)}
}

func (f *capsuleFlow) read() {
	f.start.Do(func() { go f.readLoop(f.r) })
}

func (f *capsuleFlow) readLoop(r io.Reader) {
	cp := http3.NewCapsuleParser(r)
	for {
		typ, cr, err := cp.Next()
		if err != nil {
			f.err <- err
			return
		}
		body, err := io.ReadAll(cr)
		if err != nil {
			f.err <- err
			return
		}
		if typ != 0 {
			continue // RFC 9297 section 3.2: unknown capsules are skipped
		}
		id, n, err := quicvarint.Parse(body)
		if err != nil || id != 0 {
			f.err <- fmt.Errorf("DATAGRAM capsule with context ID %d (%v)", id, err)
			return
		}
		f.in <- body[n:]
	}
}

func (f *capsuleFlow) send(p []byte) error {
	f.sent++
	if f.greaseEvery > 0 && f.sent%f.greaseEvery == 0 {
		if err := f.sendCapsule(0x29*uint64(f.sent)+0x17, []byte("grease")); err != nil {
			return err
		}
	}
	return f.sendCapsule(0, append([]byte{0}, p...))
}

// sendCapsule writes one capsule of type typ in three writes.
func (f *capsuleFlow) sendCapsule(typ uint64, value []byte) error {
	b := quicvarint.Append(nil, typ)
	b = quicvarint.Append(b, uint64(len(value)))
	b = append(b, value...)
	f.wmu.Lock()
	defer f.wmu.Unlock()
	cut1, cut2 := min(1, len(b)), min(len(b)/2+1, len(b))
	for _, part := range [][]byte{b[:cut1], b[cut1:cut2], b[cut2:]} {
		if len(part) == 0 {
			continue
		}
		if _, err := f.w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// sendRaw writes bytes as they are, for malformed capsules.
func (f *capsuleFlow) sendRaw(b []byte) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	_, err := f.w.Write(b)
	return err
}

func (f *capsuleFlow) recv(d time.Duration) ([]byte, error) {
	f.read()
	select {
	case p := <-f.in:
		return p, nil
	case err := <-f.err:
		f.err <- err
		return nil, err
	case <-time.After(d):
		return nil, fmt.Errorf("no datagram within %v", d)
	}
}

// ended waits for the stream to end (EOF or reset) and returns how.
func (f *capsuleFlow) ended(d time.Duration) (error, bool) {
	f.read()
	for {
		select {
		case <-f.in:
			continue // a datagram still in flight
		case err := <-f.err:
			f.err <- err
			return err, true
		case <-time.After(d):
			return nil, false
		}
	}
}

func (f *capsuleFlow) close() { f.stop() }

// h1UDP sends a connect-udp upgrade for target (RFC 9298 section 3.3) on a
// new connection to addr and reads the response head; on 101 the flow is
// returned.
func h1UDP(t *testing.T, addr string, useTLS bool, target, extra string) (*capsuleFlow, *http.Response) {
	t.Helper()
	return h1UDPPath(t, addr, useTLS, udpPath(target), extra)
}

// h1UDPPath is h1UDP for a request-target path.
func h1UDPPath(t *testing.T, addr string, useTLS bool, path, extra string) (*capsuleFlow, *http.Response) {
	t.Helper()
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: waitLimit}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.DialTimeout("tcp", addr, waitLimit)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr +
		"\r\nConnection: Upgrade\r\nUpgrade: connect-udp\r\nCapsule-Protocol: ?1\r\n" + extra + "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("connect-udp over HTTP/1.1: response: %v", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, resp
	}
	f := newCapsuleFlow(br, c, func() { _ = c.Close() })
	f.conn = c
	return f, resp
}

// h2UDP sends an extended CONNECT for connect-udp (RFC 9298 section 3.4)
// with x/net's client on cc.
func h2UDP(t *testing.T, cc *http2.ClientConn, authority, target string, hdr http.Header) (*capsuleFlow, *http.Response) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodConnect, "https://"+authority+udpPath(target), pr)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set(":protocol", "connect-udp")
	req.Header.Set("Capsule-Protocol", "?1")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp, err := cc.RoundTrip(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("connect-udp over HTTP/2: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = pw.Close()
		return nil, resp
	}
	return newCapsuleFlow(resp.Body, pw, func() { _ = pw.Close(); cancel() }), resp
}

// h3CapsuleUDP sends a connect-udp request on a new stream of cc without
// HTTP/3 datagrams: the flow's datagrams go as capsules on the stream.
func h3CapsuleUDP(t *testing.T, cc *http3.ClientConn, authority, target string) (*capsuleFlow, *http.Response) {
	t.Helper()
	rs, err := cc.OpenRequestStream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u := &url.URL{Scheme: "https", Host: authority, Path: udpPath(target)}
	req := &http.Request{Method: http.MethodConnect, Proto: "connect-udp", Host: authority, URL: u,
		Header: http.Header{"Capsule-Protocol": {"?1"}}}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := rs.SendRequestHeader(req.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	resp, err := rs.ReadResponse()
	if err != nil {
		t.Fatalf("connect-udp over HTTP/3 stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp
	}
	return newCapsuleFlow(rs, rs, func() { rs.CancelRead(0); _ = rs.Close() }), resp
}
