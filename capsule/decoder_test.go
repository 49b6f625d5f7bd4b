package capsule

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// feed drives d the way a relay adapter does: it appends each piece to the
// bytes it kept, decodes until ErrNeedMore, and keeps what was not
// consumed. It returns copies of the payloads, the most it ever kept after
// a round, and the first hard error or End's verdict.
func feed(d *Decoder, pieces ...[]byte) (got [][]byte, held int, err error) {
	var buf []byte
	for _, p := range pieces {
		buf = append(buf, p...)
		for {
			payload, n, err := d.Decode(buf)
			if n < 0 || n > len(buf) {
				panic(fmt.Sprintf("Decode consumed %d of %d", n, len(buf)))
			}
			buf = buf[n:]
			if err == ErrNeedMore {
				break
			}
			if err != nil {
				return got, held, err
			}
			got = append(got, bytes.Clone(payload))
		}
		held = max(held, len(buf))
	}
	return got, held, d.End(buf)
}

// bytePieces splits b into 1-byte pieces.
func bytePieces(b []byte) [][]byte {
	p := make([][]byte, len(b))
	for i := range b {
		p[i] = b[i : i+1]
	}
	return p
}

func TestDecoderGolden(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		skipped uint64
	}{
		{"RFC9298-5/one-datagram", "\x00\x03\x00hi", []string{"hi"}, 0},
		{"RFC9298-5/empty-datagram", "\x00\x01\x00", []string{""}, 0},
		{"RFC9298-5/two-datagrams", "\x00\x03\x00hi\x00\x04\x00bye", []string{"hi", "bye"}, 0},
		{"RFC9298-4/other-context-dropped", "\x00\x03\x02hi\x00\x02\x00!", []string{"!"}, 1},
		{"RFC9297-3.2/unknown-type-dropped", "\x01\x02ab\x00\x02\x00!", []string{"!"}, 1},
		{"RFC9297-5.4/grease-0x17-between", "\x00\x02\x00a\x17\x00\x00\x02\x00b", []string{"a", "b"}, 1},
		{"RFC9297-5.4/grease-0x40-large", "\x40\x40\x41\x00" + string(make([]byte, 256)) + "\x00\x02\x00z", []string{"z"}, 1},
		{"RFC9297-1.1/non-minimal-everything", "\x40\x00\x80\x00\x00\x04\x40\x00hi", []string{"hi"}, 0},
		{"RFC9297-3.2/only-dropped", "\x17\x01x\x40\x69\x00", nil, 2},
		{"empty-stream", "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			for _, pieces := range [][][]byte{{in}, bytePieces(in)} {
				var d Decoder
				got, _, err := feed(&d, pieces...)
				if err != nil || len(got) != len(tt.want) || d.Skipped != tt.skipped {
					t.Fatalf("%d pieces: %q, skipped %d, %v; want %q, skipped %d", len(pieces), got, d.Skipped, err, tt.want, tt.skipped)
				}
				for i := range got {
					if string(got[i]) != tt.want[i] {
						t.Fatalf("%d pieces: datagram %d = %q; want %q", len(pieces), i, got[i], tt.want[i])
					}
				}
			}
		})
	}
}

func TestDecoderPrefixes(t *testing.T) {
	for _, tt := range goldenCapsules {
		if tt.headerOnly {
			continue
		}
		b := []byte(tt.wire)
		_, _, hn, _ := ParseHeader(b)
		ctx, want, err := ParseDatagram([]byte(tt.value))
		ours := tt.typ == TypeDatagram && err == nil && ctx == 0
		for i := range len(b) {
			var d Decoder
			p, n, err := d.Decode(b[:i])
			if err != ErrNeedMore || p != nil {
				t.Fatalf("%s: Decode(b[:%d]) = %q, %d, %v; want ErrNeedMore", tt.name, i, p, n, err)
			}
			// A DATAGRAM is held whole, and so is any header; the value
			// of another type is dropped as it arrives.
			wantN := 0
			if tt.typ != TypeDatagram && i >= hn {
				wantN = i
			}
			if n != wantN {
				t.Fatalf("%s: Decode(b[:%d]) consumed %d; want %d", tt.name, i, n, wantN)
			}
			// The rest completes the capsule.
			p, n2, err := d.Decode(b[n:])
			if ours {
				if err != nil || n2 != len(b) || !bytes.Equal(p, want) {
					t.Fatalf("%s: after b[:%d], Decode(rest) = %q, %d, %v", tt.name, i, p, n2, err)
				}
			} else if err != ErrNeedMore || n+n2 != len(b) || d.Skipped != 1 {
				t.Fatalf("%s: after b[:%d], Decode(rest) = %d, %v, skipped %d", tt.name, i, n2, err, d.Skipped)
			}
		}
	}
}

// stream builds a byte stream of count DATAGRAM capsules with random
// payloads of 0..1500 bytes (less if max is smaller) and returns it with
// the payloads and the number of capsules a Decoder should drop. Between them
// go GREASE capsules, other capsule types, and DATAGRAMs for other context
// IDs, some larger than max, and some varints are non-minimal.
func stream(r *rand.Rand, count, max int) ([]byte, [][]byte, uint64) {
	var b []byte
	var want [][]byte
	var skipped uint64
	for range count {
		switch r.IntN(6) {
		case 0:
			typ := 0x29*Type(r.IntN(100)) + 0x17
			b = Append(b, typ, make([]byte, r.IntN(3*max)))
			skipped++
		case 1:
			b = AppendDatagram(b, 1+r.Uint64N(1<<40), make([]byte, r.IntN(max-8)))
			skipped++
		case 2:
			// A non-minimal header and context ID 0 in two bytes.
			p := make([]byte, r.IntN(60))
			b = appendVarintN(b, 0, 8)
			b = appendVarintN(b, uint64(len(p)+2), 4)
			b = appendVarintN(b, 0, 2)
			b = append(b, p...)
			want = append(want, p)
		}
		p := make([]byte, r.IntN(min(1501, max-1)))
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		b = Encode(b, p)
		want = append(want, p)
	}
	return b, want, skipped
}

func checkDatagrams(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d datagrams; want %d", what, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: datagram %d differs (%d bytes; want %d)", what, i, len(got[i]), len(want[i]))
		}
	}
}

func TestDecoderStream(t *testing.T) {
	const max = 2000
	r := rand.New(rand.NewPCG(5, 6))
	in, want, skipped := stream(r, 200, max)
	bound := MaxHeaderLen + max

	var d Decoder
	d.Max = max
	got, held, err := feed(&d, in)
	if err != nil || d.Skipped != skipped {
		t.Fatalf("whole: %v, skipped %d; want %d", err, d.Skipped, skipped)
	}
	checkDatagrams(t, "whole", got, want)

	d.Reset()
	got, held, err = feed(&d, bytePieces(in)...)
	if err != nil || d.Skipped != skipped || held >= bound {
		t.Fatalf("bytes: %v, skipped %d, held %d", err, d.Skipped, held)
	}
	checkDatagrams(t, "bytes", got, want)

	for range 50 {
		var pieces [][]byte
		for rest := in; len(rest) > 0; {
			k := min(len(rest), 1+r.IntN(3000))
			pieces, rest = append(pieces, rest[:k]), rest[k:]
		}
		d.Reset()
		got, held, err = feed(&d, pieces...)
		if err != nil || d.Skipped != skipped || held >= bound+3000 {
			t.Fatalf("random pieces: %v, skipped %d, held %d", err, d.Skipped, held)
		}
		checkDatagrams(t, "random pieces", got, want)
	}
}

func TestDecoderEverySplit(t *testing.T) {
	const max = 300
	r := rand.New(rand.NewPCG(7, 8))
	in, want, skipped := stream(r, 8, max)
	for i := range len(in) + 1 {
		var d Decoder
		d.Max = max
		got, _, err := feed(&d, in[:i], in[i:])
		if err != nil || d.Skipped != skipped {
			t.Fatalf("split at %d: %v, skipped %d; want %d", i, err, d.Skipped, skipped)
		}
		checkDatagrams(t, fmt.Sprintf("split at %d", i), got, want)
	}
}

// A dropped capsule may be far larger than anything the caller buffers:
// here 1 MiB of GREASE arrives in 1000-byte pieces.
func TestDecoderSkipsLargeUnknownIncrementally(t *testing.T) {
	in := Append(nil, 0x40, make([]byte, 1<<20))
	in = Encode(in, []byte("after"))
	var pieces [][]byte
	for rest := in; len(rest) > 0; {
		k := min(len(rest), 1000)
		pieces, rest = append(pieces, rest[:k]), rest[k:]
	}
	var d Decoder
	d.Max = 100
	got, held, err := feed(&d, pieces...)
	if err != nil || d.Skipped != 1 || held > MaxHeaderLen+100 {
		t.Fatalf("%v, skipped %d, held %d", err, d.Skipped, held)
	}
	checkDatagrams(t, "large GREASE", got, [][]byte{[]byte("after")})
}

func TestDecoderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		err  error
	}{
		{"RFC9297-3.3/datagram-without-context-id", "\x00\x00", 0, ErrMalformed},
		{"RFC9297-3.3/datagram-truncated-context-id", "\x00\x01\x40", 0, ErrMalformed},
		{"RFC9297-3.3/after-good-datagrams", "\x00\x02\x00a\x17\x00\x00\x03\x80\x00\x00", 0, ErrMalformed},
		{"RFC9297-3.5/over-max", "\x00\x40\x65\x00" + payload100, 100, ErrTooLarge},
		{"RFC9297-3.5/header-alone-names-an-oversized-datagram", "\x00\x44\x00", 1000, ErrTooLarge},
		{"RFC9297-3.5/over-default-max", "\x00\x80\x01\x00\x00", 0, ErrTooLarge},
		{"RFC9297-3.5/other-context-over-max", "\x00\x44\x00\x02", 1000, ErrTooLarge},
		{"RFC9298-5/context-0-over-udp-max", string(Encode(nil, make([]byte, MaxUDPPayload+1))), MaxUDPPayload + 100, ErrTooLarge},
		{"RFC9297-3.3/stream-ends-in-datagram", "\x00\x03\x00h", 0, ErrTruncated},
		{"RFC9297-3.3/stream-ends-in-header", "\x00\x40", 0, ErrTruncated},
		{"RFC9297-3.3/stream-ends-in-grease", "\x17\x05abc", 0, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			for _, pieces := range [][][]byte{{in}, bytePieces(in)} {
				d := Decoder{Max: tt.max}
				if _, _, err := feed(&d, pieces...); err != tt.err {
					t.Fatalf("%d pieces: %v; want %v", len(pieces), err, tt.err)
				}
			}
			if tt.err == ErrTruncated {
				return
			}
			// Hard errors are sticky, with nothing consumed.
			d := Decoder{Max: tt.max}
			feed(&d, in)
			if p, n, err := d.Decode(Encode(nil, []byte("x"))); err != tt.err || n != 0 || p != nil {
				t.Fatalf("after the error: %q, %d, %v", p, n, err)
			}
			if err := d.End(nil); err != tt.err {
				t.Fatalf("End after the error: %v", err)
			}
			d.Reset()
			if d.Max != tt.max {
				t.Fatal("Reset dropped Max")
			}
			if p, n, err := d.Decode(Encode(nil, []byte("x"))); err != nil || n != 4 || string(p) != "x" {
				t.Fatalf("after Reset: %q, %d, %v", p, n, err)
			}
		})
	}
}

func TestDecoderMaxBoundary(t *testing.T) {
	at := Encode(nil, make([]byte, 99)) // Length 100
	over := Encode(nil, make([]byte, 100))
	d := Decoder{Max: 100}
	if _, n, err := d.Decode(at); err != nil || n != len(at) {
		t.Fatalf("at Max: %d, %v", n, err)
	}
	if _, _, err := d.Decode(over); err != ErrTooLarge {
		t.Fatalf("over Max: %v", err)
	}
	// The largest legal UDP payload passes with the default bound.
	var dflt Decoder
	big := Encode(nil, make([]byte, MaxUDPPayload))
	if p, n, err := dflt.Decode(big); err != nil || n != len(big) || len(p) != MaxUDPPayload {
		t.Fatalf("MaxUDPPayload with DefaultMax: %d, %d, %v", len(p), n, err)
	}
}

func TestDecoderNoAlloc(t *testing.T) {
	var in []byte
	for i := range 8 {
		in = Encode(in, make([]byte, 1200))
		in = Append(in, 0x17+0x29*Type(i), []byte("grease"))
		in = AppendDatagram(in, 2, []byte("other"))
	}
	var d Decoder
	if n := testing.AllocsPerRun(100, func() {
		for b := in; ; {
			_, n, err := d.Decode(b)
			b = b[n:]
			if err != nil {
				break
			}
		}
	}); n != 0 {
		t.Errorf("Decode allocates %v times", n)
	}
}
