package main

// Helpers for the end-to-end tests: an in-process sluice on loopback
// listeners, its access and error logs, and files it reads. Every wait is
// bounded by waitLimit. The other helpers_*_test.go files hold origins
// (helpers_origin), the DNS server (helpers_dns), raw HTTP/1.1 clients
// (helpers_raw), HTTP/2 clients (helpers_h2) and credentials
// (helpers_auth).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	established = "HTTP/1.1 200 Connection established\r\n\r\n"
	// waitLimit bounds every wait for something the proxy should do soon.
	waitLimit = 10 * time.Second
)

// lockedBuffer collects the server's error log; dumped when a test fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proxy is one in-process sluice.
type proxy struct {
	t       *testing.T
	s       *server
	plain   string // --listen address
	tls     string // --listen-tls address
	quic    string // --listen-quic address, "" when off
	logPath string
	errLog  *lockedBuffer
	stopped bool
}

// startProxy runs sluice with loopback listeners, an access log in a temp
// file, and args after those (a later flag overrides an earlier one). It
// does NOT open ports or private addresses; see startOpenProxy.
func startProxy(t *testing.T, args ...string) *proxy {
	t.Helper()
	p := &proxy{t: t, errLog: &lockedBuffer{}}
	p.logPath = filepath.Join(t.TempDir(), "access.log")
	all := append([]string{
		"--listen", "127.0.0.1:0",
		"--listen-tls", "127.0.0.1:0",
		"--access-log", p.logPath,
		"--workers", "2",
		"--log-level", "debug",
	}, args...)
	cfg, err := parseFlags(all, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags(%q): %v", all, err)
	}
	s, err := newServer(cfg, p.errLog)
	if err != nil {
		t.Fatalf("newServer: %v", err)
	}
	if err := s.start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	p.s = s
	p.plain = s.addrs["listen"].String()
	p.tls = s.addrs["listen-tls"].String()
	if a, ok := s.addrs["listen-quic"]; ok {
		p.quic = a.String()
	}
	t.Cleanup(func() {
		if !p.stopped {
			before := s.eng.ActiveConns()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := s.shutdown(ctx)
			cancel()
			if err != nil {
				// The drain waits for every client conn to end; a conn the
				// proxy keeps after its client is done holds it up.
				t.Errorf("shutdown at test end: %v: client conns still counted open 5s after the test's clients were done (%d when the drain began)",
					err, before)
			}
		}
		if t.Failed() {
			t.Logf("server log:\n%s", p.errLog.String())
			if b, err := os.ReadFile(p.logPath); err == nil {
				t.Logf("access log:\n%s", b)
			}
		}
	})
	return p
}

// startOpenProxy is startProxy with every port and private addresses
// allowed, so loopback origins can be reached.
func startOpenProxy(t *testing.T, args ...string) *proxy {
	return startProxy(t, append([]string{"--allow-ports", "all", "--allow-private"}, args...)...)
}

// addr returns the plain or the TLS listener address.
func (p *proxy) addr(useTLS bool) string {
	if useTLS {
		return p.tls
	}
	return p.plain
}

// listenerName names the listener for subtests and messages.
func listenerName(useTLS bool) string {
	if useTLS {
		return "tls"
	}
	return "plain"
}

// waitParked polls until the proxy has paused reading some socket.
func waitParked(t *testing.T, p *proxy) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for p.s.eng.Stats().Parks == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the proxy never paused reading while its peer did not read (%+v): memory per tunnel is unbounded", p.s.eng.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logLine is one access-log record.
type logLine map[string]any

func (l logLine) str(k string) string {
	s, _ := l[k].(string)
	return s
}

func (l logLine) num(k string) int64 {
	f, _ := l[k].(float64)
	return int64(f)
}

// readLog parses every complete line of the access log.
func (p *proxy) readLog() []logLine {
	p.t.Helper()
	b, err := os.ReadFile(p.logPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		p.t.Fatalf("read access log: %v", err)
	}
	var out []logLine
	for _, ln := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		var m logLine
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			p.t.Fatalf("access log line is not JSON: %q: %v", ln, err)
		}
		out = append(out, m)
	}
	return out
}

// waitLog polls the access log until a line for target appears and
// returns it (lines are written when a tunnel ends).
func (p *proxy) waitLog(target string) logLine {
	p.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		for _, l := range p.readLog() {
			if l.str("target") == target {
				return l
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no access-log line for target %q within %v; log: %v", target, waitLimit, p.readLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// anyLine keeps every access-log line, for waitLines.
func anyLine(logLine) bool { return true }

// waitLines polls the access log until at least n lines satisfy keep and
// returns them.
func (p *proxy) waitLines(what string, n int, keep func(logLine) bool) []logLine {
	p.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		var out []logLine
		for _, l := range p.readLog() {
			if keep(l) {
				out = append(out, l)
			}
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%d access-log lines for %s within %v; want %d; log: %v", len(out), what, waitLimit, n, p.readLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkLogFields asserts that every field of the documented access-log
// schema is present.
func checkLogFields(t *testing.T, l logLine) {
	t.Helper()
	for _, k := range []string{"time", "client", "user", "proto", "kind", "target", "resolved", "acl", "status",
		"resolve_ms", "connect_ms", "first_byte_ms", "bytes_up", "bytes_down", "duration_ms", "reason", "method"} {
		if _, ok := l[k]; !ok {
			t.Errorf("access-log line lacks %q: %v", k, l)
		}
	}
}

// waitErrLog polls the error log until it contains every one of subs.
func (p *proxy) waitErrLog(subs ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		s := p.errLog.String()
		ok := true
		for _, sub := range subs {
			ok = ok && strings.Contains(s, sub)
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("error log lacks %q within %v:\n%s", subs, waitLimit, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeFileAtomic replaces path with data the way an operator's tooling
// should (write elsewhere, rename), so a reload never reads half a file.
func writeFileAtomic(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
