package main

import "bytes"

// Payload bytes are checked end to end: a new proxy that drops,
// duplicates or reorders bytes must fail the benchmark, not win it. The
// data is a cyclic pattern with a prime period, so that a slip by any
// length but a multiple of 251 shows up. Writing it is zero-copy (a slice
// of one prebuilt buffer). Checking every byte of a bulk transfer cost the
// client 15-20 % of its rate, so bulk reads check only the first and last
// patProbe bytes of each read: a lost, repeated or misplaced buffer moves
// every later offset and is caught at the next read; a byte changed in the
// middle of a buffer is not, which is not how relays fail.
const (
	patPeriod = 251
	patProbe  = 64
)

// pat holds the pattern from every phase for a full chunk.
var pat = func() []byte {
	b := make([]byte, patPeriod+bulkChunk)
	for i := range b {
		b[i] = byte(i % patPeriod)
	}
	return b
}()

// patAt returns the n pattern bytes that belong at stream offset off
// (n <= bulkChunk).
func patAt(off int64, n int) []byte {
	s := int(off % patPeriod)
	return pat[s : s+n]
}

// patOK reports whether b, read at stream offset off, looks like the
// pattern: its first and last patProbe bytes are checked.
func patOK(off int64, b []byte) bool {
	if len(b) <= 2*patProbe {
		return bytes.Equal(b, patAt(off, len(b)))
	}
	tail := len(b) - patProbe
	return bytes.Equal(b[:patProbe], patAt(off, patProbe)) &&
		bytes.Equal(b[tail:], patAt(off+int64(tail), patProbe))
}
