// Package h2 is sluice's sans-IO HTTP/2 server side (RFC 9113): a framer that
// parses and appends frames over []byte, and a connection state machine,
// [ServerConn], that takes the bytes a client sent and appends the frames to
// send back to an output buffer whose writing the caller owns.
//
// Nothing here touches a socket, starts a goroutine or reads a clock other than
// through [Config.Now], so the whole protocol is testable by feeding byte
// scripts. The only HTTP/2 dependency is golang.org/x/net/http2/hpack; header
// validation (RFC 9110 tokens and field values) is our own because httpguts
// lives in the x/net/http module we do not import.
//
// An adapter drives a connection like this:
//
//	c := h2.NewServerConn(cfg, handler) // our SETTINGS are already in Output
//	on readable: n, err := c.Feed(in)   // keep in[n:], a partial frame, for next time
//	             write c.Output(); c.ResetOutput()
//	             if err != nil || c.Closed() { close after the write }
//	on upstream bytes:  n := st.WriteData(p, false) // keep p[n:] until OnWindow
//	on upstream drained: st.Consumed(k)              // reopens the client's window
//
// Flow control is how memory stays bounded: the client may only send what
// our windows allow, and they reopen only through Stream.Consumed. The
// caller must still stop reading the socket while its own outbound buffer is
// above its watermark, since PING and SETTINGS answers need no window.
//
// Ownership: a ServerConn and its Streams belong to one goroutine (one event
// loop). No method is safe for concurrent use. Handler callbacks run inside
// Feed (and inside the methods that trigger them), and a handler may call
// back into the Stream and the ServerConn from within them.
package h2
