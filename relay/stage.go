package relay

import (
	"errors"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/valyala/bytebufferpool"
)

// A Codec is a pure transform between a tunnel and one of its ends:
// capsules over an HTTP/2 stream, padding over an HTTP/2 or HTTP/3 stream,
// a forwarded request's body cut over an HTTP/1.1 client socket.
// Codecs satisfy it structurally, so the codec packages import nothing of
// relay.
type Codec interface {
	// Encode appends the wire form of p, bound toward the end, to dst.
	Encode(dst, p []byte) []byte
	// Decode takes the next unit from the start of b, the end's bytes: the
	// unit to relay (nil for none; it may alias b) and how many bytes of b
	// it used. n == 0 with a nil error means b holds only part of a unit.
	// An error means the end's bytes are bad; the tunnel ends.
	Decode(b []byte) (unit []byte, n int, err error)
}

// Transparent is implemented by codecs that stop transforming a direction
// for good (padding after its first frames): the stage then passes bytes
// through without looking at them or copying them.
type Transparent interface {
	EncodeDone() bool
	DecodeDone() bool
}

// StageError is a codec error that has an answer: when nothing has gone
// toward the client yet, the client gets Status before the tunnel ends.
type StageError struct {
	Status int
	Reason Reason
	Err    error
}

func (e *StageError) Error() string { return "relay: " + string(e.Reason) + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// ErrStage is the reason of a codec error that is not a StageError.
var ErrStage = errors.New("relay: bad bytes for the stage")

// Stage returns inner seen through c: what the tunnel writes is encoded,
// what inner reads is decoded. A partial unit waits in a pooled buffer that
// goes back as soon as it is used up, so an idle tunnel holds none.
func Stage(inner End, c Codec) End {
	s := &stage{inner: inner, c: c}
	s.tr, _ = c.(Transparent)
	inner.Bind(s)
	return s
}

type stage struct {
	// Immutable after Stage.
	inner End
	c     Codec
	tr    Transparent

	// Owned by the loop.
	ev     Events
	pend   *bytebufferpool.ByteBuffer // the start of a unit inner read
	inData bool                       // inside Data: pend is in use
	failed bool                       // a decode error was reported
	closed bool                       // inner reported its close
}

var stagePool engine.Pool

func (s *stage) Bind(ev Events)     { s.ev = ev }
func (s *stage) Buffered() int      { return s.inner.Buffered() }
func (s *stage) PauseRead()         { s.inner.PauseRead() }
func (s *stage) ResumeRead()        { s.inner.ResumeRead() }
func (s *stage) WatchDrain(low int) { s.inner.WatchDrain(low) }
func (s *stage) CloseWrite()        { s.inner.CloseWrite() }
func (s *stage) CloseAfterFlush()   { s.inner.CloseAfterFlush() }
func (s *stage) Close()             { s.inner.Close() }
func (s *stage) Abort(err error)    { abortEnd(s.inner, err) }

func (s *stage) Write(p []byte) {
	if s.tr != nil && s.tr.EncodeDone() {
		s.inner.Write(p)
		return
	}
	b := stagePool.Get()
	b.B = s.c.Encode(b.B[:0], p)
	s.inner.Write(b.B) // borrowed: inner copies what it keeps
	stagePool.Put(b)
}

func (s *stage) inject(p []byte) { s.Data(p) }

// Data implements Events for inner.
func (s *stage) Data(p []byte) {
	if s.failed || s.closed {
		return
	}
	s.inData = true
	b := p
	if s.pend != nil {
		s.pend.B = append(s.pend.B, p...)
		b = s.pend.B
	}
	for len(b) > 0 && !s.failed {
		if s.tr != nil && s.tr.DecodeDone() {
			s.ev.Data(b)
			b = nil
			break
		}
		unit, n, err := s.c.Decode(b)
		if err != nil {
			s.fail(err)
			break
		}
		if n == 0 {
			break
		}
		if unit != nil {
			s.ev.Data(unit)
		}
		b = b[n:]
	}
	s.inData = false
	if s.failed || s.closed {
		b = nil
	}
	s.keep(b)
}

// keep holds b, the start of a unit, for the next Data; b may be the tail
// of s.pend itself.
func (s *stage) keep(b []byte) {
	if len(b) == 0 {
		if s.pend != nil {
			stagePool.Put(s.pend)
			s.pend = nil
		}
		return
	}
	if s.pend == nil {
		s.pend = stagePool.Get()
		s.pend.B = append(s.pend.B[:0], b...)
		return
	}
	s.pend.B = s.pend.B[:copy(s.pend.B, b)]
}

// fail reports a decode error as the end's close, with a *StageError; the
// tunnel decides what the client hears and ends inner.
func (s *stage) fail(err error) {
	s.failed = true
	var se *StageError
	if !errors.As(err, &se) {
		err = &StageError{Status: 0, Reason: ReasonBadStream, Err: err}
	}
	s.ev.Closed(err)
}

// EOF implements Events for inner.
func (s *stage) EOF() {
	if !s.failed {
		s.ev.EOF()
	}
}

// Drained implements Events for inner.
func (s *stage) Drained() {
	if !s.failed {
		s.ev.Drained()
	}
}

// Closed implements Events for inner.
func (s *stage) Closed(err error) {
	s.closed = true
	if !s.inData {
		s.keep(nil)
	}
	if !s.failed {
		s.ev.Closed(err)
	}
}
