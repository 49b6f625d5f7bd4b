// Package h1 is the HTTP/1.1 front end of sluice.
//
// Its core is sans-IO: parsers take a []byte that holds the start of a
// message and either report the parsed head and its length, report
// [ErrNeedMore] without consuming anything, or fail with a [*StatusError]
// that tells the caller which response to send before closing. Builders
// append to a caller-owned []byte. Nothing in the core keeps a reference to
// its input after it returns, opens sockets or starts goroutines, so the
// engine can hand it the borrowed bytes of one OnTraffic callback.
//
// The parsers are strict on purpose (RFC 9112, RFC 9110): sluice sits at the
// edge, in front of origins that may read a message differently, and every
// leniency is a request-smuggling lever. Limits bound what a client can make
// a parser look at before it gives up (see [Limits]).
//
// The pieces, by file: request.go ([ParseRequest]), response.go
// ([ParseResponse]), head.go (the line scanner both share), parser.go
// ([HeadParser], for heads that arrive in pieces), authority.go
// ([ParseAuthority], CONNECT targets), forward.go (plain-HTTP forwarding
// with hop-by-hop fields removed and Via added), respframe.go
// ([ResponseFramer], where a response ends), chunked.go
// ([ChunkedScanner]), status.go (responses the proxy writes itself).
//
// Around the core: protocol.go reads request heads off a client conn;
// proxy.go opens CONNECT tunnels; exchange.go, origin.go and pool.go
// forward absolute-form requests with keep-alive, one relay tunnel per
// request, over origin conns kept in a per-loop pool between requests.
//
// All functions are safe for concurrent use; a [HeadParser] or
// [ChunkedScanner] value belongs to one owner.
package h1
