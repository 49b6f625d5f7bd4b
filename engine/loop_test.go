package engine

import (
	"context"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// tickEL is a gnet.EventLoop whose Execute only reports that the ticker
// asked for a tick.
type tickEL struct {
	gnet.EventLoop
	ran chan struct{}
}

func (f *tickEL) Execute(context.Context, gnet.Runnable) error {
	select {
	case f.ran <- struct{}{}:
	default:
	}
	return nil
}

// TestTickerKickOverridesStaleSleep: a kick (a conn opened on the loop)
// that comes after a stale request to sleep (from a tick that found the
// loop empty) still gets the loop a tick, whichever of the two the
// ticker's select takes first, so sweeps (idle timeouts, request-head
// deadlines, linger) keep running on a loop that has conns. Several
// rounds, because select picks among ready cases at random.
// Regression: 09db53b, fixed in 9580d13
func TestTickerKickOverridesStaleSleep(t *testing.T) {
	for i := 0; i < 24; i++ {
		el := &tickEL{ran: make(chan struct{}, 1)}
		e := &Engine{done: make(chan struct{})}
		l := &Loop{eng: e, el: el, kick: make(chan struct{}, 1), next: make(chan time.Duration, 1)}
		l.next <- 0 // from a tick that saw no conns and no waiters
		l.wake()    // a conn opened afterwards
		go l.ticker()
		select {
		case <-el.ran:
			close(e.done)
		case <-time.After(5 * time.Second):
			close(e.done)
			t.Fatalf("round %d: a kicked loop got no tick within 5 s (restTick is %v): the stale sleep came after the kick", i, restTick)
		}
	}
}
