package main

import (
	"context"
	"sync"
)

// muxConn is a connection that carries many tunnels: an HTTP/2 TLS
// connection or a QUIC connection.
type muxConn interface {
	usable() bool // not closing or closed
	close()
}

// pool spreads streams over connections, at most max on each (the
// server's limit or the tool's, whichever is lower), and dials another
// connection when all are full. A connection is retired after it carried
// reuse streams and closed once its last one ended, so that connections
// churn too. The tool counts streams itself instead of letting the client
// library wait for a free one: a CONNECT waiting for a stream that a
// stuck tunnel holds would wait with no bound.
type pool[C muxConn] struct {
	dial  func(ctx context.Context) (C, int, error) // the connection and its stream limit
	reuse int

	mu    sync.Mutex
	conns []*slot[C]
	dials int
}

type slot[C muxConn] struct {
	c       C
	active  int
	served  int
	max     int
	retired bool
}

// get reserves a stream on some connection.
func (p *pool[C]) get(ctx context.Context) (*slot[C], error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	live := p.conns[:0]
	var dead []*slot[C]
	for _, s := range p.conns {
		if s.active == 0 && !s.c.usable() {
			dead = append(dead, s) // broke while idle: nobody will put it
			continue
		}
		live = append(live, s)
	}
	p.conns = live
	for _, s := range dead {
		s.c.close()
	}
	for _, s := range p.conns {
		if !s.retired && s.active < s.max && s.c.usable() {
			p.take(s)
			return s, nil
		}
	}
	// Dialing under the lock serialises growth: one new connection
	// serves the next max streams.
	c, max, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	p.dials++
	s := &slot[C]{c: c, max: max}
	p.conns = append(p.conns, s)
	p.take(s)
	return s, nil
}

func (p *pool[C]) take(s *slot[C]) {
	s.active++
	s.served++
	if s.served >= p.reuse {
		s.retired = true
	}
}

// put gives a stream back; the last stream of a retired or broken
// connection closes it.
func (p *pool[C]) put(s *slot[C]) {
	p.mu.Lock()
	s.active--
	drop := s.active == 0 && (s.retired || !s.c.usable())
	if drop {
		for i, x := range p.conns {
			if x == s {
				p.conns = append(p.conns[:i], p.conns[i+1:]...)
				break
			}
		}
	}
	p.mu.Unlock()
	if drop {
		s.c.close()
	}
}

// closeAll closes every connection (at the end of the run).
func (p *pool[C]) closeAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, s := range conns {
		s.c.close()
	}
}

// stats are the connections dialed and open now.
func (p *pool[C]) stats() (dials, open int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dials, len(p.conns)
}
