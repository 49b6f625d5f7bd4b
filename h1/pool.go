package h1

import (
	"net/netip"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

// Bounds of a loop's pool of idle origin connections.
const (
	// DefaultOriginIdle is how long an idle origin connection is kept.
	DefaultOriginIdle = 30 * time.Second
	// maxIdlePerTarget and maxIdlePerLoop bound how many are kept: per
	// host:port and per event loop. A connection that finds its place
	// full is closed.
	maxIdlePerTarget = 16
	maxIdlePerLoop   = 512
)

// poolKey is where an origin connection was dialed: the admitted target,
// normalized (the address guard checks its address again at reuse).
type poolKey struct {
	host string
	port uint16
}

// originPool holds one event loop's idle origin connections, whose
// responses ended cleanly and which said nothing of closing. It belongs
// to the loop: only the loop's conns touch it, so it has no lock. The
// most recently used connection of a target is reused first, so the
// others age out.
type originPool struct {
	loop  *engine.Loop
	idle  time.Duration
	byKey map[poolKey][]*idleOrigin
	n     int
}

// pool returns the origin pool of c's loop.
func (s *Server) pool(l *engine.Loop) *originPool {
	if p, ok := s.pools.Load(l); ok {
		return p.(*originPool)
	}
	d := s.OriginIdleTimeout
	if d <= 0 {
		d = DefaultOriginIdle
	}
	p, _ := s.pools.LoadOrStore(l, &originPool{loop: l, idle: d, byKey: make(map[poolKey][]*idleOrigin)})
	return p.(*originPool)
}

// idleOrigin is an origin connection waiting in the pool. It is its
// socket's Events meanwhile: an origin has nothing to say between
// responses, so any byte, a FIN or a close ends it, as does the idle
// timeout.
type idleOrigin struct {
	p    *originPool
	key  poolKey
	end  *relay.SocketEnd
	addr netip.AddrPort
	it   engine.Idle
	gone bool
}

// put keeps end for key; it reports false (the caller closes end) when
// the pool is full or end's socket is no longer usable.
func (p *originPool) put(key poolKey, end *relay.SocketEnd) bool {
	c := end.Conn()
	if c == nil || c.Closed() || !c.CanWrite() || p.n >= maxIdlePerLoop || len(p.byKey[key]) >= maxIdlePerTarget {
		return false
	}
	e := &idleOrigin{p: p, key: key, end: end, addr: c.RemoteAddr()}
	end.Bind(e)
	end.ResumeRead() // a paused socket would not hear the origin close it
	p.byKey[key] = append(p.byKey[key], e)
	p.n++
	e.it.StartIdle(p.loop, p.idle, e)
	return true
}

// take returns the most recently pooled connection for key whose address
// check still allows, unbound, or nil.
func (p *originPool) take(key poolKey, check func(netip.Addr) error) (*relay.SocketEnd, netip.AddrPort) {
	l := p.byKey[key]
	for i := len(l) - 1; i >= 0; i-- {
		e := l[i]
		if check != nil && check(e.addr.Addr()) != nil {
			continue // the guard or the ACL changed since it was dialed
		}
		e.remove()
		return e.end, e.addr
	}
	return nil, netip.AddrPort{}
}

// remove takes e out of the pool.
func (e *idleOrigin) remove() {
	if e.gone {
		return
	}
	e.gone = true
	e.it.Stop()
	p := e.p
	l := p.byKey[e.key]
	for i, o := range l {
		if o == e {
			l = append(l[:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(p.byKey, e.key)
	} else {
		p.byKey[e.key] = l
	}
	p.n--
}

// drop removes e and closes its socket.
func (e *idleOrigin) drop() {
	if e.gone {
		return
	}
	e.remove()
	e.end.Bind(relay.Nowhere{})
	e.end.Close()
}

func (e *idleOrigin) Data([]byte)  { e.drop() } // bytes nobody asked for: the connection is out of step
func (e *idleOrigin) EOF()         { e.drop() }
func (e *idleOrigin) Drained()     {}
func (e *idleOrigin) Closed(error) { e.remove() }
func (e *idleOrigin) OnIdle()      { e.drop() }
