package relay

import (
	"errors"
	"net/netip"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// fakeEnd is an End that records what the tunnel does to it. Bytes written
// stay "queued" (Buffered) until the test drains them, as toward a peer
// that does not read.
type fakeEnd struct {
	ev       Events
	got      []byte   // everything written, in order
	writes   [][]byte // each Write, for datagram ends
	queued   int      // written but not yet drained
	paused   bool
	watchLow int // -1: no drain watch
	wrote    bool
	fin      bool // CloseWrite
	flushed  bool // CloseAfterFlush
	reset    bool // Close
}

func newFakeEnd() *fakeEnd { return &fakeEnd{watchLow: -1} }

func (e *fakeEnd) Bind(ev Events) { e.ev = ev }
func (e *fakeEnd) Write(p []byte) {
	e.got = append(e.got, p...)
	e.writes = append(e.writes, append([]byte(nil), p...))
	e.queued += len(p)
}
func (e *fakeEnd) Buffered() int    { return e.queued }
func (e *fakeEnd) PauseRead()       { e.paused = true }
func (e *fakeEnd) ResumeRead()      { e.paused = false }
func (e *fakeEnd) CloseWrite()      { e.fin = true }
func (e *fakeEnd) CloseAfterFlush() { e.flushed = true }
func (e *fakeEnd) Close()           { e.reset = true }
func (e *fakeEnd) WatchDrain(low int) {
	e.watchLow = low
	e.checkDrain()
}

// drain lets the peer read n queued bytes (all with n < 0).
func (e *fakeEnd) drain(n int) {
	if n < 0 || n > e.queued {
		n = e.queued
	}
	e.queued -= n
	e.checkDrain()
}

func (e *fakeEnd) checkDrain() {
	if e.watchLow >= 0 && e.queued <= e.watchLow {
		e.watchLow = -1
		e.ev.Drained()
	}
}

// fakeLoop runs everything inline; a dial waits until the test ends it.
type fakeLoop struct {
	dials   []Dialed
	target  []engine.DialTarget
	idle    func()
	idleFor time.Duration
	meters  *Meters
}

func (l *fakeLoop) Exec(fn func()) bool { fn(); return true }

func (l *fakeLoop) Meters() *Meters {
	if l.meters == nil {
		l.meters = newMeters()
	}
	return l.meters
}

func (l *fakeLoop) Dial(t engine.DialTarget, done Dialed) func() {
	l.dials = append(l.dials, done)
	l.target = append(l.target, t)
	i := len(l.dials) - 1
	return func() { l.finishDial(i, nil, errCanceled) }
}

func (l *fakeLoop) DialUDP(t engine.DialTarget, done Dialed) func() { return l.Dial(t, done) }

// Lookup answers a literal IP with itself and refuses any name: the fake
// loop has no resolver.
func (l *fakeLoop) Lookup(host string, _ time.Duration, done func([]netip.Addr, time.Duration, error)) func() {
	if ip, err := netip.ParseAddr(host); err == nil {
		done([]netip.Addr{ip.Unmap()}, 0, nil)
	} else {
		done(nil, 0, &engine.DialError{Stage: engine.StageResolve, Err: errors.New("fake loop: no resolver")})
	}
	return func() {}
}

func (l *fakeLoop) Idle(it *engine.Idle, d time.Duration, h engine.IdleHandler) {
	l.idle, l.idleFor = h.OnIdle, d
}

// finishDial ends dial i with up or err, once.
func (l *fakeLoop) finishDial(i int, up End, err error) {
	done := l.dials[i]
	if done == nil {
		return
	}
	l.dials[i] = nil
	done.Dialed(up, engine.DialInfo{}, err)
}

var errCanceled = &engine.DialError{Stage: engine.StageTimeout, Err: engineCanceled{}}

type engineCanceled struct{}

func (engineCanceled) Error() string { return "dial canceled" }

// fakeFront records the answers a tunnel gives its client.
type fakeFront struct {
	replies []int
	site    bool
	early   []byte
}

func (f *fakeFront) Reply(status int) { f.replies = append(f.replies, status) }
func (f *fakeFront) Site(early []byte) {
	f.site = true
	f.early = append([]byte(nil), early...)
}
