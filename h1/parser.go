package h1

// HeadParser parses heads from a buffer that grows between calls, as the
// engine's per-connection input buffer does while a head trickles in. It
// remembers how far the previous call validated, so a head that arrives a
// byte at a time costs linear, not quadratic, time: without it, a client
// dripping a 64 KiB head could make the proxy scan about 2 GB.
//
// Between calls that return [ErrNeedMore], b must start with the same
// bytes as before (it may only grow), and lim must not change; call Reset
// before parsing anything else. Any other result resets the parser for
// the next head. The zero value is ready to use. A HeadParser belongs to
// one connection and is not safe for concurrent use.
type HeadParser struct {
	st scanState
}

// ParseRequest is [ParseRequest], resuming where the previous call on a
// shorter prefix of b stopped.
func (p *HeadParser) ParseRequest(b []byte, lim Limits) (req Request, n int, err error) {
	req, n, err = parseRequest(b, lim, &p.st)
	if err != ErrNeedMore {
		p.Reset()
	}
	return req, n, err
}

// ParseResponse is [ParseResponse], resuming where the previous call on a
// shorter prefix of b stopped.
func (p *HeadParser) ParseResponse(b []byte, lim Limits) (resp Response, n int, err error) {
	resp, n, err = parseResponse(b, lim, &p.st)
	if err != ErrNeedMore {
		p.Reset()
	}
	return resp, n, err
}

// Reset forgets a partly parsed head.
func (p *HeadParser) Reset() { p.st = scanState{} }
