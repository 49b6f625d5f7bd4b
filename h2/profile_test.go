package h2

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// goPreface is what a default Go net/http HTTP/2 server sends first: its
// SETTINGS and connection WINDOW_UPDATE, read from a real one.
func goPreface(t *testing.T) []byte {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	c, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, ClientPreface); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(AppendSettings(nil, nil)); err != nil {
		t.Fatal(err)
	}
	// SETTINGS (9 + 5*6 bytes) then WINDOW_UPDATE (9 + 4).
	var out []byte
	var fr Framer
	fr.MaxReadFrameSize = MaxFrameSizeLimit
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("reading Go's preface: %v (have % x)", err, out)
		}
		out = append(out, buf[:n]...)
		// Its SETTINGS and WINDOW_UPDATE; the ACK of ours, which Go may
		// send between them, is not part of the preface.
		var kept []byte
		rest := out
		for {
			f, m, err := fr.Parse(rest)
			if err != nil {
				break
			}
			if !f.Header().Flags.Has(FlagSettingsAck) || f.Header().Type != FrameSettings {
				kept = append(kept, rest[:m]...)
			}
			rest = rest[m:]
			if f.Header().Type == FrameWindowUpdate {
				return kept
			}
		}
	}
}

// With ProfileGo and GoDefaults, the preface is byte for byte a Go
// server's: the same settings, in the same order, and the same window,
// whose WINDOW_UPDATE, as on Go's server, waits for the client's preface.
func TestProfileGoPreface(t *testing.T) {
	want := goPreface(t)
	c := NewServerConn(GoDefaults(Config{}), newRecHandler())
	settingsLen := 9 + int(want[2])
	if got := c.Output(); !bytes.Equal(got, want[:settingsLen]) {
		t.Fatalf("before the client's preface\n got % x\nwant % x (Go's SETTINGS alone)", got, want[:settingsLen])
	}
	if _, err := c.Feed([]byte(ClientPreface)); err != nil {
		t.Fatal(err)
	}
	if got := c.Output(); !bytes.Equal(got, want) {
		t.Fatalf("preface\n got % x\nwant % x (Go net/http)", got, want)
	}
	own := NewServerConn(Config{}, newRecHandler())
	if bytes.Equal(own.Output(), want) {
		t.Fatal("the default profile is Go's too: the test compares nothing")
	}
}
