package main

// Credentials for the end-to-end tests: htpasswd lines in every accepted
// format, Proxy-Authorization values for HTTP/1.1 and HTTP/2, and checks
// of the 407 challenge and of authenticated tunnels.

import (
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

const (
	authRealm     = "Corp Proxy"
	wantChallenge = `Basic realm="Corp Proxy"`

	// apr1Line is `openssl passwd -apr1 -salt s4ltS4lt 'apr-Secret-9'`.
	apr1Line = "alice:$apr1$s4ltS4lt$1nkxik1yOAHzQUh.MUc2r/"
	apr1Pass = "apr-Secret-9"
	// shaLine is `printf %s sha-Secret-7 | openssl dgst -sha1 -binary | base64`.
	shaLine = "carol:{SHA}K0iV06co1hMmbAGRCwiosNjk1wQ="
	shaPass = "sha-Secret-7"
)

// basic is a Proxy-Authorization value.
func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// authHeader is a Proxy-Authorization header line for connectFrom.
func authHeader(user, pass string) string {
	return "Proxy-Authorization: " + basic(user, pass) + "\r\n"
}

// authH2 is a proxy-authorization header field for the HTTP/2 helpers.
func authH2(user, pass string) http.Header {
	return http.Header{"Proxy-Authorization": {basic(user, pass)}}
}

// bcryptLine is an htpasswd line for user with a bcrypt hash at MinCost,
// with the given prefix ("$2y$" is what htpasswd -B writes, Go writes
// "$2a$"; all three name the same algorithm for ASCII passwords).
func bcryptLine(t *testing.T, user, pass, prefix string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return user + ":" + prefix + strings.TrimPrefix(string(h), "$2a$")
}

// expect407 checks a 407 over HTTP/1.1: exactly one Proxy-Authenticate
// with the configured realm, then a close.
func expect407(t *testing.T, p *proxy, useTLS bool, src, target, extra, why string) {
	t.Helper()
	resp, c, r := connectFrom(t, p, useTLS, src, target, extra)
	if c != nil {
		_ = c.Close()
		t.Errorf("%s over %s: tunnel opened; want 407", why, listenerName(useTLS))
		return
	}
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("%s over %s: status %d; want 407", why, listenerName(useTLS), resp.StatusCode)
	}
	if got := resp.Header.Values("Proxy-Authenticate"); len(got) != 1 || got[0] != wantChallenge {
		t.Errorf("%s over %s: Proxy-Authenticate %q; want exactly [%q]", why, listenerName(useTLS), got, wantChallenge)
	}
	if !r.closedAfter() || len(r.after) != 0 {
		t.Errorf("%s over %s: after the 407: %q, end %v; want a close", why, listenerName(useTLS), r.after, r.endErr)
	}
}

// expectH2Challenge checks a 407 with the challenge over HTTP/2.
func expectH2Challenge(t *testing.T, p *proxy, src, target string, hdr http.Header, why string) {
	t.Helper()
	resp := h2Status(t, h2From(t, p, src), target, hdr)
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("%s over h2: status %d; want 407", why, resp.StatusCode)
	}
	if got := resp.Header.Values("Proxy-Authenticate"); len(got) != 1 || got[0] != wantChallenge {
		t.Errorf("%s over h2: proxy-authenticate %q; want exactly [%q]", why, got, wantChallenge)
	}
}

// tunnelAs opens a tunnel over HTTP/1.1 as user from src and checks that
// bytes move.
func tunnelAs(t *testing.T, p *proxy, useTLS bool, src, target, user, pass string) net.Conn {
	t.Helper()
	resp, c, _ := connectFrom(t, p, useTLS, src, target, authHeader(user, pass))
	if c == nil {
		t.Fatalf("CONNECT %s as %s over %s: status %d; want 200", target, user, listenerName(useTLS), resp.StatusCode)
	}
	echoOnce(t, c, user+" over "+listenerName(useTLS))
	return c
}
