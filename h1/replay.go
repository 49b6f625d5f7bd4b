package h1

import (
	"bytes"
	"net"
	"os"
	"sync/atomic"
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

// replayMode is how a conn handed to the site replays what was read of it.
type replayMode struct {
	// steps: the site reads the bytes in Go's h2c peek steps. A Go web
	// server that stops in the middle of them leaves the rest unread,
	// and a close then resets the conn, so the site must stop in the
	// same place.
	steps bool
	// cut: after the bytes, a read timeout instead of the socket (the
	// header timeout passed).
	cut bool
	// asSocket: the site's close and half-close act as on a socket of its
	// own (--camouflage go): a close with replayed bytes unread resets,
	// as the kernel does for unread bytes, and CloseWrite ends our side.
	asSocket bool
}

// replayConn is a conn handed to the site with the bytes read before the
// hand-over, which the site then reads as if they were still in the
// socket.
type replayConn struct {
	net.Conn
	mode  replayMode
	pre   []byte
	read  int         // how much of pre the site has read
	limit int         // how far into pre a read may go for now (the peek steps)
	done  atomic.Bool // all of pre was read: Close may come from another goroutine
}

func newReplay(nc net.Conn, pre []byte, mode replayMode) *replayConn {
	r := &replayConn{Conn: nc, pre: pre, mode: mode, limit: len(pre)}
	if mode.steps {
		r.limit = min(len(goPeek), len(pre))
	}
	r.done.Store(len(pre) == 0)
	return r
}

// NetConn is the conn under the replay.
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
		if r.read == len(r.pre) {
			r.done.Store(true)
		}
		return n, nil
	}
	if r.mode.cut {
		return 0, os.ErrDeadlineExceeded
	}
	return r.Conn.Read(p)
}

// CloseWrite ends our side (FIN, or close_notify on TLS) when the site
// asks, as net/http does on a socket of its own before it closes.
func (r *replayConn) CloseWrite() error {
	if cw, ok := r.Conn.(interface{ CloseWrite() error }); ok && r.mode.asSocket {
		return cw.CloseWrite()
	}
	return nil
}

// Close resets a plain conn whose replayed bytes the site left unread.
func (r *replayConn) Close() error {
	if tc, ok := r.Conn.(*net.TCPConn); ok && r.mode.asSocket && !r.done.Load() {
		_ = tc.SetLinger(0)
	}
	return r.Conn.Close()
}
