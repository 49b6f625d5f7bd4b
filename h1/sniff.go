package h1

// Sniff says what a client that negotiated h2 by ALPN is really speaking.
type Sniff uint8

const (
	SniffMore  Sniff = iota // b is a prefix of both: read more
	SniffHTTP1              // an HTTP/1.x request line
	SniffOther              // anything else: the HTTP/2 preface, or bytes for HTTP/2 to refuse
)

// maxSniff bounds how long a request line may be before the sniff gives
// up on HTTP/1.x; it matches the request-line limit of [DefaultLimits].
const maxSniff = 8 << 10

// SniffRequestLine tells an HTTP/1.x request line from anything else by
// the first bytes of a conn. Go's http.Transport offers h2 by ALPN to an
// HTTPS proxy and then sends an HTTP/1.1 CONNECT anyway; a server that
// trusts ALPN answers it with HTTP/2 frames. The line is recognised as
// method SP request-target SP "HTTP/1." and decided at the first byte that
// breaks that shape, so the HTTP/2 preface ("PRI * HTTP/2.0") and garbage
// are told apart without waiting for a line end.
func SniffRequestLine(b []byte) Sniff {
	const version = "HTTP/1."
	i := 0
	for i < len(b) && tokenChar[b[i]] {
		i++
	}
	if i == len(b) {
		return more(i)
	}
	if i == 0 || b[i] != ' ' {
		return SniffOther
	}
	i++
	start := i
	for i < len(b) && targetChar[b[i]] {
		i++
	}
	if i == len(b) {
		return more(i)
	}
	if i == start || b[i] != ' ' {
		return SniffOther
	}
	i++
	for k := 0; k < len(version); k, i = k+1, i+1 {
		if i == len(b) {
			return SniffMore
		}
		if b[i] != version[k] {
			return SniffOther
		}
	}
	return SniffHTTP1
}

func more(n int) Sniff {
	if n > maxSniff {
		return SniffOther
	}
	return SniffMore
}
