package h1

// Bounds on chunked framing metadata. The proxy forwards chunked bodies
// as-is (decoded only for an HTTP/1.0 client) and never stores extensions
// or trailers, so these only stop a peer
// from streaming endless metadata that no origin would accept either.
const (
	maxChunkLine   = 4096  // chunk-size, extensions and BWS of one chunk line
	maxTrailerSize = 16384 // the whole trailer section
	maxChunkSize   = 1<<63 - 1
)

// Scanner states, in the order they occur in RFC 9112 section 7.1.
const (
	csSize         uint8 = iota // chunk-size hex digits
	csSizeBWS                   // whitespace after the size, before ";"
	csExt                       // chunk-ext bytes, up to CR
	csSizeLF                    // CR of the chunk line seen, LF next
	csData                      // chunk-data
	csDataCR                    // CRLF after chunk-data
	csDataLF                    //
	csTrailerStart              // start of a trailer line, or the final CRLF
	csTrailerName               // field-name of a trailer line
	csTrailerValue              // field-value of a trailer line, up to CR
	csTrailerLF                 // CR of a trailer line seen, LF next
	csEndLF                     // CR of the final empty line seen, LF next
	csDone
	csFailed
)

// ChunkedScanner finds the end of a chunked message body (RFC 9112
// section 7.1) in a stream of bytes, without copying or decoding it, so a
// proxy can forward the body verbatim and know where the next message
// starts. It validates framing strictly: hex sizes with overflow check,
// CRLF only (a bare LF is an error, see the smuggling notes in RFC 9112
// section 11.2), bounded chunk extensions and trailer section.
//
// The zero value is ready at the start of a body. A ChunkedScanner belongs
// to one owner and is not safe for concurrent use.
type ChunkedScanner struct {
	state uint8
	size  uint64 // current chunk-size while parsing it, then bytes left
	meta  int    // bytes of the current chunk line, or of the trailer section
	err   error  // sticky failure
}

// Reset prepares s for a new body.
func (s *ChunkedScanner) Reset() { *s = ChunkedScanner{} }

// Scan consumes framing and data from b, which continues where the
// previous call's input ended. It returns how many bytes of b belong to
// the body: len(b) while the body goes on, and the exact end of the body
// (after the trailer section's final CRLF) with done true. Calls after
// done return 0, true, nil. Framing errors are a 400 [*StatusError]
// (report 502 instead when scanning an origin's response); n is then the
// offset of the offending byte, and the error is sticky. b is not retained.
func (s *ChunkedScanner) Scan(b []byte) (n int, done bool, err error) {
	if s.state == csDone {
		return 0, true, nil
	}
	if s.state == csFailed {
		return 0, false, s.err
	}
	i := 0
	for i < len(b) {
		c := b[i]
		switch s.state {
		case csSize:
			d, ok := unhex(c)
			switch {
			case ok:
				if s.size > maxChunkSize>>4 {
					return s.fail(i, errChunkOverflow)
				}
				s.size = s.size<<4 | uint64(d)
			case s.meta == 0:
				// chunk-size = 1*HEXDIG
				return s.fail(i, errChunkSize)
			case c == '\r':
				s.state = csSizeLF
			case c == ';':
				s.state = csExt
			case c == ' ' || c == '\t':
				s.state = csSizeBWS
			default:
				return s.fail(i, errChunkSize)
			}
		case csSizeBWS:
			// BWS is only allowed before an extension (RFC 9112 section 7.1.1).
			switch c {
			case ' ', '\t':
			case ';':
				s.state = csExt
			default:
				return s.fail(i, errChunkExt)
			}
		case csExt:
			if c == '\r' {
				s.state = csSizeLF
			} else if !valueChar[c] {
				return s.fail(i, errChunkExt)
			}
		case csSizeLF:
			if c != '\n' {
				return s.fail(i, errChunkCRLF)
			}
			s.meta = 0
			if s.size == 0 {
				s.state = csTrailerStart
			} else {
				s.state = csData
			}
			i++
			continue
		case csData:
			// The hot path: skip data in one step instead of per byte.
			k := len(b) - i
			if uint64(k) >= s.size {
				k = int(s.size)
				s.state = csDataCR
			}
			s.size -= uint64(k)
			i += k
			continue
		case csDataCR:
			if c != '\r' {
				return s.fail(i, errChunkCRLF)
			}
			s.state = csDataLF
		case csDataLF:
			if c != '\n' {
				return s.fail(i, errChunkCRLF)
			}
			s.state = csSize
			s.meta = 0
			i++
			continue
		case csTrailerStart:
			switch {
			case c == '\r':
				s.state = csEndLF
			case tokenChar[c]:
				s.state = csTrailerName
			default:
				// Includes obs-fold and a bare LF.
				return s.fail(i, errTrailer)
			}
		case csTrailerName:
			if c == ':' {
				s.state = csTrailerValue
			} else if !tokenChar[c] {
				return s.fail(i, errTrailer)
			}
		case csTrailerValue:
			if c == '\r' {
				s.state = csTrailerLF
			} else if !valueChar[c] {
				return s.fail(i, errTrailer)
			}
		case csTrailerLF:
			if c != '\n' {
				return s.fail(i, errTrailer)
			}
			s.state = csTrailerStart
		case csEndLF:
			if c != '\n' {
				return s.fail(i, errTrailer)
			}
			s.state = csDone
			return i + 1, true, nil
		}
		// Every byte that reaches here is chunk-line or trailer metadata.
		s.meta++
		if s.state >= csTrailerStart {
			if s.meta > maxTrailerSize {
				return s.fail(i, errTrailer)
			}
		} else if s.meta > maxChunkLine {
			return s.fail(i, errChunkExt)
		}
		i++
	}
	return len(b), false, nil
}

// AppendData is Scan that also appends the chunk-data among b's bytes to
// dst: the body without its framing, extensions and trailer section, for a
// client that cannot read chunked framing (an HTTP/1.0 client, RFC 9112
// section 6.1). n, done and err are Scan's; the data before a framing
// error is appended.
func (s *ChunkedScanner) AppendData(dst, b []byte) (out []byte, n int, done bool, err error) {
	if s.state == csDone || s.state == csFailed {
		n, done, err = s.Scan(b)
		return dst, n, done, err
	}
	for n < len(b) {
		k := 1 // framing is scanned a byte at a time: it is a few bytes a chunk
		if s.state == csData {
			k = int(min(uint64(len(b)-n), s.size))
			dst = append(dst, b[n:n+k]...)
		}
		m, d, e := s.Scan(b[n : n+k])
		n += m
		if d || e != nil {
			return dst, n, d, e
		}
	}
	return dst, n, false, nil
}

// fail records a sticky error at offset i.
func (s *ChunkedScanner) fail(i int, err error) (int, bool, error) {
	s.state = csFailed
	s.err = err
	return i, false, err
}

// unhex decodes one HEXDIG.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
