package padding

import (
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// TestHuffmanTable checks our code lengths against x/net's HPACK encoder
// (a test-only oracle): eight copies of a character take exactly as many
// bytes as its code has bits.
func TestHuffmanTable(t *testing.T) {
	for i, bits := range huffmanBits {
		c := string(rune(' ' + i))
		if got := hpack.HuffmanEncodeLength(strings.Repeat(c, 8)); got != uint64(bits) {
			t.Errorf("%q: Huffman code of %d bits; table says %d", c, got, bits)
		}
	}
}

func TestAlphabet(t *testing.T) {
	if want := "!\"#$&'()*+,;<>?@XZ[\\]^`{|}~"; alphabet != want {
		t.Errorf("alphabet = %q; want %q", alphabet, want)
	}
	if want := "!\"#$&'()*+,;<>?@"; symbols != want {
		t.Errorf("symbols = %q; want %q", symbols, want)
	}
}

// TestValues: every value has a length in its range, only alphabet
// characters, and a Huffman form no shorter than itself, so HPACK and QPACK
// send it as it is.
func TestValues(t *testing.T) {
	r := chacha(9)
	for _, tt := range []struct {
		name   string
		value  func(Rand) string
		lo, hi int
	}{
		{"ReplyValue", ReplyValue, minReplyLen, maxReplyLen},
		{"RequestValue", RequestValue, minRequestLen, maxRequestLen},
	} {
		lengths := map[int]bool{}
		firsts := map[string]bool{}
		for range 3000 {
			v := tt.value(r)
			if len(v) < tt.lo || len(v) > tt.hi {
				t.Fatalf("%s: %d characters, outside [%d, %d]", tt.name, len(v), tt.lo, tt.hi)
			}
			if strings.Trim(v, alphabet) != "" {
				t.Fatalf("%s: %q has characters outside the alphabet", tt.name, v)
			}
			if hl := hpack.HuffmanEncodeLength(v); hl < uint64(len(v)) {
				t.Fatalf("%s: %q Huffman-codes to %d bytes, shorter than %d", tt.name, v, hl, len(v))
			}
			lengths[len(v)] = true
			firsts[v[:16]] = true
		}
		if len(lengths) != tt.hi-tt.lo+1 {
			t.Errorf("%s: %d distinct lengths in 3000 draws; want all %d", tt.name, len(lengths), tt.hi-tt.lo+1)
		}
		if len(firsts) < 2990 {
			t.Errorf("%s: only %d distinct 16-character prefixes in 3000", tt.name, len(firsts))
		}
	}
}

// TestValueDeterministic pins how draws map to a value: the length first,
// then 4 bits a character, low nibble first, 16 characters per draw.
func TestValueDeterministic(t *testing.T) {
	// Length draw 0 gives the shortest reply; read low nibble first,
	// 0xfedc...3210 walks the symbols in order.
	const walk = 0xfedcba9876543210
	got := ReplyValue(seq(0, walk, walk))
	if want := (symbols + symbols)[:minReplyLen]; got != want {
		t.Fatalf("ReplyValue = %q; want %q", got, want)
	}
	got = RequestValue(seq(maxRequestLen-minRequestLen, walk, walk))
	if want := symbols + symbols; got != want {
		t.Fatalf("RequestValue = %q; want %q", got, want)
	}
}

func TestValueDefaultRand(t *testing.T) {
	if v := ReplyValue(nil); len(v) < minReplyLen || len(v) > maxReplyLen {
		t.Fatalf("ReplyValue(nil) = %q", v)
	}
}
