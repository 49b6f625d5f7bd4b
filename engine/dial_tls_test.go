package engine_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// tlsDialHandler is the handler of a TLS upstream dialed by a test: it
// writes out once connected and collects what it reads.
type tlsDialHandler struct {
	out    []byte
	dialed chan error
	got    chan []byte
	closed chan error
}

func (h *tlsDialHandler) Dialed(up *engine.Conn, _ engine.DialInfo, err error) {
	if err == nil {
		if !up.IsTLS() {
			err = errors.New("the upstream is not TLS")
		}
		up.Write(h.out)
		up.CloseWrite() // close_notify, then the FIN
	}
	h.dialed <- err
}
func (h *tlsDialHandler) OnData(_ *engine.Conn, b []byte) int {
	h.got <- append([]byte(nil), b...)
	return len(b)
}
func (h *tlsDialHandler) OnReadEOF(*engine.Conn)          {}
func (h *tlsDialHandler) OnDrained(*engine.Conn)          {}
func (h *tlsDialHandler) OnTimeout(*engine.Conn)          {}
func (h *tlsDialHandler) OnClose(_ *engine.Conn, e error) { h.closed <- e }

// tlsEcho is a crypto/tls server on loopback that echoes until
// close_notify, then closes.
func tlsEcho(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
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
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestDialTLS: a DialTarget with TLS gives a TLS client conn on the loop:
// the handshake verifies the server against RootCAs, and 1 MiB written
// on the loop comes back whole through the server's echo; a server the
// roots do not vouch for fails the dial with a StageTLS error.
func TestDialTLS(t *testing.T) {
	_, addr, ctl := startCtlEngine(t)
	dial(t, addr) // a conn whose loop dials
	c := <-ctl.conns
	cert, err := engine.SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	ap := netip.MustParseAddrPort(tlsEcho(t, cert))

	want := randomBytes(t, 1<<20)
	h := &tlsDialHandler{out: want, dialed: make(chan error, 1), got: make(chan []byte, 1024), closed: make(chan error, 1)}
	c.Loop().Dial(engine.DialTarget{Host: ap.Addr().String(), Port: ap.Port(), Timeout: 5 * time.Second,
		TLS: &tls.Config{RootCAs: roots, ServerName: "localhost"}}, h)
	if err := <-h.dialed; err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	// The server closes once it has echoed everything and read the
	// close_notify; every byte is delivered before the close is.
	var got []byte
	select {
	case <-h.closed:
	case <-time.After(20 * time.Second):
		t.Fatal("the server's close after close_notify never reached the handler")
	}
	for len(h.got) > 0 {
		got = append(got, <-h.got...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the echo through the TLS upstream: %d bytes, differing from the %d written", len(got), len(want))
	}

	bad := &tlsDialHandler{dialed: make(chan error, 1), got: make(chan []byte, 1), closed: make(chan error, 1)}
	c.Loop().Dial(engine.DialTarget{Host: ap.Addr().String(), Port: ap.Port(), Timeout: 5 * time.Second,
		TLS: &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost"}}, bad)
	err = <-bad.dialed
	var de *engine.DialError
	var cv *tls.CertificateVerificationError
	if !errors.As(err, &de) || de.Stage != engine.StageTLS || !errors.As(err, &cv) {
		t.Fatalf("TLS dial to an unknown server: %v; want a StageTLS certificate verification error", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a verification failure reads as a timeout: %v", err)
	}
}
