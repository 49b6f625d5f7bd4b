package h1

import "github.com/sluice-proxy/sluice/relay"

// bodyStage is the client end of a forwarded request's tunnel seen as a
// relay codec: it passes exactly the request's body and drops what the
// client sends after it (the origin was told Connection: close), so a
// pipelined second request cannot reach the origin unrewritten.
type bodyStage struct{ b *bodyCutter }

// Encode is the origin's answer toward the client, as it is.
func (s *bodyStage) Encode(dst, p []byte) []byte { return append(dst, p...) }

func (s *bodyStage) Decode(b []byte) ([]byte, int, error) {
	n, err := s.b.cut(b)
	if err != nil {
		return nil, 0, &relay.StageError{Status: 400, Reason: relay.ReasonBadBody, Err: err}
	}
	if n == 0 {
		return nil, len(b), nil
	}
	return b[:n], len(b), nil
}

func (s *bodyStage) EncodeDone() bool { return true }
func (s *bodyStage) DecodeDone() bool { return false }

// responseHeads is the upstream end of a forwarded request's tunnel seen
// as a relay codec, until the origin's final response head has passed:
// hop-by-hop fields are stripped and "Connection: close" is set, as for
// the request, interim (1xx) heads too. Then the body flows untouched.
type responseHeads struct {
	hp     HeadParser
	out    []byte
	done   bool
	status func(code int) // the origin's final status, for the access log
}

// Encode is the request body toward the origin, as it is.
func (r *responseHeads) Encode(dst, p []byte) []byte { return append(dst, p...) }

func (r *responseHeads) Decode(b []byte) ([]byte, int, error) {
	resp, n, err := r.hp.ParseResponse(b, DefaultLimits())
	if err == ErrNeedMore {
		return nil, 0, nil // the head is not complete: the stage keeps it
	}
	if err != nil {
		return nil, 0, &relay.StageError{Status: 502, Reason: relay.ReasonBadResponse, Err: err}
	}
	r.out = AppendForwardResponse(r.out[:0], &resp, ForwardOptions{Connection: "close"})
	if resp.Code >= 200 || resp.Code == 101 {
		r.done = true
		r.status(resp.Code)
	}
	return r.out, n, nil
}

func (r *responseHeads) EncodeDone() bool { return true }
func (r *responseHeads) DecodeDone() bool { return r.done }
