package h1

// versionShape is the form of HTTP-version = "HTTP/" DIGIT "." DIGIT
// (RFC 9112 section 2.3); 0 stands for any digit. The name is
// case-sensitive.
const versionShape = "HTTP/0.0"

// versionByte reports whether c may be byte j of an HTTP-version.
func versionByte(j int, c byte) bool {
	switch {
	case j >= len(versionShape):
		return false
	case j == 5 || j == 7:
		return '0' <= c && c <= '9'
	}
	return c == versionShape[j]
}

// checkVersion validates a complete HTTP-version whose bytes passed
// versionByte. A well-formed version other than 1.0 and 1.1 is reported as
// unsupported (505 for requests); a short one is malformed.
func checkVersion(v []byte, malformed, unsupported error) error {
	if len(v) != len(versionShape) {
		return malformed
	}
	if v[5] != '1' || v[7] != '0' && v[7] != '1' {
		return unsupported
	}
	return nil
}

// versionOf returns the numbers of a validated "HTTP/x.y".
func versionOf(v string) (major, minor int) {
	return int(v[5] - '0'), int(v[7] - '0')
}
