package relay

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/yosida95/uritemplate/v3"
)

// DefaultUDPTemplate is where connect-udp requests are addressed (RFC 9298
// section 3: the well-known location).
const DefaultUDPTemplate = "/.well-known/masque/udp/{target_host}/{target_port}/"

// UDPTemplate matches the path (and query) of a connect-udp request against
// a URI template with the variables target_host and target_port (RFC 9298
// section 2). A template given as an absolute URI is matched on its path.
// Safe for concurrent use.
type UDPTemplate struct {
	t *uritemplate.Template
}

// ParseUDPTemplate parses a --udp-template.
func ParseUDPTemplate(s string) (*UDPTemplate, error) {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		j := strings.IndexAny(rest, "/{")
		if j < 0 || rest[j] != '/' {
			return nil, errors.New("udp template: an absolute URI needs a path")
		}
		s = rest[j:]
	}
	if !strings.HasPrefix(s, "/") {
		return nil, errors.New("udp template: must start with /")
	}
	t, err := uritemplate.New(s)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, n := range t.Varnames() {
		names[n] = true
	}
	if !names["target_host"] || !names["target_port"] {
		return nil, errors.New("udp template: needs {target_host} and {target_port}")
	}
	return &UDPTemplate{t: t}, nil
}

// Match returns the target of a request-target (path and query), its
// values percent-decoded; ok is false when it does not fit the template
// or names no valid port.
func (u *UDPTemplate) Match(target string) (host string, port uint16, ok bool) {
	vals := u.t.Match(target)
	if vals == nil {
		return "", 0, false
	}
	host = vals.Get("target_host").String()
	p, err := strconv.ParseUint(vals.Get("target_port").String(), 10, 16)
	if host == "" || err != nil || p == 0 {
		return "", 0, false
	}
	// The matcher decodes %XX; a value that still holds an escape was
	// not one (as in "%zz").
	if _, err := url.PathUnescape(host); err != nil || strings.ContainsAny(host, "/?#") {
		return "", 0, false
	}
	return strings.Trim(host, "[]"), uint16(p), true
}
