package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// DialTarget is where a tunnel goes.
type DialTarget struct {
	Host    string // a name or an IP literal (no brackets)
	Port    uint16
	Timeout time.Duration // resolve + connect, all addresses together
	// Check vets every resolved address before it is dialed (the private
	// address guard, ACL CIDRs). Addresses it rejects are skipped.
	Check func(netip.Addr) error
	// TLS, if set, makes a TCP upstream a TLS client: the handshake runs on
	// the dial's goroutine, within Timeout, before the socket is enrolled;
	// then its records are read and written on the loop, as an accepted TLS
	// conn's are. A failed handshake is a StageTLS error (StageTimeout
	// past Timeout) wrapping crypto/tls's.
	TLS *tls.Config
}

// DialInfo describes a dial, successful or not.
type DialInfo struct {
	Addr    netip.AddrPort // the address connected (or last tried)
	Resolve time.Duration
	Connect time.Duration
	// Reused: the upstream was taken, connected, from a front end's pool of
	// idle connections (an HTTP/1.1 origin kept alive), not dialed; engine's
	// own dials never set it.
	Reused bool
}

// DialStage says where a dial failed.
type DialStage uint8

const (
	StageResolve   DialStage = iota + 1 // no address for the name
	StageForbidden                      // every address failed Check
	StageConnect                        // refused, unreachable, reset
	StageTimeout                        // the dial's timeout passed
	StageTLS                            // connected, but the TLS handshake failed
)

func (s DialStage) String() string {
	switch s {
	case StageResolve:
		return "resolve"
	case StageForbidden:
		return "forbidden"
	case StageConnect:
		return "connect"
	case StageTimeout:
		return "timeout"
	case StageTLS:
		return "tls"
	}
	return "unknown"
}

// DialError is a failed dial.
type DialError struct {
	Stage DialStage
	Err   error
}

func (e *DialError) Error() string { return "dial " + e.Stage.String() + ": " + e.Err.Error() }
func (e *DialError) Unwrap() error { return e.Err }

// DialHandler is the handler of a socket being dialed, told once, on the
// loop, how the dial went.
type DialHandler interface {
	Handler
	// Dialed reports the upstream Conn (its handler is the DialHandler)
	// or the error.
	Dialed(up *Conn, info DialInfo, err error)
}

// Dial connects to t (TCP) off the loop and enrolls the upstream socket on
// l, so a tunnel's two halves share one goroutine. h.Dialed runs on l
// exactly once. The returned cancel abandons the dial (Dialed still runs,
// with an error). Safe from any goroutine.
func (l *Loop) Dial(t DialTarget, h DialHandler) (cancel func()) {
	fail := func(info DialInfo, err error) { h.Dialed(nil, info, err) }
	return l.dialJob(t, "tcp", fail, func(ctx context.Context, nc net.Conn, info DialInfo) {
		up := newConn(l.eng, nil, true)
		if t.TLS != nil {
			tc, tr, err := clientHandshake(ctx, nc, t.TLS)
			if err != nil {
				_ = nc.Close()
				l.exec(func() { fail(info, err) })
				return
			}
			up.tls, up.tr = tc, tr
		}
		up.h, up.loop, up.remote = h, l, info.Addr
		up.onOpen = func() { h.Dialed(up, info, nil) }
		ch, err := l.el.Enroll(gnet.NewContext(context.Background(), up), nc)
		if err != nil {
			_ = nc.Close()
			l.exec(func() { fail(info, &DialError{StageConnect, err}) })
			return
		}
		if r, ok := <-ch; !ok || r.Err != nil || r.Conn == nil {
			err := errDetach
			if ok && r.Err != nil {
				err = r.Err
			}
			l.exec(func() { fail(info, &DialError{StageConnect, err}) })
		}
	})
}

// dialJob resolves t and connects a socket of network to the first allowed
// address, off the loop: failed hears of an error on l, got receives the
// socket on the dial's goroutine.
func (l *Loop) dialJob(t DialTarget, network string, failed func(DialInfo, error), got func(context.Context, net.Conn, DialInfo)) (cancel func()) {
	ctx, cancelCtx := context.WithTimeout(context.Background(), t.Timeout)
	e := l.eng
	e.jobs.run(func() {
		defer cancelCtx()
		addrs, info, err := e.resolve(ctx, t)
		var nc net.Conn
		if err == nil {
			nc, err = e.connect(ctx, network, addrs, t.Port, &info)
		}
		if err != nil {
			l.exec(func() { failed(info, err) })
			return
		}
		got(ctx, nc, info)
	})
	return cancelCtx
}

// clientHandshake runs a TLS client handshake over nc within ctx; the
// conn's transport is then switched to the loop when it is enrolled.
func clientHandshake(ctx context.Context, nc net.Conn, conf *tls.Config) (*tls.Conn, *tlsTransport, error) {
	tr := &tlsTransport{nc: nc}
	tc := tls.Client(tr, conf)
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	err := tc.HandshakeContext(ctx)
	_ = nc.SetDeadline(time.Time{})
	if err != nil {
		var ne net.Error
		if ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
			return nil, nil, &DialError{StageTimeout, err}
		}
		return nil, nil, &DialError{StageTLS, err}
	}
	return tc, tr, nil
}

// opened runs in OnOpen of an enrolled upstream: the dial is done, and
// the handler hears of it before any byte the upstream sends.
func (c *Conn) opened() {
	if c.onOpen != nil {
		f := c.onOpen
		c.onOpen = nil
		f()
	}
}

// Lookup resolves host off the loop with the engine's resolver, within
// timeout, and tells done on l: the addresses (unmapped) and how long the
// lookup took, or a DialError (StageResolve, StageTimeout). A literal IP
// is its own answer. cancel abandons it; done still runs, with an error.
// For a check stricter than Dial's (every address, not one, must pass).
func (l *Loop) Lookup(host string, timeout time.Duration, done func(addrs []netip.Addr, took time.Duration, err error)) (cancel func()) {
	ctx, cancelCtx := context.WithTimeout(context.Background(), timeout)
	e := l.eng
	e.jobs.run(func() {
		defer cancelCtx()
		addrs, took, err := e.lookup(ctx, host)
		l.exec(func() { done(addrs, took, err) })
	})
	return cancelCtx
}

// lookup resolves host, or takes it as the literal IP it is.
func (e *Engine) lookup(ctx context.Context, host string) ([]netip.Addr, time.Duration, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, 0, nil
	}
	r := e.cfg.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	start := time.Now()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	took := time.Since(start)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, took, &DialError{StageTimeout, err}
	case err != nil:
		return nil, took, &DialError{StageResolve, err}
	case len(addrs) == 0:
		return nil, took, &DialError{StageResolve, errors.New("no addresses")}
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, took, nil
}

// resolve looks t up and vets every address with t.Check; it returns the
// addresses that may be dialed, in order.
func (e *Engine) resolve(ctx context.Context, t DialTarget) ([]netip.Addr, DialInfo, error) {
	var info DialInfo
	addrs, took, err := e.lookup(ctx, t.Host)
	info.Resolve = took
	if err != nil {
		return nil, info, err
	}
	var lastErr error
	allowed := addrs[:0:0]
	for _, a := range addrs {
		if t.Check != nil {
			if err := t.Check(a); err != nil {
				lastErr = err
				continue
			}
		}
		allowed = append(allowed, a)
	}
	if len(allowed) == 0 {
		info.Addr = netip.AddrPortFrom(addrs[0], t.Port)
		return nil, info, &DialError{StageForbidden, lastErr}
	}
	return allowed, info, nil
}

// connect dials the addresses in turn on network ("tcp" or "udp") until
// one answers, filling in info.
func (e *Engine) connect(ctx context.Context, network string, addrs []netip.Addr, port uint16, info *DialInfo) (net.Conn, error) {
	var lastErr error
	cstart := time.Now()
	for i, a := range addrs {
		info.Addr = netip.AddrPortFrom(a, port)
		// Share what is left of the timeout among the addresses left, so
		// one black-holed address cannot use up the whole budget.
		actx, cancel := ctx, context.CancelFunc(func() {})
		if dl, ok := ctx.Deadline(); ok && len(addrs)-i > 1 {
			actx, cancel = context.WithTimeout(ctx, time.Until(dl)/time.Duration(len(addrs)-i))
		}
		d := net.Dialer{KeepAlive: -1, KeepAliveConfig: e.keepAlive()} // as for accepted conns
		d.SetMultipathTCP(false)
		if e.cfg.Bind.IsValid() && e.cfg.Bind.Is4() == a.Is4() {
			if network == "udp" {
				d.LocalAddr = &net.UDPAddr{IP: e.cfg.Bind.AsSlice()}
			} else {
				d.LocalAddr = &net.TCPAddr{IP: e.cfg.Bind.AsSlice()}
			}
		}
		nc, err := d.DialContext(actx, network, info.Addr.String())
		cancel()
		info.Connect = time.Since(cstart)
		if err == nil {
			return nc, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, &DialError{StageTimeout, err}
		}
	}
	var ne net.Error
	if errors.As(lastErr, &ne) && ne.Timeout() {
		return nil, &DialError{StageTimeout, lastErr}
	}
	return nil, &DialError{StageConnect, lastErr}
}

// keepAlive is the TCP keepalive of every socket: off unless
// Config.TCPKeepAlive is set.
func (e *Engine) keepAlive() net.KeepAliveConfig {
	d := e.cfg.TCPKeepAlive
	if d <= 0 {
		return net.KeepAliveConfig{Enable: false}
	}
	return net.KeepAliveConfig{Enable: true, Idle: d, Interval: max(d/3, time.Second), Count: 3}
}
