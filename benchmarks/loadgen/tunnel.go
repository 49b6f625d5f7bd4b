package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sluice-proxy/sluice/benchmarks/internal/httphead"
)

// tunnel is one byte stream to the origin, whatever carries it: a raw TCP
// connection, an HTTP/1.1 CONNECT tunnel (plain or inside TLS), or an
// HTTP/2 or HTTP/3 CONNECT stream.
type tunnel interface {
	io.ReadWriteCloser
	// SetDeadline bounds every blocking call, so that no loop of the tool
	// can hang on a stuck proxy.
	SetDeadline(t time.Time) error
}

// opener opens tunnels to target through the proxy under test.
type opener interface {
	Open(ctx context.Context, target string) (tunnel, error)
	Close()
}

// newOpener builds the opener for a protocol. proxy is the proxy's address;
// for raw it is the relay's address (or the origin itself when empty), for
// h3 a UDP address. conns is where h2 and h3 start (connections dialed up
// front), h3Streams the streams h3 puts on one QUIC connection.
func newOpener(proto, proxy string, conns, h3Streams int, timeout time.Duration) (opener, error) {
	switch proto {
	case "raw":
		return &rawOpener{addr: proxy, timeout: timeout}, nil
	case "h1":
		return &h1Opener{addr: proxy, timeout: timeout}, nil
	case "h1tls":
		return &h1Opener{addr: proxy, timeout: timeout, tls: insecureTLS("http/1.1")}, nil
	case "h2":
		return newH2Opener(proxy, conns, timeout)
	case "h3":
		return newH3Opener(proxy, conns, h3Streams, timeout, false)
	}
	return nil, fmt.Errorf("unknown -proto %q (want h1, h1tls, h2, h3 or raw)", proto)
}

// enablePadding makes an h2 or h3 opener ask for NaïveProxy padding on
// every CONNECT and pad the tunnels it opens (see padding.go).
func enablePadding(op opener) error {
	switch o := op.(type) {
	case *h2Opener:
		o.padding = true
	case *h3Opener:
		o.padding = true
	default:
		return errors.New("-padding needs -proto h2 or h3 (HTTP/1.1 tunnels are never padded)")
	}
	return nil
}

// insecureTLS is the client configuration for proxies: their certificates
// are self-signed, and the benchmark measures the proxy, not PKI.
func insecureTLS(alpn string) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}}
}

func dialTCP(ctx context.Context, addr string, timeout time.Duration) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// rawOpener connects straight to addr: a fixed L4 relay to the origin, or
// the origin itself when the run measures "no proxy at all".
type rawOpener struct {
	addr    string
	timeout time.Duration
}

func (o *rawOpener) Open(ctx context.Context, target string) (tunnel, error) {
	addr := o.addr
	if addr == "" {
		addr = target
	}
	return dialTCP(ctx, addr, o.timeout)
}

func (o *rawOpener) Close() {}

// h1Opener sends "CONNECT target HTTP/1.1" over TCP, or over TLS when tls
// is set, and waits for a 2xx before the tunnel is used.
type h1Opener struct {
	addr    string
	timeout time.Duration
	tls     *tls.Config
}

func (o *h1Opener) Open(ctx context.Context, target string) (tunnel, error) {
	tc, err := dialTCP(ctx, o.addr, o.timeout)
	if err != nil {
		return nil, err
	}
	var c net.Conn = tc
	deadline := time.Now().Add(o.timeout)
	c.SetDeadline(deadline)
	if o.tls != nil {
		tlc := tls.Client(tc, o.tls)
		if err := tlc.HandshakeContext(ctx); err != nil {
			tc.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
		c = tlc
	}
	rest, err := h1Connect(c, target)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	if len(rest) == 0 {
		return c.(tunnel), nil
	}
	// Tunnel bytes came with the head: they are read first.
	return &httphead.Prefixed{Conn: c, Rest: rest}, nil
}

func (o *h1Opener) Close() {}

// h1Connect writes the CONNECT request and reads the response head. It
// returns any bytes that followed the head (tunnel data that arrived in the
// same read), which the caller must deliver first.
func h1Connect(c net.Conn, target string) ([]byte, error) {
	if _, err := io.WriteString(c, httphead.ConnectRequest(target)); err != nil {
		return nil, err
	}
	// The response head is short: httphead reads it in one or two calls
	// into a small buffer and hands back what followed it.
	head, rest, err := httphead.Read(c, 1024)
	if errors.Is(err, httphead.ErrTooLong) {
		return nil, errors.New("CONNECT response head too long")
	}
	if err != nil {
		return nil, fmt.Errorf("CONNECT response: %w", err)
	}
	return checkStatus(head, rest)
}

// checkStatus accepts a 2xx answer and returns rest, the tunnel bytes
// that followed the head (nil when none did).
func checkStatus(head, rest []byte) ([]byte, error) {
	line, code, ok := httphead.StatusLine(head)
	if !ok || len(code) != 3 || code[0] != '2' {
		return nil, fmt.Errorf("CONNECT refused: %q", line)
	}
	return rest, nil
}
