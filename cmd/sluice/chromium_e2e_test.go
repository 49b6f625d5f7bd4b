package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestE2EChromiumThroughHTTPSProxy: headless Chromium with the proxy as its
// HTTPS proxy loads a page from a local HTTPS origin, and the access log
// shows the tunnel went over HTTP/2. Needs chromium on PATH (.ci/run
// installs Debian's).
func TestE2EChromiumThroughHTTPSProxy(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not installed (.ci/run installs Debian's chromium): ", err)
	}
	token := fmt.Sprintf("sluice-token-%d", time.Now().UnixNano())
	origin := httpsOriginBody(t, "<html><body><p id=t>"+token+"</p></body></html>")
	p := startOpenProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(),
		"--proxy-server=https://"+p.tls, "--proxy-bypass-list=<-loopback>",
		"--ignore-certificate-errors", "--dump-dom", origin.URL+"/")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), token) {
		t.Fatalf("page through the proxy lacks the token; chromium printed:\n%s", out)
	}
	target := strings.TrimPrefix(origin.URL, "https://")
	l := p.waitLog(target)
	if l.str("proto") != "h2" || l.num("status") != 200 {
		t.Fatalf("access log for %s: proto %q status %d; want h2 200: %v", target, l.str("proto"), l.num("status"), l)
	}
}
