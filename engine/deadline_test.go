package engine_test

import (
	"net"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// timeoutHandler reports each OnTimeout, when it ran.
type timeoutHandler struct {
	conns    chan *engine.Conn
	timeouts chan time.Time
}

func (h *timeoutHandler) OnData(c *engine.Conn, b []byte) int { return len(b) }
func (h *timeoutHandler) OnReadEOF(c *engine.Conn)            {}
func (h *timeoutHandler) OnDrained(c *engine.Conn)            {}
func (h *timeoutHandler) OnTimeout(c *engine.Conn)            { h.timeouts <- time.Now() }
func (h *timeoutHandler) OnClose(c *engine.Conn, err error)   {}

func startTimeoutEngine(tb testing.TB) (string, *timeoutHandler) {
	tb.Helper()
	h := &timeoutHandler{conns: make(chan *engine.Conn, 1), timeouts: make(chan time.Time, 16)}
	_, addr := serve(tb, engine.Config{Workers: 1}, engine.ListenerSpec{Open: func(c *engine.Conn) engine.Handler {
		h.conns <- c
		return h
	}})
	return addr, h
}

// A deadline fires once, a deadline moved later fires at the later time
// only, and a cleared one never.
func TestDeadlineFiresOnce(t *testing.T) {
	addr, h := startTimeoutEngine(t)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := <-h.conns
	var set time.Time
	onLoop(t, c, func() {
		c.SetDeadline(time.Now().Add(20 * time.Millisecond))
		set = time.Now().Add(200 * time.Millisecond)
		c.SetDeadline(set) // moved: only this one counts
	})
	select {
	case at := <-h.timeouts:
		if at.Before(set) {
			t.Fatalf("fired %v before its (moved) deadline", set.Sub(at))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the deadline never fired")
	}
	onLoop(t, c, func() {
		c.SetDeadline(time.Now().Add(50 * time.Millisecond))
		c.SetDeadline(time.Time{})
	})
	onLoop(t, c, func() { c.SetDeadline(time.Now().Add(100 * time.Millisecond)) })
	<-h.timeouts // the third one; the cleared second must not have fired
	select {
	case <-h.timeouts:
		t.Fatal("a cleared deadline fired")
	case <-time.After(300 * time.Millisecond):
	}
}

// BenchmarkDeadlineLateness reports how late a deadline fires after its
// time (ms-late), the figure --header-timeout's precision rests on.
func BenchmarkDeadlineLateness(b *testing.B) {
	addr, h := startTimeoutEngine(b)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	c := <-h.conns
	var late time.Duration
	for i := 0; i < b.N; i++ {
		var at time.Time
		done := make(chan struct{})
		c.Exec(func() {
			at = time.Now().Add(30 * time.Millisecond)
			c.SetDeadline(at)
			close(done)
		})
		<-done
		late += (<-h.timeouts).Sub(at)
	}
	b.ReportMetric(float64(late.Microseconds())/1000/float64(b.N), "ms-late")
}
