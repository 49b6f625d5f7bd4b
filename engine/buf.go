package engine

import (
	"sync/atomic"

	"github.com/valyala/bytebufferpool"
)

// Buffers for bytes engine must keep past a callback come from one pool and
// go back as soon as they are empty, so idle conns hold none.
var pool Pool

// Pool is a bytebufferpool.Pool that keeps what it is given back.
// bytebufferpool learns the sizes to keep from the length of each buffer
// put back and then drops those of a larger capacity; a buffer comes back
// here emptied or holding a short read, so it would learn "64 bytes" and
// every large buffer would be allocated anew. Put gives it back at its
// full capacity instead. Safe for concurrent use; the zero value is ready.
type Pool struct{ p bytebufferpool.Pool }

// Get returns an empty buffer.
func (p *Pool) Get() *bytebufferpool.ByteBuffer { return p.p.Get() }

// Put returns b to the pool; b must not be used after.
func (p *Pool) Put(b *bytebufferpool.ByteBuffer) {
	b.B = b.B[:cap(b.B)]
	p.p.Put(b) // which empties it
}

// heldBufs counts buffers out of the pool, so tests can prove idle conns
// hold none.
var heldBufs atomic.Int64

// HeldBuffers is the number of engine buffers in use now. Safe from any goroutine.
func HeldBuffers() int64 { return heldBufs.Load() }

func getBuf() *bytebufferpool.ByteBuffer {
	heldBufs.Add(1)
	return pool.Get()
}

func putBuf(b *bytebufferpool.ByteBuffer) {
	heldBufs.Add(-1)
	pool.Put(b)
}

type byteBuffer = bytebufferpool.ByteBuffer
