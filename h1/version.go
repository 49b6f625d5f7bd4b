package h1

// checkVersion validates HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112
// section 2.3), case-sensitively. A well-formed version other than 1.0 and
// 1.1 is reported as unsupported (505 for requests); anything else is
// malformed. With complete false, v is a prefix and is only checked
// against the shape, since "HTTP/1." may still become "HTTP/1.1".
func checkVersion(v []byte, complete bool, malformed, unsupported error) error {
	const shape = "HTTP/0.0"
	if len(v) > len(shape) {
		return malformed
	}
	for i, c := range v {
		switch i {
		case 5, 7:
			if c < '0' || c > '9' {
				return malformed
			}
		default:
			if c != shape[i] {
				return malformed
			}
		}
	}
	if !complete {
		return nil
	}
	if len(v) != len(shape) {
		return malformed
	}
	if v[5] != '1' || v[7] != '0' && v[7] != '1' {
		return unsupported
	}
	return nil
}

// versionOf returns the minor version of a validated "HTTP/1.x".
func versionOf(v string) (major, minor int) {
	return int(v[5] - '0'), int(v[7] - '0')
}
