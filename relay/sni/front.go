package sni

import "github.com/sluice-proxy/sluice/relay"

// front is an SNI connection as its tunnel's client End and Front. There is
// no answer to send on success: the ClientHello, already read, goes
// upstream first and the upstream server answers it. A refusal closes the
// connection; an ACL or port denial first says so with a TLS alert.
type front struct {
	relay.SocketEnd
}

// accessDenied is a fatal TLS alert record, access_denied (RFC 8446 section
// 6.2), in the record version clients accept before the handshake.
var accessDenied = []byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 49}

// Reply implements relay.Front.
func (f *front) Reply(status int) {
	if status == 200 {
		return
	}
	if status == 403 {
		f.Conn().Write(accessDenied)
	}
	f.Conn().CloseAfterFlush()
}

// Site implements relay.Front; no gate hides an SNI tunnel, so it is
// never called, and closing is the safe answer.
func (f *front) Site([]byte) { f.Conn().Close() }
