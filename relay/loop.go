package relay

import (
	"net/netip"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// A Loop is the event loop a tunnel lives on and dials from. OnLoop
// adapts an engine loop; relay's tests use a fake that runs inline.
type Loop interface {
	// Exec runs fn on the loop and reports false if it never will (the
	// engine stopped). Safe from any goroutine.
	Exec(fn func()) bool
	// Dial connects to t off the loop and tells d on the loop, once, the
	// upstream end (unbound) or the error. cancel abandons the dial; d
	// still hears, with an error.
	Dial(t engine.DialTarget, d Dialed) (cancel func())
	// DialUDP is Dial for a connected UDP socket.
	DialUDP(t engine.DialTarget, d Dialed) (cancel func())
	// Lookup resolves host off the loop within timeout, as a Dial would,
	// and tells done on the loop, once: every address, or the error.
	// cancel abandons it; done still runs, with an error.
	Lookup(host string, timeout time.Duration, done func(addrs []netip.Addr, took time.Duration, err error)) (cancel func())
	// Idle arms it to tell h on the loop whenever it goes untouched for d.
	Idle(it *engine.Idle, d time.Duration, h engine.IdleHandler)
	// Meters are the loop's tunnel counters; nil counts nothing.
	Meters() *Meters
}

// Dialed is told how a Loop.Dial went: a tunnel's upstream half, which is
// also the Events the upstream end will report to.
type Dialed interface {
	Events
	Dialed(up End, info engine.DialInfo, err error)
}

// engineLoop is pointer-shaped, so a Loop made of it costs no allocation.
type engineLoop struct{ l *engine.Loop }

// OnLoop is l as a tunnel's Loop.
func OnLoop(l *engine.Loop) Loop { return engineLoop{l} }

func (e engineLoop) Exec(fn func()) bool { return e.l.Exec(fn) }

func (e engineLoop) Meters() *Meters { return metersOf(e.l) }

func (e engineLoop) Dial(t engine.DialTarget, d Dialed) func() {
	// The socket reports to d from the start; d hears of the dial first.
	return e.l.Dial(t, &SocketEnd{ev: d})
}

func (e engineLoop) DialUDP(t engine.DialTarget, d Dialed) func() {
	return e.l.DialUDP(t, &packetEnd{ev: d})
}

func (e engineLoop) Lookup(host string, timeout time.Duration, done func([]netip.Addr, time.Duration, error)) func() {
	return e.l.Lookup(host, timeout, done)
}

func (e engineLoop) Idle(it *engine.Idle, d time.Duration, h engine.IdleHandler) {
	it.StartIdle(e.l, d, h)
}
