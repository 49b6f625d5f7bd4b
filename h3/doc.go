// Package h3 is sluice's HTTP/3 front end: quic-go's http3 server on a UDP
// socket, whose CONNECT streams are tunnels of the same relay as h1's and
// h2's, through the same admission path (gate, policy, limits, dial) and
// the same access log, and whose other requests get the site.
//
// quic-go's streams block and a tunnel's loop must not, so a CONNECT
// stream's End (stream_end.go) is driven by two goroutines that report to
// the tunnel's loop through its task queue: the request's handler
// goroutine, which answers the request and then reads the stream one read
// at a time, and a writer that exists only while writes toward the client
// are queued. All the tunnels of one QUIC connection share one loop.
package h3
