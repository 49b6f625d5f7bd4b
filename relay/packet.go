package relay

import "github.com/sluice-proxy/sluice/engine"

// packetEnd is a connected UDP socket as the upstream End of a connect-udp
// tunnel: one Write is one datagram, sent now or dropped; it has nothing
// queued, cannot be paused (a UDP tunnel drops instead), and no half-close.
type packetEnd struct {
	pc *engine.PacketConn
	ev Events // while dialing: the Dialed that hears how it went
}

func (e *packetEnd) Bind(ev Events)   { e.ev = ev }
func (e *packetEnd) Write(p []byte)   { e.pc.Write(p) }
func (e *packetEnd) Buffered() int    { return 0 }
func (e *packetEnd) PauseRead()       {}
func (e *packetEnd) ResumeRead()      {}
func (e *packetEnd) WatchDrain(int)   {}
func (e *packetEnd) CloseWrite()      {}
func (e *packetEnd) CloseAfterFlush() { e.pc.Close() }
func (e *packetEnd) Close()           { e.pc.Close() }

// Drops is what the socket dropped, for the access log.
func (e *packetEnd) Drops() int64 {
	if e.pc == nil {
		return 0
	}
	return e.pc.Drops()
}

// DialedUDP implements engine.PacketDialHandler.
func (e *packetEnd) DialedUDP(pc *engine.PacketConn, info engine.DialInfo, err error) {
	d, _ := e.ev.(Dialed)
	if d == nil {
		if pc != nil {
			pc.Close()
		}
		return
	}
	if err != nil {
		d.Dialed(nil, info, err)
		return
	}
	e.pc = pc
	d.Dialed(e, info, nil)
}

// OnDatagram implements engine.PacketHandler.
func (e *packetEnd) OnDatagram(_ *engine.PacketConn, p []byte) {
	e.ev.Data(p)
}

// OnClose implements engine.PacketHandler.
func (e *packetEnd) OnClose(_ *engine.PacketConn, err error) {
	e.ev.Closed(err)
}
