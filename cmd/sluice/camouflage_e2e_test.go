package main

// End-to-end test of --camouflage: what an HTTP/2 client learns before it
// sends a request, compared with a default Go net/http server's.

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2Preface connects to addr (TLS with ALPN h2, or h2c), sends the client
// preface and an empty SETTINGS, and returns the server's frames up to its
// connection WINDOW_UPDATE, the ACK of ours left out.
func h2Preface(t *testing.T, addr string, useTLS bool) []byte {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var c net.Conn = raw
	if useTLS {
		c = tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	}
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rec := http2.NewFramer(&out, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's preface: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			var ss []http2.Setting
			_ = f.ForeachSetting(func(s http2.Setting) error { ss = append(ss, s); return nil })
			_ = rec.WriteSettings(ss...)
		case *http2.WindowUpdateFrame:
			_ = rec.WriteWindowUpdate(f.StreamID, f.Increment)
			return out.Bytes()
		default:
			t.Fatalf("server sent %v before its WINDOW_UPDATE", f.Header())
		}
	}
}

// TestE2ECamouflageH2Preface: with --probe-resistance the HTTP/2 preface,
// the first thing any prober reads, is a default Go net/http server's,
// over TLS and h2c, so no extended CONNECT is offered; --camouflage off
// brings sluice's own back.
func TestE2ECamouflageH2Preface(t *testing.T) {
	t.Parallel()
	ref := httptest.NewUnstartedServer(http.NotFoundHandler())
	ref.EnableHTTP2 = true
	ref.StartTLS()
	defer ref.Close()
	want := h2Preface(t, ref.Listener.Addr().String(), true)

	authPath := filepath.Join(t.TempDir(), "htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "cam", "cam-pass", "$2y$")+"\n")
	p := startProxy(t, "--auth-file", authPath, "--probe-resistance")
	for _, useTLS := range []bool{true, false} {
		if got := h2Preface(t, p.addr(useTLS), useTLS); !bytes.Equal(got, want) {
			t.Errorf("%s preface under --probe-resistance\n got % x\nwant % x (Go net/http)", listenerName(useTLS), got, want)
		}
	}
	off := startProxy(t, "--auth-file", authPath, "--probe-resistance", "--camouflage", "off")
	if got := h2Preface(t, off.tls, true); bytes.Equal(got, want) {
		t.Error("--camouflage off sends Go's preface too")
	}
	// Tunnels still work through the camouflaged preface.
	echo := startEcho(t)
	open := startOpenProxy(t, "--auth-file", authPath, "--camouflage", "go")
	h2Echo(t, h2ClientConn(t, open, true), echo.addr(), authH2("cam", "cam-pass"))
}
