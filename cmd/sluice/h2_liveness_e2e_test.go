package main

// End-to-end tests of HTTP/2 dead-peer detection: a client that never
// acknowledges the server's SETTINGS, and one that goes silent with a
// tunnel open and does not answer the PING that silence brings.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// silentH2 is an h2c client that answers nothing: it reads the server's
// frames into a channel and writes only what the test tells it to. A frame
// is valid until the next until or closed (the framer reuses its buffer),
// so the reader goes on only once the test asks for the next one.
type silentH2 struct {
	nc     net.Conn
	fr     *http2.Framer
	frames chan http2.Frame
	next   chan struct{} // the test is done with the frame it holds
	held   bool
	err    chan error // the read error that ended the conn
}

func dialSilentH2(t *testing.T, addr string) *silentH2 {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(3 * waitLimit))
	c := &silentH2{nc: nc, fr: http2.NewFramer(nc, nc), frames: make(chan http2.Frame), next: make(chan struct{}), err: make(chan error, 1)}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	t.Cleanup(func() {
		_ = nc.Close()
		select { // a reader waiting for the test to let go of a frame ends
		case c.next <- struct{}{}:
		default:
		}
	})
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				c.err <- err
				close(c.frames)
				return
			}
			c.frames <- f
			<-c.next
		}
	}()
	return c
}

// release hands the frame the test holds back to the reader.
func (c *silentH2) release() {
	if c.held {
		c.held = false
		c.next <- struct{}{}
	}
}

// until returns the first frame ok accepts, failing if the conn ends or
// nothing matches within waitLimit.
func (c *silentH2) until(t *testing.T, what string, ok func(http2.Frame) bool) http2.Frame {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		c.release()
		select {
		case f, open := <-c.frames:
			if !open {
				t.Fatalf("conn ended before %s: %v", what, <-c.err)
			}
			c.held = true
			if ok(f) {
				return f
			}
		case <-timeout:
			t.Fatalf("no %s within %v", what, waitLimit)
		}
	}
}

// closed waits for the server to close the conn (EOF or reset).
func (c *silentH2) closed(t *testing.T) {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		c.release()
		select {
		case _, open := <-c.frames:
			c.held = open
			if !open {
				if err := <-c.err; !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
					t.Fatalf("conn ended with %v; want the server's close", err)
				}
				return
			}
		case <-timeout:
			t.Fatalf("the server kept the conn %v after its GOAWAY", waitLimit)
		}
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func goAwayWith(code http2.ErrCode) func(http2.Frame) bool {
	return func(f http2.Frame) bool {
		g, ok := f.(*http2.GoAwayFrame)
		return ok && g.ErrCode == code
	}
}

// TestE2EH2SettingsTimeout: a client that sends its preface but never
// acknowledges the server's SETTINGS gets GOAWAY SETTINGS_TIMEOUT and is
// closed; one that acknowledges keeps its conn past the same time.
func TestE2EH2SettingsTimeout(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t, "--h2-settings-timeout", "1s")
	mute := dialSilentH2(t, p.plain)
	mute.until(t, "GOAWAY SETTINGS_TIMEOUT", goAwayWith(http2.ErrCodeSettingsTimeout))
	mute.closed(t)

	// The same server keeps a client that did acknowledge: after the
	// ACK, a PING two seconds later is still answered.
	ok := dialSilentH2(t, p.plain)
	ok.until(t, "the server's SETTINGS", func(f http2.Frame) bool {
		s, isS := f.(*http2.SettingsFrame)
		return isS && !s.IsAck()
	})
	if err := ok.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // past the 1 s settings timeout
	if err := ok.fr.WritePing(false, [8]byte{7}); err != nil {
		t.Fatal(err)
	}
	got := ok.until(t, "PING ACK", func(f http2.Frame) bool {
		pf, isP := f.(*http2.PingFrame)
		return isP && pf.IsAck() || goAwayWith(http2.ErrCodeSettingsTimeout)(f)
	})
	if _, isG := got.(*http2.GoAwayFrame); isG {
		t.Fatal("a client that acknowledged SETTINGS got SETTINGS_TIMEOUT")
	}
}

// TestE2EH2PingTimeout: a client with a tunnel open that goes silent is
// sent a PING after --h2-idle-timeout; unanswered within
// --h2-ping-timeout, the conn is closed with GOAWAY "ping timeout", the
// tunnel ends (both its ends closed) and is logged.
func TestE2EH2PingTimeout(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startOpenProxy(t, "--h2-idle-timeout", "1s", "--h2-ping-timeout", "1s")
	c := dialSilentH2(t, p.plain)
	c.until(t, "the server's SETTINGS", func(f http2.Frame) bool {
		s, isS := f.(*http2.SettingsFrame)
		return isS && !s.IsAck()
	})
	if err := c.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	_ = enc.WriteField(hpack.HeaderField{Name: ":method", Value: "CONNECT"})
	_ = enc.WriteField(hpack.HeaderField{Name: ":authority", Value: echo.addr()})
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	c.until(t, "the CONNECT's 200", func(f http2.Frame) bool {
		h, isH := f.(*http2.MetaHeadersFrame)
		return isH && h.StreamID == 1 && h.PseudoValue("status") == "200"
	})
	// Now silence: the PING comes and is not answered.
	c.until(t, "a PING", func(f http2.Frame) bool {
		pf, isP := f.(*http2.PingFrame)
		return isP && !pf.IsAck()
	})
	g := c.until(t, "GOAWAY after the unanswered PING", goAwayWith(http2.ErrCodeNo)).(*http2.GoAwayFrame)
	if !bytes.Contains(g.DebugData(), []byte("ping timeout")) {
		t.Errorf("GOAWAY debug data %q; want it to say ping timeout", g.DebugData())
	}
	c.closed(t)
	l := p.waitLog(echo.addr())
	if l.str("proto") != "h2" || l.num("status") != 200 {
		t.Errorf("access-log line %v; want the h2 tunnel with status 200", l)
	}
	waitFor(t, "the tunnel gone from the engine", func() bool { return p.s.eng.ActiveConns() == 0 })
}
