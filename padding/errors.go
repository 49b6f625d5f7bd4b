package padding

import "errors"

// Negotiation errors. They are plain values, never wrapped with the
// offending text, so that a flood of bad requests allocates nothing; the
// caller refuses the request (400 on HTTP/2 and HTTP/3) or, on the client
// side, fails the tunnel.
var (
	// ErrBadTypeRequest: padding-type-request held a token other than 0 or
	// 1 before any type we support.
	ErrBadTypeRequest = errors.New("padding: padding-type-request has a token other than 0 or 1")
	// ErrNoCommonType: padding-type-request listed only types we do not
	// support (Variant1 while padding is off).
	ErrNoCommonType = errors.New("padding: no requested padding type is supported")
	// ErrBadTypeReply: padding-type-reply is neither 0 nor 1.
	ErrBadTypeReply = errors.New("padding: padding-type-reply is neither 0 nor 1")
)
