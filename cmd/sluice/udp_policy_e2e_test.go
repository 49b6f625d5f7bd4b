package main

// End-to-end tests of what a connect-udp request meets before and after
// its flow opens: the same gate and policy as a CONNECT (credentials,
// probe resistance, the ACL), --udp off, a custom --udp-template, and a
// malformed capsule, which ends the flow the way RFC 9297 says.

import (
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http2"
)

// TestE2EUDPAuth: without credentials connect-udp gets 407 with the
// challenge on every protocol; with them the flow works and the log names
// the user.
func TestE2EUDPAuth(t *testing.T) {
	t.Parallel()
	echo := startUDPEcho(t)
	authPath := filepath.Join(t.TempDir(), "htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "dana", "udp-pass", "$2y$")+"\n")
	p := startOpenProxy(t, "--auth-file", authPath, "--auth-realm", authRealm)
	good := authH2("dana", "udp-pass")
	opens := map[string]func(hdr http.Header) (udpFlow, *http.Response){
		"h1": func(hdr http.Header) (udpFlow, *http.Response) {
			extra := ""
			if hdr != nil {
				extra = "Proxy-Authorization: " + hdr.Get("Proxy-Authorization") + "\r\n"
			}
			f, resp := h1UDP(t, p.plain, false, echo.addr(), extra)
			return nilFlow(f), resp
		},
		"h2": func(hdr http.Header) (udpFlow, *http.Response) {
			f, resp := h2UDP(t, h2ClientConn(t, p, true), p.tls, echo.addr(), hdr)
			return nilFlow(f), resp
		},
		"h3": func(hdr http.Header) (udpFlow, *http.Response) {
			return masqueDial(t, p, h3DatagramConn(t, p), echo.addr(), hdr)
		},
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			f, resp := open(nil)
			if f != nil || resp.StatusCode != 407 || resp.Header.Get("Proxy-Authenticate") != wantChallenge {
				t.Fatalf("no credentials: %d %v", resp.StatusCode, resp.Header)
			}
			f, resp = open(good)
			if f == nil {
				t.Fatalf("with credentials: status %d", resp.StatusCode)
			}
			if !pingUntil(t, f, []byte("authed")) {
				t.Fatal("no echo on an authenticated flow")
			}
			f.close()
		})
	}
	lines := p.waitLines("authenticated flows", len(opens), func(l logLine) bool {
		return l.str("kind") == "udp" && l.num("status") == 200
	})
	for _, l := range lines {
		if l.str("user") != "dana" {
			t.Errorf("access log names user %q: %v", l.str("user"), l)
		}
	}
}

// nilFlow keeps a nil *capsuleFlow a nil udpFlow.
func nilFlow(f *capsuleFlow) udpFlow {
	if f == nil {
		return nil
	}
	return f
}

// TestE2EUDPProbeResistance: with --probe-resistance a connect-udp
// request without credentials gets what the site gives any unknown
// request, not a 407 (nor a 400 for a path off the template), on every
// protocol.
func TestE2EUDPProbeResistance(t *testing.T) {
	t.Parallel()
	echo := startUDPEcho(t)
	authPath := filepath.Join(t.TempDir(), "htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "dana", "udp-pass", "$2a$")+"\n")
	// --camouflage off: under the default (go) HTTP/2 offers no extended
	// CONNECT at all, which TestE2ECamouflageH2Preface covers.
	p := startOpenProxy(t, "--auth-file", authPath, "--probe-resistance", "--camouflage", "off")
	for _, tc := range capsuleTransports(p) {
		t.Run(tc.name, func(t *testing.T) {
			f, resp := tc.open(t, echo.addr())
			if f != nil || resp.StatusCode == 407 || resp.StatusCode == 200 || resp.StatusCode == 101 ||
				resp.Header.Get("Proxy-Authenticate") != "" {
				t.Errorf("probe got %d %v; want the site's answer", resp.StatusCode, resp.Header)
			}
		})
	}
	t.Run("off-template", func(t *testing.T) {
		// A malformed connect-udp path is refused only past the gate: a
		// prober without credentials still gets the site, not a 400.
		f, resp := h1UDPPath(t, p.plain, false, "/.well-known/masque/udp/127.0.0.1/", "")
		if f != nil || resp.StatusCode == 400 || resp.StatusCode == 407 {
			t.Errorf("probe on an off-template path got %d; want the site's answer", resp.StatusCode)
		}
	})
	if n := echo.got.Load(); n != 0 {
		t.Errorf("a probe reached the origin: %d datagrams", n)
	}
}

// TestE2EUDPACL: the ACL applies to the raw connect-udp target as to a
// CONNECT's: a denied host:port gets 403 with the ACL value logged, an
// allowed one flows.
func TestE2EUDPACL(t *testing.T) {
	t.Parallel()
	allowed, denied := startUDPEcho(t), startUDPEcho(t)
	aclPath := filepath.Join(t.TempDir(), "acl.map")
	writeFileAtomic(t, aclPath, "127.0.0.1:"+strconv.Itoa(denied.port())+" 2\ndefault 1\n")
	p := startOpenProxy(t, "--acl", aclPath)
	for _, tc := range capsuleTransports(p) {
		t.Run(tc.name, func(t *testing.T) {
			if f, resp := tc.open(t, denied.addr()); f != nil || resp.StatusCode != 403 {
				t.Errorf("denied target: status %d; want 403", resp.StatusCode)
			}
			f, resp := tc.open(t, allowed.addr())
			if f == nil {
				t.Fatalf("allowed target: status %d", resp.StatusCode)
			}
			if !pingUntil(t, f, []byte("acl")) {
				t.Error("no echo from the allowed target")
			}
			f.close()
		})
	}
	if n := denied.got.Load(); n != 0 {
		t.Errorf("the denied target got %d datagrams", n)
	}
	lines := p.waitLines("denied flows", len(capsuleTransports(p)), func(l logLine) bool {
		return l.str("kind") == "udp" && l.str("target") == denied.addr()
	})
	for _, l := range lines {
		if l.num("status") != 403 || l.num("acl") != 2 || l.str("reason") != "acl" {
			t.Errorf("denied flow logged %v", l)
		}
	}
}

// TestE2EUDPOff: with --udp=false a connect-udp request is not a proxy
// request: it gets what the site answers, and nothing reaches the target.
func TestE2EUDPOff(t *testing.T) {
	t.Parallel()
	echo := startUDPEcho(t)
	p := startOpenProxy(t, "--udp=false")
	for _, tc := range capsuleTransports(p) {
		t.Run(tc.name, func(t *testing.T) {
			f, resp := tc.open(t, echo.addr())
			if f != nil || resp.StatusCode < 400 || resp.Header.Get("Capsule-Protocol") != "" {
				t.Errorf("--udp=false: %d %v; want the site's error", resp.StatusCode, resp.Header)
			}
		})
	}
	if n := echo.got.Load(); n != 0 {
		t.Errorf("the target got %d datagrams with --udp=false", n)
	}
}

// TestE2EUDPCustomTemplate: --udp-template in a query form routes
// masque-go's requests (which expand the same template) and raw ones; the
// default path is then not a connect-udp location.
func TestE2EUDPCustomTemplate(t *testing.T) {
	t.Parallel()
	echo := startUDPEcho(t)
	p := startOpenProxy(t, "--udp-template", "/masque?h={target_host}&p={target_port}")
	path := "/masque?h=127.0.0.1&p=" + strconv.Itoa(echo.port())
	f, resp := h1UDPPath(t, p.plain, false, path, "")
	if f == nil {
		t.Fatalf("%s under its template: status %d; want 101", path, resp.StatusCode)
	}
	if !pingUntil(t, f, []byte("custom")) {
		t.Error("no echo on a custom-template flow")
	}
	mf, resp := masqueDialTemplate(t, p, h3DatagramConn(t, p), "/masque?h={target_host}&p={target_port}", echo.addr(), nil)
	if mf == nil {
		t.Fatalf("masque-go under the custom template: status %d", resp.StatusCode)
	}
	if !pingUntil(t, mf, []byte("custom-h3")) {
		t.Error("no echo on masque-go's custom-template flow")
	}
	f, resp = h1UDP(t, p.plain, false, echo.addr(), "") // the default path
	if f != nil || resp.StatusCode != 400 {
		t.Errorf("the default path under a custom template: %d; want 400", resp.StatusCode)
	}
}

// TestE2EUDPMalformedCapsule: a DATAGRAM capsule with no context ID is
// malformed (RFC 9297 section 3.5): the flow ends: HTTP/2 resets the stream
// with PROTOCOL_ERROR, HTTP/3 with H3_DATAGRAM_ERROR, HTTP/1.1 closes the
// connection; the log says bad_stream.
func TestE2EUDPMalformedCapsule(t *testing.T) {
	t.Parallel()
	echo := startUDPEcho(t)
	p := startOpenProxy(t)
	for _, tc := range capsuleTransports(p) {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := tc.mustOpen(t, echo.addr())
			if !pingUntil(t, f, []byte("before")) {
				t.Fatal("no echo before the bad capsule")
			}
			if err := f.sendRaw([]byte{0x00, 0x00}); err != nil { // DATAGRAM, Length 0
				t.Fatal(err)
			}
			err, ended := f.ended(waitLimit)
			if !ended {
				t.Fatal("the flow is still open after a malformed capsule")
			}
			var se http2.StreamError
			var qe *quic.StreamError
			var he *http3.Error
			switch tc.name {
			case "h2", "h2c":
				if !errors.As(err, &se) || se.Code != http2.ErrCodeProtocol {
					t.Errorf("HTTP/2 stream ended with %v; want RST_STREAM PROTOCOL_ERROR", err)
				}
			case "h3-stream":
				code := uint64(0)
				if errors.As(err, &qe) {
					code = uint64(qe.ErrorCode)
				} else if errors.As(err, &he) {
					code = uint64(he.ErrorCode)
				}
				if code != uint64(http3.ErrCodeDatagramError) {
					t.Errorf("HTTP/3 stream ended with %v; want H3_DATAGRAM_ERROR", err)
				}
			default:
				if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("HTTP/1.1 connection ended with %v; want it closed", err)
				}
			}
		})
	}
	lines := p.waitLines("malformed flows", len(capsuleTransports(p)), func(l logLine) bool { return l.str("kind") == "udp" })
	for _, l := range lines {
		if l.str("reason") != "bad_stream" {
			t.Errorf("logged %v; want reason bad_stream", l)
		}
	}
}
