// Package connectudp holds the client side of connect-udp (RFC 9298)
// that both load tools speak the same way: filling the URI template,
// the HTTP/1.1 upgrade request, the DATAGRAM capsule a datagram travels
// in on a byte stream (RFC 9297), and masque-go's Conn as a flow. The
// tools' flows differ around these (how they close, abort or vanish),
// so they keep their own types and build on these pieces.
package connectudp

import (
	"net"
	"strings"

	"github.com/yosida95/uritemplate/v3"
)

// ExpandTarget fills the template's {target_host} and {target_port} with
// target's host and port.
func ExpandTarget(tmpl *uritemplate.Template, target string) (string, error) {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return "", err
	}
	return tmpl.Expand(uritemplate.Values{
		"target_host": uritemplate.String(host),
		"target_port": uritemplate.String(port),
	})
}

// UpgradeRequest is the HTTP/1.1 request head that opens a flow (RFC 9298
// section 3.3): a GET of the expanded template u, whose scheme and
// authority are "https://"+host, with Upgrade: connect-udp, answered
// with 101.
func UpgradeRequest(u, host string) string {
	return "GET " + strings.TrimPrefix(u, "https://"+host) + " HTTP/1.1\r\nHost: " + host +
		"\r\nConnection: Upgrade\r\nUpgrade: connect-udp\r\nCapsule-Protocol: ?1\r\n\r\n"
}

// Flow is one connect-udp flow to the UDP origin, whatever carries it:
// QUIC datagrams, DATAGRAM capsules on an HTTP/2 stream or an upgraded
// HTTP/1.1 connection, or a plain UDP socket.
type Flow interface {
	// Send sends one datagram. It is called from one goroutine at a time.
	Send(p []byte) error
	// Recv waits for the next datagram and returns it in b (truncated to
	// len(b) as a UDP socket would). It is called from one goroutine, the
	// flow's reader; it has no deadline (see Masque) and returns an error
	// once the flow is closed.
	Recv(b []byte) ([]byte, error)
	// Close ends the flow and makes a pending Recv return.
	Close() error
}
