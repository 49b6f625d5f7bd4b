package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seen is what a recording origin saw of one request.
type seen struct {
	requestURI, host, body string
	header                 http.Header
}

func recordingOrigin(t *testing.T) (*httptest.Server, <-chan seen) {
	t.Helper()
	ch := make(chan seen, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- seen{requestURI: r.RequestURI, host: r.Host, body: string(b), header: r.Header.Clone()}
		w.Header().Set("X-Origin", "yes")
		_, _ = io.WriteString(w, "origin body for "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func nextSeen(t *testing.T, ch <-chan seen) seen {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(waitLimit):
		t.Fatalf("the origin saw no request within %v", waitLimit)
		return seen{}
	}
}

// TestE2EForwardGoClient: net/http with Transport.Proxy sends an
// absolute-form request; the origin sees origin-form, Host = the URI's
// authority, no proxy credentials or Proxy-Connection; the client gets the
// response.
func TestE2EForwardGoClient(t *testing.T) {
	t.Parallel()
	origin, ch := recordingOrigin(t)
	p := startOpenProxy(t)
	host := hostOf(origin)
	tr := &http.Transport{
		// With userinfo, net/http sends Proxy-Authorization on plain-HTTP
		// proxy requests: the proxy must not pass it on.
		Proxy:             http.ProxyURL(&url.URL{Scheme: "http", User: url.UserPassword("user", "secret"), Host: p.plain}),
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: waitLimit}

	t.Run("GET", func(t *testing.T) {
		req, _ := http.NewRequest("GET", origin.URL+"/path?q", nil)
		req.Header.Set("Proxy-Connection", "keep-alive")
		req.Header.Set("X-Custom", "kept")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "origin body for /path" || resp.Header.Get("X-Origin") != "yes" {
			t.Fatalf("client got %d %q %v", resp.StatusCode, body, resp.Header)
		}
		s := nextSeen(t, ch)
		if s.requestURI != "/path?q" {
			t.Errorf("origin saw request-target %q, want origin-form /path?q", s.requestURI)
		}
		if s.host != host {
			t.Errorf("origin saw Host %q, want %q", s.host, host)
		}
		for _, h := range []string{"Proxy-Authorization", "Proxy-Connection"} {
			if v := s.header.Values(h); len(v) > 0 {
				t.Errorf("origin saw %s: %q", h, v)
			}
		}
		if s.header.Get("X-Custom") != "kept" {
			t.Errorf("an end-to-end header was lost: %v", s.header)
		}
	})

	t.Run("POST", func(t *testing.T) {
		resp, err := cl.Post(origin.URL+"/upload", "text/plain", strings.NewReader("payload bytes"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		s := nextSeen(t, ch)
		if resp.StatusCode != 200 || s.body != "payload bytes" || s.requestURI != "/upload" {
			t.Errorf("status %d, origin saw %q body %q", resp.StatusCode, s.requestURI, s.body)
		}
	})

	for _, l := range p.waitLines("both tunnels", 2, anyLine) {
		if strings.Contains(l.str("target"), "secret") || l.str("proto") != "h1" {
			t.Errorf("access log: %v", l)
		}
	}
}

// TestE2EForwardRaw: hop-by-hop fields, including those Connection names,
// are dropped, the client's Host is replaced by the URI's authority.
func TestE2EForwardRaw(t *testing.T) {
	t.Parallel()
	origin, ch := recordingOrigin(t)
	p := startOpenProxy(t)
	host := hostOf(origin)
	for _, useTLS := range []bool{false, true} {
		t.Run(listenerName(useTLS), func(t *testing.T) {
			c := dialProxy(t, p.addr(useTLS), useTLS)
			req := "GET http://" + host + "/raw?x=1 HTTP/1.1\r\n" +
				"Host: other.example\r\n" +
				"Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n" +
				"Proxy-Connection: keep-alive\r\n" +
				"Connection: X-Hop\r\n" +
				"X-Hop: secret\r\n" +
				"Keep-Alive: timeout=5\r\n" +
				"X-Keep: 1\r\n\r\n"
			r := rawExchange(t, c, []byte(req), waitLimit)
			if r.resp.StatusCode != 200 || r.body != "origin body for /raw" {
				t.Fatalf("client got %d %q", r.resp.StatusCode, r.body)
			}
			s := nextSeen(t, ch)
			if s.requestURI != "/raw?x=1" || s.host != host {
				t.Errorf("origin saw %q Host %q", s.requestURI, s.host)
			}
			for _, h := range []string{"Proxy-Authorization", "Proxy-Connection", "X-Hop", "Keep-Alive"} {
				if v := s.header.Values(h); len(v) > 0 {
					t.Errorf("origin saw hop-by-hop %s: %q", h, v)
				}
			}
			if s.header.Get("X-Keep") != "1" {
				t.Errorf("X-Keep lost: %v", s.header)
			}
		})
	}
	// https:// cannot be forwarded as plain HTTP.
	t.Run("https scheme", func(t *testing.T) {
		expectStatus(t, p.plain, false, "GET https://"+host+"/ HTTP/1.1\r\nHost: "+host+"\r\n\r\n", 400)
	})
}

// TestE2ESite: origin-form requests see the built-in site on both
// listeners, and a --site directory when given.
func TestE2ESite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("static hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	builtin := startOpenProxy(t)
	fromDir := startOpenProxy(t, "--site", dir)
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: waitLimit}
	get := func(t *testing.T, u string) (int, string, http.Header) {
		t.Helper()
		resp, err := cl.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, string(b), resp.Header
	}
	for _, useTLS := range []bool{false, true} {
		scheme := "http://"
		if useTLS {
			scheme = "https://"
		}
		t.Run(listenerName(useTLS)+"/builtin", func(t *testing.T) {
			base := scheme + builtin.addr(useTLS)
			code, body, h := get(t, base+"/")
			if code != 200 || !strings.Contains(body, "Welcome") || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				t.Errorf("GET / = %d %q %v", code, body, h)
			}
			// Keep-alive on the handed-over conn: a second request.
			if code, _, _ := get(t, base+"/nope"); code != 404 {
				t.Errorf("GET /nope = %d, want 404", code)
			}
		})
		t.Run(listenerName(useTLS)+"/dir", func(t *testing.T) {
			base := scheme + fromDir.addr(useTLS)
			if code, body, _ := get(t, base+"/hello.txt"); code != 200 || body != "static hello\n" {
				t.Errorf("GET /hello.txt = %d %q", code, body)
			}
			if code, _, _ := get(t, base+"/missing.txt"); code != 404 {
				t.Errorf("GET /missing.txt = %d, want 404", code)
			}
		})
	}
	tr.CloseIdleConnections()
}
