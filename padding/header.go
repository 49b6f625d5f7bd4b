package padding

import (
	"strconv"
	"strings"
)

// Header names, lowercase as HTTP/2 and HTTP/3 carry them.
const (
	// HeaderPadding carries random filler on both the request and the
	// reply. Its value is never read; its length varies the size of the
	// HEADERS frame. On a request, its mere presence is the legacy way to
	// ask for Variant1; on a reply, the legacy way to grant it.
	HeaderPadding = "padding"
	// HeaderTypeRequest lists the types a client supports, preferred
	// first, e.g. "1, 0".
	HeaderTypeRequest = "padding-type-request"
	// HeaderTypeReply names the one type the server chose.
	HeaderTypeReply = "padding-type-reply"
)

// Type is a padding type as numbered on the wire.
type Type uint8

const (
	None     Type = 0 // no framing: the tunnel is raw from the first byte
	Variant1 Type = 1 // the first PaddedFrames frames each way are padded
)

// String returns the type's name; values no peer defines print as numbers.
func (t Type) String() string {
	switch t {
	case None:
		return "None"
	case Variant1:
		return "Variant1"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Offer is what a CONNECT request said about padding. The caller fills it
// from the request headers; a header repeated on several field lines is
// joined with ", " first, as for any list-valued field.
type Offer struct {
	Padding        bool   // a padding header was present, whatever its value
	HasTypeRequest bool   // a padding-type-request header was present
	TypeRequest    string // its value
}

// Negotiate is the server's choice of padding type for a tunnel; enabled
// says whether this server pads at all. It is only for HTTP/2 and HTTP/3
// streams: an HTTP/1.1 tunnel is never padded.
//
// With padding-type-request, its comma-separated tokens are taken in order,
// and the first one we support wins: 1 while enabled, 0 always. A token
// other than 0 or 1 before that fails with ErrBadTypeRequest; tokens after
// the winner are not looked at, so a client may list types newer than
// ours after one we know. A list of nothing we support fails with
// ErrNoCommonType. Without padding-type-request, a padding header asks for
// Variant1, which an enabled server grants; anything else is None.
//
// On an error the request is refused. On success, answer a request that
// had padding-type-request with ReplyType's value in padding-type-reply,
// and only such a request: a client that did not ask would not read it,
// and a prober would learn what we are. Add a ReplyValue in padding when
// the result is Variant1, and never otherwise, since a client reads a
// padding reply header without padding-type-reply as Variant1.
func Negotiate(o Offer, enabled bool) (Type, error) {
	if !o.HasTypeRequest {
		if o.Padding && enabled {
			return Variant1, nil
		}
		return None, nil
	}
	s := o.TypeRequest
	for {
		tok, rest, more := strings.Cut(s, ",")
		switch trimOWS(tok) {
		case "0":
			return None, nil
		case "1":
			if enabled {
				return Variant1, nil
			}
		default:
			return None, ErrBadTypeRequest
		}
		if !more {
			return None, ErrNoCommonType
		}
		s = rest
	}
}

// ReplyType is the padding-type-reply value for t: "1" or "0". Types other
// than Variant1 report "0", since None is what we do for them.
func ReplyType(t Type) string {
	if t == Variant1 {
		return "1"
	}
	return "0"
}

// Answer is what a CONNECT reply said about padding, for code that plays
// the client.
type Answer struct {
	Padding      bool   // a padding header was present
	HasTypeReply bool   // a padding-type-reply header was present
	TypeReply    string // its value
}

// ParseAnswer is the client's reading of a reply: padding-type-reply, if
// present, must be exactly "0" or "1" (else ErrBadTypeReply, and the tunnel
// fails); without it a padding header means Variant1, and no header None.
func ParseAnswer(a Answer) (Type, error) {
	if a.HasTypeReply {
		switch a.TypeReply {
		case "0":
			return None, nil
		case "1":
			return Variant1, nil
		}
		return None, ErrBadTypeReply
	}
	if a.Padding {
		return Variant1, nil
	}
	return None, nil
}

// trimOWS strips the optional whitespace (space and tab) HTTP allows around
// list items.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
