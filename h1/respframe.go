package h1

// Part is what [ResponseFramer.Next] found at the start of its input.
type Part uint8

const (
	PartNeedMore Part = iota // an unfinished head: call again with more bytes
	PartHead                 // a response head, interim (1xx) or final
	PartBody                 // bytes of the final response's body
	PartDone                 // the final response is complete; nothing was consumed
)

// BodyMode is how the body of a final response is delimited (RFC 9112
// section 6.3).
type BodyMode uint8

const (
	BodyNone    BodyMode = iota // no body: HEAD, 204, 304
	BodyLength                  // Content-Length bytes
	BodyChunked                 // chunked framing, trailers included
	BodyClose                   // until the origin closes (and after a 101: another protocol)
)

// Framer states.
const (
	rfHead uint8 = iota
	rfBody
	rfDone
)

// ResponseFramer follows the answer to one request as an origin sends it:
// any interim (1xx) heads, the final head, and the final response's body,
// to its exact end, so a proxy can tell when the connection is free for
// the next request. It is sans-IO: Next looks at the start of the bytes it
// is given and says what they are and how many belong to that part; the
// caller forwards them and calls again with the rest.
//
// Between calls that return [PartNeedMore] the input must start with the
// same bytes, growing (a [HeadParser] resumes inside the head). The zero
// value is not ready: use [NewResponseFramer] or Reset. A ResponseFramer
// belongs to one owner.
type ResponseFramer struct {
	hp    HeadParser
	head  bool // the request was HEAD: no final response has a body
	state uint8
	mode  BodyMode
	left  int64 // BodyLength: bytes still to come
	cs    ChunkedScanner
	err   error
}

// NewResponseFramer returns a framer for the response to a request with
// method.
func NewResponseFramer(method string) *ResponseFramer {
	f := &ResponseFramer{}
	f.Reset(method)
	return f
}

// Reset prepares f for the response to another request.
func (f *ResponseFramer) Reset(method string) {
	*f = ResponseFramer{head: method == "HEAD"}
}

// Mode is how the final response's body is delimited, once its head was
// returned.
func (f *ResponseFramer) Mode() BodyMode { return f.mode }

// Done reports whether the final response is complete. A BodyClose
// response is never done: it ends with the connection.
func (f *ResponseFramer) Done() bool { return f.state == rfDone }

// InBody reports whether the final head has passed.
func (f *ResponseFramer) InBody() bool { return f.state != rfHead }

// Next reads the start of b. It returns PartHead with the head's length
// and the parsed Response (Code < 200 is interim, except 101, which is
// final and leaves the connection to another protocol: BodyClose);
// PartBody with how many of b's bytes are body; PartNeedMore with n 0 when
// b holds only part of a head; PartDone with n 0 once the final response
// ended, whatever b holds (bytes past the end are the caller's to judge).
// A malformed head or chunked body is a 502 [*StatusError], sticky; a
// body's error comes once the bytes before the bad one were returned.
func (f *ResponseFramer) Next(b []byte, lim Limits) (p Part, n int, resp Response, err error) {
	if f.err != nil {
		return PartNeedMore, 0, Response{}, f.err
	}
	switch f.state {
	case rfDone:
		return PartDone, 0, Response{}, nil
	case rfHead:
		resp, n, err = f.hp.ParseResponse(b, lim)
		if err == ErrNeedMore {
			return PartNeedMore, 0, Response{}, nil
		}
		if err != nil {
			f.err = err
			return PartNeedMore, 0, Response{}, err
		}
		f.final(&resp)
		return PartHead, n, resp, nil
	}
	if len(b) == 0 {
		return PartNeedMore, 0, Response{}, nil
	}
	switch f.mode {
	case BodyLength:
		n = int(min(int64(len(b)), f.left))
		f.left -= int64(n)
		if f.left == 0 {
			f.state = rfDone
		}
		return PartBody, n, Response{}, nil
	case BodyChunked:
		n, done, err := f.cs.Scan(b)
		if err != nil {
			if n > 0 {
				// Hand over what came before the bad byte first; the
				// scanner's error is sticky and comes next call.
				return PartBody, n, Response{}, nil
			}
			f.err = errRespChunked
			return PartNeedMore, 0, Response{}, f.err
		}
		if done {
			f.state = rfDone
		}
		return PartBody, n, Response{}, nil
	}
	return PartBody, len(b), Response{}, nil // BodyClose
}

// final decides, after a head, what follows it.
func (f *ResponseFramer) final(r *Response) {
	switch {
	case r.Code == 101:
		f.state, f.mode = rfBody, BodyClose
	case r.Code < 200:
		// Interim: another head follows (RFC 9110 section 15.2).
	case f.head || r.Code == 204 || r.Code == 304:
		f.state, f.mode = rfDone, BodyNone
	case r.Chunked:
		f.state, f.mode = rfBody, BodyChunked
	case r.ContentLength >= 0:
		f.state, f.mode, f.left = rfBody, BodyLength, r.ContentLength
		if f.left == 0 {
			f.state = rfDone
		}
	default:
		// Transfer-Encoding without chunked last, or no framing at all.
		f.state, f.mode = rfBody, BodyClose
	}
}

// KeepsAlive reports whether r lets its connection carry another
// exchange: HTTP/1.1 unless "Connection: close", HTTP/1.0 only with
// "Connection: keep-alive" (RFC 9112 section 9.3).
func (r *Response) KeepsAlive() bool {
	c := newConnOptions(r.Fields)
	if r.ProtoMajor == 1 && r.ProtoMinor == 0 {
		return c.n > 0 && c.names("keep-alive")
	}
	return !(c.n > 0 && c.names("close"))
}
