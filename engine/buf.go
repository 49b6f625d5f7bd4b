package engine

import (
	"sync/atomic"

	"github.com/valyala/bytebufferpool"
)

// Buffers for bytes engine must keep past a callback come from one pool and
// go back as soon as they are empty, so idle conns hold none.
var pool bytebufferpool.Pool

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
	b.Reset()
	pool.Put(b)
}

type byteBuffer = bytebufferpool.ByteBuffer
