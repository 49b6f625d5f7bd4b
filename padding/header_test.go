package padding

import "testing"

func TestNegotiate(t *testing.T) {
	const absent = "\x00absent" // marks a test without padding-type-request
	for _, tt := range []struct {
		typeRequest string
		padding     bool
		enabled     bool
		want        Type
		err         error
	}{
		{"1, 0", true, true, Variant1, nil},
		{"1", true, true, Variant1, nil},
		{"0", true, true, None, nil},
		{"0, 1", true, true, None, nil},
		{"1,0", false, true, Variant1, nil},
		{" \t1 ,\t0 ", false, true, Variant1, nil},

		// An unknown token before a winner refuses the request, even if a
		// supported one follows; after the winner it is never read.
		{"2, 1", true, true, None, ErrBadTypeRequest},
		{"1, 2", true, true, Variant1, nil},
		{"01", true, true, None, ErrBadTypeRequest},
		{"1 0", true, true, None, ErrBadTypeRequest},
		{"+1", true, true, None, ErrBadTypeRequest},
		{"", true, true, None, ErrBadTypeRequest},
		{", 1", true, true, None, ErrBadTypeRequest},

		// padding-type-request decides over a legacy padding header.
		{"0", true, true, None, nil},

		// Without padding-type-request, the padding header alone asks.
		{absent, true, true, Variant1, nil},
		{absent, false, true, None, nil},
		{absent, true, false, None, nil},
		{absent, false, false, None, nil},

		// A server with padding off still speaks None.
		{"1, 0", true, false, None, nil},
		{"1", true, false, None, ErrNoCommonType},
		{"1, 2", true, false, None, ErrBadTypeRequest},
		{"1, 1", true, false, None, ErrNoCommonType},
	} {
		o := Offer{Padding: tt.padding, HasTypeRequest: tt.typeRequest != absent}
		if o.HasTypeRequest {
			o.TypeRequest = tt.typeRequest
		}
		got, err := Negotiate(o, tt.enabled)
		if got != tt.want || err != tt.err {
			t.Errorf("Negotiate(%+v, enabled=%v) = %v, %v; want %v, %v", o, tt.enabled, got, err, tt.want, tt.err)
		}
	}
}

func TestNegotiateAllocs(t *testing.T) {
	o := Offer{HasTypeRequest: true, TypeRequest: "3, 1, 0"}
	if n := testing.AllocsPerRun(100, func() { Negotiate(o, true) }); n != 0 {
		t.Errorf("Negotiate allocates %v times on a bad request", n)
	}
}

func TestParseAnswer(t *testing.T) {
	for _, tt := range []struct {
		a    Answer
		want Type
		err  error
	}{
		{Answer{HasTypeReply: true, TypeReply: "1"}, Variant1, nil},
		{Answer{HasTypeReply: true, TypeReply: "0", Padding: true}, None, nil},
		{Answer{HasTypeReply: true, TypeReply: "1", Padding: true}, Variant1, nil},
		{Answer{HasTypeReply: true, TypeReply: "2"}, None, ErrBadTypeReply},
		{Answer{HasTypeReply: true, TypeReply: ""}, None, ErrBadTypeReply},
		{Answer{HasTypeReply: true, TypeReply: "1, 0"}, None, ErrBadTypeReply},
		{Answer{Padding: true}, Variant1, nil}, // how legacy servers grant it
		{Answer{}, None, nil},
	} {
		if got, err := ParseAnswer(tt.a); got != tt.want || err != tt.err {
			t.Errorf("ParseAnswer(%+v) = %v, %v; want %v, %v", tt.a, got, err, tt.want, tt.err)
		}
	}
}

// TestReplyAgreesWithClient: what the server replies for each type reads
// back as that type on the client, under the advice Negotiate gives (a
// padding header only with Variant1).
func TestReplyAgreesWithClient(t *testing.T) {
	for _, typ := range []Type{None, Variant1} {
		a := Answer{HasTypeReply: true, TypeReply: ReplyType(typ), Padding: typ == Variant1}
		if got, err := ParseAnswer(a); got != typ || err != nil {
			t.Errorf("reply for %v reads as %v, %v", typ, got, err)
		}
	}
	if ReplyType(Type(7)) != "0" {
		t.Errorf("ReplyType(7) = %q; want 0", ReplyType(Type(7)))
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[Type]string{None: "None", Variant1: "Variant1", 2: "Type(2)"} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String() = %q; want %q", typ, got, want)
		}
	}
}
