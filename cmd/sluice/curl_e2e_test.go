package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const curlPath = "/usr/bin/curl"

// runCurl runs curl with no config file and no proxy variables from the
// environment, and returns its stdout.
func runCurl(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := os.Stat(curlPath); err != nil {
		t.Fatalf("curl is required for this test (CI installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, curlPath, append([]string{"-q", "-sS", "--max-time", "15"}, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(strings.ToLower(k), "_proxy") || strings.EqualFold(k, "CURL_HOME") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "HOME="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %q: %v\nstderr: %s", args, err, stderr.String())
	}
	return string(out)
}

// TestE2ECurlThroughProxy: Debian's curl through the proxy as an HTTP proxy
// and as an HTTPS proxy (CONNECT inside TLS), to an HTTPS origin, and with
// -p to a plain-HTTP origin, each tunnel logged as h1 with status 200 and
// bytes both ways; and plain-HTTP forwarding without -p.
func TestE2ECurlThroughProxy(t *testing.T) {
	t.Parallel()
	tlsOrigin := httpsOrigin(t)
	plainOrigin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("plain origin says " + r.URL.Path))
	}))
	t.Cleanup(plainOrigin.Close)

	cases := []struct {
		name   string
		args   func(p *proxy) []string
		target string
		want   string
	}{
		{"http proxy, https origin",
			func(p *proxy) []string { return []string{"-x", "http://" + p.plain, "-k", tlsOrigin.URL + "/curl"} },
			hostOf(tlsOrigin), "origin says /curl"},
		{"https proxy, https origin",
			func(p *proxy) []string {
				return []string{"-x", "https://" + p.tls, "--proxy-insecure", "-k", tlsOrigin.URL + "/curl-tls"}
			},
			hostOf(tlsOrigin), "origin says /curl-tls"},
		{"http proxy, tunnel to http origin",
			func(p *proxy) []string { return []string{"-p", "-x", "http://" + p.plain, plainOrigin.URL + "/tunnel"} },
			hostOf(plainOrigin), "plain origin says /tunnel"},
		{"https proxy, tunnel to http origin",
			func(p *proxy) []string {
				return []string{"-p", "-x", "https://" + p.tls, "--proxy-insecure", plainOrigin.URL + "/tunnel-tls"}
			},
			hostOf(plainOrigin), "plain origin says /tunnel-tls"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startOpenProxy(t)
			if got := runCurl(t, tc.args(p)...); got != tc.want {
				t.Fatalf("curl printed %q, want %q", got, tc.want)
			}
			l := p.waitLog(tc.target)
			checkLogFields(t, l)
			if l.num("status") != 200 || l.str("proto") != "h1" || l.str("kind") != "tcp" {
				t.Errorf("access log: %v", l)
			}
			if l.num("bytes_up") == 0 || l.num("bytes_down") == 0 {
				t.Errorf("access log counts no bytes: %v", l)
			}
		})
	}

	// Plain-HTTP forwarding (no -p): an absolute-form request.
	t.Run("http proxy, forward", func(t *testing.T) {
		t.Parallel()
		p := startOpenProxy(t)
		if got := runCurl(t, "-x", "http://"+p.plain, plainOrigin.URL+"/fwd"); got != "plain origin says /fwd" {
			t.Fatalf("curl printed %q", got)
		}
	})
}
