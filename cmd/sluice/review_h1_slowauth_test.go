package main

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// A client that sends CONNECT, its first bytes and then a FIN (a
// half-close: "send this, then read the answer") gets its tunnel, its
// bytes forwarded and the answer, with --half-close (the default). That
// holds when the credential is already cached, but not while its password
// is checked off the loop: the FIN arrives during the check, h1's
// conn.OnReadEOF closes the conn, and the request is dropped unanswered
// (no 200, no tunnel, no access-log line).
func TestReviewH1HalfCloseDuringSlowAuth(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	// The default cost: the check takes long enough for the FIN to arrive
	// while it runs.
	h, err := bcrypt.GenerateFromPassword([]byte("pw-slow"), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, "carol:"+string(h)+"\n")
	p := startOpenProxy(t, "--auth-file", authPath)

	c := dialProxy(t, p.plain, false)
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + authHeader("carol", "pw-slow") + "\r\n"
	payload := "ping through the tunnel"
	if _, err := io.WriteString(c, req+payload); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c) // dialProxy's deadline bounds it
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, got)
	}
	if want := established + payload; string(got) != want {
		t.Fatalf("got %q; want %q", got, want)
	}
	if l := p.waitLog(target); !strings.EqualFold(l.str("user"), "carol") {
		t.Errorf("access log user = %v, want carol", l["user"])
	}
}
