package relay

// Reason says why a tunnel ended, or why a proxy request got none; it goes
// to the access log, so an operator can tell which rule or failure it was.
type Reason string

// How tunnels end.
const (
	ReasonDone          Reason = "done"           // both sides finished normally
	ReasonClientClosed  Reason = "client_closed"  // client closed, upstream flushed
	ReasonUpstreamEOF   Reason = "upstream_eof"   // upstream finished, client flushed
	ReasonClientError   Reason = "client_error"   // client reset or failed
	ReasonUpstreamError Reason = "upstream_error" // upstream reset or failed
	ReasonIdle          Reason = "idle_timeout"
	ReasonOverflow      Reason = "overflow"         // both ends stopped reading while both sent
	ReasonShutdown      Reason = "shutdown"         // the drain timeout cut it
	ReasonBadBody       Reason = "bad_request_body" // a forwarded request's chunked body did not parse
	ReasonBadResponse   Reason = "bad_response"     // a forwarded request's origin answered with no HTTP/1.x head
	ReasonBadStream     Reason = "bad_stream"       // a stage's codec refused the bytes of an end
)

// Why a proxy request is refused (the status in brackets).
const (
	ReasonBadRequest     Reason = "bad_request"     // the target does not parse (400)
	ReasonPort           Reason = "port"            // the port is not in the list (403); --allow-ports, --allow-forward-ports
	ReasonACL            Reason = "acl"             // the ACL denies the target (403); --acl
	ReasonPrivate        Reason = "private_address" // DNS gave only guarded addresses (403); --allow-private
	ReasonSelf           Reason = "self"            // the target is this proxy (403)
	ReasonClient         Reason = "client"          // the client's address is not in --allow-clients (the site answers)
	ReasonAuth           Reason = "auth"            // no or wrong credentials (407); --auth-file
	ReasonRateLimited    Reason = "rate_limited"    // too many failed logins (429)
	ReasonAuthBusy       Reason = "auth_busy"       // too many logins being checked (503)
	ReasonTunnelLimit    Reason = "tunnel_limit"    // --max-tunnels-per-user or -per-ip (429)
	ReasonDNS            Reason = "dns"             // the name did not resolve (502)
	ReasonConnectFailed  Reason = "connect_failed"  // refused, unreachable, reset (502)
	ReasonConnectTimeout Reason = "connect_timeout" // --connect-timeout passed (504)
	ReasonNoFDs          Reason = "no_fds"          // out of file descriptors while dialing (503)
)

// Why a parent proxy (--upstream-proxy) gave no tunnel; the client gets 502.
const (
	ReasonParentAuth    Reason = "parent_auth"         // the parent answered the CONNECT 407: it wants other credentials
	ReasonParentRefused Reason = "parent_refused"      // the parent answered with neither 2xx nor 407 (403, 502, ...)
	ReasonParentBad     Reason = "parent_bad_response" // the parent closed, or sent no HTTP/1.x head, before it answered
	ReasonParentTLS     Reason = "parent_tls"          // the TLS handshake with an https:// parent failed: its certificate, or its TLS
	ReasonParentUDP     Reason = "parent_no_udp"       // a connect-udp flow: a parent carries TCP only, so it is refused
)

// Why a connection to the SNI listener gets no tunnel (closed, no status).
const (
	ReasonNotTLS    Reason = "not_tls"           // its first bytes are no TLS handshake
	ReasonHTTPOnSNI Reason = "http_on_sni_port"  // an HTTP request or CONNECT: the client wants --listen, not --listen-sni
	ReasonNoSNI     Reason = "no_sni"            // no server_name, or an IP literal, and no --sni-default
	ReasonBadHello  Reason = "bad_client_hello"  // malformed or over the size limit
	ReasonSlowHello Reason = "slow_client_hello" // no whole ClientHello within --header-timeout
)
