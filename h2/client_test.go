package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestXNetClientConnectEcho opens 50 concurrent CONNECT streams on one
// connection with golang.org/x/net/http2's client; the test adapter echoes
// every stream, and each stream moves more than its windows hold, so flow
// control runs both ways.
func TestXNetClientConnectEcho(t *testing.T) {
	s := startTestServer(t, Config{InitialWindowSize: 64 << 10, ConnWindowSize: 256 << 10})
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", s.addr())
		},
	}
	defer tr.CloseIdleConnections()
	nc, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cc, err := tr.NewClientConn(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	const streams = 50
	const size = 300 << 10
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- echoOnce(ctx, cc, i, size)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// The GET path works on the same connection.
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.addr()+"/", nil)
	resp, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != siteBody {
		t.Fatalf("GET = %d %q", resp.StatusCode, body)
	}
}

func echoOnce(ctx context.Context, cc *http2.ClientConn, i, size int) error {
	payload := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(i), 42))
	for j := range payload {
		payload[j] = byte(rng.Uint32())
	}
	pr, pw := io.Pipe()
	target := fmt.Sprintf("target%d.example:443", i)
	req, err := http.NewRequestWithContext(ctx, "CONNECT", "http://"+target, pr)
	if err != nil {
		return err
	}
	req.Host = target
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("stream %d: RoundTrip: %w", i, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("stream %d: status %d", i, resp.StatusCode)
	}
	go func() {
		// Odd-sized writes so DATA frames do not line up with anything.
		for off := 0; off < len(payload); {
			n := min(len(payload)-off, 1000+i*37)
			if _, err := pw.Write(payload[off : off+n]); err != nil {
				return
			}
			off += n
		}
		pw.Close()
	}()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("stream %d: read: %w", i, err)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("stream %d: echoed %d bytes, differ from the %d sent", i, len(got), len(payload))
	}
	return nil
}

// TestXNetClientExtendedConnect checks, with a real client, that we
// advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (x/net refuses to send
// :protocol otherwise) and accept an RFC 8441/9298 extended CONNECT.
func TestXNetClientExtendedConnect(t *testing.T) {
	s := startTestServer(t, Config{})
	nc, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cc, err := (&http2.Transport{AllowHTTP: true}).NewClientConn(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(ctx, "CONNECT", "https://proxy.example/.well-known/masque/udp/192.0.2.6/443/", pr)
	req.Header.Set(":protocol", "connect-udp")
	req.Header.Set("capsule-protocol", "?1")
	resp, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	go func() {
		pw.Write([]byte("\x00\x05\x00abcd")) // a DATAGRAM capsule, echoed
		pw.Close()
	}()
	got, err := io.ReadAll(resp.Body)
	if err != nil || string(got) != "\x00\x05\x00abcd" {
		t.Fatalf("echo = %q, %v", got, err)
	}
}
