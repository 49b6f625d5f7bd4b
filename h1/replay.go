package h1

import (
	"bytes"
	"net"
	"os"
)

// goPeek is what Go's net/http server, serving h2c on a plain listener,
// reads of a new conn before it parses anything: 14 bytes, and 10 more when
// those are the start of the HTTP/2 preface. Each step reads no further
// than it needs, and until it has them nothing is answered.
var goPeek = h2Preface[:14]

// goPeeking reports whether Go's server would still be waiting for the
// bytes of its h2c peek, having received b.
func goPeeking(b []byte) bool {
	if len(b) < len(goPeek) {
		return true
	}
	return bytes.HasPrefix(b, goPeek) && len(b) < len(h2Preface)
}

// replayConn is a plain conn handed to the site with the bytes read before
// the hand-over, which the site then reads as if they were still in the
// socket.
type replayConn struct {
	net.Conn
	pre   []byte
	read  int  // how much of pre the site has read
	limit int  // how far into pre a read may go for now (the peek steps)
	cut   bool // after pre, a read timeout instead of the socket: the header timeout passed
}

// newReplay replays pre over nc. With steps, the site reads pre in Go's
// h2c peek steps: a Go web server that stops in the middle of them leaves
// the rest unread, and a close then resets the conn, so the site must
// stop in the same place.
func newReplay(nc net.Conn, pre []byte, steps, cut bool) *replayConn {
	r := &replayConn{Conn: nc, pre: pre, limit: len(pre), cut: cut}
	if steps {
		r.limit = min(len(goPeek), len(pre))
	}
	return r
}

// NetConn is the socket under the replay.
func (r *replayConn) NetConn() net.Conn { return r.Conn }

func (r *replayConn) Read(p []byte) (int, error) {
	if r.read < len(r.pre) {
		n := copy(p, r.pre[r.read:r.limit])
		r.read += n
		if r.read == r.limit {
			r.limit = len(r.pre)
			if r.read == len(goPeek) && bytes.Equal(r.pre[:r.read], goPeek) {
				r.limit = min(len(h2Preface), len(r.pre))
			}
		}
		return n, nil
	}
	if r.cut {
		return 0, os.ErrDeadlineExceeded
	}
	return r.Conn.Read(p)
}

// CloseWrite lets net/http end its side before it closes, as it does on a
// socket of its own.
func (r *replayConn) CloseWrite() error {
	if tc, ok := r.Conn.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}

// Close resets the conn when the site left replayed bytes unread, as the
// kernel does for bytes still in the socket.
func (r *replayConn) Close() error {
	if tc, ok := r.Conn.(*net.TCPConn); ok && r.read < len(r.pre) {
		_ = tc.SetLinger(0)
	}
	return r.Conn.Close()
}
