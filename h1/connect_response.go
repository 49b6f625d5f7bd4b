package h1

import (
	"errors"
	"fmt"
	"strings"
)

// ParseConnectResponse checks a --connect-response (nginx's
// proxy_connect_response): the status line and header lines a CONNECT's
// success carries, with `\r\n` written as such or as real line breaks. It
// returns the head to send, ending in the empty line. The status must be
// 200 (clients read any other as a refusal), and nothing may give the
// answer a body: Content-Length, Transfer-Encoding and Connection: close
// are refused, since the tunnel's bytes follow the head.
func ParseConnectResponse(s string) ([]byte, error) {
	s = strings.ReplaceAll(s, `\r\n`, "\n")
	s = strings.ReplaceAll(s, `\n`, "\n")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil, errors.New("empty")
	}
	head := []byte(strings.ReplaceAll(s, "\n", "\r\n") + "\r\n\r\n")
	resp, n, err := ParseResponse(head, DefaultLimits())
	if err != nil || n != len(head) {
		return nil, fmt.Errorf("%q is not an HTTP/1.x response head", s)
	}
	if resp.Code != 200 {
		return nil, fmt.Errorf("status %d: a CONNECT succeeds with 200", resp.Code)
	}
	for _, f := range resp.Fields {
		switch {
		case equalFold(f.Name, "Content-Length"), equalFold(f.Name, "Transfer-Encoding"):
			return nil, fmt.Errorf("%s: the tunnel's bytes follow the head, it has no body", f.Name)
		case equalFold(f.Name, "Connection") && hasToken(f.Value, "close"):
			return nil, errors.New("Connection: close would end the tunnel")
		}
	}
	return head, nil
}
