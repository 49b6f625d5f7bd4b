package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/quic-go/masque-go"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
	"github.com/yosida95/uritemplate/v3"

	"github.com/sluice-proxy/sluice/benchmarks/internal/connectudp"
)

// flow is one connect-udp flow (RFC 9298) to the UDP origin. Close or
// Abort ends a pending Recv (masque-go v0.6.0's read deadlines are
// broken: once one expired, every later read fails at once).
type flow interface {
	connectudp.Flow
	// Abort ends the flow abruptly: RST, RST_STREAM, or a QUIC
	// connection closed under it.
	Abort()
}

// ---- capsules (RFC 9297 section 3.5: DATAGRAM, type 0) on a byte stream ----

type capsuleFlow struct {
	w      io.Writer
	br     *bufio.Reader
	abort  func()
	vanish func() error // nil: the carrier cannot vanish
	closer func() error
	wbuf   []byte
	rbuf   []byte
	once   sync.Once
}

func (f *capsuleFlow) Send(p []byte) error {
	f.wbuf = connectudp.AppendDatagram(f.wbuf[:0], p)
	_, err := f.w.Write(f.wbuf) // one capsule, one write
	return err
}

func (f *capsuleFlow) Recv(b []byte) ([]byte, error) {
	for {
		typ, err := quicvarint.Read(f.br)
		if err != nil {
			return nil, err
		}
		l, err := quicvarint.Read(f.br)
		if err != nil {
			return nil, noEOF(err)
		}
		if l > 1<<16 {
			return nil, fmt.Errorf("capsule of %d bytes", l)
		}
		if typ != connectudp.CapsuleDatagram {
			// Unknown capsules are skipped (RFC 9297 section 3.2).
			if _, err := f.br.Discard(int(l)); err != nil {
				return nil, noEOF(err)
			}
			continue
		}
		if cap(f.rbuf) < int(l) {
			f.rbuf = make([]byte, l)
		}
		v := f.rbuf[:l]
		if _, err := io.ReadFull(f.br, v); err != nil {
			return nil, noEOF(err)
		}
		id, n, err := quicvarint.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("DATAGRAM capsule: %w", err)
		}
		if id != 0 {
			continue
		}
		return b[:copy(b, v[n:])], nil
	}
}

// noEOF: a stream that ends inside a capsule was cut.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (f *capsuleFlow) Abort() { f.once.Do(f.abort) }

func (f *capsuleFlow) Vanish() error {
	if f.vanish == nil {
		return errors.New("this flow cannot vanish")
	}
	err := errors.New("flow already closed")
	f.once.Do(func() { err = f.vanish() })
	return err
}

func (f *capsuleFlow) Close() error {
	var err error
	f.once.Do(func() { err = f.closer() })
	return err
}

// udpH1Open upgrades a new TCP connection (RFC 9298 section 3.3).
func udpH1Open(ctx context.Context, o *h1Opener, tmpl *uritemplate.Template, target string) (flow, error) {
	u, err := connectudp.ExpandTarget(tmpl, target)
	if err != nil {
		return nil, err
	}
	_, c, err := o.dial(ctx)
	if err != nil {
		return nil, err
	}
	code, line, rest, err := roundTrip(c, connectudp.UpgradeRequest(u, o.addr))
	if err != nil {
		return nil, fmt.Errorf("connect-udp: %w", err)
	}
	if code != 101 {
		c.Close()
		return nil, &statusError{code: code, line: line}
	}
	c.SetDeadline(time.Time{})
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(rest), c), 16<<10)
	return &capsuleFlow{w: c, br: br,
		abort:  func() { c.SetLinger(0); c.Close() },
		vanish: func() error { return tcpRepairClose(c) },
		closer: c.Close}, nil
}

// udpH2Open sends an extended CONNECT (RFC 8441) with :protocol
// connect-udp on a pooled HTTP/2 connection.
func udpH2Open(ctx context.Context, p *pool[*h2Conn], tmpl *uritemplate.Template, target string, timeout time.Duration) (flow, error) {
	u, err := connectudp.ExpandTarget(tmpl, target)
	if err != nil {
		return nil, err
	}
	s, err := h2Open(ctx, p, target, u, "connect-udp", timeout)
	if err != nil {
		return nil, err
	}
	return &capsuleFlow{w: s, br: bufio.NewReaderSize(s, 16<<10), abort: s.Reset, closer: s.Close}, nil
}

// ---- HTTP/3: masque-go v0.6.0's client, QUIC DATAGRAM frames ----

// udpH3Open dials a flow with masque-go on a pooled QUIC connection, or
// on a connection of its own when dedicated is set (so that Abort can
// close the whole connection under the flow, and Vanish can take it
// away without a CONNECTION_CLOSE).
func udpH3Open(ctx context.Context, p *pool[*h3Conn], addr string, tmpl *uritemplate.Template, target string, dedicated bool, timeout time.Duration) (flow, error) {
	var sl *slot[*h3Conn]
	var c *h3Conn
	if dedicated {
		var err error
		if c, err = dialH3(ctx, addr, true, true, timeout); err != nil {
			return nil, err
		}
	} else {
		var err error
		if sl, err = p.get(ctx); err != nil {
			return nil, err
		}
		c = sl.c
	}
	release := func() {
		if sl != nil {
			p.put(sl)
		} else {
			c.close()
		}
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := masque.NewRequest(dctx, tmpl, target)
	if err != nil {
		release()
		return nil, err
	}
	// masque-go waits for the response with no bound of its own (the
	// request context bounds only opening the stream): a proxy that does
	// not answer in time loses the connection, which ends the wait.
	var late bool
	var lateMu sync.Mutex
	watchdog := time.AfterFunc(timeout, func() {
		lateMu.Lock()
		late = true
		lateMu.Unlock()
		c.qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeRequestCanceled), "no connect-udp answer")
	})
	mc, resp, err := masque.NewClientConn(c.cc).Dial(req)
	watchdog.Stop()
	if err != nil {
		release()
		lateMu.Lock()
		defer lateMu.Unlock()
		if resp != nil {
			return nil, &statusError{code: resp.StatusCode, line: resp.Status}
		}
		if late {
			return nil, fmt.Errorf("connect-udp: no answer within %v: %w", timeout, err)
		}
		return nil, err
	}
	return &masqueFlow{Masque: connectudp.Masque{Conn: mc}, c: c, dedicated: dedicated, release: release}, nil
}

// masqueFlow is a flow on masque-go's Conn; Send and Recv are
// connectudp.Masque's.
type masqueFlow struct {
	connectudp.Masque
	c         *h3Conn
	dedicated bool
	release   func()
	once      sync.Once
}

// Abort closes the flow's own QUIC connection with an error (without
// closing the flow first); on a shared connection it closes the flow.
func (f *masqueFlow) Abort() {
	f.once.Do(func() {
		if f.dedicated {
			f.c.qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeRequestCanceled), "soak: client reset")
			f.Conn.Close()
			f.release() // the transport and its socket
			return
		}
		f.Conn.Close()
		f.release()
	})
}

// Vanish takes the flow's own QUIC connection away without a word.
func (f *masqueFlow) Vanish() error {
	if !f.dedicated {
		return errors.New("udp-h3: vanish needs a connection of its own")
	}
	err := errors.New("flow already closed")
	f.once.Do(func() {
		err = f.c.vanish()
		f.Conn.Close()
	})
	return err
}

func (f *masqueFlow) Close() error {
	var err error
	f.once.Do(func() {
		err = f.Conn.Close()
		f.release()
	})
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
