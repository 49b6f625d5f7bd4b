package h2

import (
	"github.com/sluice-proxy/sluice/engine"
	"github.com/valyala/bytebufferpool"
)

// runPool holds the buffers of dataRun; one is out only while a Feed
// gathers, so a quiet conn holds none.
var runPool engine.Pool

// runMax bounds what one run gathers before it goes to the tunnel.
const runMax = 256 << 10

// dataRun gathers the payloads of consecutive DATA frames of one stream
// within one Feed, so that its tunnel makes one upstream write per read
// of the client's socket rather than one per frame (a client's frames are
// 16 KB at most, its reads up to 64 KB). A run of one frame stays
// borrowed from Feed's input; the second frame copies both, a memmove
// that costs far less than the write it saves.
type dataRun struct {
	sd    *side
	first []byte // borrowed from Feed's input while the run is one frame
	buf   *bytebufferpool.ByteBuffer
}

// addToRun appends p, borrowed until Feed returns, to sd's run, first
// delivering a run of another stream.
func (h *conn) addToRun(sd *side, p []byte) {
	r := &h.run
	if r.sd != sd {
		h.flushRun()
		r.sd, r.first = sd, p
		return
	}
	if r.buf == nil {
		r.buf = runPool.Get()
		r.buf.B = append(r.buf.B, r.first...)
		r.first = nil
	}
	r.buf.B = append(r.buf.B, p...)
	if len(r.buf.B) >= runMax {
		h.flushRun()
	}
}

// flushRun delivers the gathered run to its stream's tunnel.
func (h *conn) flushRun() {
	r := &h.run
	sd := r.sd
	if sd == nil {
		return
	}
	p, buf := r.first, r.buf
	if buf != nil {
		p = buf.B
	}
	*r = dataRun{}
	sd.fromClient(p, false)
	if buf != nil {
		runPool.Put(buf)
	}
}
