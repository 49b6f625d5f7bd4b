package engine

import (
	"bytes"
	"crypto/tls"
	"reflect"
	"unsafe"
)

// crypto/tls keeps a record buffer (Conn.rawInput, which also holds the
// plaintext of the record being read) and a handshake-message buffer
// (Conn.hand) for the life of the conn, at the capacity of the largest
// record ever read: 2 KB and 1.5 KB from a post-quantum ClientHello alone,
// 40 KB once full-size records have passed. An idle tunnel needs neither, and
// crypto/tls has no way to let them go. So engine reaches them itself: it
// zeroes a buffer when it is empty (nothing of a partial record, no
// undelivered plaintext, no part of a handshake message), and it lends the
// record buffer from a pool for the span of the handshake and of each
// readTLS, taking it back when the records have all been read. A conn holds
// a record buffer only while a partial record waits for the rest of it.
//
// The fields are found by name and type through reflect, once; if this Go's
// crypto/tls has other ones, tlsBufs.ok is false and the buffers are left
// as crypto/tls keeps them (TestTLSBufferFieldsFound fails first).
// Only the goroutine that reads the conn touches them (the handshake's, then
// the loop; never after Detach has handed the tls.Conn on), between calls of
// tls.Conn.Read, which is where crypto/tls touches them too.
var tlsBufs = func() (f struct {
	ok                    bool
	rawInput, input, hand uintptr
}) {
	t := reflect.TypeFor[tls.Conn]()
	field := func(name string, typ reflect.Type) (uintptr, bool) {
		sf, ok := t.FieldByName(name)
		if !ok || sf.Type != typ || len(sf.Index) != 1 {
			return 0, false
		}
		return sf.Offset, true
	}
	var ok1, ok2, ok3 bool
	f.rawInput, ok1 = field("rawInput", reflect.TypeFor[bytes.Buffer]())
	f.input, ok2 = field("input", reflect.TypeFor[bytes.Reader]())
	f.hand, ok3 = field("hand", reflect.TypeFor[bytes.Buffer]())
	f.ok = ok1 && ok2 && ok3
	return f
}()

// tlsBuffersReleased reports whether engine releases crypto/tls's buffers
// (false on a Go whose tls.Conn it does not know).
func tlsBuffersReleased() bool { return tlsBufs.ok }

func tlsRawInput(tc *tls.Conn) *bytes.Buffer {
	return (*bytes.Buffer)(unsafe.Add(unsafe.Pointer(tc), tlsBufs.rawInput))
}

func tlsInput(tc *tls.Conn) *bytes.Reader {
	return (*bytes.Reader)(unsafe.Add(unsafe.Pointer(tc), tlsBufs.input))
}

func tlsHand(tc *tls.Conn) *bytes.Buffer {
	return (*bytes.Buffer)(unsafe.Add(unsafe.Pointer(tc), tlsBufs.hand))
}

// tlsInPool holds record buffers between reads, shared by every TLS conn.
var tlsInPool Pool

// tlsInKeepMax bounds the record buffers kept in the pool. One TLS 1.3
// record with its header is at most 16 KB + 261 B; crypto/tls grows the
// buffer by doubling: one that has held a full record is 40 KB.
const tlsInKeepMax = 64 << 10

// lendRecordBuf gives tc a pooled record buffer if it holds none, before
// it is read.
func (t *tlsTransport) lendRecordBuf(tc *tls.Conn) {
	if !tlsBufs.ok {
		return
	}
	raw := tlsRawInput(tc)
	if raw.Cap() > 0 {
		return // a partial record, kept from the last read
	}
	h := tlsInPool.Get()
	*raw = *bytes.NewBuffer(h.B[:0]) // an empty one: crypto/tls grows it, and reclaim pools it
	h.B = nil
	t.inBuf = h
}

// reclaimRecordBuf takes the record buffer back from tc into the pool if it
// holds nothing, and lets an empty handshake buffer go.
func (t *tlsTransport) reclaimRecordBuf(tc *tls.Conn) {
	if !tlsBufs.ok {
		return
	}
	if hand := tlsHand(tc); hand.Len() == 0 && hand.Cap() > 0 {
		*hand = bytes.Buffer{} // the handshake's, or a post-handshake message's (KeyUpdate)
	}
	raw, in := tlsRawInput(tc), tlsInput(tc)
	if raw.Len() != 0 || in.Len() != 0 || raw.Cap() == 0 {
		return
	}
	raw.Reset()
	b := raw.AvailableBuffer() // the whole buffer, empty
	*raw = bytes.Buffer{}
	in.Reset(nil) // it read from the buffer
	h := t.inBuf
	t.inBuf = nil
	if cap(b) > tlsInKeepMax {
		return
	}
	if h == nil {
		h = new(byteBuffer)
	}
	h.B = b
	tlsInPool.Put(h)
}
