package h2

// sendQueue holds response bytes a stream's send window could not take
// yet, and whether END_STREAM follows them. It is empty (no allocation) in
// the steady state of a tunnel whose client keeps its window open.
type sendQueue struct {
	pending []byte
	end     bool
}

// write sends p (and END_STREAM after it when end) as far as the window
// allows and keeps the rest.
func (q *sendQueue) write(st *Stream, p []byte, end bool) {
	if len(q.pending) > 0 {
		q.pending = append(q.pending, p...)
		q.end = q.end || end
		return
	}
	n := st.WriteData(p, end)
	if n < len(p) || (end && len(p) == 0 && !st.localClosed) {
		q.pending = append(q.pending[:0], p[n:]...)
		q.end = q.end || end
	}
}

// flush retries after the window grew; it reports whether anything is left.
func (q *sendQueue) flush(st *Stream) bool {
	if len(q.pending) == 0 && !q.end {
		return false
	}
	n := st.WriteData(q.pending, q.end)
	rest := copy(q.pending, q.pending[n:])
	q.pending = q.pending[:rest]
	if rest == 0 {
		q.pending = nil
		if !q.end || st.localClosed || st.Dead() {
			q.end = false
			return false
		}
	}
	return true
}

func (q *sendQueue) len() int { return len(q.pending) }
