package relay_test

import (
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

// Both directions at once through a small buffer, so both sides of the
// tunnel park and resume while bytes flow toward each of them.
func TestEchoBothWaysUnderBackpressure(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		org := origin(t, echo)
		rcfg := &relay.Config{High: 64 << 10, Low: 16 << 10, HardCap: 64 << 20}
		var tc *tls.Config
		if useTLS {
			tc = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
		}
		p := startProxyWith(t, engine.Config{}, rcfg, org, tc)
		var c net.Conn = dial(t, p.addr)
		if useTLS {
			c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		}
		data := randomBytes(t, 8<<20)
		werr := make(chan error, 1)
		go func() {
			_, err := c.Write(data)
			werr <- err
		}()
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		got := make([]byte, len(data))
		if n, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("tls=%v: read %d of %d: %v; stats %+v", useTLS, n, len(data), err, p.eng.Stats())
		}
		if sha256.Sum256(got) != sha256.Sum256(data) {
			t.Fatalf("tls=%v: echo differs", useTLS)
		}
		c.Close()
	}
}
