package h3

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/sluice-proxy/sluice/capsule"
	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
	"github.com/valyala/bytebufferpool"
)

// udpEnd is the client End of a connect-udp flow over HTTP/3: datagrams
// come as QUIC DATAGRAM frames (RFC 9297 section 2.1, context ID 0) and as
// DATAGRAM capsules on the request stream, and go back as QUIC datagrams.
// The request stream itself is a streamEnd seen through the capsule codec,
// so it answers the request and ends the flow as a CONNECT stream does.
//
// QUIC datagrams have a reader goroutine of their own, which hands the
// loop what it reads a batch per task, and a writer goroutine that exists
// only while datagrams are queued (SendDatagram blocks once quic-go's own
// queue is full). A full queue drops, as UDP does.
type udpEnd struct {
	// Static after newUDPEnd.
	*streamEnd
	caps    relay.End // the stream through the capsule codec
	quic    bool      // the client takes QUIC datagrams; else replies go as capsules
	ctx     context.Context
	cancel  context.CancelFunc
	deliver *engine.Task // deliverDatagrams, bound once

	// Owned by the loop.
	ev relay.Events

	// Guarded by dmu, between the loop and the two goroutines.
	dmu      sync.Mutex
	dstr     *http3.Stream                // once the 200 is out
	in       [][]byte                     // datagrams received, not yet delivered
	posted   bool                         // a delivery is queued on the loop
	out      []*bytebufferpool.ByteBuffer // datagrams to send, each with its context ID
	outBytes int
	writing  bool

	drops atomic.Int64
}

// maxDatagramQueue bounds the datagrams queued either way.
const maxDatagramQueue = 128

var datagramPool engine.Pool

func newUDPEnd(e *streamEnd, quic bool) *udpEnd {
	u := &udpEnd{streamEnd: e, quic: quic}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	u.deliver = e.loop.NewTask(u.deliverDatagrams)
	e.udp = u
	u.caps = relay.Stage(e, relay.Capsules())
	return u
}

// Bind implements relay.End: capsules on the stream and QUIC datagrams
// report to the same tunnel.
func (u *udpEnd) Bind(ev relay.Events) {
	u.ev = ev
	u.caps.Bind(ev)
}

// start runs on the handler goroutine once the 200 is out.
func (u *udpEnd) start(str *http3.Stream) {
	u.dmu.Lock()
	u.dstr = str
	if len(u.out) > 0 && !u.writing {
		u.writing = true
		go u.send(str)
	}
	u.dmu.Unlock()
	go u.receive(str)
}

// receive reads QUIC datagrams until the flow ends.
func (u *udpEnd) receive(str *http3.Stream) {
	for {
		b, err := str.ReceiveDatagram(u.ctx)
		if err != nil {
			return
		}
		id, n, err := capsule.ParseVarint(b)
		if err != nil || id != 0 {
			u.drops.Add(1) // RFC 9298 section 5: only context 0 carries UDP payloads here
			continue
		}
		u.dmu.Lock()
		if len(u.in) >= maxDatagramQueue {
			u.dmu.Unlock()
			u.drops.Add(1)
			continue
		}
		u.in = append(u.in, b[n:])
		post := !u.posted
		u.posted = true
		u.dmu.Unlock()
		if post && !u.deliver.Post() {
			return
		}
	}
}

// deliverDatagrams runs on the loop.
func (u *udpEnd) deliverDatagrams() {
	u.dmu.Lock()
	in := u.in
	u.in = nil
	u.posted = false
	u.dmu.Unlock()
	for _, p := range in {
		if !u.done {
			u.ev.Data(p)
		}
	}
}

// Write implements relay.End: one datagram toward the client, queued for
// the writer, or dropped when the queue is full.
func (u *udpEnd) Write(p []byte) {
	if u.done {
		return
	}
	if !u.quic {
		u.caps.Write(p)
		return
	}
	u.dmu.Lock()
	if len(u.out) >= maxDatagramQueue {
		u.dmu.Unlock()
		u.drops.Add(1)
		return
	}
	d := datagramPool.Get()            // quic-go copies it: back to the pool once sent
	d.B = append(append(d.B, 0), p...) // context ID 0
	u.out = append(u.out, d)
	u.outBytes += len(d.B)
	if !u.writing && u.dstr != nil {
		u.writing = true
		go u.send(u.dstr)
	}
	u.dmu.Unlock()
}

// send writes queued datagrams until none is left.
func (u *udpEnd) send(str *http3.Stream) {
	for {
		u.dmu.Lock()
		if len(u.out) == 0 {
			u.writing = false
			u.dmu.Unlock()
			return
		}
		d := u.out[0]
		u.out[0] = nil
		u.out = u.out[1:]
		u.outBytes -= len(d.B)
		u.dmu.Unlock()
		if err := str.SendDatagram(d.B); err != nil {
			u.drops.Add(1) // too large for the path, or the flow is gone
		}
		datagramPool.Put(d)
	}
}

// Buffered implements relay.End.
func (u *udpEnd) Buffered() int {
	if !u.quic {
		return u.caps.Buffered()
	}
	u.dmu.Lock()
	defer u.dmu.Unlock()
	return u.outBytes
}

// Drops is what this end dropped, for the access log.
func (u *udpEnd) Drops() int64 { return u.drops.Load() }

// A datagram flow cannot be paused: the tunnel drops instead.
func (u *udpEnd) PauseRead()     {}
func (u *udpEnd) ResumeRead()    {}
func (u *udpEnd) WatchDrain(int) {}
func (u *udpEnd) CloseWrite()    {}

// CloseAfterFlush implements relay.End: the request stream ends (FIN).
func (u *udpEnd) CloseAfterFlush() { u.caps.CloseAfterFlush() }

// Close implements relay.End: the request stream is reset.
func (u *udpEnd) Close() { u.caps.Close() }

// Abort implements relay.Aborter: a malformed capsule resets the stream
// with H3_DATAGRAM_ERROR (RFC 9297 section 3.3).
func (u *udpEnd) Abort(error) {
	u.dmu.Lock()
	str := u.dstr
	u.dmu.Unlock()
	if str != nil {
		str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeDatagramError))
		str.CancelRead(quic.StreamErrorCode(http3.ErrCodeDatagramError))
	}
	u.streamEnd.Close()
}

// stop ends the datagram reader; called when the stream end is done.
func (u *udpEnd) stop() {
	u.cancel()
	u.dmu.Lock()
	for _, d := range u.out {
		datagramPool.Put(d)
	}
	u.in, u.out, u.outBytes = nil, nil, 0
	u.dmu.Unlock()
}
