// Package relay is the tunnel: one actor per tunnel, on one event loop,
// that owns both directions, their watermarks, the idle timeout, byte
// counts and the access-log record. It knows nothing about HTTP versions.
//
// A tunnel has two Ends, the client's and the upstream's, and treats them
// alike: an End is an HTTP/1.1 or SNI socket ([Socket]), an HTTP/2 stream
// (adapted in h2), and in time an HTTP/3 stream, an HTTP/3 datagram flow
// or a UDP socket. Every End reports through the same [Events] (Data, EOF,
// Drained, Closed), on the tunnel's loop. A codec [Stage] sits over an End
// and transforms both ways (a forwarded request's body cut, capsules,
// padding); a tunnel moves to splice(2) only when both its ends are bare
// TCP sockets. A tunnel whose exchange is complete while both ends stay
// open (a forwarded HTTP/1.1 request, kept alive) is released: it ends as
// done and its front end takes the connections back.
//
// Front ends open tunnels through [Policy.Open], the one admission path:
// the gate (authentication, probe resistance), the policy (ports, ACL, the
// address guard at dial time), the tunnel limits, the dial on the tunnel's
// [Loop], then the answer through the front end's [Front]. Every proxy
// request gets one access-log line with its status and a [Reason], written
// by the tunnel's one end, whether it ended on the loop, after a splice, or
// was refused.
//
// Ownership: a Tunnel, its Ends and its Stages belong to the loop; the
// splice goroutines own a spliced tunnel until they post its end back.
package relay
