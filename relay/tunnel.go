package relay

import (
	"errors"
	"io"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/valyala/bytebufferpool"
)

// Tunnel relays between a client End and an upstream End. It is an actor
// owned by one event loop, which both ends report on, so it needs no lock.
// It is symmetric: each end is bound to one half, which knows which way
// its bytes go; only the access log tells client from upstream.
type Tunnel struct {
	// Immutable after New.
	cfg   *Config
	loop  Loop
	front Front // how the client is answered; nil answers nothing

	// Owned by the loop; while spliced, by the splice goroutines, until
	// they post the end back through Loop.Exec.
	Rec        Record
	ends       [2]half  // client, upstream
	pend       *pending // what some tunnels need until they are open; made on demand
	cancelDial func()   // while dialing
	release    func()   // the gate's tunnel slots
	m          *Meters  // the loop's; nil once the loop is gone
	idle       engine.Idle
	// PeakUp and PeakDown are the most bytes seen queued toward the
	// upstream and toward the client: what the watermarks bound.
	PeakUp, PeakDown int32
	connectedUS      uint32 // since Rec.Start, when the upstream was connected, in µs
	state            state
	forward          bool // the upstream answers the client itself (absolute-URI requests)
	spliceOK         bool // may splice: decided at connect, not on every read; off once spliced
}

// pending is the part of a tunnel that only lives until it is open, and
// only when the tunnel needs it: most CONNECTs have no early bytes. An idle
// tunnel does not carry it.
type pending struct {
	head     []byte                     // sent upstream before any client byte (a forwarded request's head)
	early    *bytebufferpool.ByteBuffer // client bytes read before the upstream was connected
	badEarly *StageError                // the client's stage refused its bytes before the gate spoke
	wrap     func(End) End              // stages over the upstream end, once connected
	paused   bool                       // the client is paused until early bytes drain
}

// pending returns the tunnel's pending part, made on first use.
func (t *Tunnel) pending() *pending {
	if t.pend == nil {
		t.pend = &pending{}
	}
	return t.pend
}

type state uint8

const (
	opening state = iota // the gate and the policy are deciding
	dialing
	open
	ended // the access-log line is written; late events are ignored
)

const (
	client   = 0
	upstream = 1
)

// half is a tunnel as the Events of one of its ends.
type half struct {
	t    *Tunnel
	end  End
	i    uint8 // client or upstream
	eof  bool  // the end sends no more
	done bool  // the end is gone
}

func (h *half) Data(p []byte)    { h.t.data(h, p) }
func (h *half) EOF()             { h.t.eof(h) }
func (h *half) Drained()         { h.t.drained(h) }
func (h *half) Closed(err error) { h.t.closed(h, err) }

func (h *half) other() *half { return &h.t.ends[1-h.i] }

// New returns a tunnel for c, bound to it, on loop l. Front ends open
// tunnels with Policy.Open; New and Connect are for callers that decided
// already.
func New(cfg *Config, l Loop, c End, rec Record) *Tunnel {
	t := &Tunnel{cfg: cfg, loop: l, Rec: rec, m: l.Meters()}
	if t.m != nil {
		t.m.Open[rec.Proto][rec.Kind]++
	}
	if t.Rec.Start.IsZero() {
		t.Rec.Start = time.Now()
	}
	t.ends[client] = half{t: t, end: c, i: client}
	t.ends[upstream] = half{t: t, i: upstream}
	c.Bind(&t.ends[client])
	return t
}

func (t *Tunnel) data(h *half, p []byte) {
	if t.state == ended {
		return
	}
	if t.Rec.Kind == KindUDP {
		t.datagram(h, p)
		return
	}
	if h.i == client {
		if t.state != open {
			t.hold(p)
			return
		}
		up := t.ends[upstream].end
		t.countUp(int64(len(p)))
		up.Write(p)
		t.idle.Touch()
		n := up.Buffered()
		t.PeakUp = max(t.PeakUp, int32(n))
		t.queued(up, t.ends[client].end, n)
		return
	}
	if t.Rec.Down == 0 {
		t.firstByte()
	}
	c := t.ends[client].end
	t.countDown(int64(len(p)))
	c.Write(p)
	t.idle.Touch()
	n := c.Buffered()
	t.PeakDown = max(t.PeakDown, int32(n))
	t.queued(c, t.ends[upstream].end, n)
}

// hold keeps client bytes that come before the upstream is connected; the
// client is paused once they pass the high watermark.
func (t *Tunnel) hold(p []byte) {
	pd := t.pending()
	if pd.early == nil {
		pd.early = stagePool.Get()
	}
	pd.early.B = append(pd.early.B, p...)
	if len(pd.early.B) > t.cfg.high() && !pd.paused {
		pd.paused = true
		t.ends[client].end.PauseRead()
	}
}

// opened drops what only an opening tunnel needs.
func (t *Tunnel) dropPending() {
	if pd := t.pend; pd != nil {
		if pd.early != nil {
			stagePool.Put(pd.early)
		}
		t.pend = nil
	}
}

// cancel abandons the dial under way, if any.
func (t *Tunnel) cancel() {
	if t.state == dialing && t.cancelDial != nil {
		t.cancelDial()
	}
}

// queued applies the watermarks once bytes from src were queued toward dst,
// which now holds n: above High, src stops until dst drains to Low; above
// HardCap both ends have stopped reading, and the tunnel ends.
func (t *Tunnel) queued(dst, src End, n int) {
	if n > t.cfg.high() {
		if n > t.cfg.hardCap() {
			t.abort(ReasonOverflow)
			return
		}
		src.PauseRead()
		dst.WatchDrain(t.cfg.low())
		return
	}
	t.maybeSplice()
}

func (t *Tunnel) eof(h *half) {
	if t.state == ended {
		return
	}
	h.eof = true
	o := h.other()
	if t.Rec.Kind == KindUDP {
		// A datagram flow has no half-close: the end of the request
		// stream (or of the capsules on a connection) ends the flow.
		t.setReason(ReasonClientClosed, false)
		h.end.CloseAfterFlush()
		if o.end != nil && !o.done {
			o.end.Close()
		}
		t.cancel()
		return
	}
	if o.end == nil || t.state != open {
		return // the client's: passed on once connected, after its early bytes
	}
	if o.eof {
		// Both have sent all they will: end both once flushed.
		h.end.CloseAfterFlush()
		o.end.CloseAfterFlush()
		return
	}
	o.end.CloseWrite()
}

func (t *Tunnel) drained(h *half) {
	if o := h.other(); o.end != nil && t.state == open {
		o.end.ResumeRead()
	}
}

func (t *Tunnel) closed(h *half, err error) {
	if h.done {
		return
	}
	h.done = true
	if t.state == ended {
		return
	}
	var se *StageError
	if errors.As(err, &se) {
		t.setReason(se.Reason, true)
		if h.i == client && t.state == opening {
			t.pending().badEarly = se // answered once the gate has spoken
			return
		}
		t.stageFailed(h, se)
		t.maybeEnd()
		return
	}
	orderly := err == nil || errors.Is(err, io.EOF)
	switch {
	case errors.Is(err, engine.ErrShutdown):
		t.setReason(ReasonShutdown, true)
	case h.i == client && orderly:
		t.setReason(ReasonClientClosed, false)
	case h.i == client:
		t.setReason(ReasonClientError, false)
	case orderly:
		t.setReason(ReasonUpstreamEOF, false)
	default:
		t.setReason(ReasonUpstreamError, false)
	}
	o := h.other()
	switch {
	case h.i == client && t.state == dialing:
		t.cancel() // its result ends the tunnel
	case h.i == client && t.state == opening:
		// The gate's verdict ends it.
	case o.end == nil || o.done:
	case h.i == upstream && orderly && t.forward && t.Rec.Down == 0:
		t.Rec.Status = 502 // the origin closed without answering
		t.reply(502)
	case orderly:
		o.end.CloseAfterFlush() // every byte already read reaches it first
	default:
		o.end.Close()
	}
	t.maybeEnd()
}

// stageFailed ends a tunnel whose end h sent bytes its stage refused.
// When nothing went toward the client yet, the client gets the stage's
// status (400 for a bad request body, 502 for an origin that does not
// speak HTTP); otherwise both ends are cut.
func (t *Tunnel) stageFailed(h *half, se *StageError) {
	o := h.other()
	answer := se.Status != 0 && t.Rec.Down == 0
	if answer {
		t.Rec.Status = se.Status
	}
	if h.i == upstream {
		h.end.Close()
		if answer {
			t.reply(se.Status)
		} else if c := &t.ends[client]; !c.done {
			abortEnd(c.end, se) // part of an answer went out: cut, not ended
		}
		return
	}
	if o.end != nil && !o.done {
		o.end.Close()
	}
	t.cancel()
	if answer {
		t.reply(se.Status) // the front end ends the client once it is out
	} else {
		abortEnd(h.end, se)
	}
	if t.state != open {
		t.finish()
	}
}

// setReason records why the tunnel ends: the first reason, unless a hard
// one (an abort, a shutdown, a stage's error) follows a soft orderly one.
func (t *Tunnel) setReason(r Reason, hard bool) {
	if t.Rec.Reason == "" || hard && (t.Rec.Reason == ReasonClientClosed || t.Rec.Reason == ReasonUpstreamEOF) {
		t.Rec.Reason = r
	}
}

// Abort ends both ends now, for reason r.
func (t *Tunnel) Abort(r Reason) { t.abort(r) }

func (t *Tunnel) abort(r Reason) {
	if t.state == ended {
		return
	}
	t.setReason(r, true)
	// The client first: closing the upstream first would look like its EOF
	// and end the client cleanly (END_STREAM), hiding the abort.
	if c := &t.ends[client]; !c.done {
		c.end.Close()
	}
	if u := &t.ends[upstream]; u.end != nil && !u.done {
		u.end.Close()
	}
	t.cancel()
}

// OnIdle implements engine.IdleHandler: the idle timeout.
func (t *Tunnel) OnIdle() { t.abort(ReasonIdle) }

// maybeEnd finishes the tunnel once neither end can report any more.
func (t *Tunnel) maybeEnd() {
	if t.state == opening || t.state == dialing || t.state == ended || !t.ends[client].done {
		return
	}
	if u := &t.ends[upstream]; u.end != nil && !u.done {
		return
	}
	t.finish()
}

// finish is the one end of every tunnel, on the loop: the access-log line,
// the gate's slots, Config.OnEnd.
func (t *Tunnel) finish() {
	if t.state == ended {
		return
	}
	t.state = ended
	t.idle.Stop()
	t.dropPending()
	if t.Rec.Kind == KindUDP {
		for _, h := range t.ends {
			if d, ok := h.end.(interface{ Drops() int64 }); ok {
				n := d.Drops()
				t.Rec.Dropped += n
				if t.m != nil {
					t.m.Drops[DropEnd] += n
				}
			}
		}
	}
	if t.Rec.Reason == "" {
		t.Rec.Reason = ReasonDone
	}
	if t.m != nil {
		t.m.Open[t.Rec.Proto][t.Rec.Kind]--
		t.m.ended(&t.Rec)
	}
	t.Rec.Write(t.cfg.AccessLog)
	if t.release != nil {
		t.release()
		t.release = nil
	}
	if t.cfg.OnEnd != nil {
		t.cfg.OnEnd(t)
	}
}

func (t *Tunnel) reply(status int) {
	if t.front != nil {
		t.front.Reply(status)
	} else if status != 200 {
		t.ends[client].end.CloseAfterFlush()
	}
}

func (t *Tunnel) sinceStart() time.Duration { return time.Since(t.Rec.Start) }

// connected is when the upstream was connected, since Rec.Start.
func (t *Tunnel) connected() time.Duration { return time.Duration(t.connectedUS) * time.Microsecond }
