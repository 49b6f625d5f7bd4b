package clienthello

// Extension types read or checked (IANA TLS ExtensionType registry).
const (
	extServerName        = 0  // RFC 6066 section 3
	extALPN              = 16 // RFC 7301 section 3.1
	extPreSharedKey      = 41 // RFC 8446 section 4.2.11
	extSupportedVersions = 43 // RFC 8446 section 4.2.1
)

// fields are the parts of a ClientHello body that Parse reports, still
// pointing into the message, so that nothing is allocated until the whole
// message is known to be good.
type fields struct {
	legacyVersion uint16
	maxVersion    uint16
	serverName    []byte // nil without a host_name
	alpn          []byte // protocol_name_list contents; nil without ALPN
	alpnCount     int
}

// reader consumes big-endian integers and length-prefixed vectors
// (RFC 8446 section 3.4) from a byte slice; ok turns false for good on
// the first read past its end.
type reader struct {
	b  []byte
	ok bool
}

func (r *reader) u8() int {
	if len(r.b) < 1 {
		r.ok, r.b = false, nil
		return 0
	}
	v := int(r.b[0])
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() int {
	if len(r.b) < 2 {
		r.ok, r.b = false, nil
		return 0
	}
	v := int(r.b[0])<<8 | int(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if len(r.b) < n {
		r.ok, r.b = false, nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) vec8() []byte  { return r.bytes(r.u8()) }
func (r *reader) vec16() []byte { return r.bytes(r.u16()) }

// parseBody parses a ClientHello body (RFC 8446 section 4.1.2; RFC 5246
// section 7.4.1.2 for the TLS 1.2 form without extensions).
func parseBody(body []byte) (fields, error) {
	var f fields
	r := reader{b: body, ok: true}
	f.legacyVersion = uint16(r.u16())
	r.bytes(32) // random
	sessionID := r.vec8()
	suites := r.vec16()
	compression := r.vec8()
	if !r.ok {
		return fields{}, errBodyShort
	}
	// Any 3.x: RFC 5246 appendix E.1 has servers answer a higher minor
	// version with their own, and RFC 8446 section 4.1.2 freezes it at
	// 0x0303.
	if f.legacyVersion>>8 != 3 {
		return fields{}, errLegacyVersion
	}
	if len(sessionID) > 32 {
		return fields{}, errSessionID
	}
	if len(suites) == 0 || len(suites)%2 != 0 {
		return fields{}, errCipherSuites
	}
	if len(compression) == 0 {
		return fields{}, errCompression
	}
	f.maxVersion = f.legacyVersion
	if len(r.b) == 0 {
		// RFC 5246 section 7.4.1.2: a ClientHello may end after the
		// compression methods; such a client sends no server_name.
		return f, nil
	}
	exts := r.vec16()
	if !r.ok || len(r.b) != 0 {
		return fields{}, errExtensionsBlock
	}
	if err := checkExtensions(exts); err != nil {
		return fields{}, err
	}
	if err := f.readExtensions(exts); err != nil {
		return fields{}, err
	}
	return f, nil
}

// checkExtensions validates the framing of an extensions block and that
// no type repeats (RFC 8446 section 4.2, RFC 5246 section 7.4.1.4): two
// server_name extensions could make this proxy and the upstream read
// different names. Real clients send about twenty extensions, checked
// against each other in place; a block of more falls back to a bitmap.
func checkExtensions(exts []byte) error {
	var seen [32]uint16
	n := 0
	for r := exts; len(r) > 0; n++ {
		if len(r) < 4 {
			return errExtensionFrame
		}
		typ := uint16(r[0])<<8 | uint16(r[1])
		l := int(r[2])<<8 | int(r[3])
		if len(r)-4 < l {
			return errExtensionFrame
		}
		if n < len(seen) {
			for _, s := range seen[:n] {
				if s == typ {
					return errDupExtension
				}
			}
			seen[n] = typ
		}
		r = r[4+l:]
	}
	if n > len(seen) {
		return checkDuplicatesBitmap(exts)
	}
	return nil
}

// checkDuplicatesBitmap finds a repeated type among any number of
// extensions (a 64 KiB block frames up to 16383) in linear time. It is a
// function of its own, kept out of line, so that the 8 KiB bitmap is on
// the stack only for such blocks.
//
//go:noinline
func checkDuplicatesBitmap(exts []byte) error {
	var bits [1 << 16 / 64]uint64
	for r := exts; len(r) > 0; {
		typ := uint16(r[0])<<8 | uint16(r[1])
		l := int(r[2])<<8 | int(r[3])
		if bits[typ/64]&(1<<(typ%64)) != 0 {
			return errDupExtension
		}
		bits[typ/64] |= 1 << (typ % 64)
		r = r[4+l:]
	}
	return nil
}

// readExtensions reads the extensions Parse reports from a block that
// checkExtensions accepted.
func (f *fields) readExtensions(exts []byte) error {
	r := reader{b: exts, ok: true}
	for len(r.b) > 0 {
		typ := r.u16()
		data := r.vec16()
		if typ == extPreSharedKey && len(r.b) != 0 {
			// RFC 8446 section 4.2.11: the binders cover the hello up
			// to this extension, so it must come last.
			return errPSKNotLast
		}
		var err error
		switch typ {
		case extServerName:
			f.serverName, err = readServerName(data)
		case extALPN:
			f.alpn, f.alpnCount, err = readALPN(data)
		case extSupportedVersions:
			f.maxVersion, err = readSupportedVersions(data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readServerName reads a ServerNameList (RFC 6066 section 3) and returns
// its host_name, nil if it has none. host_name is the only type the RFC
// defines; entries of other types are skipped, framed like it (a 16-bit
// length-prefixed opaque), as TLS stacks read them. A second host_name is
// an error (the RFC allows one name per type), not a choice: taking the
// first while the upstream takes the last would route on a name the
// upstream does not serve.
func readServerName(data []byte) ([]byte, error) {
	r := reader{b: data, ok: true}
	list := r.vec16()
	if !r.ok || len(r.b) != 0 || len(list) == 0 {
		return nil, errSNIList
	}
	var host []byte
	for l := (reader{b: list, ok: true}); len(l.b) > 0; {
		typ := l.u8()
		name := l.vec16()
		if !l.ok || len(name) == 0 {
			return nil, errSNIList
		}
		if typ != 0 { // host_name
			continue
		}
		if host != nil {
			return nil, errSNIDup
		}
		if !validHostName(name) {
			return nil, errHostName
		}
		host = name
	}
	return host, nil
}

// readALPN validates a ProtocolNameList (RFC 7301 section 3.1: at least
// one name, each of 1 to 255 bytes) and returns its contents and the
// number of names. Names are opaque; they are reported byte for byte.
func readALPN(data []byte) ([]byte, int, error) {
	r := reader{b: data, ok: true}
	list := r.vec16()
	if !r.ok || len(r.b) != 0 || len(list) == 0 {
		return nil, 0, errALPNList
	}
	n := 0
	for l := (reader{b: list, ok: true}); len(l.b) > 0; n++ {
		if name := l.vec8(); !l.ok || len(name) == 0 {
			return nil, 0, errALPNList
		}
	}
	return list, n, nil
}

// readSupportedVersions validates a ClientHello supported_versions list
// (RFC 8446 section 4.2.1: versions<2..254>) and returns the highest
// version in it that is not a GREASE value.
func readSupportedVersions(data []byte) (uint16, error) {
	r := reader{b: data, ok: true}
	list := r.vec8()
	if !r.ok || len(r.b) != 0 || len(list) < 2 || len(list)%2 != 0 {
		return 0, errVersionsList
	}
	var hi uint16
	for i := 0; i < len(list); i += 2 {
		v := uint16(list[i])<<8 | uint16(list[i+1])
		if !isGREASE(v) && v > hi {
			hi = v
		}
	}
	return hi, nil
}

// isGREASE reports whether v is one of the reserved values of RFC 8701
// section 2 (0x0A0A, 0x1A1A, ... 0xFAFA) that clients send to keep
// servers tolerant of unknown values.
func isGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// protocols converts the ALPN list into the reported []string: one string
// for all the names and one slice of them.
func (f *fields) protocols() []string {
	if f.alpnCount == 0 {
		return nil
	}
	s := string(f.alpn)
	out := make([]string, 0, f.alpnCount)
	for len(s) > 0 {
		n := int(s[0])
		out = append(out, s[1:1+n])
		s = s[1+n:]
	}
	return out
}
