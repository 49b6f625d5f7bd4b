package main

// End-to-end tests of the site: origin-form requests (not proxy requests)
// get the built-in page or a --site directory, over HTTP/1.1 and HTTP/2.

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2ESiteOriginForm: origin-form requests see the built-in site on both
// listeners, and a --site directory when given; 404 for what is not there,
// with keep-alive on the handed-over conn.
func TestE2ESiteOriginForm(t *testing.T) {
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

// TestE2ESiteOverH2: the site answers ordinary requests over HTTP/2 too,
// over TLS and h2c: the built-in page for /, 404 otherwise.
func TestE2ESiteOverH2(t *testing.T) {
	t.Parallel()
	p := startProxy(t)
	for _, useTLS := range []bool{true, false} {
		cc := h2ClientConn(t, p, useTLS)
		for path, want := range map[string]int{"/": 200, "/nope": 404} {
			req, _ := http.NewRequest(http.MethodGet, "https://localhost"+path, nil)
			resp, err := cc.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want || (want == 200 && !bytes.Contains(body, []byte("Welcome"))) {
				t.Errorf("tls=%v GET %s: %d %q; want %d", useTLS, path, resp.StatusCode, body, want)
			}
		}
	}
}
