package acl

import "crypto/md5"

// apr1 is Apache's MD5-crypt ("$apr1$salt$hash"), the default of
// `htpasswd -m`, implemented from Poul-Henning Kamp's algorithm as Apache
// documents it: the FreeBSD "$1$" construction with a different magic
// string. MD5 is weak; it is here only because existing files use it.

const apr1Magic = "$apr1$"

// cryptAlphabet is the crypt(3) base-64 alphabet, which is not RFC 4648's.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// apr1Sum returns the 22-character hash part for password and salt (at
// most 8 bytes; Apache silently ignores the rest).
func apr1Sum(password, salt []byte) [22]byte {
	if len(salt) > 8 {
		salt = salt[:8]
	}
	h := md5.New()

	// The "alternate" sum mixes the password with itself and the salt.
	h.Write(password)
	h.Write(salt)
	h.Write(password)
	var alt [md5.Size]byte
	h.Sum(alt[:0])

	h.Reset()
	h.Write(password)
	h.Write([]byte(apr1Magic))
	h.Write(salt)
	for n := len(password); n > 0; n -= md5.Size {
		h.Write(alt[:min(n, md5.Size)])
	}
	// The original code meant to add the first byte of the final sum but
	// used a zeroed buffer; every implementation keeps that quirk.
	zero := [1]byte{0}
	for n := len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(zero[:])
		} else {
			h.Write(password[:1])
		}
	}
	var sum [md5.Size]byte
	h.Sum(sum[:0])

	// 1000 rounds, to be slow in 1990s terms.
	for i := 0; i < 1000; i++ {
		h.Reset()
		if i&1 != 0 {
			h.Write(password)
		} else {
			h.Write(sum[:])
		}
		if i%3 != 0 {
			h.Write(salt)
		}
		if i%7 != 0 {
			h.Write(password)
		}
		if i&1 != 0 {
			h.Write(sum[:])
		} else {
			h.Write(password)
		}
		h.Sum(sum[:0])
	}
	return apr1Encode(&sum)
}

// apr1Encode writes the sum in crypt's byte order: five triples that
// interleave the digest, then the last byte alone, each emitted least
// significant 6 bits first.
func apr1Encode(s *[md5.Size]byte) [22]byte {
	var out [22]byte
	o := 0
	put := func(v uint32, n int) {
		for ; n > 0; n-- {
			out[o] = cryptAlphabet[v&0x3f]
			v >>= 6
			o++
		}
	}
	for _, t := range [5][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		put(uint32(s[t[0]])<<16|uint32(s[t[1]])<<8|uint32(s[t[2]]), 4)
	}
	put(uint32(s[11]), 2)
	return out
}
