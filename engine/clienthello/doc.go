// Package clienthello reads the server name and ALPN protocols from the
// first bytes of a TLS connection without terminating TLS, for the L4 SNI
// front end (the job of nginx's ssl_preread): the proxy peeks at the
// ClientHello, picks an upstream and relays every byte it read, untouched.
//
// It is a sans-IO codec, like the parsers in h1: [Parse] takes the bytes
// read from the client so far and either reports the [Hello], reports
// [ErrNeedMore] (read more, then call again with the grown buffer), or
// fails. Nothing keeps a reference to its input after it returns, does I/O
// or cryptography, or starts goroutines, so the engine can hand it the
// borrowed bytes of one callback.
//
// Parse decides as early as the bytes allow: the first byte of an HTTP
// request is already [ErrNotTLS], and a ClientHello announcing more than
// the size limit is [ErrTooLarge] from its handshake header on, so a
// caller never buffers more than the limit waiting for a verdict. A hard
// error on a prefix is the same hard error on any extension of it, and a
// result never changes when bytes arrive after the ClientHello.
//
// The checks are those that make the routing decision trustworthy: the
// record framing (RFC 8446 section 5.1), the ClientHello structure (RFC
// 8446 section 4.1.2, RFC 5246 section 7.4.1.2), unique extensions (RFC
// 8446 section 4.2) and the syntax of the three extensions read:
// server_name (RFC 6066 section 3), application_layer_protocol_negotiation
// (RFC 7301 section 3.1) and supported_versions (RFC 8446 section 4.2.1).
// Everything else (cipher suites, key shares, signatures) is the
// upstream's to judge; it gets the bytes as sent.
//
// The pieces, by file: parse.go ([Parse], [Hello]), record.go (the record
// layer and reassembly of a ClientHello split across records), hello.go
// (the ClientHello body and its extensions), name.go (host_name syntax),
// errors.go.
package clienthello
