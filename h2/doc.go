// Package h2 is sluice's sans-IO HTTP/2 server side (RFC 9113): a framer that
// parses and appends frames over []byte, and a connection state machine,
// [ServerConn], that takes the bytes a client sent and appends the frames to
// send back to an output buffer the caller owns the writing of.
//
// Nothing here touches a socket, starts a goroutine or reads a clock other than
// through [Config.Now], so the whole protocol is testable by feeding byte
// scripts. The only HTTP/2 dependency is golang.org/x/net/http2/hpack; header
// validation (RFC 9110 tokens and field values) is our own because httpguts
// lives in the x/net/http module we do not import.
//
// Ownership: a ServerConn and its Streams belong to one goroutine (one event
// loop). No method is safe for concurrent use. Handler callbacks run inside
// Feed, and a handler may call back into the Stream and the ServerConn from
// within them.
package h2
