package h2

import "sync"

// sendQueue holds response bytes a stream's send window could not take
// yet, and whether END_STREAM follows them. It is empty (no buffer) in the
// steady state of a tunnel whose client keeps its window open.
//
// A download faster than the client's window fills and empties the queue
// over and over. Its buffer comes from a pool and goes back once empty,
// and sent bytes are skipped with an offset rather than moved: a profile of
// one h2 download had 14% of the proxy's CPU in growing a fresh queue from
// nothing each time, and flush moved what was left to the front on every
// window update.
type sendQueue struct {
	buf *[]byte // pooled while bytes wait; nil when empty
	off int     // bytes at the front of *buf already sent
	end bool
}

// maxPooled is the largest queue buffer kept for reuse: a queue is bounded
// by the relay's watermark plus one read, and a buffer that grew past this
// is left to the collector.
const maxPooled = 4 << 20

// queueBufs is a plain sync.Pool, not an engine.Pool: bytebufferpool
// drops buffers above the sizes it calibrates to, and queues vary from a
// few KB to a few MB; with it the download above cost 3-4% more CPU.
var queueBufs = sync.Pool{New: func() any { return new([]byte) }}

// write sends p (and END_STREAM after it when end) as far as the window
// allows and keeps the rest.
func (q *sendQueue) write(st *Stream, p []byte, end bool) {
	if q.len() > 0 {
		q.add(p)
		q.end = q.end || end
		return
	}
	n := st.WriteData(p, end)
	if n < len(p) || (end && len(p) == 0 && !st.localClosed) {
		q.add(p[n:])
		q.end = q.end || end
	}
}

// add appends p, taking a buffer from the pool if the queue has none, and
// first drops the sent front once it is most of the buffer.
func (q *sendQueue) add(p []byte) {
	if len(p) == 0 {
		return
	}
	if q.buf == nil {
		q.buf = queueBufs.Get().(*[]byte)
		*q.buf, q.off = (*q.buf)[:0], 0
	}
	b := *q.buf
	if q.off > 0 && q.off >= len(b)/2 {
		b = b[:copy(b, b[q.off:])]
		q.off = 0
	}
	*q.buf = append(b, p...)
}

// flush retries after the window grew; it reports whether anything is left.
func (q *sendQueue) flush(st *Stream) bool {
	if q.len() == 0 && !q.end {
		return false
	}
	var p []byte
	if q.buf != nil {
		p = (*q.buf)[q.off:]
	}
	q.off += st.WriteData(p, q.end)
	if q.len() == 0 {
		q.release()
		if !q.end || st.localClosed || st.Dead() {
			q.end = false
			return false
		}
	}
	return true
}

// release gives the buffer back to the pool.
func (q *sendQueue) release() {
	if q.buf == nil {
		return
	}
	if cap(*q.buf) <= maxPooled {
		*q.buf = (*q.buf)[:0]
		queueBufs.Put(q.buf)
	}
	q.buf, q.off = nil, 0
}

func (q *sendQueue) len() int {
	if q.buf == nil {
		return 0
	}
	return len(*q.buf) - q.off
}
