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

// A tick that finds its loop empty sends next=0 (sleep until kicked) with a
// non-blocking send into a 1-slot channel. If the ticker goroutine is not
// parked in its select at that moment (it is between l.exec and the select,
// or just not scheduled), the 0 waits in the channel; a conn that then
// opens on the loop kicks it (OnOpen -> wake, same goroutine, so strictly
// after the 0). When the select then takes the kick first and the stale 0
// second, the ticker sleeps for good although the loop has a conn: no more
// sweeps, so no idle timeout, request-head deadline or linger on that loop
// until something happens to call loop.wait. This sets up exactly that
// state (a stale 0, then a kick) several times, because select picks
// among ready cases at random.
func TestReviewTickerStaleSleepAfterKick(t *testing.T) {
	for i := 0; i < 24; i++ {
		el := &tickEL{ran: make(chan struct{}, 1)}
		e := &Engine{done: make(chan struct{})}
		l := &loop{eng: e, el: el, kick: make(chan struct{}, 1), next: make(chan time.Duration, 1)}
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
