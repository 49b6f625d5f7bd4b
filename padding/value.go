package padding

// Padding header values are built so that header compression cannot undo
// them. HPACK and QPACK send a literal Huffman-coded only when that is
// shorter; a value made of characters whose Huffman codes are 8 bits or more
// never is, so it goes out raw and the HEADERS frame grows by exactly its
// length. Random characters keep it from ever matching a dynamic-table
// entry, which would shrink it to an index.

// huffmanBits holds the length in bits of the HPACK Huffman code (RFC 7541
// Appendix B) of each printable ASCII character, from ' ' to '~'.
var huffmanBits = [0x7f - ' ']uint8{
	//   !  "   #   $  %  &   '   (   )  *   +  ,  -  .  /
	6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
	// 0 1 2 3 4 5 6 7 8 9 : ;   <  =   >   ?
	5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
	// @ A B C D E F G H I J K L M N O
	13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	// P Q R S T U V W X Y Z   [   \   ]   ^  _
	7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
	//  ` a  b  c  d  e  f  g  h  i  j  k  l  m  n  o
	15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
	// p q r s t u v w x y z   {   |   }   ~
	6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
}

// alphabet is every printable character with a Huffman code of 8 bits or
// more, in code-point order.
var alphabet = func() string {
	var b []byte
	for i, bits := range huffmanBits {
		if bits >= 8 {
			b = append(b, byte(' '+i))
		}
	}
	return string(b)
}()

// symbols are the first 16 of the alphabet, so that each character takes
// exactly 4 random bits; they are the ones the naive client draws from too.
var symbols = alphabet[:16]

// Value lengths, inclusive: replies as naive's server mode sends them,
// requests as the naive client does.
const (
	minReplyLen   = 30
	maxReplyLen   = 62
	minRequestLen = 16
	maxRequestLen = 32
)

// ReplyValue returns a value for the padding header of a reply that grants
// Variant1: 30 to 62 random characters.
func ReplyValue(r Rand) string {
	var buf [maxReplyLen]byte
	return string(appendValue(buf[:0], r, minReplyLen, maxReplyLen))
}

// RequestValue returns a value for the padding header of a request, 16 to 32
// random characters, for code that plays the client.
func RequestValue(r Rand) string {
	var buf [maxRequestLen]byte
	return string(appendValue(buf[:0], r, minRequestLen, maxRequestLen))
}

func appendValue(dst []byte, r Rand, lo, hi int) []byte {
	n := lo + uniform(r, hi-lo+1)
	var bits uint64
	for i := range n {
		if i%16 == 0 {
			bits = next(r)
		}
		dst = append(dst, symbols[bits&15])
		bits >>= 4
	}
	return dst
}
