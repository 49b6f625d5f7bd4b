package relay

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// Splicing moves a proven bulk tunnel (plain TCP on both sides) off the
// event loop onto two goroutines that copy with splice(2): the kernel moves
// the bytes socket -> pipe -> socket and user space never touches them, at
// about half the CPU per byte of the loop's read+write. Idle and chatty
// tunnels stay on the loop, where they cost no goroutine, pipe or buffer.

// Splices caps and counts spliced tunnels; safe for concurrent use.
type Splices struct {
	Max int // 0: no splicing
	n   atomic.Int64

	mu   sync.Mutex
	live map[*splicing]func() // closers, for Drain
}

// Drain waits until every spliced tunnel has ended or ctx is done, then
// cuts what is left; it returns ctx.Err() if it had to cut.
func (s *Splices) Drain(ctx context.Context) error {
	if s == nil {
		return nil
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.n.Load() > 0 {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			for _, cut := range s.live {
				cut()
			}
			s.mu.Unlock()
			// The cut tunnels end on their loops, which log them; wait
			// for that, briefly.
			for wait := time.Now().Add(time.Second); s.n.Load() > 0 && time.Now().Before(wait); {
				time.Sleep(5 * time.Millisecond)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func (s *Splices) track(sp *splicing, cut func()) {
	s.mu.Lock()
	if s.live == nil {
		s.live = make(map[*splicing]func())
	}
	s.live[sp] = cut
	s.mu.Unlock()
}

func (s *Splices) untrack(sp *splicing) {
	s.mu.Lock()
	delete(s.live, sp)
	s.mu.Unlock()
}

func (s *Splices) acquire() bool {
	if s == nil || s.Max <= 0 {
		return false
	}
	// A full cap is seen with a load: a tunnel past SpliceAfter asks on
	// every read, and two atomic adds on a counter every loop shares would
	// bounce its cache line between cores for as long as the cap stays full.
	if s.n.Load() >= int64(s.Max) {
		return false
	}
	if s.n.Add(1) > int64(s.Max) {
		s.n.Add(-1)
		return false
	}
	return true
}

func (s *Splices) release() { s.n.Add(-1) }

// Active is the number of tunnels spliced now.
func (s *Splices) Active() int64 {
	if s == nil {
		return 0
	}
	return s.n.Load()
}

// maybeSplice hands the tunnel to splice goroutines once it has moved
// SpliceAfter bytes, when both sockets are quiet (nothing queued either
// way) so nothing is left behind on the loop.
func (t *Tunnel) maybeSplice() {
	cfg := t.cfg
	if !t.spliceOK || t.Rec.Up+t.Rec.Down < cfg.SpliceAfter {
		return // the per-read cost: one flag and one compare
	}
	c, u := &t.ends[client], &t.ends[upstream]
	if t.state != open || c.done || u.done || c.eof || u.eof {
		return
	}
	cc, uc := socketOf(c.end).c, socketOf(u.end).c
	if !cc.Quiet() || !uc.Quiet() || !cfg.Splices.acquire() {
		return
	}
	s := &splicing{t: t}
	t.spliceOK = false // once
	t.idle.Stop()      // the splice watches idleness itself
	// Until both sockets are off the loop, anything read is kept for the
	// splice goroutines to send first.
	cc.SetHandler(spliceHold{s, 0})
	uc.SetHandler(spliceHold{s, 1})
	cc.Detach(nil, s.arrive(0))
	uc.Detach(nil, s.arrive(1))
}

// splicing gathers a tunnel's two sockets as they leave the loop.
type splicing struct {
	// Immutable after maybeSplice.
	t *Tunnel

	// Guarded by mu: written by the loop (spliceHold) and the detach
	// callbacks, read by run once both sockets arrived.
	mu      sync.Mutex
	conn    [2]*net.TCPConn // 0: client, 1: upstream
	arrived [2]bool
	held    [2][]byte // read on the loop after the decision: 0 toward upstream, 1 toward the client
	bad     error

	// Set by whoever cuts the splice, read by run.
	idle, cut atomic.Bool
}

// arrive returns the Detach callback for socket i (nil: it never made it).
func (s *splicing) arrive(i int) func(net.Conn) {
	return func(nc net.Conn) {
		s.mu.Lock()
		if s.arrived[i] {
			s.mu.Unlock()
			if nc != nil {
				_ = nc.Close()
			}
			return
		}
		s.arrived[i] = true
		tc, _ := nc.(*net.TCPConn)
		if tc == nil && s.bad == nil {
			s.bad = errSpliceLost
		}
		s.conn[i] = tc
		done := s.arrived[0] && s.arrived[1]
		s.mu.Unlock()
		if done {
			go s.run()
		}
	}
}

var errSpliceLost = errors.New("relay: a socket was lost on its way to the splice")

// pumped is how one direction of a splice ended.
type pumped struct {
	down    bool  // upstream -> client
	err     error // nil: the source's EOF was passed on
	atWrite bool  // err came from writing toward the destination
}

// run copies both ways until both are done, then hands the tunnel's end
// back to its loop.
func (s *splicing) run() {
	t := s.t
	cli, up := s.conn[0], s.conn[1]
	var upBytes, downBytes, last atomic.Int64
	last.Store(time.Now().UnixNano())
	closeBoth := func() {
		if cli != nil {
			_ = cli.Close()
		}
		if up != nil {
			_ = up.Close()
		}
	}
	res := make(chan pumped, 2)
	t.cfg.Splices.track(s, func() { s.cut.Store(true); closeBoth() })
	defer t.cfg.Splices.untrack(s)
	if s.bad != nil {
		closeBoth()
		res <- pumped{err: s.bad}
		res <- pumped{down: true}
	} else {
		stop := make(chan struct{})
		defer close(stop)
		if idle := t.cfg.IdleTimeout; idle > 0 {
			go s.watchIdle(idle, &last, stop, closeBoth)
		}
		go func() { res <- pump(up, cli, s.held[0], &upBytes, &last, false) }()
		go func() { res <- pump(cli, up, s.held[1], &downBytes, &last, true) }()
	}
	reason := Reason("")
	var eofSeen [2]bool // 0: the client's, 1: the upstream's
	for range 2 {
		r := <-res
		src := 0
		if r.down {
			src = 1
		}
		// A direction toward a side that already sent its EOF may fail
		// once that side has closed: that is the end of the tunnel, not a
		// failure (a download that completed, then a close_notify that
		// found the origin gone).
		if r.err != nil && eofSeen[1-src] {
			r.err = nil
		}
		switch {
		case r.err == nil:
			eofSeen[src] = true
			if r.down && (reason == "" || reason == ReasonClientClosed) {
				reason = ReasonUpstreamEOF
			} else if reason == "" {
				reason = ReasonClientClosed
			}
		default:
			if reason == "" || reason == ReasonClientClosed {
				reason = reasonOf(r)
			}
			closeBoth() // an error either way ends both
		}
	}
	closeBoth()
	switch {
	case s.cut.Load():
		reason = ReasonShutdown
	case s.idle.Load():
		reason = ReasonIdle
	}
	end := func() {
		t.countUp(upBytes.Load())
		t.countDown(downBytes.Load())
		t.Rec.Spliced = true
		t.Rec.Reason = reason
		t.ends[client].done, t.ends[upstream].done = true, true
		t.finish()
		t.cfg.Splices.release() // after the line: Drain waits for it
	}
	if !t.loop.Exec(end) {
		t.m = nil // the loops are gone: nothing else touches t, nor reads its loop's meters
		end()
	}
}

// reasonOf names a failed direction by the side that failed it.
func reasonOf(r pumped) Reason {
	if r.down != r.atWrite { // reading the upstream, or writing toward it
		return ReasonUpstreamError
	}
	return ReasonClientError
}

// pump copies src to dst in chunks (each one spliced by the kernel),
// noting progress for the idle watch; at src's EOF it half-closes dst.
func pump(dst, src *net.TCPConn, held []byte, n, last *atomic.Int64, down bool) pumped {
	if len(held) > 0 {
		if _, err := dst.Write(held); err != nil {
			return pumped{down: down, err: err, atWrite: true}
		}
		n.Add(int64(len(held)))
	}
	for {
		k, err := io.CopyN(dst, src, 1<<20)
		if k > 0 {
			n.Add(k)
			last.Store(time.Now().UnixNano())
		}
		if err == io.EOF {
			if err := dst.CloseWrite(); err != nil {
				return pumped{down: down, err: err, atWrite: true}
			}
			return pumped{down: down}
		}
		if err != nil {
			// io.CopyN does not say which side failed; only a write fails
			// with EPIPE.
			return pumped{down: down, err: err, atWrite: errors.Is(err, syscall.EPIPE)}
		}
	}
}

// watchIdle closes the tunnel when no byte moved either way for idle.
func (s *splicing) watchIdle(idle time.Duration, last *atomic.Int64, stop <-chan struct{}, closeBoth func()) {
	tick := time.NewTicker(min(idle/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if time.Since(time.Unix(0, last.Load())) >= idle {
				s.idle.Store(true) // tells run why
				closeBoth()
				return
			}
		}
	}
}

// spliceHold is both sockets' handler between the decision and their
// departure: it keeps what they send for the splice goroutines.
type spliceHold struct {
	s *splicing
	i int // 0: the client, 1: the upstream
}

func (h spliceHold) OnData(c *engine.Conn, b []byte) int {
	h.s.mu.Lock()
	h.s.held[h.i] = append(h.s.held[h.i], b...)
	h.s.mu.Unlock()
	return len(b)
}

func (h spliceHold) OnReadEOF(c *engine.Conn)        { h.fail(c) }
func (h spliceHold) OnDrained(*engine.Conn)          {}
func (h spliceHold) OnTimeout(*engine.Conn)          {}
func (h spliceHold) OnClose(c *engine.Conn, _ error) { h.fail(c) }

// fail handles a socket that ended before it could leave the loop (its
// detach then never comes): the rendezvous ends the tunnel instead of
// splicing it.
func (h spliceHold) fail(c *engine.Conn) {
	c.Close()
	h.s.arrive(h.i)(nil)
}
