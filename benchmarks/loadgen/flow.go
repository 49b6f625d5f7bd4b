package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
	"github.com/yosida95/uritemplate/v3"

	"github.com/sluice-proxy/sluice/benchmarks/internal/connectudp"
)

// flow is one connect-udp flow (RFC 9298) to the UDP origin: h3 (QUIC
// datagrams), h2 or h1 (DATAGRAM capsules), or raw (a plain UDP socket).
type flow = connectudp.Flow

// flowOpener opens flows to a UDP target through the proxy under test.
type flowOpener interface {
	OpenFlow(ctx context.Context, target string) (flow, error)
	Close()
}

// defaultUDPTemplate is RFC 9298's well-known path, which sluice serves
// by default and the masque peer is configured with.
const defaultUDPTemplate = "/.well-known/masque/udp/{target_host}/{target_port}/"

// newFlowOpener builds the flow opener for a protocol; path is the URI
// template's path, with {target_host} and {target_port}. proxy is the
// proxy's TCP address (h1, h2) or UDP address (h3); for raw it is a UDP
// relay, or empty for the origin itself.
func newFlowOpener(proto, proxy string, conns, h3Streams int, timeout time.Duration, path string) (flowOpener, error) {
	if !strings.Contains(path, "{target_host}") || !strings.Contains(path, "{target_port}") {
		return nil, fmt.Errorf("-udp-template %q needs {target_host} and {target_port}", path)
	}
	tmpl, err := uritemplate.New("https://" + proxy + path)
	if err != nil {
		return nil, fmt.Errorf("-udp-template: %w", err)
	}
	switch proto {
	case "raw":
		return &rawFlowOpener{addr: proxy, timeout: timeout}, nil
	case "h1":
		return &h1FlowOpener{addr: proxy, tmpl: tmpl, timeout: timeout}, nil
	case "h2":
		o, err := newH2Opener(proxy, conns, timeout)
		if err != nil {
			return nil, err
		}
		return &h2FlowOpener{h2Opener: o, tmpl: tmpl}, nil
	case "h3":
		o, err := newH3Opener(proxy, conns, h3Streams, timeout, true)
		if err != nil {
			return nil, err
		}
		return &h3FlowOpener{h3Opener: o, tmpl: tmpl}, nil
	}
	return nil, fmt.Errorf("-mode dgram: unknown -proto %q (want h1, h2, h3 or raw)", proto)
}

// rawFlowOpener sends plain UDP to a relay, or to the origin itself: the
// limit of this machine with no proxy at all.
type rawFlowOpener struct {
	addr    string
	timeout time.Duration
}

func (o *rawFlowOpener) OpenFlow(ctx context.Context, target string) (flow, error) {
	addr := o.addr
	if addr == "" {
		addr = target
	}
	d := net.Dialer{Timeout: o.timeout}
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	return &rawFlow{c: c}, nil
}

func (o *rawFlowOpener) Close() {}

type rawFlow struct{ c net.Conn }

func (f *rawFlow) Send(p []byte) error { _, err := f.c.Write(p); return err }
func (f *rawFlow) Close() error        { return f.c.Close() }
func (f *rawFlow) Recv(b []byte) ([]byte, error) {
	for {
		n, err := f.c.Read(b)
		if err == nil {
			return b[:n], nil
		}
		// A port unreachable for an earlier datagram: UDP goes on.
		if errors.Is(err, net.ErrClosed) || !isConnRefused(err) {
			return nil, err
		}
	}
}

func isConnRefused(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection refused")
}

// capsuleFlow carries datagrams as RFC 9297 DATAGRAM capsules (type 0,
// length, then context ID 0 and the payload) on a byte stream: an
// upgraded HTTP/1.1 connection or an HTTP/2 extended CONNECT stream. Each
// datagram is one Write (one capsule), as a client that sends each
// datagram when it has it would.
type capsuleFlow struct {
	w      io.Writer
	cp     *http3.CapsuleParser
	closer func() error
	wbuf   []byte
	once   sync.Once
	err    error
}

func newCapsuleFlow(r *bufio.Reader, w io.Writer, closer func() error) *capsuleFlow {
	// bufio.Reader is an io.ByteReader, so quicvarint reads from it
	// without a read call per byte.
	return &capsuleFlow{w: w, cp: http3.NewCapsuleParser(r), closer: closer}
}

func (f *capsuleFlow) Send(p []byte) error {
	f.wbuf = connectudp.AppendDatagram(f.wbuf[:0], p)
	_, err := f.w.Write(f.wbuf)
	return err
}

func (f *capsuleFlow) Recv(b []byte) ([]byte, error) {
	for {
		typ, cr, err := f.cp.Next()
		if err != nil {
			return nil, err
		}
		if typ != connectudp.CapsuleDatagram {
			// RFC 9297 section 3.2: unknown capsules are skipped.
			if err := cr.Discard(); err != nil {
				return nil, err
			}
			continue
		}
		id, err := quicvarint.Read(cr)
		if err != nil {
			return nil, fmt.Errorf("DATAGRAM capsule: %w", err)
		}
		if id != 0 {
			if err := cr.Discard(); err != nil {
				return nil, err
			}
			continue
		}
		n := int(min(cr.Remaining(), int64(len(b))))
		if _, err := io.ReadFull(cr, b[:n]); err != nil {
			return nil, fmt.Errorf("DATAGRAM capsule: %w", err)
		}
		if err := cr.Discard(); err != nil {
			return nil, err
		}
		return b[:n], nil
	}
}

func (f *capsuleFlow) Close() error {
	f.once.Do(func() { f.err = f.closer() })
	return f.err
}

// h1FlowOpener upgrades a new TCP connection per flow (RFC 9298 section
// 3.3): a GET with Upgrade: connect-udp, answered with 101.
type h1FlowOpener struct {
	addr    string
	tmpl    *uritemplate.Template
	timeout time.Duration
}

func (o *h1FlowOpener) OpenFlow(ctx context.Context, target string) (flow, error) {
	u, err := connectudp.ExpandTarget(o.tmpl, target)
	if err != nil {
		return nil, err
	}
	c, err := dialTCP(ctx, o.addr, o.timeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(o.timeout))
	if _, err := io.WriteString(c, connectudp.UpgradeRequest(u, o.addr)); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 16<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connect-udp response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("connect-udp refused: %s", resp.Status)
	}
	c.SetDeadline(time.Time{})
	return newCapsuleFlow(br, c, c.Close), nil
}

func (o *h1FlowOpener) Close() {}

// h2FlowOpener sends an extended CONNECT (RFC 8441, RFC 9298 section
// 3.4) with :protocol connect-udp on the h2 opener's connections, which
// count streams against the server's limit as for tunnels.
type h2FlowOpener struct {
	*h2Opener
	tmpl *uritemplate.Template
}

func (o *h2FlowOpener) OpenFlow(ctx context.Context, target string) (flow, error) {
	u, err := connectudp.ExpandTarget(o.tmpl, target)
	if err != nil {
		return nil, err
	}
	c, err := o.reserve(ctx)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(sctx, http.MethodConnect, u, pr)
	if err != nil {
		cancel()
		o.release(c)
		return nil, err
	}
	req.Header.Set(":protocol", "connect-udp")
	req.Header.Set("Capsule-Protocol", "?1")
	// The stream is cancelled if the answer does not come in time.
	timer := time.AfterFunc(o.timeout, cancel)
	var released sync.Once
	end := func() error {
		timer.Stop()
		pw.Close()
		cancel()
		released.Do(func() { o.release(c) })
		return nil
	}
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		end()
		return nil, err
	}
	if !timer.Stop() {
		resp.Body.Close()
		end()
		return nil, errors.New("connect-udp: no answer in time")
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		end()
		return nil, fmt.Errorf("connect-udp refused: %s", resp.Status)
	}
	closer := func() error {
		resp.Body.Close()
		return end()
	}
	return newCapsuleFlow(bufio.NewReaderSize(resp.Body, 16<<10), pw, closer), nil
}
