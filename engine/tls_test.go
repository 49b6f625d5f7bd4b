package engine_test

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

func testCert(t testing.TB) tls.Certificate {
	t.Helper()
	cert, err := engine.SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// manualConn hands crypto/tls only the bytes fed to it and answers
// "would block" (a Temporary net.Error) when it has none, as engine's TLS
// transport does on the event loop.
type manualConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

type tempErr struct{}

func (tempErr) Error() string   { return "would block" }
func (tempErr) Timeout() bool   { return true }
func (tempErr) Temporary() bool { return true }

func (m *manualConn) Read(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.buf) == 0 {
		return 0, tempErr{}
	}
	n := copy(p, m.buf)
	m.buf = m.buf[n:]
	return n, nil
}

// engine runs TLS records on the event loop by relying on crypto/tls
// treating a Temporary transport error as "try again later" and keeping a
// partial record. Go does not promise this; this test pins it, so a Go
// upgrade that changes it fails here first.
func TestTLSTemporaryErrorIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type dialed struct {
		c   *tls.Conn
		err error
	}
	cli := make(chan dialed, 1)
	go func() {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		cli <- dialed{c, err}
	}()
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	mc := &manualConn{Conn: raw}
	srv := tls.Server(&handshakeThenManual{manualConn: mc}, &tls.Config{Certificates: []tls.Certificate{testCert(t)}})
	if err := srv.Handshake(); err != nil {
		t.Fatal(err)
	}
	d := <-cli
	if d.err != nil {
		t.Fatal(d.err)
	}
	defer d.c.Close()
	switched.Store(mc, true)

	msg := []byte("hello through a partial record")
	if _, err := d.c.Write(msg); err != nil {
		t.Fatal(err)
	}
	_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	record := make([]byte, 4096)
	n, err := raw.Read(record)
	if err != nil {
		t.Fatal(err)
	}
	record = record[:n]

	buf := make([]byte, 256)
	mc.mu.Lock()
	mc.buf = append(mc.buf, record[:n/2]...)
	mc.mu.Unlock()
	k, err := srv.Read(buf)
	var ne net.Error
	if k != 0 || !errors.As(err, &ne) || !ne.Temporary() {
		t.Fatalf("half a record: Read = %d, %v; want 0 and the transport's temporary error", k, err)
	}
	mc.mu.Lock()
	mc.buf = append(mc.buf, record[n/2:]...)
	mc.mu.Unlock()
	k, err = srv.Read(buf)
	if err != nil || string(buf[:k]) != string(msg) {
		t.Fatalf("after the rest: Read = %q, %v; want %q (crypto/tls no longer retries after a temporary error?)", buf[:k], err, msg)
	}
	// The conn is still usable both ways.
	if _, err := srv.Write([]byte("ok")); err != nil {
		t.Fatalf("write after a temporary read error: %v", err)
	}
	_ = d.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if k, err := d.c.Read(buf); err != nil || string(buf[:k]) != "ok" {
		t.Fatalf("client read %q, %v", buf[:k], err)
	}
}

var switched sync.Map // *manualConn -> true once past the handshake

// handshakeThenManual reads the socket during the handshake and the fed
// buffer after it.
type handshakeThenManual struct{ *manualConn }

func (h *handshakeThenManual) Read(p []byte) (int, error) {
	if _, ok := switched.Load(h.manualConn); ok {
		return h.manualConn.Read(p)
	}
	return h.manualConn.Conn.Read(p)
}

// One Conn.Write larger than the TLS write batch (and one small one after
// it) reaches the client whole and in order.
func TestTLSLargeWriteArrivesWhole(t *testing.T) {
	data := randomBytes(t, 300<<10)
	tail := []byte("tail")
	a := serveTLS(t, engine.Config{Workers: 1}, func(c *engine.Conn) engine.Handler {
		c.Write(data)
		c.Write(tail)
		c.CloseAfterFlush()
		return greeter{}
	})
	c := tls.Client(dial(t, a), &tls.Config{InsecureSkipVerify: true})
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(data)+len(tail))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got[:len(data)]) != sha256.Sum256(data) || string(got[len(data):]) != string(tail) {
		t.Fatal("bytes differ")
	}
}

// echoAtEOF keeps what its conn sends and, at the peer's end of data,
// answers it all back and closes once that is out.
type echoAtEOF struct {
	got  []byte
	eofs int
}

func (h *echoAtEOF) OnData(c *engine.Conn, b []byte) int { h.got = append(h.got, b...); return len(b) }
func (h *echoAtEOF) OnReadEOF(c *engine.Conn) {
	h.eofs++
	c.Write([]byte("got " + strconv.Itoa(h.eofs) + " eof: " + string(h.got)))
	c.CloseAfterFlush()
}
func (h *echoAtEOF) OnDrained(c *engine.Conn)          {}
func (h *echoAtEOF) OnTimeout(c *engine.Conn)          {}
func (h *echoAtEOF) OnClose(c *engine.Conn, err error) {}

// close_notify ends the sender's data (RFC 8446 section 6.1), so a TLS
// client that sends it (tls.Conn.CloseWrite) and keeps reading has
// half-closed, exactly as a TCP FIN does on a plain conn: the handler hears
// of it once, and its answer still reaches the client.
func TestTLSCloseNotifyIsHalfClose(t *testing.T) {
	for _, halfClose := range []bool{true, false} {
		t.Run("half-close="+strconv.FormatBool(halfClose), func(t *testing.T) {
			a := serveTLS(t, engine.Config{Workers: 1, HalfClose: halfClose}, func(c *engine.Conn) engine.Handler { return &echoAtEOF{} })
			c := tls.Client(dial(t, a), &tls.Config{InsecureSkipVerify: true})
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte("question")); err != nil {
				t.Fatal(err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c)
			if want := "got 1 eof: question"; string(got) != want {
				t.Fatalf("after close_notify the client read %q (%v); want %q", got, err, want)
			}
		})
	}
}

// A client that speaks plain HTTP to the TLS port (Python's urllib with an
// https:// proxy sends a plain CONNECT) is told so, as Go's net/http does,
// instead of seeing a silent close.
func TestTLSPlaintextHTTPGets400(t *testing.T) {
	a := serveTLS(t, engine.Config{Workers: 1}, func(c *engine.Conn) engine.Handler { return &echoAtEOF{} })
	for _, req := range []string{"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"} {
		c := dial(t, a)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(c)
		if want := "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"; string(got) != want {
			t.Errorf("%.20q to the TLS port: got %q, want %q", req, got, want)
		}
	}
}
