// Package relay is the tunnel: one actor per tunnel that owns both
// directions, their watermarks, the idle timeout, byte counts and the
// access-log record. It knows nothing about HTTP versions: the client end is
// any Side (an HTTP/1.1 socket, an HTTP/2 or HTTP/3 stream, a datagram
// flow), the upstream end is a Side too (a TCP socket enrolled on the
// client's loop), and codec stages (padding, capsules) sit between them.
package relay
