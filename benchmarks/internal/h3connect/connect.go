// Package h3connect opens an HTTP/3 CONNECT tunnel (RFC 9114 section
// 4.4) on a request stream, the way both load tools do: every step of
// the exchange bounded by one deadline, so that no loop of a tool can
// hang on a stuck proxy, and a stream whose exchange failed reset both
// ways. Which connection the stream goes on, and what counts as an
// answer that opens the tunnel, stay with each tool.
package h3connect

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Open opens a request stream on cc, sends a CONNECT to target with hdr
// (nil: no extra fields) and reads the response head, all within timeout.
// On an error the stream, if it was opened, is already reset both ways
// (H3_REQUEST_CANCELLED) and the caller has only its own bookkeeping to
// undo. On success the stream's deadline is still set: the caller checks
// the answer (and aborts the stream if it does not open the tunnel), then
// clears it.
func Open(ctx context.Context, cc *http3.ClientConn, target string, hdr http.Header, timeout time.Duration) (*http3.RequestStream, *http.Response, error) {
	deadline := time.Now().Add(timeout)
	octx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// Blocks only if the server granted fewer streams than the tool
	// counted, or has not yet returned the credit of streams just closed.
	rs, err := cc.OpenRequestStream(octx)
	if err != nil {
		return nil, nil, fmt.Errorf("h3: open stream: %w", err)
	}
	rs.SetDeadline(deadline)
	if hdr == nil {
		hdr = make(http.Header)
	}
	err = rs.SendRequestHeader(&http.Request{
		Method: http.MethodConnect,
		Host:   target,
		URL:    &url.URL{Host: target},
		Header: hdr,
	})
	if err != nil {
		Abort(rs)
		return nil, nil, err
	}
	resp, err := rs.ReadResponse()
	if err != nil {
		Abort(rs)
		return nil, nil, err
	}
	return rs, resp, nil
}

// Abort resets both directions of a stream (RESET_STREAM and
// STOP_SENDING with H3_REQUEST_CANCELLED).
func Abort(rs *http3.RequestStream) {
	rs.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
	rs.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
}
