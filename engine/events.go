package engine

import (
	"time"

	"github.com/panjf2000/gnet/v2"
)

// events adapts gnet's callbacks to Conns.
type events struct {
	gnet.BuiltinEventEngine
	e *Engine
}

func (ev *events) OnBoot(g gnet.Engine) gnet.Action {
	ev.e.gnetEng.Store(&g)
	close(ev.e.booted)
	return gnet.None
}

func (ev *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	c, ok := gc.Context().(*Conn)
	if !ok {
		// A probe from learnLoops: tell Start which loop this is.
		ev.e.probed <- ev.e.loopFor(gc.EventLoop())
		return nil, gnet.None
	}
	if c.closed {
		return nil, gnet.Close
	}
	if c.rs == resuming {
		c.onReenrolled(gc)
		return nil, gnet.None
	}
	c.gc = gc
	l := c.loop
	l.now = time.Now()
	l.conns[c] = struct{}{}
	c.active = l.now
	if c.tr != nil {
		c.tr.switchTo(c)
	}
	if c.upstream {
		c.opened()
	} else {
		c.h = c.ln.spec.Open(c)
	}
	if c.tls != nil && !c.closed {
		// The handshake may have read application data already.
		c.inTraffic = true
		c.readTLS(nil)
		if c.rs == parkWant || c.detachAsked() {
			c.tryPark()
		}
		c.inTraffic = false
		if c.closeGnet {
			c.closeGnet = false
			return nil, gnet.Close
		}
	}
	return nil, gnet.None
}

func (ev *events) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		_, _ = gc.Discard(-1) // a probe never speaks; ignore it if it does
		return gnet.None
	}
	if c.closed || c.gc != gc {
		return gnet.Close
	}
	c.inTraffic = true
	c.touched = true
	if c.tls != nil {
		buf, _ := gc.Next(-1)
		c.readTLS(buf)
	} else {
		buf, _ := gc.Peek(-1)
		n := c.h.OnData(c, buf)
		if n > 0 && c.gc == gc {
			_, _ = gc.Discard(n)
		}
	}
	if c.rs == parkWant || c.detachAsked() {
		c.tryPark()
	}
	c.inTraffic = false
	if c.closeGnet {
		c.closeGnet = false
		return gnet.Close
	}
	return gnet.None
}

func (ev *events) OnClose(gc gnet.Conn, err error) gnet.Action {
	if c, ok := gc.Context().(*Conn); ok {
		c.onGnetClose(gc, err)
	}
	return gnet.None
}
