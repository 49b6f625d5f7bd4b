package h1

import (
	"errors"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
	"github.com/valyala/bytebufferpool"
)

// originEnd is the upstream End of a forwarded request's tunnel: the
// origin's socket seen through a [ResponseFramer]. Response heads are
// rewritten (hop-by-hop fields out, Via and Connection as the exchange
// decides), the body passes as it is (a chunked one decoded for an
// HTTP/1.0 client), and once the final response's body
// has ended the exchange takes both conns back. A partial head waits in a
// pooled buffer, so an idle or streaming origin holds none.
//
// A request sent on a pooled connection that the origin closes before
// any byte of an answer (it timed the connection out as the request went)
// is sent again, once, on a fresh dial; only bodiless idempotent requests
// go on pooled connections, so this is safe.
type originEnd struct {
	x     *exchange
	inner relay.End // nil once handed back, or while a retry dials
	ev    relay.Events
	fr    ResponseFramer
	pend  *bytebufferpool.ByteBuffer
	out   []byte
	retry func()          // cancels the retry's dial
	dc    *ChunkedScanner // decodes the body for an HTTP/1.0 client; nil else

	got       bool // a byte came from the origin
	retried   bool
	paused    bool // the tunnel paused reading the origin
	inData    bool
	failed    bool // the origin broke HTTP; the error was reported
	closed    bool // Closed was reported to the tunnel
	abandoned bool // the tunnel closed the end while a retry dialed
}

// headBufs holds partial response heads; engine.Pool, not a bare
// bytebufferpool.Pool, so buffers come back at their full capacity.
var headBufs engine.Pool

func (o *originEnd) Bind(ev relay.Events) { o.ev = ev }

func (o *originEnd) Write(p []byte) {
	if o.inner != nil {
		o.inner.Write(p)
	}
}

func (o *originEnd) Buffered() int {
	if o.inner != nil {
		return o.inner.Buffered()
	}
	return 0
}

func (o *originEnd) PauseRead() {
	o.paused = true
	if o.inner != nil {
		o.inner.PauseRead()
	}
}

func (o *originEnd) ResumeRead() {
	o.paused = false
	if o.inner != nil {
		o.inner.ResumeRead()
	}
}

func (o *originEnd) WatchDrain(low int) {
	if o.inner != nil {
		o.inner.WatchDrain(low)
	}
}

func (o *originEnd) CloseWrite() {
	o.x.sentFIN = true
	if o.inner != nil {
		o.inner.CloseWrite()
	}
}

func (o *originEnd) CloseAfterFlush() {
	if o.inner != nil {
		o.inner.CloseAfterFlush()
		return
	}
	o.abandon()
}

func (o *originEnd) Close() {
	if o.inner != nil {
		o.inner.Close()
		return
	}
	o.abandon()
}

// abandon is the tunnel's close while a retry dials: its result ends it.
func (o *originEnd) abandon() {
	if o.retry != nil && !o.abandoned {
		o.abandoned = true
		o.retry()
	}
}

// Data implements relay.Events for the origin's socket.
func (o *originEnd) Data(p []byte) {
	if o.failed || o.closed || o.inner == nil {
		return
	}
	if len(p) > 0 {
		o.got = true
	}
	b := p
	if o.pend != nil {
		o.pend.B = append(o.pend.B, p...)
		b = o.pend.B
	}
	o.inData = true
	for len(b) > 0 {
		part, n, resp, err := o.fr.Next(b, DefaultLimits())
		if err != nil {
			o.fail(err)
			break
		}
		if part == PartNeedMore || part == PartDone {
			break
		}
		if part == PartHead {
			final := o.fr.InBody()
			opts := o.x.responseHead(&resp, final, o.fr.Mode())
			o.out = AppendForwardResponse(o.out[:0], &resp, opts)
			o.ev.Data(o.out)
			if opts.Dechunk {
				o.dc = &ChunkedScanner{}
			}
		} else if o.dc != nil {
			// The framer checked these bytes' framing already: no error.
			o.out, _, _, _ = o.dc.AppendData(o.out[:0], b[:n])
			if len(o.out) > 0 {
				o.ev.Data(o.out)
			}
		} else {
			o.ev.Data(b[:n])
		}
		b = b[n:]
		if o.closed || o.failed || o.inner == nil {
			break
		}
	}
	o.inData = false
	if o.failed || o.closed || o.inner == nil {
		o.keep(nil)
		return
	}
	if o.fr.Done() {
		o.keep(nil)
		o.x.responseDone(len(b) > 0)
		return
	}
	o.keep(b)
}

// keep holds b, the start of a head, for the next Data; b may be the tail
// of o.pend itself.
func (o *originEnd) keep(b []byte) {
	if len(b) == 0 {
		if o.pend != nil {
			headBufs.Put(o.pend)
			o.pend = nil
		}
		return
	}
	if o.pend == nil {
		o.pend = headBufs.Get()
		o.pend.B = append(o.pend.B[:0], b...)
		return
	}
	o.pend.B = o.pend.B[:copy(o.pend.B, b)]
}

// fail reports an origin that does not speak HTTP/1.x (or breaks a chunked
// body): the client gets 502 if nothing went to it yet.
func (o *originEnd) fail(err error) {
	o.failed = true
	o.ev.Closed(&relay.StageError{Status: 502, Reason: relay.ReasonBadResponse, Err: err})
}

// EOF implements relay.Events: the origin sends no more.
func (o *originEnd) EOF() {
	if o.failed || o.closed || o.inner == nil || o.again() {
		return
	}
	if !o.fr.InBody() {
		// No final head will come: the close answers 502, or ends a
		// client that already got an interim head.
		o.inner.Close()
		return
	}
	if o.dc != nil && !o.fr.Done() {
		// The close would end the decoded body as if it were whole.
		o.fail(errTruncated)
		return
	}
	o.ev.EOF()
}

var errTruncated = errors.New("the origin closed in the middle of a chunked body")

// Drained implements relay.Events.
func (o *originEnd) Drained() {
	if !o.failed && !o.closed && o.inner != nil {
		o.ev.Drained()
	}
}

// Closed implements relay.Events: the origin's socket is gone.
func (o *originEnd) Closed(err error) {
	if o.closed {
		return
	}
	if !o.failed && o.again() {
		return
	}
	o.closed = true
	if !o.inData {
		o.keep(nil)
	}
	if !o.failed {
		o.ev.Closed(err)
	}
}

// again starts the retry of a request whose pooled connection ended
// before any byte of an answer; it reports whether it did.
func (o *originEnd) again() bool {
	x := o.x
	if o.got || !x.reused || o.retried || o.inner == nil {
		return false
	}
	o.retried = true
	x.reused = false
	old := o.inner
	o.inner = nil
	old.Bind(relay.Nowhere{})
	old.Close()
	o.retry = x.loop.Dial(x.target, o)
	return true
}

// Dialed implements relay.Dialed for the retry's dial.
func (o *originEnd) Dialed(up relay.End, info engine.DialInfo, err error) {
	o.retry = nil
	if err == nil && o.abandoned {
		up.Bind(relay.Nowhere{})
		up.Close()
	}
	if err != nil || o.abandoned {
		// The tunnel hears an origin that closed without answering: 502.
		o.closed = true
		o.ev.Closed(nil)
		return
	}
	o.inner = up
	up.Bind(o)
	if t := o.x.t; t != nil {
		t.Redialed(info)
	}
	up.Write(o.x.head)
	if o.paused {
		up.PauseRead()
	}
}
