package h1

// Limits bound what ParseRequest and ParseResponse accept. They are checked
// while the head is still incomplete, so a client cannot make the proxy
// buffer more than MaxHeaderBytes waiting for a CRLF CRLF that never comes.
// A zero field means its default.
type Limits struct {
	// MaxRequestLine caps the request line (or status line), without its
	// CRLF. Exceeding it gives 414. Default 8192, as nginx's large buffer.
	MaxRequestLine int
	// MaxHeaderBytes caps the whole head, from the first byte (leading
	// empty lines included) to the final CRLF. Exceeding it gives 431.
	// Default 65536.
	MaxHeaderBytes int
	// MaxFields caps the number of field lines. Exceeding it gives 431.
	// Default 100, as Envoy.
	MaxFields int
}

// Default limits; see the Limits fields.
const (
	DefaultMaxRequestLine = 8192
	DefaultMaxHeaderBytes = 65536
	DefaultMaxFields      = 100
)

// DefaultLimits returns the limits used for a zero Limits.
func DefaultLimits() Limits {
	return Limits{
		MaxRequestLine: DefaultMaxRequestLine,
		MaxHeaderBytes: DefaultMaxHeaderBytes,
		MaxFields:      DefaultMaxFields,
	}
}

// orDefault fills zero (or negative) fields so that Limits{} is usable.
func (l Limits) orDefault() Limits {
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = DefaultMaxRequestLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	return l
}
