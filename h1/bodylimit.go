package h1

// bodyCutter passes exactly one request body and reports where it ends,
// so a forwarded request carries its own body to the origin and nothing
// the client pipelined after it.
type bodyCutter struct {
	left    int64 // Content-Length bytes still to pass; unused when chunked
	chunked bool
	cs      ChunkedScanner
	done    bool
}

func newBodyCutter(r *Request) *bodyCutter {
	b := &bodyCutter{chunked: r.Chunked, left: max(r.ContentLength, 0)}
	b.done = !b.chunked && b.left == 0
	return b
}

// cut returns how much of p belongs to the body; done turns true once the
// body is complete.
func (b *bodyCutter) cut(p []byte) (int, error) {
	if b.done {
		return 0, nil
	}
	if !b.chunked {
		n := int(min(int64(len(p)), b.left))
		b.left -= int64(n)
		b.done = b.left == 0
		return n, nil
	}
	n, done, err := b.cs.Scan(p)
	b.done = done
	return n, err
}
