package connectudp

import (
	"bytes"
	"testing"

	"github.com/yosida95/uritemplate/v3"
)

func TestExpandAndUpgrade(t *testing.T) {
	tmpl := uritemplate.MustNew("https://proxy:443/.well-known/masque/udp/{target_host}/{target_port}/")
	u, err := ExpandTarget(tmpl, "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	if u != "https://proxy:443/.well-known/masque/udp/127.0.0.1/9/" {
		t.Fatalf("expanded %q", u)
	}
	want := "GET /.well-known/masque/udp/127.0.0.1/9/ HTTP/1.1\r\nHost: proxy:443\r\nConnection: Upgrade\r\nUpgrade: connect-udp\r\nCapsule-Protocol: ?1\r\n\r\n"
	if got := UpgradeRequest(u, "proxy:443"); got != want {
		t.Fatalf("request %q", got)
	}
}

func TestAppendDatagram(t *testing.T) {
	// Type 0, length 4 (context ID and three payload bytes), context ID 0.
	if got := AppendDatagram([]byte{9}, []byte("abc")); !bytes.Equal(got, []byte{9, 0, 4, 0, 'a', 'b', 'c'}) {
		t.Fatalf("capsule % x", got)
	}
}
