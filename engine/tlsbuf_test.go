package engine

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// engine releases crypto/tls's record and handshake buffers by reaching
// into tls.Conn (tlsbuf.go). This pins that it knows this Go's tls.Conn,
// so a Go upgrade that renames or retypes the fields fails here, not as a
// quiet return of 3.5 KB per idle TLS conn (42 KB after a download).
func TestTLSBufferFieldsFound(t *testing.T) {
	if !tlsBuffersReleased() {
		t.Fatal("crypto/tls's rawInput/input/hand fields not found: idle TLS conns keep their buffers")
	}
}

// tlsEcho echoes what it reads and hands its conn to the test.
type tlsEcho struct{ conns chan *Conn }

func (h *tlsEcho) OnData(c *Conn, b []byte) int { c.Write(b); return len(b) }
func (h *tlsEcho) OnReadEOF(c *Conn)            { c.CloseAfterFlush() }
func (h *tlsEcho) OnDrained(c *Conn)            {}
func (h *tlsEcho) OnTimeout(c *Conn)            {}
func (h *tlsEcho) OnClose(c *Conn, err error)   {}

// recordSplitter passes the client's writes through, except while hold is
// set (or after the first write, with holdAfterFirst): then it keeps them,
// so the test can send a record in two parts, or several records at once.
type recordSplitter struct {
	net.Conn
	mu             sync.Mutex
	hold           bool
	holdAfterFirst bool
	writes         int
	kept           []byte
}

func (s *recordSplitter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if s.hold || s.holdAfterFirst && s.writes > 1 {
		s.kept = append(s.kept, p...)
		return len(p), nil
	}
	return s.Conn.Write(p)
}

// startTLSEngine runs an engine with one TLS listener on a self-signed
// certificate whose conns all get h, each handed to conns first, and
// returns the listener's address.
func startTLSEngine(t *testing.T, h Handler, conns chan<- *Conn) string {
	t.Helper()
	cert, err := SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	return startEngine(t, Config{Workers: 1, Log: zerolog.Nop()}, ListenerSpec{
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		Open: func(c *Conn) Handler {
			conns <- c
			return h
		}}).String()
}

// tlsBufCaps reads, on c's loop, the capacities and lengths of the buffers
// crypto/tls holds for c.
func tlsBufCaps(t *testing.T, c *Conn) (rawCap, rawLen, handCap int) {
	t.Helper()
	done := make(chan struct{})
	c.Exec(func() {
		raw := tlsRawInput(c.tls)
		rawCap, rawLen, handCap = raw.Cap(), raw.Len(), tlsHand(c.tls).Cap()
		close(done)
	})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Exec did not run within 10 s")
	}
	return
}

// A TLS conn holds crypto/tls's record buffer only while a partial record
// waits for its rest, and no handshake buffer once the handshake is done;
// the bytes still all arrive, in order, small and full-size records alike.
func TestTLSIdleConnHoldsNoRecordBuffers(t *testing.T) {
	if !tlsBuffersReleased() {
		t.Skip("buffers not released on this Go")
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) { testTLSIdleConnBuffers(t, v) })
	}
}

func testTLSIdleConnBuffers(t *testing.T, version uint16) {
	h := &tlsEcho{conns: make(chan *Conn, 2)}
	addr := startTLSEngine(t, h, h.conns)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	split := &recordSplitter{Conn: nc}
	cc := tls.Client(split, &tls.Config{InsecureSkipVerify: true, MaxVersion: version})
	_ = cc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := cc.Handshake(); err != nil {
		t.Fatal(err)
	}
	var sc *Conn
	select {
	case sc = <-h.conns:
	case <-time.After(10 * time.Second):
		t.Fatal("no conn")
	}
	echo := func(msg []byte) {
		t.Helper()
		if _, err := cc.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(cc, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("echo of %d bytes differs", len(msg))
		}
	}
	idle := func(when string) {
		t.Helper()
		if rawCap, _, handCap := tlsBufCaps(t, sc); rawCap != 0 || handCap != 0 {
			t.Fatalf("%s: idle conn holds a %d B record buffer and a %d B handshake buffer; want none", when, rawCap, handCap)
		}
	}
	idle("after the handshake")

	echo([]byte("small"))
	idle("after a small record")

	big := make([]byte, 200<<10) // full-size records, more than one read's worth
	for i := range big {
		big[i] = byte(i * 7)
	}
	echo(big)
	idle("after full-size records")

	// A record in two parts: the first part stays with the conn, and the
	// rest completes it.
	msg := []byte("a record sent in two parts")
	split.mu.Lock()
	split.hold = true
	split.mu.Unlock()
	if _, err := cc.Write(msg); err != nil {
		t.Fatal(err)
	}
	split.mu.Lock()
	split.hold = false
	rec := split.kept
	split.mu.Unlock()
	if _, err := nc.Write(rec[:10]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rawCap, rawLen, _ := tlsBufCaps(t, sc)
		if rawLen == 10 && rawCap > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the partial record is not held: %d of %d B", rawLen, rawCap)
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := nc.Write(rec[10:]); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(cc, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo of the split record: %q, want %q", got, msg)
	}
	idle("after the split record")

	// close_notify still ends the client's side, and the answer before it
	// still arrives.
	if _, err := cc.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	if err := cc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(cc)
	if string(rest) != "last" {
		t.Fatalf("after close_notify the client read %q (%v); want %q", rest, err, "last")
	}

	// The client's Finished and its first record in one segment: the
	// handshake reads both, and the loop delivers the record. (A TLS 1.2
	// client waits for the server's Finished before it sends data.)
	if version != tls.VersionTLS13 {
		return
	}
	nc2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	split2 := &recordSplitter{Conn: nc2, holdAfterFirst: true}
	cc2 := tls.Client(split2, &tls.Config{InsecureSkipVerify: true, MaxVersion: version})
	_ = cc2.SetDeadline(time.Now().Add(10 * time.Second))
	if err := cc2.Handshake(); err != nil {
		t.Fatal(err)
	}
	first := []byte("sent with the Finished")
	if _, err := cc2.Write(first); err != nil {
		t.Fatal(err)
	}
	split2.mu.Lock()
	kept := split2.kept
	split2.holdAfterFirst = false
	split2.mu.Unlock()
	if _, err := nc2.Write(kept); err != nil {
		t.Fatal(err)
	}
	got = make([]byte, len(first))
	if _, err := io.ReadFull(cc2, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, first) {
		t.Fatalf("the record sent with the Finished came back as %q", got)
	}
	sc = <-h.conns
	idle("after the record sent with the Finished")
}

// BenchmarkTLSEcho measures what lending and reclaiming the record buffer
// costs per read: round trips of 64 B and of 64 KB through an echoing TLS
// conn, with the buffers released (as engine runs) and kept (as crypto/tls
// keeps them).
func BenchmarkTLSEcho(b *testing.B) {
	cert, err := SelfSignedCert()
	if err != nil {
		b.Fatal(err)
	}
	for _, release := range []bool{true, false} {
		for _, size := range []int{64, 64 << 10} {
			name := "release=" + map[bool]string{true: "on", false: "off"}[release] + "/size=" + map[int]string{64: "64B", 64 << 10: "64KB"}[size]
			b.Run(name, func(b *testing.B) {
				saved := tlsBufs.ok
				tlsBufs.ok = saved && release
				defer func() { tlsBufs.ok = saved }()
				a := startEngine(b, Config{Workers: 1, Log: zerolog.Nop()}, ListenerSpec{
					TLS:  &tls.Config{Certificates: []tls.Certificate{cert}},
					Open: func(c *Conn) Handler { return &tlsEcho{} }})
				cc, err := tls.Dial("tcp", a.String(), &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					b.Fatal(err)
				}
				defer cc.Close()
				msg, got := make([]byte, size), make([]byte, size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := cc.Write(msg); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(cc, got); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// upDialer is the handler of a TLS upstream: it hands the conn over once
// dialed and passes on what it reads.
type upDialer struct {
	up  chan *Conn
	got chan []byte
}

func (h *upDialer) Dialed(up *Conn, _ DialInfo, err error) {
	if err != nil {
		up = nil
	}
	h.up <- up
}
func (h *upDialer) OnData(_ *Conn, b []byte) int { h.got <- append([]byte(nil), b...); return len(b) }
func (h *upDialer) OnReadEOF(*Conn)              {}
func (h *upDialer) OnDrained(*Conn)              {}
func (h *upDialer) OnTimeout(*Conn)              {}
func (h *upDialer) OnClose(*Conn, error)         {}

// A TLS upstream, whose client handshake read the server's certificate
// chain, holds no buffers of it once on the loop, nor any after a read.
func TestTLSIdleUpstreamHoldsNoRecordBuffers(t *testing.T) {
	if !tlsBuffersReleased() {
		t.Skip("buffers not released on this Go")
	}
	cert, err := SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	h := &tlsEcho{conns: make(chan *Conn, 1)}
	a := startEngine(t, Config{Workers: 1, Log: zerolog.Nop()}, ListenerSpec{Open: func(c *Conn) Handler {
		h.conns <- c
		return h
	}})
	nc, err := net.Dial("tcp", a.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := <-h.conns
	port := ln.Addr().(*net.TCPAddr).Port
	d := &upDialer{up: make(chan *Conn, 1), got: make(chan []byte, 64)}
	c.Loop().Dial(DialTarget{Host: "127.0.0.1", Port: uint16(port), Timeout: 5 * time.Second,
		TLS: &tls.Config{InsecureSkipVerify: true}}, d)
	up := <-d.up
	if up == nil {
		t.Fatal("TLS dial failed")
	}
	idle := func(when string) {
		t.Helper()
		if rawCap, _, handCap := tlsBufCaps(t, up); rawCap != 0 || handCap != 0 {
			t.Fatalf("%s: idle upstream holds a %d B record buffer and a %d B handshake buffer; want none", when, rawCap, handCap)
		}
	}
	idle("after the handshake")
	msg := make([]byte, 100<<10)
	for i := range msg {
		msg[i] = byte(i * 13)
	}
	up.Exec(func() { up.Write(msg) })
	var got []byte
	for len(got) < len(msg) {
		select {
		case b := <-d.got:
			got = append(got, b...)
		case <-time.After(10 * time.Second):
			t.Fatalf("the echo through the upstream stopped at %d of %d bytes", len(got), len(msg))
		}
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("the echo through the upstream differs")
	}
	idle("after full-size records")
}
