package h3

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
	"github.com/valyala/bytebufferpool"
)

// streamEnd is an HTTP/3 CONNECT stream as the client End of its tunnel,
// and the Front that answers its request. quic-go's streams block, the
// tunnel's loop must not; so the stream is driven by two goroutines of its
// own, and everything they learn reaches the tunnel through Loop.Exec:
//
//   - the request's handler goroutine answers the request once the loop
//     has decided (it alone touches the ResponseWriter), then reads the
//     stream, at most two reads in flight: each takes a token from the
//     gate, and the loop gives one back for each read it delivered while
//     the tunnel wants bytes. With the second token the reader already
//     waits in its next Read when the loop delivers, so a round trip costs
//     no wake-up of the reader by the loop (rr-1k over h3: 20.8-20.9 CPU
//     us per round trip, against 22.3-24.2 with one). While the tunnel has
//     the client paused nothing reads the stream, so quic-go returns no
//     flow-control credit and QUIC throttles the client.
//   - a writer goroutine exists only while writes toward the client are
//     queued: the loop first tries a write that cannot block
//     (TryWriteAll), and queues what the stream's window does not take.
//
// An idle tunnel holds no buffer: its reader blocks on a small read into
// the struct (or into a small pooled buffer while the struct's waits for
// the loop), and takes a large pooled buffer for the read after one that
// filled its buffer, and for as long as reads bring bulkRead or more.
// Only then: quic-go's Read blocks until the next DATA frame once a frame
// is used up, and a large buffer in a blocked Read is held for nothing.
type streamEnd struct {
	// Static after newStreamEnd.
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	loop *engine.Loop
	udp  *udpEnd // connect-udp: the datagram side of this stream, else nil
	pad  relay.Pad

	decide chan decision   // 1-buffered: the loop's answer to the request, for the handler goroutine
	gate   chan struct{}   // 2-buffered, never closed: a token per read the tunnel wants
	quit   chan struct{}   // closed when the end is done: nothing is read any more
	small  [smallRead]byte // the reader's wait for the next bytes
	// smallBusy: small is the reader's, or waits for the loop; the other
	// read in flight takes a pooled buffer. Set by the reader, cleared by
	// the loop.
	smallBusy atomic.Bool

	// Owned by the loop.
	ev       relay.Events
	paused   bool
	readWait int  // tokens held back while paused
	eof      bool // the client's FIN was delivered
	done     bool // Closed was reported, or the request was answered without a tunnel
	finAsked bool
	closeAt  bool // CloseAfterFlush: the end is done once the FIN is out
	watchLow int  // Drained once Buffered() <= watchLow; -1: none

	// Guarded by mu, between the loop and the writer goroutine.
	mu      sync.Mutex
	str     *http3.Stream // once the 200 is out
	out     *bytebufferpool.ByteBuffer
	fin     bool // FIN after out
	writing bool // a writer goroutine runs
	watched bool // the loop waits for the queue to drain
}

// decision is how the loop wants the request answered.
type decision struct {
	status int  // 200: the tunnel is open
	site   bool // probe resistance: the site answers
	abort  bool // reset the stream
}

// Each pool holds buffers of one size: one that is given smaller ones
// learns to drop the large (after an rr run every large read would
// allocate its 32 KiB anew).
var (
	readPool  engine.Pool // readSize
	smallPool engine.Pool // smallRead: the second small read in flight
	writePool engine.Pool
)

// getRead is an empty buffer of size bytes from p.
func getRead(p *engine.Pool, size int) *bytebufferpool.ByteBuffer {
	b := p.Get()
	if cap(b.B) < size {
		b.B = make([]byte, size)
	}
	return b
}

// putRead gives b back to the pool of its size.
func putRead(b *bytebufferpool.ByteBuffer) {
	if cap(b.B) >= readSize {
		readPool.Put(b)
	} else {
		smallPool.Put(b)
	}
}

// readSize is what a read after a full one takes at most: a good share of
// a stream window, and below the pool's largest size class. smallRead is
// what an idle stream waits with: most interactive writes fit it, and so
// does a NaïveProxy padded frame of a short write (at most 358 bytes),
// which a 64-byte read cut in two, doubling the loop hand-offs and the
// upstream writes of the padded first round trips.
//
// bulkRead: a read that brought this much is an upload under way, and the
// next read takes a buffer too. Dropping back to smallRead after every
// read short of readSize (an 8-stream upload's averaged 9.5 KiB) put a
// 512-byte read, and its loop hand-off, between every two large ones:
// 2.54-3.52 CPU s/GB before, 2.37-2.54 after (loadgen -mode bulk -proto h3
// -c 8 -dir up, after an rr-1k run, 6 alternating runs each). The cost: a
// stream that goes quiet right after such a read waits with readSize
// bytes until its next read, where an io.Copy proxy holds as much for
// each direction of every tunnel for its whole life.
const (
	readSize  = 32 << 10
	smallRead = 512
	bulkRead  = 4 << 10
)

// tryWriteMax is the largest write the loop hands to quic-go directly
// (TryWriteAll, which cannot block): one packet's worth. quic-go keeps a
// larger one as a single frame and copies what is left of it into a new
// buffer for every packet it cuts from it, quadratic in the write's size
// (measured here: 9 GB allocated for 64 MiB of 256 KiB writes). Larger
// writes go to the writer goroutine, whose blocking Write quic-go cuts
// into packets in one pass.
const tryWriteMax = 1200

var (
	errLocalReset = errors.New("h3: stream reset by the proxy")
	errGone       = errors.New("h3: the client went away before its answer")
)

// newStreamEnd makes the end of a CONNECT stream; the server waits for it
// at shutdown until it is done.
func newStreamEnd(s *Server, w http.ResponseWriter, r *http.Request, l *engine.Loop) *streamEnd {
	e := &streamEnd{
		s: s, w: w, r: r, loop: l,
		decide:   make(chan decision, 1),
		gate:     make(chan struct{}, 2),
		quit:     make(chan struct{}),
		watchLow: -1,
	}
	s.track(e)
	return e
}

// serve runs on the request's handler goroutine: it waits for the loop's
// decision, answers, and for a tunnel goes on as the reader.
func (e *streamEnd) serve() {
	var d decision
	select {
	case d = <-e.decide:
	case <-e.r.Context().Done():
		e.loop.Exec(func() { e.finish(errGone) })
		return
	}
	switch {
	case d.abort:
		panic(http.ErrAbortHandler) // quic-go resets the stream
	case d.site:
		e.s.Site.ServeHTTP(e.w, e.r)
		return
	case d.status != http.StatusOK:
		if d.status == http.StatusProxyAuthRequired {
			e.w.Header().Set("Proxy-Authenticate", e.s.Policy.Gate.Challenge())
		}
		e.w.WriteHeader(d.status)
		return
	}
	if e.udp != nil {
		e.w.Header().Set(http3.CapsuleProtocolHeader, "?1") // RFC 9297 section 3.4
	}
	e.pad.ReplyFields(e.w.Header().Set)
	e.w.WriteHeader(http.StatusOK)
	str := e.w.(http3.HTTPStreamer).HTTPStream() // writes the HEADERS frame
	e.mu.Lock()
	e.str = str
	select {
	case <-e.quit:
		// The tunnel reset the end before the 200 was out: reset now.
		e.mu.Unlock()
		str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeConnectError))
		str.CancelRead(quic.StreamErrorCode(http3.ErrCodeConnectError))
		return
	default:
	}
	if e.out != nil || e.fin {
		e.startWriter()
	}
	e.mu.Unlock()
	if e.udp != nil {
		e.udp.start(str)
	}
	e.read(str)
}

// read is the reader loop: one read in flight, handed to the loop, then
// the wait for the gate.
func (e *streamEnd) read(str *http3.Stream) {
	big := false
	for {
		select {
		case <-e.gate:
		case <-e.quit:
			return
		}
		var buf *bytebufferpool.ByteBuffer
		var n int
		var err error
		switch {
		case big:
			buf = getRead(&readPool, readSize)
			n, err = str.Read(buf.B[:readSize])
			buf.B = buf.B[:n]
			big = n >= bulkRead
		case e.smallBusy.Load():
			buf = getRead(&smallPool, smallRead)
			n, err = str.Read(buf.B[:smallRead])
			buf.B = buf.B[:n]
			big = n == smallRead
		default:
			e.smallBusy.Store(true)
			n, err = str.Read(e.small[:])
			big = n == smallRead // more may have arrived: the next read takes a buffer
		}
		if !e.loop.Exec(func() { e.deliver(buf, n, err) }) {
			if buf != nil {
				putRead(buf)
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// deliver hands a read to the tunnel, on the loop: buf, or else the n
// bytes of the small read (the reader leaves them alone until the gate).
func (e *streamEnd) deliver(buf *bytebufferpool.ByteBuffer, n int, err error) {
	switch {
	case buf != nil:
		if !e.done && len(buf.B) > 0 {
			e.ev.Data(buf.B)
		}
		putRead(buf)
	default:
		if n > 0 && !e.done {
			e.ev.Data(e.small[:n])
		}
		e.smallBusy.Store(false)
	}
	if e.done {
		return
	}
	switch {
	case err == nil:
		if e.paused {
			e.readWait++
		} else {
			e.gate <- struct{}{}
		}
	case errors.Is(err, io.EOF):
		e.eof = true
		e.ev.EOF()
	default:
		e.finish(e.why(err)) // a client reset, or its connection went
	}
}

// why is the close reason for err: a shutdown's cut, or err.
func (e *streamEnd) why(err error) error {
	if e.s.cutting.Load() {
		return engine.ErrShutdown
	}
	return err
}

// Bind implements relay.End.
func (e *streamEnd) Bind(ev relay.Events) { e.ev = ev }

// Write implements relay.End.
func (e *streamEnd) Write(p []byte) {
	if e.done || e.finAsked || len(p) == 0 {
		return
	}
	e.mu.Lock()
	if str := e.str; str != nil && !e.writing && e.out == nil && len(p) <= tryWriteMax {
		e.mu.Unlock()
		// Never blocks: all of p into the stream's send buffer, or none.
		err := str.TryWriteAll(p)
		if err == nil {
			return
		}
		if !errors.Is(err, quic.ErrWouldBlock) {
			e.finish(e.why(err))
			return
		}
		e.mu.Lock()
	}
	if e.out == nil {
		e.out = writePool.Get()
	}
	e.out.B = append(e.out.B, p...)
	if e.str != nil {
		e.startWriter()
	}
	e.mu.Unlock()
}

// startWriter starts the writer goroutine unless it runs. Called with mu.
func (e *streamEnd) startWriter() {
	if !e.writing {
		e.writing = true
		go e.writeLoop(e.str)
	}
}

// writeLoop writes what is queued, then the FIN if asked, and leaves when
// nothing is left.
func (e *streamEnd) writeLoop(str *http3.Stream) {
	for {
		e.mu.Lock()
		buf, fin := e.out, e.fin && e.out == nil
		e.out = nil
		if fin {
			e.fin = false
		}
		if buf == nil && !fin {
			e.writing = false
			watched := e.watched
			e.mu.Unlock()
			if watched {
				e.loop.Exec(e.checkDrained)
			}
			return
		}
		e.mu.Unlock()
		var err error
		if buf != nil {
			_, err = str.Write(buf.B)
			writePool.Put(buf)
		} else {
			err = str.Close()
			e.loop.Exec(e.finWritten)
		}
		if err != nil {
			e.mu.Lock()
			e.writing = false
			if e.out != nil {
				writePool.Put(e.out)
				e.out = nil
			}
			e.mu.Unlock()
			e.loop.Exec(func() { e.finish(e.why(err)) })
			return
		}
		e.mu.Lock()
		watched := e.watched
		e.mu.Unlock()
		if watched {
			e.loop.Exec(e.checkDrained)
		}
	}
}

// Buffered implements relay.End: bytes queued for the writer.
func (e *streamEnd) Buffered() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.out == nil {
		return 0
	}
	return len(e.out.B)
}

// PauseRead implements relay.End.
func (e *streamEnd) PauseRead() { e.paused = true }

// ResumeRead implements relay.End.
func (e *streamEnd) ResumeRead() {
	e.paused = false
	for ; e.readWait > 0 && !e.done; e.readWait-- {
		e.gate <- struct{}{}
	}
}

// WatchDrain implements relay.End.
func (e *streamEnd) WatchDrain(low int) {
	e.watchLow = low
	e.mu.Lock()
	e.watched = true
	e.mu.Unlock()
	e.checkDrained()
}

func (e *streamEnd) checkDrained() {
	if e.watchLow < 0 || e.done {
		return
	}
	if e.Buffered() <= e.watchLow {
		e.watchLow = -1
		e.mu.Lock()
		e.watched = false
		e.mu.Unlock()
		e.ev.Drained()
	}
}

// CloseWrite implements relay.End: the FIN after what is queued.
func (e *streamEnd) CloseWrite() {
	if e.done || e.finAsked {
		return
	}
	e.finAsked = true
	e.mu.Lock()
	e.fin = true
	if e.str != nil {
		e.startWriter()
	}
	e.mu.Unlock()
}

// CloseAfterFlush implements relay.End: the FIN after what is queued, and
// the end is done once it is out.
func (e *streamEnd) CloseAfterFlush() {
	if e.done {
		return
	}
	e.closeAt = true
	if e.finAsked && !e.pendingFIN() {
		e.finWritten()
		return
	}
	e.CloseWrite()
}

func (e *streamEnd) pendingFIN() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fin || e.writing
}

// finWritten runs on the loop once the FIN went out.
func (e *streamEnd) finWritten() {
	if !e.closeAt || e.done {
		return
	}
	if !e.eof {
		// The request stream is not needed any more (RFC 9114 section
		// 4.1.1: H3_NO_ERROR asks the client to stop sending).
		e.mu.Lock()
		str := e.str
		e.mu.Unlock()
		if str != nil {
			str.CancelRead(quic.StreamErrorCode(http3.ErrCodeNoError))
		}
	}
	e.finish(nil)
}

// Close implements relay.End: reset both ways with H3_CONNECT_ERROR (RFC
// 9114 section 4.4).
func (e *streamEnd) Close() {
	if e.done {
		return
	}
	e.mu.Lock()
	str := e.str
	e.mu.Unlock()
	if str == nil {
		e.answer(decision{abort: true})
	} else {
		str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeConnectError))
		str.CancelRead(quic.StreamErrorCode(http3.ErrCodeConnectError))
	}
	e.finish(errLocalReset)
}

// finish ends the end once: the reader stops, what is queued goes back,
// and the tunnel hears of it.
func (e *streamEnd) finish(err error) {
	if e.done {
		return
	}
	e.end()
	e.mu.Lock()
	if str := e.str; str != nil && err != nil {
		// Both directions end now, so that the stream no longer counts
		// against the connection's stream limit.
		str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeConnectError))
		str.CancelRead(quic.StreamErrorCode(http3.ErrCodeConnectError))
	}
	if !e.writing && e.out != nil {
		writePool.Put(e.out)
		e.out = nil
	}
	e.mu.Unlock()
	if e.ev != nil {
		e.ev.Closed(err)
	}
}

// answer hands the loop's decision to the handler goroutine, once.
func (e *streamEnd) answer(d decision) {
	select {
	case e.decide <- d:
	default:
	}
}

// Reply implements relay.Front.
func (e *streamEnd) Reply(status int) {
	if e.done {
		return
	}
	e.answer(decision{status: status})
	if status == http.StatusOK {
		e.gate <- struct{}{} // the first two reads
		e.gate <- struct{}{}
		return
	}
	e.finish(nil)
}

// Site implements relay.Front.
func (e *streamEnd) Site(early []byte) {
	if e.done {
		return
	}
	e.answer(decision{site: true})
	e.end()
}

// end marks the end done, once: no more reads, and the server no longer
// waits for it at shutdown.
func (e *streamEnd) end() {
	e.done = true
	close(e.quit)
	if e.udp != nil {
		e.udp.stop()
	}
	e.s.untrack(e)
}
