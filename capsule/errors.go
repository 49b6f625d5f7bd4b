package capsule

import "errors"

// ErrNeedMore reports that the input ends inside a varint or a capsule. It
// is not a failure: keep the bytes that were not consumed and call again
// once more have arrived. Every other error from this package is hard.
var ErrNeedMore = errors.New("capsule: need more data")

// Hard errors. RFC 9297 section 3.3 asks a receiver to treat a Capsule
// Protocol error like a malformed message, so the caller resets the stream
// (HTTP/2 RST_STREAM, RFC 9113 section 8.1.1) or closes the connection
// (HTTP/1.1, RFC 9112 section 8).
var (
	// ErrTooLarge: a capsule's Length is above the caller's bound, or a
	// context-0 datagram carries more than a UDP packet can (RFC 9298
	// section 5). It is reported as soon as the header is in, so no one
	// buffers toward a capsule that will be refused.
	ErrTooLarge = errors.New("capsule: too large")

	// ErrMalformed: a DATAGRAM capsule whose value ends before its Context
	// ID does (RFC 9297 section 3.3: a payload that stops short of its
	// fields is malformed).
	ErrMalformed = errors.New("capsule: malformed datagram")

	// ErrTruncated: the data stream ended inside a capsule, which RFC 9297
	// section 3.3 also treats as a malformed message.
	ErrTruncated = errors.New("capsule: stream ended inside a capsule")
)
