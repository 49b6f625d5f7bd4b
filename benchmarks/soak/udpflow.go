package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// A flow moves its n bytes in datagrams of 1..udpMaxPayload payload
// bytes behind a 12-byte header (the tunnel id and a sequence number),
// with udpWindow datagrams in flight; every echo is compared whole with
// what was sent under its sequence number. UDP may lose datagrams: one
// not back within udpLostAfter is counted lost and frees its slot. A flow
// whose first datagram never comes back, or that goes silent, is an
// error.
const (
	udpHeader     = 12
	udpMaxPayload = 1200 - udpHeader
	udpWindow     = 8
	udpLostAfter  = time.Second
	udpFirstWait  = 10 * time.Second
	udpSilent     = 10 * time.Second
)

func (s *soak) openFlow(ctx context.Context, class, target string, dedicated bool) (flow, error) {
	switch class {
	case cUDPH1:
		return udpH1Open(ctx, s.h1, s.tmplPlain, target)
	case cUDPH2:
		return udpH2Open(ctx, s.h2, s.tmplTLS, target, s.cfg.openTimeout)
	case cUDPH3:
		return udpH3Open(ctx, s.h3d, s.cfg.proxyQUIC, s.tmplQUIC, target, dedicated, s.cfg.openTimeout)
	}
	return nil, fmt.Errorf("class %q has no flow opener", class)
}

// flowReader is the goroutine blocked in Recv (there are no read
// deadlines); it hands copies of the datagrams to the flow's loop.
type flowReader struct {
	in   chan []byte
	done chan struct{}
	err  error
}

func startFlowReader(f flow) *flowReader {
	r := &flowReader{in: make(chan []byte, 4*udpWindow+16), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 2048)
		for {
			b, err := f.Recv(buf)
			if err != nil {
				r.err = err
				return
			}
			select {
			case r.in <- append([]byte(nil), b...):
			default: // far more than was asked for: duplicates
			}
		}
	}()
	return r
}

type udpSlot struct {
	busy bool
	seq  uint32
	sent time.Time
}

func (s *soak) udpFlow(ctx context.Context, p *plan) outcome {
	target := s.target(p, s.udpAddr, s.closedUDP)
	dedicated := (p.fault == fClientRST || p.fault == fVanish) && p.class == cUDPH3
	f, err := s.openFlow(ctx, p.class, target, dedicated)
	if err != nil {
		return openFailed(p, err)
	}
	if p.fault == fDNSFail || p.fault == fBadName {
		f.Abort()
		return unexpected(p.fault+"_opened", "%s: connect-udp to %s was accepted", p.class, target)
	}
	lv := s.track.add(s.cfg.stall, s.cfg.tunnelMax, f.Abort)
	defer s.track.remove(lv)
	rd := startFlowReader(f)
	defer func() {
		f.Close()
		<-rd.done
	}()
	if p.fault == fClosedPort {
		return s.udpClosedPort(p, f, rd)
	}

	// The datagrams: sequence number i carries bytes [offs[i], offs[i+1]).
	var offs []int64
	for off := int64(0); off < p.n; {
		offs = append(offs, off)
		off += min(p.n-off, 1+p.rng.Int64N(udpMaxPayload))
	}
	offs = append(offs, p.n)
	count := len(offs) - 1
	build := func(seq int) []byte {
		b := make([]byte, udpHeader, udpHeader+offs[seq+1]-offs[seq])
		binary.BigEndian.PutUint64(b[0:8], p.id)
		binary.BigEndian.PutUint32(b[8:12], uint32(seq))
		return append(b, s.rnd[int64(p.start)+offs[seq]:int64(p.start)+offs[seq+1]]...)
	}
	back := make([]bool, count)
	var echoed, lost int
	// check returns the sequence number of a correct echo, or -1 and a
	// description.
	check := func(b []byte) (int, string) {
		if len(b) < udpHeader || binary.BigEndian.Uint64(b[0:8]) != p.id {
			return -1, fmt.Sprintf("a datagram of %d bytes that is not this flow's", len(b))
		}
		seq := int(binary.BigEndian.Uint32(b[8:12]))
		if seq >= count {
			return -1, fmt.Sprintf("sequence number %d of %d", seq, count)
		}
		if !bytes.Equal(b, build(seq)) {
			return -1, fmt.Sprintf("datagram %d (%d bytes) came back altered (%d bytes)", seq, offs[seq+1]-offs[seq]+udpHeader, len(b))
		}
		return seq, ""
	}
	take := func(b []byte) string {
		seq, bad := check(b)
		if bad != "" {
			return bad
		}
		lv.touch()
		if back[seq] {
			s.st.udpDup.Add(1)
			return ""
		}
		back[seq] = true
		echoed++
		s.st.udpEchoed.Add(1)
		s.st.udpVerified.Add(offs[seq+1] - offs[seq])
		return ""
	}

	// Datagram 0 is sent again every 200 ms until it comes back: the
	// proxy may still be connecting its socket, and UDP may lose it.
	first := build(0)
	limit := time.Now().Add(udpFirstWait)
	for !back[0] {
		if err := f.Send(first); err != nil {
			return s.flowEnded(p, lv, "udp_send_error", err)
		}
		s.st.udpSent.Add(1)
		lv.touch()
		select {
		case b := <-rd.in:
			if bad := take(b); bad != "" {
				return unexpected("udp_altered", "%s: %s", p.class, bad)
			}
		case <-rd.done:
			return s.flowEnded(p, lv, "udp_flow_ended", rd.err)
		case <-time.After(200 * time.Millisecond):
			if time.Now().After(limit) {
				return unexpected("udp_no_echo", "%s: the first datagram did not come back within %v", p.class, udpFirstWait)
			}
		}
	}

	slots := make([]udpSlot, udpWindow)
	busy, next := 0, 1
	lastBack := time.Now()
	loss := time.NewTimer(time.Hour)
	defer loss.Stop()
	for {
		if (p.fault == fClientRST || p.fault == fVanish) && int64(echoed) > p.k*int64(count)/max(p.n, 1) {
			return s.flowFault(p, f)
		}
		for busy < udpWindow && next < count {
			k := 0
			for slots[k].busy {
				k++
			}
			slots[k] = udpSlot{busy: true, seq: uint32(next), sent: time.Now()}
			busy++
			if err := f.Send(build(next)); err != nil {
				return s.flowEnded(p, lv, "udp_send_error", err)
			}
			s.st.udpSent.Add(1)
			lv.touch()
			next++
		}
		if busy == 0 {
			break
		}
		oldest := time.Time{}
		for _, sl := range slots {
			if sl.busy && (oldest.IsZero() || sl.sent.Before(oldest)) {
				oldest = sl.sent
			}
		}
		loss.Reset(time.Until(oldest.Add(udpLostAfter)))
		select {
		case b := <-rd.in:
			before := echoed
			if bad := take(b); bad != "" {
				return unexpected("udp_altered", "%s: %s", p.class, bad)
			}
			if echoed > before {
				lastBack = time.Now()
				seq := binary.BigEndian.Uint32(b[8:12])
				for k := range slots {
					if slots[k].busy && slots[k].seq == seq {
						slots[k].busy = false
						busy--
					}
				}
			}
		case now := <-loss.C:
			for k := range slots {
				if slots[k].busy && now.Sub(slots[k].sent) >= udpLostAfter {
					slots[k].busy = false
					busy--
					lost++
					s.st.udpLost.Add(1)
				}
			}
			if now.Sub(lastBack) > udpSilent {
				return unexpected("udp_silent", "%s: nothing came back for %v after %d of %d datagrams", p.class, udpSilent, echoed, count)
			}
		case <-rd.done:
			return s.flowEnded(p, lv, "udp_flow_ended", rd.err)
		}
		if why := lv.why(); why != "" {
			return unexpected(why, "%s: %s after %d of %d datagrams", p.class, why, echoed, count)
		}
	}
	if p.fault == fClientRST || p.fault == fVanish {
		return s.flowFault(p, f)
	}
	return served(fNone)
}

// flowFault ends a flow as its fault says: a reset, or a client that
// vanishes (judged by the proxy's fds after the run: a flow has no
// upstream connection the origin could watch).
func (s *soak) flowFault(p *plan, f flow) outcome {
	if p.fault == fClientRST {
		f.Abort()
		return expected("client_rst")
	}
	if err := f.(vanisher).Vanish(); err != nil {
		return unexpected("vanish_failed", "%s: %v", p.class, err)
	}
	return expected("client_vanished")
}

func (s *soak) flowEnded(p *plan, lv *live, kind string, err error) outcome {
	if why := lv.why(); why != "" {
		return unexpected(why, "%s/%s: %s", p.class, p.fault, why)
	}
	return unexpected(kind, "%s/%s: %v", p.class, p.fault, err)
}

// udpClosedPort: datagrams to a port nobody listens on draw ICMP port
// unreachable; the flow must stay open (README: an ICMP error from the
// target does not end the flow) and nothing must come back.
func (s *soak) udpClosedPort(p *plan, f flow, rd *flowReader) outcome {
	b := make([]byte, udpHeader+16)
	binary.BigEndian.PutUint64(b[0:8], p.id)
	for i := 0; i < 3; i++ {
		if err := f.Send(b); err != nil {
			return unexpected("udp_send_error", "%s/closed_port: %v", p.class, err)
		}
		s.st.udpSent.Add(1)
		select {
		case <-rd.in:
			return unexpected("udp_closed_port_answered", "%s: a datagram came back from a closed port", p.class)
		case <-rd.done:
			return unexpected("udp_flow_ended_by_icmp", "%s: the flow to a closed port ended: %v", p.class, rd.err)
		case <-time.After(300 * time.Millisecond):
		}
	}
	return expected("udp_closed_port_silent")
}
