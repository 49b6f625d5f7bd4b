package clienthello

import "errors"

// ErrNeedMore reports that b is a valid prefix of a ClientHello that is
// not complete yet. Read more and call [Parse] again with the grown buffer.
// It is returned as is, so err == ErrNeedMore works.
var ErrNeedMore = errors.New("clienthello: need more data")

// ErrNoSNI reports a complete, well-formed ClientHello without a host_name
// in a server_name extension. It is returned as is and, unlike the other
// errors, with a filled [Hello] (all but ServerName), so that the caller
// can route the connection to a default upstream.
var ErrNoSNI = errors.New("clienthello: no server_name")

// The hard errors. Parse wraps them with a reason for logs; test with
// errors.Is. The connection cannot be routed: close it (or, for
// ErrNotTLS, hand it to a protocol that it may be).
var (
	// ErrNotTLS: the first record header cannot start a TLS handshake
	// (an HTTP request, an SSLv2-style hello, another record type, noise).
	ErrNotTLS = errors.New("clienthello: not a TLS handshake")
	// ErrTooLarge: the records carrying the ClientHello would exceed the
	// size limit.
	ErrTooLarge = errors.New("clienthello: ClientHello too large")
	// ErrMalformed: TLS records that do not carry a well-formed
	// ClientHello.
	ErrMalformed = errors.New("clienthello: malformed ClientHello")
)

// parseError is a hard error with the reason behind it. Every failure is
// a package-level value, so that rejecting a flood of junk allocates
// nothing.
type parseError struct {
	kind   error // ErrNotTLS, ErrTooLarge or ErrMalformed
	reason string
}

func (e *parseError) Error() string { return e.kind.Error() + ": " + e.reason }
func (e *parseError) Unwrap() error { return e.kind }

func notTLS(reason string) *parseError    { return &parseError{ErrNotTLS, reason} }
func tooLarge(reason string) *parseError  { return &parseError{ErrTooLarge, reason} }
func malformed(reason string) *parseError { return &parseError{ErrMalformed, reason} }

// Record layer (RFC 8446 section 5.1). The first record header decides
// whether the stream is TLS at all; a bad header after it is a broken
// TLS stream instead.
var (
	errNotHandshake    = notTLS("first record is not a handshake record")
	errRecordVersion   = notTLS("first record version is not SSL 3.0 to TLS 1.3")
	errRecordOverflow  = notTLS("first record longer than 2^14")
	errRecordEmpty     = notTLS("first record is empty")
	errInterleaved     = malformed("ClientHello interleaved with another record type")
	errNextVersion     = malformed("record version is not SSL 3.0 to TLS 1.3")
	errNextOverflow    = malformed("record longer than 2^14")
	errNextEmpty       = malformed("empty handshake record")
	errNotClientHello  = malformed("first handshake message is not a ClientHello")
	errHelloShort      = malformed("ClientHello shorter than its fixed fields")
	errHelloLong       = malformed("ClientHello longer than its fields can be")
	errPastHello       = malformed("handshake record carries bytes after the ClientHello")
	errHelloTooLarge   = tooLarge("ClientHello records exceed the limit")
	errRecordsTooLarge = tooLarge("ClientHello records exceed the limit before it is complete")
)

// ClientHello body (RFC 8446 section 4.1.2) and extensions.
var (
	errBodyShort       = malformed("ClientHello body truncated")
	errLegacyVersion   = malformed("legacy_version is not 3.x")
	errSessionID       = malformed("legacy_session_id longer than 32")
	errCipherSuites    = malformed("cipher_suites empty or of odd length")
	errCompression     = malformed("legacy_compression_methods empty")
	errExtensionsBlock = malformed("extensions block length does not match the body")
	errExtensionFrame  = malformed("extension overruns the extensions block")
	errDupExtension    = malformed("duplicate extension type")
	errPSKNotLast      = malformed("pre_shared_key is not the last extension")
	errSNIList         = malformed("malformed server_name list")
	errSNIDup          = malformed("two host_name entries in server_name")
	errHostName        = malformed("host_name is not a DNS name")
	errALPNList        = malformed("malformed ALPN protocol_name_list")
	errVersionsList    = malformed("malformed supported_versions list")
)
