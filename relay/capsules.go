package relay

import (
	"errors"

	"github.com/sluice-proxy/sluice/capsule"
)

// Capsules is the codec of a connect-udp flow over a byte stream (an
// HTTP/2 stream, an HTTP/1.1 connection after its 101, capsules on an
// HTTP/3 request stream): each datagram is an RFC 9297 DATAGRAM capsule
// with context ID 0, and capsules of other types are skipped.
func Capsules() Codec { return &capsuleCodec{} }

type capsuleCodec struct{ d capsule.Decoder }

// errCapsule is the reason a flow ends on a malformed capsule.
var errCapsule = errors.New("relay: malformed capsule")

func (c *capsuleCodec) Encode(dst, p []byte) []byte { return capsule.Encode(dst, p) }

func (c *capsuleCodec) Decode(b []byte) ([]byte, int, error) {
	payload, n, err := c.d.Decode(b)
	switch {
	case err == capsule.ErrNeedMore:
		return nil, n, nil // n > 0: bytes of a skipped capsule were used
	case err != nil:
		return nil, 0, &StageError{Reason: ReasonBadStream, Err: errors.Join(errCapsule, err)}
	}
	if payload == nil {
		payload = b[n:n] // an empty datagram is still one
	}
	return payload, n, nil
}
