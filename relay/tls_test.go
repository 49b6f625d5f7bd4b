package relay_test

import (
	"crypto/sha256"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// A tunnel inside TLS keeps memory bounded for a slow client too: the TLS
// conn is parked and resumed like a plain one.
func TestTLSSlowClientBoundsMemory(t *testing.T) {
	data := randomBytes(t, 16<<20)
	org := origin(t, func(c net.Conn) {
		defer c.Close()
		_, _ = c.Write(data)
	})
	p := startTLSProxy(t, org)
	raw := dial(t, p.addr)
	_ = raw.SetReadBuffer(64 << 10)
	c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	n, sum, err := slowRead(c, 32<<10, 200*time.Microsecond)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(data)) || sum != sha256.Sum256(data) {
		t.Fatalf("got %d of %d bytes", n, len(data))
	}
	tun := p.nextEnded(t)
	if tun.PeakDown > 2*testHigh+256<<10 {
		t.Errorf("peak buffered toward the TLS client = %d; want <= %d", tun.PeakDown, 2*testHigh+256<<10)
	}
	if st := p.eng.Stats(); st.Parks == 0 {
		t.Error("a TLS conn was never parked")
	}
}

func startTLSProxy(t *testing.T, org string) *proxy {
	t.Helper()
	return startProxyWith(t, engine.Config{}, testRelay(), org, &tls.Config{Certificates: []tls.Certificate{testCert(t)}})
}
