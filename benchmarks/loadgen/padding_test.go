package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// testFrame is one Variant1 frame as a test server sees it.
type testFrame struct {
	payload []byte
	pad     int
	zeros   bool // every padding byte was 0
}

// unpad is the test's own server-side reading of a padded stream (written
// apart from paddedTunnel, so that one bug cannot hide in both): it reads
// from r byte by byte through a bufio-free loop, reports each of the first
// 8 frames to onFrame, hands every payload byte to out, and after the 8th
// frame copies the rest raw.
func unpad(r io.Reader, out io.Writer, onFrame func(testFrame)) error {
	one := make([]byte, 1)
	next := func() (byte, error) {
		_, err := io.ReadFull(r, one)
		return one[0], err
	}
	for i := 0; i < padFrames; i++ {
		var h [3]byte
		for j := range h {
			b, err := next()
			if err != nil {
				if j == 0 && err == io.EOF {
					return nil // the stream ended between frames
				}
				return fmt.Errorf("frame %d header: %w", i, err)
			}
			h[j] = b
		}
		f := testFrame{payload: make([]byte, int(h[0])<<8|int(h[1])), pad: int(h[2]), zeros: true}
		if _, err := io.ReadFull(r, f.payload); err != nil {
			return fmt.Errorf("frame %d payload: %w", i, err)
		}
		padding := make([]byte, f.pad)
		if _, err := io.ReadFull(r, padding); err != nil {
			return fmt.Errorf("frame %d padding: %w", i, err)
		}
		f.zeros = bytes.Count(padding, []byte{0}) == f.pad
		onFrame(f)
		if _, err := out.Write(f.payload); err != nil {
			return err
		}
	}
	_, err := io.Copy(out, r)
	return err
}

// checkClientFrame is the client's padding rule.
func checkClientFrame(f testFrame) error {
	lo := 0
	if len(f.payload) < 100 {
		lo = 255 - len(f.payload)
	}
	switch {
	case f.pad < lo:
		return fmt.Errorf("%d B payload with %d B padding, want at least %d", len(f.payload), f.pad, lo)
	case !f.zeros:
		return errors.New("padding bytes not zero")
	case len(f.payload) == 0:
		return errors.New("empty frame")
	case 3+len(f.payload)+f.pad > 1<<16:
		return fmt.Errorf("frame of %d B", 3+len(f.payload)+f.pad)
	}
	return nil
}

// appendTestFrame is the server side's frame, with pad zero bytes.
func appendTestFrame(dst, payload []byte, pad int) []byte {
	dst = append(dst, byte(len(payload)>>8), byte(len(payload)), byte(pad))
	dst = append(dst, payload...)
	return append(dst, make([]byte, pad)...)
}

func TestPaddingRequestValue(t *testing.T) {
	for i := 0; i < 1000; i++ {
		v := paddingRequestValue()
		if len(v) < 16 || len(v) > 32 {
			t.Fatalf("%q: %d characters, want 16 to 32", v, len(v))
		}
		for j := 0; j < len(v); j++ {
			if (j < 16 && !strings.ContainsRune(padSymbols, rune(v[j]))) || (j >= 16 && v[j] != 'X') {
				t.Fatalf("%q: character %d is %q", v, j, v[j])
			}
		}
	}
}

func TestCheckPaddingReply(t *testing.T) {
	for _, c := range []struct {
		h  http.Header
		ok bool
	}{
		{http.Header{"Padding-Type-Reply": {"1"}}, true},
		{http.Header{"Padding-Type-Reply": {"0"}}, false},
		{http.Header{"Padding": {"!!!!"}}, false}, // legacy grant: we asked with padding-type-request
		{http.Header{}, false},
		{http.Header{"Padding-Type-Reply": {"1", "1"}}, false},
	} {
		if err := checkPaddingReply(c.h); (err == nil) != c.ok {
			t.Errorf("%v: err %v, want ok %v", c.h, err, c.ok)
		}
	}
}

// pipeTunnel is a net.Conn as a tunnel, for the framing tests.
type pipeTunnel struct{ net.Conn }

// The client's writes: 8 frames, each its own underlying write, with the
// client's padding rule; a write too long for one frame takes two; the
// rest raw; an empty write sends nothing.
func TestPaddedTunnelWrites(t *testing.T) {
	cli, srv := net.Pipe()
	defer cli.Close()
	pt := newPaddedTunnel(pipeTunnel{cli})
	sizes := []int{69, 0, 1, 99, 100, 1000, 70000, 64, 64, 5, 300}
	var want []byte
	for i, n := range sizes {
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(i + j)
		}
		want = append(want, p...)
	}
	var frames []testFrame
	var got bytes.Buffer
	errc := make(chan error, 1)
	go func() {
		errc <- unpad(srv, &got, func(f testFrame) { frames = append(frames, f) })
	}()
	for _, p := range chunk(want, sizes) {
		if n, err := pt.Write(p); err != nil || n != len(p) {
			t.Fatalf("write %d B: %d, %v", len(p), n, err)
		}
	}
	cli.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("payload: %d B, want %d B", got.Len(), len(want))
	}
	// 69, 1, 99, 100, 1000, then 70000 in two frames, then 64: 8 frames;
	// the second 64 and the rest raw.
	wantLens := []int{69, 1, 99, 100, 1000, -1, -1, 64}
	if len(frames) != padFrames {
		t.Fatalf("%d frames, want 8", len(frames))
	}
	for i, f := range frames {
		if err := checkClientFrame(f); err != nil {
			t.Errorf("frame %d: %v", i, err)
		}
		if wantLens[i] >= 0 && len(f.payload) != wantLens[i] {
			t.Errorf("frame %d: %d B payload, want %d", i, len(f.payload), wantLens[i])
		}
	}
	if n := len(frames[5].payload) + len(frames[6].payload); n != 70000 {
		t.Errorf("the 70,000 B write went out as %d + %d B", len(frames[5].payload), len(frames[6].payload))
	}
}

func chunk(b []byte, sizes []int) [][]byte {
	var out [][]byte
	for _, n := range sizes {
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// The client's reads: 8 frames from the proxy, cut anywhere (here one
// byte per write, and also all at once), empty ones and ones without
// padding included, then raw bytes that look like frame headers.
func TestPaddedTunnelReads(t *testing.T) {
	var stream, want []byte
	for i := 0; i < padFrames; i++ {
		p := bytes.Repeat([]byte{byte('a' + i)}, i*37)
		pad := []int{0, 255, 7, 0, 128, 1, 254, 3}[i]
		stream = appendTestFrame(stream, p, pad)
		want = append(want, p...)
	}
	raw := []byte{0, 5, 9, 0, 0, 'r', 'a', 'w'}
	stream = append(stream, raw...)
	want = append(want, raw...)

	for _, step := range []int{1, 2, 3, 1000, len(stream)} {
		t.Run(fmt.Sprint(step), func(t *testing.T) {
			cli, srv := net.Pipe()
			defer cli.Close()
			go func() {
				for b := stream; len(b) > 0; {
					n := min(step, len(b))
					if _, err := srv.Write(b[:n]); err != nil {
						return
					}
					b = b[n:]
				}
				srv.Close()
			}()
			cli.SetDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(newPaddedTunnel(pipeTunnel{cli}))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read %q\nwant %q", got, want)
			}
		})
	}
}

// A frame cut short by the end of the stream is an error, not an EOF.
func TestPaddedTunnelShortFrame(t *testing.T) {
	for _, cut := range []int{1, 3, 10, 3 + 20 + 5} {
		cli, srv := net.Pipe()
		frame := appendTestFrame(nil, make([]byte, 20), 10)
		go func() {
			srv.Write(frame[:cut])
			srv.Close()
		}()
		cli.SetDeadline(time.Now().Add(5 * time.Second))
		_, err := io.ReadAll(newPaddedTunnel(pipeTunnel{cli}))
		cli.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut after %d B: err %v, want unexpected EOF", cut, err)
		}
	}
}

// paddingStats is what the padding test proxy saw, checked by the test.
type paddingStats struct {
	tunnels   atomic.Int64 // padded CONNECTs granted
	frames    atomic.Int64 // client frames taken apart
	mu        sync.Mutex
	firstFail string
}

func (s *paddingStats) fail(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstFail == "" {
		s.firstFail = fmt.Sprintf(format, a...)
	}
}

func (s *paddingStats) first() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstFail
}

// paddingHandler is a minimal padding CONNECT proxy for HTTP/2 and
// HTTP/3: a request that asks for Variant1 gets padding-type-reply 1; the
// client's first 8 frames are checked against the client's rule and
// unpadded toward the origin; the first 8 reads from the origin go back
// as frames with 0 to 255 bytes of padding, each cut in two at a random
// point and flushed apart, so that the client must put frames together
// across DATA frames. A request without padding is refused.
func paddingHandler(st *paddingStats) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.ProtoMajor < 2 {
			http.Error(w, "no", http.StatusMethodNotAllowed)
			return
		}
		v := r.Header.Get("Padding")
		if r.Header.Get("Padding-Type-Request") != "1, 0" || len(v) < 16 || len(v) > 32 {
			st.fail("request headers %v", r.Header)
			http.Error(w, "no padding asked", http.StatusBadRequest)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer up.Close()
		st.tunnels.Add(1)
		w.Header().Set("Padding-Type-Reply", "1")
		w.Header().Set("Padding", strings.Repeat("~", 30))
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		rc.Flush()
		go func() {
			err := unpad(r.Body, up, func(f testFrame) {
				st.frames.Add(1)
				if err := checkClientFrame(f); err != nil {
					st.fail("client frame: %v", err)
				}
			})
			if err != nil && !isClosed(err) {
				st.fail("upload: %v", err)
			}
			up.(*net.TCPConn).CloseWrite()
		}()
		buf := make([]byte, 32<<10)
		var out []byte
		for sent := 0; ; {
			n, err := up.Read(buf)
			if n > 0 {
				if sent < padFrames {
					out = appendTestFrame(out[:0], buf[:n], rand.IntN(256))
					cut := 1 + rand.IntN(len(out)-1)
					w.Write(out[:cut])
					rc.Flush()
					w.Write(out[cut:])
					sent++
				} else {
					w.Write(buf[:n])
				}
				rc.Flush()
			}
			if err != nil {
				return
			}
		}
	})
}

// isClosed is how a stream ends when the client resets it after its last
// echo (an h2 response body closed, an h3 STOP_SENDING).
func isClosed(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "closed") || strings.Contains(s, "cancel") || strings.Contains(s, "reset") || errors.Is(err, net.ErrClosed)
}

// Every padded mode over h2 and h3 through the padding test proxy: the
// echo origin gets raw bytes (or the echo check fails), and the proxy saw
// 8 well-formed client frames per tunnel.
func TestPaddingThroughProxy(t *testing.T) {
	h2st, h3st := &paddingStats{}, &paddingStats{}
	tlsSrv := httptest.NewUnstartedServer(paddingHandler(h2st))
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	tc := tlsSrv.TLS.Clone()
	tc.NextProtos = []string{http3.NextProtoH3}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h3srv := &http3.Server{Handler: paddingHandler(h3st), TLSConfig: tc}
	go h3srv.Serve(pc)
	defer h3srv.Close()

	for _, c := range []struct {
		proto, addr string
		st          *paddingStats
	}{
		{"h2", tlsSrv.Listener.Addr().String(), h2st},
		{"h3", pc.LocalAddr().String(), h3st},
	} {
		t.Run(c.proto, func(t *testing.T) {
			op, err := newOpener(c.proto, c.addr, 1, 100, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer op.Close()
			if err := enablePadding(op); err != nil {
				t.Fatal(err)
			}
			pad := func(cfg *config) { cfg.padding = true }
			// rr: 4 tunnels, 1 warm-up echo and 50 round trips each, so
			// 8 padded frames each way and 43 raw round trips.
			if res := testRunner(t, op, "rr", 4, pad); res.Ops != 200 || !res.Pad {
				t.Errorf("rr: %d round trips (want 200), padding %v", res.Ops, res.Pad)
			}
			testRunner(t, op, "setup", 2, func(cfg *config) { cfg.padding = true; cfg.n = 20 })
			res := testRunner(t, op, "first8", 2, func(cfg *config) { cfg.padding = true; cfg.n = 10 })
			if res.Ops != 10 || res.RoundTrips != 80 || res.P50 <= 0 || res.P99 < res.P50 {
				t.Errorf("first8: %d tunnels (want 10), %d round trips (want 80), p50 %.1f p99 %.1f", res.Ops, res.RoundTrips, res.P50, res.P99)
			}
			// 4 rr tunnels with 8 frames each, 20 setup tunnels with one,
			// 10 first8 tunnels with 8.
			if tun, fr := c.st.tunnels.Load(), c.st.frames.Load(); tun != 34 || fr != 4*8+20+10*8 {
				t.Errorf("proxy saw %d padded tunnels (want 34) and %d client frames (want %d)", tun, fr, 4*8+20+10*8)
			}
			if f := c.st.first(); f != "" {
				t.Errorf("proxy: %s", f)
			}
		})
	}
}

// A proxy that does not grant padding fails the tunnel: a padded run must
// not silently measure unpadded tunnels.
func TestPaddingNotGranted(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(connectHandler(t))
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	op, err := newOpener("h2", tlsSrv.Listener.Addr().String(), 1, 100, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	enablePadding(op)
	o, err := startOrigin("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	tun, err := op.Open(t.Context(), o.Addr())
	if err == nil {
		tun.Close()
		t.Fatal("tunnel opened without padding-type-reply")
	}
	if !strings.Contains(err.Error(), "padding not granted") {
		t.Errorf("err %v", err)
	}
	if err := enablePadding(&h1Opener{}); err == nil {
		t.Error("-padding accepted for h1")
	}
}
