package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http2"
)

// frameWatch is a client socket that reads back the frames the client
// writes, to learn the largest DATA frame it sent.
type frameWatch struct {
	net.Conn
	pw *io.PipeWriter

	mu      sync.Mutex
	maxData uint32
}

func watchFrames(c net.Conn) *frameWatch {
	pr, pw := io.Pipe()
	w := &frameWatch{Conn: c, pw: pw}
	go func() {
		if _, err := io.CopyN(io.Discard, pr, int64(len(http2.ClientPreface))); err != nil {
			return
		}
		fr := http2.NewFramer(nil, pr)
		fr.SetMaxReadFrameSize(1<<24 - 1)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				_ = pr.CloseWithError(err)
				return
			}
			if f.Header().Type == http2.FrameData {
				w.mu.Lock()
				w.maxData = max(w.maxData, f.Header().Length)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *frameWatch) Write(p []byte) (int, error) {
	n, err := w.Conn.Write(p)
	_, _ = w.pw.Write(p[:n])
	return n, err
}

func (w *frameWatch) largestData() uint32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxData
}

// serverMaxFrameSize reads SETTINGS_MAX_FRAME_SIZE from the proxy's h2c preface.
func serverMaxFrameSize(t *testing.T, p *proxy) uint32 {
	t.Helper()
	fr := http2.NewFramer(nil, bytes.NewReader(h2Preface(t, p.plain, false)))
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := f.(*http2.SettingsFrame).Value(http2.SettingMaxFrameSize)
	if !ok {
		t.Fatal("no SETTINGS_MAX_FRAME_SIZE in the preface")
	}
	return v
}

// TestE2EH2MaxFrameSize: the proxy advertises --h2-max-frame-size (64 KiB
// by default), Go's HTTP/2 client then uploads through a CONNECT tunnel in
// frames that large, and every byte reaches the origin in order; at 16KiB
// the same client keeps to 16 KiB frames.
func TestE2EH2MaxFrameSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want uint32
	}{
		{nil, 64 << 10},
		{[]string{"--h2-max-frame-size", "16KiB"}, 16 << 10},
	} {
		name := "default"
		if tc.args != nil {
			name = strings.Join(tc.args, " ")
		}
		t.Run(name, func(t *testing.T) {
			p := startOpenProxy(t, tc.args...)
			if got := serverMaxFrameSize(t, p); got != tc.want {
				t.Fatalf("SETTINGS_MAX_FRAME_SIZE = %d; want %d", got, tc.want)
			}
			body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
			got := make(chan []byte, 1)
			o := startWatchedOrigin(t, func(c net.Conn) error {
				b, err := io.ReadAll(c)
				got <- b
				return err
			})
			nc, err := net.Dial("tcp", p.plain)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = nc.Close() })
			w := watchFrames(nc)
			cc := h2Over(t, w)
			// Go's client sizes a stream's frames when its body starts;
			// the PING's answer comes after our SETTINGS.
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			if err := cc.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			resp, pw, err := h2Connect(cc, o.addr(), nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("CONNECT: %v %v", resp, err)
			}
			defer resp.Body.Close()
			if _, err := pw.Write(body); err != nil {
				t.Fatal(err)
			}
			_ = pw.Close()
			if err := o.waitEnded(t, "upload"); err != nil {
				t.Fatalf("origin: %v", err)
			}
			if b := <-got; !bytes.Equal(b, body) {
				t.Fatalf("origin got %d bytes, not the %d sent", len(b), len(body))
			}
			if m := w.largestData(); m != tc.want {
				t.Errorf("the client's largest DATA frame = %d bytes; want %d", m, tc.want)
			}
		})
	}
}

// --h2-max-frame-size outside what SETTINGS_MAX_FRAME_SIZE may say is
// refused at start.
func TestFlagsRefuseBadH2MaxFrameSize(t *testing.T) {
	for _, v := range []string{"16383", "16MiB", "0"} {
		if _, err := parseFlags([]string{"--h2-max-frame-size", v}, io.Discard); err == nil || !strings.Contains(err.Error(), "--h2-max-frame-size") {
			t.Errorf("--h2-max-frame-size %s: %v; want an error naming the flag", v, err)
		}
	}
	if _, err := parseFlags([]string{"--h2-max-frame-size", "16777215"}, io.Discard); err != nil {
		t.Errorf("--h2-max-frame-size 16777215: %v", err)
	}
}
