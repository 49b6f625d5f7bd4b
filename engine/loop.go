package engine

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

const (
	minWaitTick = time.Millisecond
	maxWaitTick = 20 * time.Millisecond
	sweepEvery  = time.Second // idle timeouts and deadlines are enforced to this precision
	restTick    = sweepEvery
)

// Loop is one event loop: the goroutine its conns, and the tunnels between
// them, live on. Its exported methods are safe from any goroutine unless
// they say otherwise; everything else in it is owned by the loop's
// goroutine except kick and next, which the loop's ticker goroutine shares.
type Loop struct {
	eng *Engine
	el  gnet.EventLoop

	// Owned by the loop.
	conns      map[*Conn]struct{}
	waiters    map[*Conn]struct{}
	idles      []*Idle // armed idle timers; each knows its index
	packets    map[*PacketConn]struct{}
	deadlines  map[*Conn]struct{} // conns with a deadline set
	batch      []*Conn
	now        time.Time
	lastSweep  time.Time
	interval   time.Duration
	scratch    []byte // TLS plaintext; borrowed per call
	rawScratch []byte // bytes read from sockets gnet no longer holds (allocated on first use)
	tlsOut     []byte // TLS records of one Conn.Write, gathered for one write (allocated on first use)
	local      any    // the upper layers' per-loop state (relay's counters)

	// Atomic.
	load atomic.Int64 // client conns assigned to this loop

	// Shared with the ticker goroutine.
	kick chan struct{}
	next chan time.Duration
}

func newLoop(e *Engine, el gnet.EventLoop) *Loop {
	l := &Loop{
		eng:       e,
		el:        el,
		conns:     make(map[*Conn]struct{}),
		waiters:   make(map[*Conn]struct{}),
		packets:   make(map[*PacketConn]struct{}),
		deadlines: make(map[*Conn]struct{}),
		now:       time.Now(),
		interval:  minWaitTick,
		scratch:   make([]byte, 64<<10),
		kick:      make(chan struct{}, 1),
		next:      make(chan time.Duration, 1),
	}
	go l.ticker()
	return l
}

// Exec runs fn on the loop. It reports false when the engine has stopped
// and fn will never run. Safe from any goroutine.
func (l *Loop) Exec(fn func()) bool { return l.exec(fn) }

// Local and SetLocal hold one value of an upper layer's for this loop,
// such as counters its tunnels update without atomics. Only on the loop.
func (l *Loop) Local() any     { return l.local }
func (l *Loop) SetLocal(v any) { l.local = v }

// A Task is work posted to a loop again and again, such as the delivery
// of a flow's queued datagrams: it is bound once, so a post allocates
// nothing of sluice's, where Exec with a method value allocates its
// closures every time. Post is safe from any goroutine.
type Task struct {
	l  *Loop
	fn func()
}

// NewTask binds fn to l.
func (l *Loop) NewTask(fn func()) *Task { return &Task{l: l, fn: fn} }

// Run implements gnet.Runnable, on the loop.
func (t *Task) Run(context.Context) error {
	t.l.now = time.Now()
	t.fn()
	return nil
}

// Post runs the task's fn on its loop once more; false when the engine has
// stopped and it will never run.
func (t *Task) Post() bool { return t.l.execute(t) }

func (l *Loop) exec(fn func()) bool {
	return l.execute(gnet.RunnableFunc(func(context.Context) error {
		l.now = time.Now()
		fn()
		return nil
	}))
}

// execute queues r on the loop unless the engine has stopped.
func (l *Loop) execute(r gnet.Runnable) bool {
	select {
	case <-l.eng.done:
		return false
	default:
	}
	return l.el.Execute(context.Background(), r) == nil
}

// wait puts c under the loop's watch until its service says it is done:
// bytes queued on a detached socket, a pending park, a drain watch or a
// flush-then-close. gnet tells none of these, so the loop polls them, fast
// while something moves and slower while nothing does.
func (l *Loop) wait(c *Conn) {
	if c.waiting || c.closed {
		return
	}
	c.waiting = true
	l.waiters[c] = struct{}{}
	l.wake()
}

func (l *Loop) unwait(c *Conn) {
	if c.waiting {
		c.waiting = false
		delete(l.waiters, c)
	}
}

// ticker is the loop's clock: one goroutine per loop, sleeping the interval
// the last tick asked for (short while waiters exist, restTick otherwise).
func (l *Loop) ticker() {
	t := time.NewTimer(restTick)
	defer t.Stop()
	due := time.Now().Add(restTick)
	sooner := func(d time.Duration) {
		if at := time.Now().Add(max(d, minWaitTick)); at.Before(due) {
			due = at
			t.Reset(time.Until(at))
		}
	}
	for {
		select {
		case <-l.eng.done:
			return
		case <-l.kick:
			sooner(minWaitTick)
			continue
		case nd := <-l.next:
			sooner(nd) // a request for a tick by then, never a later one
			continue
		case <-t.C:
		}
		l.exec(l.tick)
		due = time.Now().Add(restTick)
		t.Reset(restTick)
	}
}

// tick services the waiters and, every sweepEvery, the timeouts.
func (l *Loop) tick() {
	if len(l.waiters) > 0 {
		l.batch = l.batch[:0]
		for c := range l.waiters {
			l.batch = append(l.batch, c)
			c.waiting = false
		}
		clear(l.waiters)
		progress := false
		eta := maxWaitTick
		for _, c := range l.batch {
			p, e := c.service()
			progress = progress || p
			if e > 0 && e < eta {
				eta = e
			}
		}
		clear(l.batch)
		if progress {
			l.interval = minWaitTick
		} else if l.interval < maxWaitTick {
			l.interval *= 2
		}
		if len(l.waiters) > 0 {
			d := min(l.interval, eta)
			if progress {
				d = max(eta, minWaitTick)
			}
			select {
			case l.next <- d:
			default:
			}
		}
	}
	l.fireDeadlines()
	if l.now.Sub(l.lastSweep) >= sweepEvery {
		l.lastSweep = l.now
		l.sweep()
	}
}

// fireDeadlines calls OnTimeout for the conns whose deadline passed and
// has the ticker wake for the next one. Deadlines are few (a request head
// being read, a TLS or HTTP/2 handshake, a drain), so a scan is cheap.
func (l *Loop) fireDeadlines() {
	if len(l.deadlines) == 0 {
		return
	}
	now := time.Now()
	var next time.Time
	for c := range l.deadlines {
		switch {
		case c.closed || c.dead.IsZero():
			delete(l.deadlines, c)
		case !now.Before(c.dead):
			c.dead = time.Time{}
			delete(l.deadlines, c)
			c.h.OnTimeout(c) // may set a new deadline: the map may grow
		case next.IsZero() || c.dead.Before(next):
			next = c.dead
		}
	}
	if !next.IsZero() {
		l.wakeAt(next)
	}
}

// wakeAt has the ticker run a tick by t, sooner than it would otherwise.
// Only on the loop, the only sender on next.
func (l *Loop) wakeAt(t time.Time) {
	d := time.Until(t)
	select {
	case old := <-l.next:
		d = min(d, old)
	default:
	}
	select {
	case l.next <- max(d, minWaitTick):
	default:
	}
}

// wake restarts the ticker of a loop that went to sleep with no conns.
func (l *Loop) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// drain tells every conn's handler that the server is draining.
func (l *Loop) drain() {
	for c := range l.conns {
		if d, ok := c.h.(Drainer); ok && !c.closed {
			d.OnDrain(c)
		}
	}
}

// cut closes every conn of the loop: the drain's time is up.
func (l *Loop) cut() {
	for c := range l.conns {
		c.closeWith(ErrShutdown)
	}
	for pc := range l.packets {
		pc.closeWith(ErrShutdown)
	}
}

// sweep fires idle timeouts, deadlines and linger expiries.
func (l *Loop) sweep() {
	now := l.now.UnixNano()
	for i := 0; i < len(l.idles); i++ {
		it := l.idles[i]
		switch {
		case it.touched:
			it.touched = false
			it.active = now
		case time.Duration(now-it.active) >= it.d:
			it.active = now
			it.h.OnIdle() // may Stop it, or another: re-check index i
			if i < len(l.idles) && l.idles[i] != it {
				i--
			}
		}
	}
	for c := range l.conns {
		switch {
		case c.closed:
			delete(l.conns, c)
		case c.flushThen == flushClose && !c.r.lingerUntil.IsZero() && !l.now.Before(c.r.lingerUntil):
			if b := c.Buffered(); !c.wshut && b < c.r.lingerBuf {
				// Still draining toward a reader that reads: give it more time.
				c.r.lingerBuf, c.r.lingerUntil = b, l.now.Add(c.eng.cfg.Linger)
				break
			}
			c.closeWith(nil) // a peer that stopped reading, or never sends its FIN
		case c.idle > 0 && c.touched:
			c.touched = false
			c.active = l.now
		case c.idle > 0 && l.now.Sub(c.active) >= c.idle:
			c.active = l.now
			c.h.OnTimeout(c)
		}
	}
}

// service does what c waits for and tells whether anything moved, and, for
// a drain watch, when the watermark should be reached at the current rate.
func (c *Conn) service() (progress bool, eta time.Duration) {
	if c.closed {
		return false, 0
	}
	if c.fd >= 0 && c.q != nil && c.q.Len() > 0 {
		progress = c.flushRaw()
		if c.q != nil && c.q.Len() > 0 {
			c.loop.wait(c)
		}
	}
	if c.rawRead && c.rs == reading && !c.closed {
		if c.readRaw() {
			progress = true
		}
		if c.rawRead && c.rs == reading && !c.closed {
			c.loop.wait(c)
		}
	}
	if (c.rs == parkWant || c.detachAsked()) && !c.closed {
		c.tryPark() // waits again itself if it cannot yet
	}
	if c.drainLow >= 0 && !c.closed {
		buf := c.Buffered()
		if buf <= c.drainLow {
			c.drainLow = -1
			c.dropRare()
			progress = true
			c.h.OnDrained(c)
		} else {
			r := c.rare()
			if r.lastBuf > buf {
				progress = true
				// Time to the watermark at the rate just seen, with margin.
				dt := c.loop.now.Sub(r.lastBufAt)
				rate := float64(r.lastBuf-buf) / float64(dt)
				eta = time.Duration(float64(buf-c.drainLow) / rate * 0.8)
			}
			r.lastBuf, r.lastBufAt = buf, c.loop.now
			c.loop.wait(c)
		}
	}
	if c.flushThen != flushNone && !c.closed {
		c.serviceFlush()
	}
	return progress, eta
}

// IdleHandler is told that its Idle went untouched for its duration.
type IdleHandler interface{ OnIdle() }

// Idle tells a handler on its loop once it has not been touched for a
// while: the idle timeout of something that is not one Conn (a tunnel).
// Like a Conn's idle timeout it is checked by the loop's sweep, to that
// precision, and costs no timer: an entry in the loop's list. Its methods
// are loop-only.
type Idle struct {
	l       *Loop
	h       IdleHandler
	d       time.Duration
	active  int64 // UnixNano when the sweep last saw activity
	i       int32 // index in l.idles
	touched bool  // activity since the last sweep: a flag, so the data path reads no clock
}

// StartIdle arms it on l: h.OnIdle runs on the loop each time d passes
// without Touch, until Stop. d <= 0 does nothing.
func (it *Idle) StartIdle(l *Loop, d time.Duration, h IdleHandler) {
	if d <= 0 || it.l != nil {
		return
	}
	it.l, it.h, it.d, it.active = l, h, d, l.now.UnixNano()
	it.i = int32(len(l.idles))
	l.idles = append(l.idles, it)
}

// Touch counts as activity.
func (it *Idle) Touch() { it.touched = true }

// Stop disarms it.
func (it *Idle) Stop() {
	l := it.l
	if l == nil {
		return
	}
	last := len(l.idles) - 1
	moved := l.idles[last]
	l.idles[it.i] = moved
	moved.i = it.i
	l.idles[last] = nil
	l.idles = l.idles[:last]
	it.l, it.h = nil, nil
}
