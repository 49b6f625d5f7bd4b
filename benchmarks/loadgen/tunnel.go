package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
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
	return &prefixConn{Conn: c, pending: rest}, nil
}

func (o *h1Opener) Close() {}

// h1Connect writes the CONNECT request and reads the response head. It
// returns any bytes that followed the head (tunnel data that arrived in the
// same read), which the caller must deliver first.
func h1Connect(c net.Conn, target string) ([]byte, error) {
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	// The response head is short; reading it in one or two calls into a
	// small buffer avoids a bufio.Reader staying between the tunnel and the
	// socket (which would hide *net.TCPConn from io.Copy).
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			return nil, errors.New("CONNECT response head too long")
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			return checkStatus(buf[:i], buf[i+4:])
		}
		if err != nil {
			return nil, fmt.Errorf("CONNECT response: %w", err)
		}
	}
}

func checkStatus(head, rest []byte) ([]byte, error) {
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	f := bytes.Fields(line)
	if len(f) < 2 || !bytes.HasPrefix(f[0], []byte("HTTP/1.")) || len(f[1]) != 3 || f[1][0] != '2' {
		return nil, fmt.Errorf("CONNECT refused: %q", line)
	}
	if len(rest) == 0 {
		return nil, nil
	}
	return append([]byte(nil), rest...), nil
}

// prefixConn delivers bytes read along with the CONNECT response first.
type prefixConn struct {
	net.Conn
	pending []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
