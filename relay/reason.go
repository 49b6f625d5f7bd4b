package relay

// Reason says why a tunnel ended; it goes to the access log.
type Reason string

const (
	ReasonDone          Reason = "done"           // both sides finished normally
	ReasonClientClosed  Reason = "client_closed"  // client closed, upstream flushed
	ReasonUpstreamEOF   Reason = "upstream_eof"   // upstream finished, client flushed
	ReasonClientError   Reason = "client_error"   // client reset or failed
	ReasonUpstreamError Reason = "upstream_error" // upstream reset or failed
	ReasonIdle          Reason = "idle_timeout"
	ReasonOverflow      Reason = "overflow" // both ends stopped reading while both sent
	ReasonDialFailed    Reason = "dial_failed"
	ReasonRefused       Reason = "refused" // policy said no: 400, 403, 429 before any dial
	ReasonShutdown      Reason = "shutdown"
	ReasonBadBody       Reason = "bad_request_body" // a forwarded request's chunked body did not parse
	ReasonBadResponse   Reason = "bad_response"     // a forwarded request's origin answered with no HTTP/1.x head
)
