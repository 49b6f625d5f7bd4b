package relay

import (
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// A Loop is the event loop a tunnel lives on and dials from. OnLoop
// adapts an engine loop; relay's tests use a fake that runs inline.
type Loop interface {
	// Exec runs fn on the loop and reports false if it never will (the
	// engine stopped). Safe from any goroutine.
	Exec(fn func()) bool
	// Dial connects to t off the loop and calls done on the loop, once,
	// with the upstream end (unbound) or the error. cancel abandons the
	// dial; done still runs, with an error.
	Dial(t engine.DialTarget, done func(up End, info engine.DialInfo, err error)) (cancel func())
	// Idle arms it to tell h on the loop whenever it goes untouched for d.
	Idle(it *engine.Idle, d time.Duration, h engine.IdleHandler)
}

// engineLoop is pointer-shaped, so a Loop made of it costs no allocation.
type engineLoop struct{ l *engine.Loop }

// OnLoop is l as a tunnel's Loop.
func OnLoop(l *engine.Loop) Loop { return engineLoop{l} }

func (e engineLoop) Exec(fn func()) bool { return e.l.Exec(fn) }

func (e engineLoop) Dial(t engine.DialTarget, done func(End, engine.DialInfo, error)) func() {
	s := &socketEnd{ev: nowhere{}}
	return e.l.Dial(t, s, func(c *engine.Conn, info engine.DialInfo, err error) {
		if err != nil {
			done(nil, info, err)
			return
		}
		s.c = c
		done(s, info, nil)
	})
}

func (e engineLoop) Idle(it *engine.Idle, d time.Duration, h engine.IdleHandler) {
	it.StartIdle(e.l, d, h)
}
