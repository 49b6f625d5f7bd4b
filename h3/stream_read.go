package h3

import (
	"errors"
	"io"

	"github.com/quic-go/quic-go/http3"
	"github.com/valyala/bytebufferpool"
)

// readSize is what a read after a full one takes at most, and how much
// the reader lets wait for the loop before it waits itself: a good share
// of a stream window, and below the pool's largest size class. smallRead
// is what an idle stream waits with: most interactive writes fit it, and
// so does a NaïveProxy padded frame of a short write (at most 358 bytes),
// which a 64-byte read cut in two, doubling the loop hand-offs and the
// upstream writes of the padded first round trips.
const (
	readSize  = 32 << 10
	smallRead = 512
)

// read is the reader loop. A read joins what waits for the loop, and the
// reader goes straight on to the next one: the loop wakes the reader only
// when it stopped, with readSize waiting or the client paused. One read
// handed to the loop and a wait for the gate after every read cost two
// thread hand-offs a read; an upload of 8 streams spent a third of its CPU
// on them.
func (e *streamEnd) read(str *http3.Stream) {
	select {
	case <-e.gate: // the 200 is out
	case <-e.quit:
		return
	}
	big := false
	for {
		var buf *bytebufferpool.ByteBuffer
		var small []byte
		var n int
		var err error
		if big {
			buf = readPool.Get()
			if cap(buf.B) < readSize {
				buf.B = make([]byte, readSize)
			}
			n, err = str.Read(buf.B[:readSize])
			buf.B = buf.B[:n]
			big = n == readSize
		} else {
			n, err = str.Read(e.small[:])
			small = e.small[:n]
			big = n == smallRead // more may have arrived: the next read takes a buffer
		}
		post, wait := e.stash(buf, small, err)
		if post && !e.reads.Post() {
			return
		}
		if err != nil {
			return
		}
		if wait {
			select {
			case <-e.gate:
			case <-e.quit:
				return
			}
		}
	}
}

// stash adds a read to what waits for the loop (buf itself when nothing
// waits, else a copy of what it read, or of small), and reports whether
// the loop must be told and whether the reader must wait for the gate.
func (e *streamEnd) stash(buf *bytebufferpool.ByteBuffer, small []byte, err error) (post, wait bool) {
	e.rmu.Lock()
	defer e.rmu.Unlock()
	switch {
	case buf != nil && e.pending == nil:
		e.pending = buf
	case buf != nil:
		e.pending.B = append(e.pending.B, buf.B...)
		readPool.Put(buf)
	case len(small) > 0:
		if e.pending == nil {
			e.pending = readPool.Get()
		}
		e.pending.B = append(e.pending.B, small...)
	}
	e.perr = err
	post = !e.posted
	e.posted = true
	if e.hold || e.pending != nil && len(e.pending.B) >= readSize {
		e.waiting = true
	}
	return post, e.waiting
}

// deliverReads hands what was read to the tunnel, on the loop.
func (e *streamEnd) deliverReads() {
	e.rmu.Lock()
	p, err := e.pending, e.perr
	e.pending, e.perr, e.posted = nil, nil, false
	e.rmu.Unlock()
	if p != nil {
		if !e.done && len(p.B) > 0 {
			e.ev.Data(p.B)
		}
		readPool.Put(p)
	}
	if e.done {
		return
	}
	switch {
	case err == nil:
		e.letRead()
	case errors.Is(err, io.EOF):
		e.eof = true
		e.ev.EOF()
	default:
		e.finish(e.why(err)) // a client reset, or its connection went
	}
}

// letRead lets a waiting reader read on, unless the tunnel has the client
// paused or a read's worth still waits for the loop. On the loop.
func (e *streamEnd) letRead() {
	if e.paused || e.done {
		return
	}
	e.rmu.Lock()
	let := e.waiting && (e.pending == nil || len(e.pending.B) < readSize)
	if let {
		e.waiting = false
	}
	e.rmu.Unlock()
	if let {
		e.gate <- struct{}{}
	}
}

// PauseRead implements relay.End: the reader stops after the read it is
// in, which is delivered.
func (e *streamEnd) PauseRead() {
	e.paused = true
	e.rmu.Lock()
	e.hold = true
	e.rmu.Unlock()
}

// ResumeRead implements relay.End.
func (e *streamEnd) ResumeRead() {
	e.paused = false
	e.rmu.Lock()
	e.hold = false
	e.rmu.Unlock()
	e.letRead()
}
