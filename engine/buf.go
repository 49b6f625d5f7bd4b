package engine

import "github.com/valyala/bytebufferpool"

// Buffers for bytes engine must keep past a callback come from one pool and
// go back as soon as they are empty, so idle conns hold none.
var pool bytebufferpool.Pool

func getBuf() *bytebufferpool.ByteBuffer { return pool.Get() }

func putBuf(b *bytebufferpool.ByteBuffer) {
	b.Reset()
	pool.Put(b)
}

type byteBuffer = bytebufferpool.ByteBuffer
