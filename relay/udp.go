package relay

import "encoding/binary"

// A connect-udp tunnel (Kind UDP) relays datagrams: one Data is one
// datagram, written to the other end whole or not at all. UDP has no
// backpressure to apply, so where a TCP tunnel would pause its source a UDP
// tunnel drops: a datagram larger than MaxDatagram, or one whose end has
// more than the high watermark queued, is dropped and counted. Memory stays
// bounded as for TCP; the flow's loss shows in the access log.

func (t *Tunnel) datagram(h *half, p []byte) {
	if h.i == client && t.state != open {
		t.holdDatagram(p)
		return
	}
	t.idle.Touch()
	if len(p) > t.cfg.maxDatagram() {
		t.drop(DropTooLarge)
		return
	}
	dst := h.other().end
	if dst.Buffered() > t.cfg.high() {
		t.drop(DropFull)
		return
	}
	dst.Write(p)
	if h.i == client {
		t.countUp(int64(len(p)))
		t.Rec.DatagramsUp++
		t.datagramRelayed(0)
		return
	}
	if t.Rec.Down == 0 && t.Rec.DatagramsDown == 0 {
		t.firstByte()
	}
	t.countDown(int64(len(p)))
	t.Rec.DatagramsDown++
	t.datagramRelayed(1)
}

// holdDatagram keeps a datagram that came before the upstream, each behind
// its length so they go out one by one; past the high watermark they are
// dropped, as a full socket would.
func (t *Tunnel) holdDatagram(p []byte) {
	pd := t.pending()
	if pd.early == nil {
		pd.early = stagePool.Get()
	}
	switch {
	case len(p) > t.cfg.maxDatagram():
		t.drop(DropTooLarge)
		return
	case len(pd.early.B)+2+len(p) > t.cfg.high():
		t.drop(DropFull)
		return
	}
	pd.early.B = binary.BigEndian.AppendUint16(pd.early.B, uint16(len(p)))
	pd.early.B = append(pd.early.B, p...)
}

// sendEarlyDatagrams writes the held datagrams upstream.
func (t *Tunnel) sendEarlyDatagrams(b []byte) {
	up := t.ends[upstream].end
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		p := b[2 : 2+n]
		up.Write(p)
		t.countUp(int64(n))
		t.Rec.DatagramsUp++
		t.datagramRelayed(0)
		b = b[2+n:]
	}
}
