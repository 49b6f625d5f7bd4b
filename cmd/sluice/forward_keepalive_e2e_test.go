package main

// End-to-end tests of keep-alive forwarding: several absolute-form
// requests on one client conn, origin conns reused from the loop's pool,
// Via, and where either conn ends.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// countingOrigin is an HTTP/1.1 origin (net/http, keep-alive on) that
// counts the connections it accepted. Paths: /chunked streams its body in
// three chunks, /empty is a 204, /etag a 304 to If-None-Match: "v1",
// /echo answers the request body, /via answers the request's Via and
// sends a Via of its own, /close answers with Connection: close;
// anything else answers "path=<path>".
func countingOrigin(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			for _, part := range []string{"one,", "two,", "three"} {
				_, _ = io.WriteString(w, part)
				w.(http.Flusher).Flush()
			}
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/etag":
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = io.WriteString(w, "fresh")
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			_, _ = io.WriteString(w, "got="+string(b))
		case "/via":
			w.Header().Set("Via", "1.1 cdn")
			_, _ = io.WriteString(w, strings.Join(r.Header.Values("Via"), "|"))
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		default:
			_, _ = io.WriteString(w, "path="+r.URL.Path)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// forwardLines waits for n access-log lines of forwarded requests to
// origin (targets starting with its URL) and returns them in log order.
func forwardLines(p *proxy, origin string, n int) []logLine {
	return p.waitLines("forwarded requests to "+origin, n, func(l logLine) bool {
		return strings.HasPrefix(l.str("target"), origin+"/")
	})
}

// oneClient asserts that the lines come from one client conn, each with
// status 200 unless said otherwise, and bytes both ways.
func oneClient(t *testing.T, lines []logLine, status map[int]int64) {
	t.Helper()
	for i, l := range lines {
		want := int64(200)
		if s, ok := status[i]; ok {
			want = s
		}
		if l.str("client") != lines[0].str("client") {
			t.Errorf("line %d from client %s, line 0 from %s: want one client conn", i, l.str("client"), lines[0].str("client"))
		}
		if l.num("status") != want || l.num("bytes_up") <= 0 || l.num("bytes_down") <= 0 || l.str("reason") != "done" {
			t.Errorf("line %d: %v; want status %d, bytes both ways, reason done", i, l, want)
		}
	}
}

// reused reports whether an access-log line says its origin conn came
// from the pool.
func reused(l logLine) bool { b, _ := l["reused"].(bool); return b }

// TestE2EForwardKeepAliveCurl: curl with two URLs on one command line
// sends both over one proxy conn, and the proxy sends both over one
// origin conn: the origin accepts one conn, the access log has a line per
// request from the same client conn, the second reused.
func TestE2EForwardKeepAliveCurl(t *testing.T) {
	t.Parallel()
	origin, conns := countingOrigin(t)
	p := startOpenProxy(t)
	out := runCurl(t, "-x", "http://"+p.plain, origin.URL+"/", origin.URL+"/2")
	if out != "path=/path=/2" {
		t.Fatalf("curl printed %q", out)
	}
	lines := forwardLines(p, origin.URL, 2)
	oneClient(t, lines, nil)
	if reused(lines[0]) || !reused(lines[1]) {
		t.Errorf("reused: %v, %v; want the second request on the first's origin conn", lines[0]["reused"], lines[1]["reused"])
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the origin accepted %d conns; want 1", n)
	}
}

// TestE2EForwardKeepAlivePythonRequests: a Python requests Session makes
// GETs, a POST and a HEAD through the proxy over one proxy conn and, but
// for the POST (never sent on a reused origin conn), one origin conn.
func TestE2EForwardKeepAlivePythonRequests(t *testing.T) {
	t.Parallel()
	if err := exec.Command("python3", "-c", "import requests").Run(); err != nil {
		t.Fatalf("python3 with requests is required for this test (.ci/run installs python3-requests): %v", err)
	}
	origin, conns := countingOrigin(t)
	p := startOpenProxy(t)
	script := `
import sys, requests
proxy, base = sys.argv[1], sys.argv[2]
s = requests.Session()
s.trust_env = False
px = {"http": proxy}
out = []
for path in ["/a", "/b", "/chunked"]:
    r = s.get(base + path, proxies=px, timeout=10)
    out.append("%d %s" % (r.status_code, r.text))
r = s.post(base + "/echo", data=b"form=1", proxies=px, timeout=10)
out.append("%d %s" % (r.status_code, r.text))
r = s.head(base + "/c", proxies=px, timeout=10)
out.append("%d %s %s" % (r.status_code, r.headers.get("Via"), r.text))
print("\n".join(out))
`
	path := filepath.Join(t.TempDir(), "session.py")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", path, "http://"+p.plain, origin.URL)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	want := "200 path=/a\n200 path=/b\n200 one,two,three\n200 got=form=1\n200 1.1 sluice \n"
	if string(b) != want {
		t.Fatalf("python printed %q; want %q", b, want)
	}
	lines := forwardLines(p, origin.URL, 5)
	oneClient(t, lines, nil)
	for i, want := range []bool{false, true, true, false, true} {
		if reused(lines[i]) != want {
			t.Errorf("line %d (%s %s): reused %v; want %v", i, lines[i].str("method"), lines[i].str("target"), reused(lines[i]), want)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("the origin accepted %d conns; want 2 (one more for the POST)", n)
	}
}

// TestE2EForwardKeepAliveGoClient100: Go's net/http client makes 100
// requests through the proxy; it dials the proxy once, and the proxy
// dials the origin once.
func TestE2EForwardKeepAliveGoClient100(t *testing.T) {
	t.Parallel()
	origin, conns := countingOrigin(t)
	p := startOpenProxy(t)
	var dials atomic.Int32
	var d net.Dialer
	tr := &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: p.plain}),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: waitLimit}
	for i := range 100 {
		path := "/r" + strconv.Itoa(i)
		if i%10 == 9 {
			path = "/chunked"
		}
		resp, err := cl.Get(origin.URL + path)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		want := "path=" + path
		if path == "/chunked" {
			want = "one,two,three"
		}
		if err != nil || resp.StatusCode != 200 || string(body) != want || resp.Header.Get("Via") != "1.1 sluice" {
			t.Fatalf("request %d: %d %q %v Via %q", i, resp.StatusCode, body, err, resp.Header.Get("Via"))
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("the client dialed the proxy %d times; want 1", n)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the origin accepted %d conns; want 1", n)
	}
	lines := forwardLines(p, origin.URL, 100)
	oneClient(t, lines, nil)
	for i, l := range lines {
		if reused(l) != (i > 0) {
			t.Errorf("line %d: reused %v", i, reused(l))
		}
	}
}

// kaConn is a raw client conn to the proxy that reads responses in order.
type kaConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialKA(t *testing.T, p *proxy) *kaConn {
	c := dialProxy(t, p.plain, false)
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	return &kaConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (k *kaConn) send(s string) {
	k.t.Helper()
	if _, err := io.WriteString(k.c, s); err != nil {
		k.t.Fatal(err)
	}
}

// read reads one response to a request with method, and its body.
func (k *kaConn) read(method string) (*http.Response, string) {
	k.t.Helper()
	resp, err := http.ReadResponse(k.br, &http.Request{Method: method})
	if err != nil {
		k.t.Fatalf("reading a response to %s: %v", method, err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		k.t.Fatalf("reading a body: %v", err)
	}
	return resp, string(b)
}

// closed reports whether the proxy closed the conn (EOF) with nothing
// more sent.
func (k *kaConn) closed() bool {
	b, err := k.br.ReadByte()
	return err == io.EOF && b == 0
}

// get is a request line and Host for path on origin.
func get(method string, origin *httptest.Server, path string, extra ...string) string {
	host := hostOf(origin)
	return method + " " + origin.URL + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + strings.Join(extra, "") + "\r\n"
}

// TestE2EForwardPipelined: requests sent in one write are answered in
// order, each framed as its own: a HEAD (no body though Content-Length
// says 10), a chunked body, a 204, a 304, a POST with a Content-Length
// body; the last, with Connection: close, ends the conn. Bodiless GETs
// share one origin conn; the POST gets a fresh one (it is never sent on a
// pooled conn), which the next GET reuses.
func TestE2EForwardPipelined(t *testing.T) {
	t.Parallel()
	origin, conns := countingOrigin(t)
	p := startOpenProxy(t)
	k := dialKA(t, p)
	k.send(get("GET", origin, "/a") + get("HEAD", origin, "/0123") + get("GET", origin, "/chunked") +
		get("GET", origin, "/empty") + get("GET", origin, "/etag", "If-None-Match: \"v1\"\r\n") +
		"POST " + origin.URL + "/echo HTTP/1.1\r\nHost: " + hostOf(origin) + "\r\nContent-Length: 4\r\n\r\nbody" +
		get("GET", origin, "/last", "Connection: close\r\n"))
	for _, want := range []struct {
		method string
		status int
		body   string
		te     string
	}{
		{"GET", 200, "path=/a", ""}, {"HEAD", 200, "", ""}, {"GET", 200, "one,two,three", "chunked"},
		{"GET", 204, "", ""}, {"GET", 304, "", ""}, {"POST", 200, "got=body", ""}, {"GET", 200, "path=/last", ""},
	} {
		resp, body := k.read(want.method)
		if resp.StatusCode != want.status || body != want.body || strings.Join(resp.TransferEncoding, ",") != want.te ||
			resp.Header.Get("Via") != "1.1 sluice" {
			t.Fatalf("%s: %d %q TE %v Via %q; want %d %q TE %q", want.method, resp.StatusCode, body, resp.TransferEncoding,
				resp.Header.Get("Via"), want.status, want.body, want.te)
		}
		if want.method == "HEAD" && resp.ContentLength != 10 {
			t.Errorf("HEAD: Content-Length %d; want the origin's 10", resp.ContentLength)
		}
		if last := want.body == "path=/last"; resp.Close != last {
			t.Errorf("%s %q: Connection: close is %v", want.method, body, resp.Close)
		}
	}
	if !k.closed() {
		t.Error("the conn stayed open after the response to Connection: close")
	}
	lines := forwardLines(p, origin.URL, 7)
	oneClient(t, lines, map[int]int64{3: 204, 4: 304})
	for i, want := range []bool{false, true, true, true, true, false, true} {
		if reused(lines[i]) != want {
			t.Errorf("line %d (%s %s): reused %v; want %v", i, lines[i].str("method"), lines[i].str("target"), reused(lines[i]), want)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("the origin accepted %d conns; want 2", n)
	}

	// Pipelined requests then a FIN: each is answered, the last one
	// saying it is the last, then the conn ends.
	k = dialKA(t, p)
	k.send(get("GET", origin, "/p1") + get("GET", origin, "/p2"))
	_ = k.c.(*net.TCPConn).CloseWrite()
	for _, want := range []string{"path=/p1", "path=/p2"} {
		resp, body := k.read("GET")
		if resp.StatusCode != 200 || body != want || resp.Close != (want == "path=/p2") {
			t.Errorf("after a FIN: %d %q close %v; want %q, the last with Connection: close", resp.StatusCode, body, resp.Close, want)
		}
	}
	if !k.closed() {
		t.Error("the conn stayed open after the client's FIN and the last answer")
	}
}

// TestE2EForwardPooledConnClosed: an origin conn closed while it waits in
// the pool, or closed by the origin on the reused conn before it answers
// (its keep-alive timeout racing the request), never fails a request: the
// close is noticed, or the bodiless GET is sent again on a fresh dial.
// A POST is never sent on a pooled conn, so it cannot be lost that way.
func TestE2EForwardPooledConnClosed(t *testing.T) {
	t.Parallel()
	type seenReq struct {
		conn, nth int
		method    string
	}
	var mu sync.Mutex
	var seenReqs []seenReq
	var accepted atomic.Int32
	// Conn 1 answers its first request and closes at its second without
	// answering; conn 2 answers one and closes; later ones keep serving.
	ln := funcOrigin(t, func(c net.Conn) {
		id := int(accepted.Add(1))
		br := bufio.NewReader(c)
		for nth := 1; ; nth++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			mu.Lock()
			seenReqs = append(seenReqs, seenReq{id, nth, req.Method})
			mu.Unlock()
			if id == 1 && nth == 2 {
				return // closes without an answer
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(req.URL.Path), req.URL.Path)
			if id == 2 {
				return // closes once idle
			}
		}
	})
	p := startOpenProxy(t)
	target := ln.Addr().String()
	k := dialKA(t, p)
	req := func(method, path, body string) string {
		return fmt.Sprintf("%s http://%s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", method, target, path, target, len(body), body)
	}
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/1", ""}, // conn 1
		{"GET", "/2", ""}, // conn 1 reused, closed unanswered: sent again on conn 2, which closes once idle
		{"GET", "/3", ""}, // conn 2 is gone (noticed idle, or sent again): conn 3
		{"POST", "/4", "post"},
		{"GET", "/5", ""},
	} {
		k.send(req(r.method, r.path, r.body))
		resp, body := k.read(r.method)
		if resp.StatusCode != 200 || body != r.path {
			t.Fatalf("%s %s: %d %q; want 200 %q", r.method, r.path, resp.StatusCode, body, r.path)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seenReqs {
		if s.method == "POST" && s.nth != 1 {
			t.Errorf("the POST was the origin conn's request %d: sent on a reused conn", s.nth)
		}
	}
	if len(seenReqs) != 6 || seenReqs[1] != (seenReq{1, 2, "GET"}) || seenReqs[2] != (seenReq{2, 1, "GET"}) {
		t.Errorf("the origin saw %v; want /2 on conn 1 unanswered, then again on conn 2", seenReqs)
	}
	lines := p.waitLines("five requests", 5, func(l logLine) bool { return strings.HasPrefix(l.str("target"), "http://"+target+"/") })
	oneClient(t, lines, nil)
	if reused(lines[1]) || lines[1].str("resolved") != target {
		t.Errorf("the request sent again: %v; want it logged as dialed, to %s", lines[1], target)
	}
}

// TestE2EForwardVia: forwarded requests and responses carry "Via: 1.1
// sluice" after any Via they came with; --no-via adds none.
func TestE2EForwardVia(t *testing.T) {
	t.Parallel()
	origin, _ := countingOrigin(t)
	for _, tc := range []struct {
		args              []string
		clientVia         string
		originSaw, gotVia string
	}{
		{nil, "", "1.1 sluice", "1.1 cdn, 1.1 sluice"},
		{nil, "1.0 office", "1.0 office, 1.1 sluice", "1.1 cdn, 1.1 sluice"},
		{[]string{"--no-via"}, "", "", "1.1 cdn"},
		{[]string{"--no-via"}, "1.0 office", "1.0 office", "1.1 cdn"},
	} {
		p := startOpenProxy(t, tc.args...)
		k := dialKA(t, p)
		extra := "Connection: close\r\n"
		if tc.clientVia != "" {
			extra += "Via: " + tc.clientVia + "\r\n"
		}
		k.send(get("GET", origin, "/via", extra))
		resp, body := k.read("GET")
		if body != tc.originSaw || strings.Join(resp.Header.Values("Via"), ", ") != tc.gotVia {
			t.Errorf("%v, client Via %q: the origin saw Via %q, the client got %q; want %q and %q",
				tc.args, tc.clientVia, body, resp.Header.Values("Via"), tc.originSaw, tc.gotVia)
		}
	}
}

// TestE2EForwardConnectionEnds: "Connection: close" from the client, an
// HTTP/1.0 client without keep-alive, an origin's "Connection: close" and
// a close-delimited body each end the client conn after that response
// (said in its head); an HTTP/1.0 client asking for keep-alive gets it.
// An origin conn the client's close did not concern serves the next
// client conn.
func TestE2EForwardConnectionEnds(t *testing.T) {
	t.Parallel()
	origin, conns := countingOrigin(t)
	closeDelimited := funcOrigin(t, func(c net.Conn) {
		_, _ = http.ReadRequest(bufio.NewReader(c))
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nuntil the close")
	})
	p := startOpenProxy(t, "--workers", "1") // one loop: one pool for every client conn
	for _, tc := range []struct {
		name, req, body, conn string
		kept                  bool
	}{
		{"client close", get("GET", origin, "/x", "Connection: close\r\n"), "path=/x", "close", false},
		{"HTTP/1.0", "GET " + origin.URL + "/y HTTP/1.0\r\n\r\n", "path=/y", "close", false},
		{"HTTP/1.0 keep-alive", "GET " + origin.URL + "/z HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "path=/z", "keep-alive", true},
		{"origin close", get("GET", origin, "/close"), "bye", "close", false},
		{"close-delimited", "GET http://" + closeDelimited.Addr().String() + "/ HTTP/1.1\r\nHost: x\r\n\r\n", "until the close", "close", false},
		{"HTTP/1.1", get("GET", origin, "/w"), "path=/w", "", true},
	} {
		k := dialKA(t, p)
		k.send(tc.req)
		resp, body := k.read("GET")
		conn := resp.Header.Get("Connection") // net/http takes "close" out, into resp.Close
		if resp.Close {
			conn = "close"
		}
		if resp.StatusCode != 200 || body != tc.body || conn != tc.conn {
			t.Errorf("%s: %d %q Connection %q; want 200 %q %q", tc.name, resp.StatusCode, body, conn, tc.body, tc.conn)
		}
		if tc.kept {
			// Still open: the next request on it is answered.
			k.send(get("GET", origin, "/again", "Connection: close\r\n"))
			if resp, body := k.read("GET"); resp.StatusCode != 200 || body != "path=/again" {
				t.Errorf("%s: the next request got %d %q", tc.name, resp.StatusCode, body)
			}
		}
		if !k.closed() {
			t.Errorf("%s: the conn stayed open after a response that said it was the last", tc.name)
		}
	}
	// /x, /y, /z and /again, /close (its conn then closed), /w and /again:
	// one conn until the origin's close, one after.
	if n := conns.Load(); n != 2 {
		t.Errorf("the origin accepted %d conns; want 2", n)
	}
}

// TestE2EForwardKeepAlivePolicyPerRequest: every request on a kept-alive
// conn passes the gate and the policy on its own: a second request
// without credentials gets 407, one to a port outside
// --allow-forward-ports gets 403, each logged with its reason.
func TestE2EForwardKeepAlivePolicyPerRequest(t *testing.T) {
	t.Parallel()
	origin, _ := countingOrigin(t)
	port := strings.TrimPrefix(hostOf(origin), "127.0.0.1:")
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "alice", "Wonder-1and", "$2y$")+"\n")
	p := startProxy(t, "--allow-private", "--allow-forward-ports", port, "--auth-file", authPath)
	creds := authHeader("alice", "Wonder-1and")
	for _, tc := range []struct {
		second, target string
		status         int
		reason         string
	}{
		{get("GET", origin, "/no-creds"), origin.URL + "/no-creds", 407, "auth"},
		{"GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n" + creds + "\r\n", "http://127.0.0.1:1/", 403, "port"},
	} {
		k := dialKA(t, p)
		k.send(get("GET", origin, "/ok", creds))
		if resp, body := k.read("GET"); resp.StatusCode != 200 || body != "path=/ok" {
			t.Fatalf("first request: %d %q", resp.StatusCode, body)
		}
		k.send(tc.second)
		if resp, _ := k.read("GET"); resp.StatusCode != tc.status {
			t.Errorf("second request to %s: %d; want %d", tc.target, resp.StatusCode, tc.status)
		}
		if !k.closed() {
			t.Errorf("%s: the conn stayed open after a refusal", tc.target)
		}
		if l := p.waitLog(tc.target); l.num("status") != int64(tc.status) || l.str("reason") != tc.reason {
			t.Errorf("access log %v; want status %d, reason %s", l, tc.status, tc.reason)
		}
	}
	for _, l := range p.waitLines("alice's requests", 2, func(l logLine) bool { return l.str("target") == origin.URL+"/ok" }) {
		if l.str("user") != "alice" || l.num("status") != 200 {
			t.Errorf("access log %v; want alice's 200", l)
		}
	}
}

// TestE2EForwardExtraBytesNotPooled: an origin that sends bytes past the
// end of its response (here five after a Content-Length of 2) leaves its
// conn out of step, so the conn is not pooled: the client gets the two
// bytes and nothing more, and its next request goes on a new origin conn,
// never answered by the stray bytes.
func TestE2EForwardExtraBytesNotPooled(t *testing.T) {
	t.Parallel()
	target, accepted := scriptedOrigin(t, func(w io.Writer, path string) {
		if path == "/junk" {
			_, _ = io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK!")
			return
		}
		fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(path), path)
	})
	p := startOpenProxy(t)
	k := dialKA(t, p)
	for _, path := range []string{"/junk", "/next"} {
		k.send("GET http://" + target + path + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n")
		want := path
		if path == "/junk" {
			want = "ok"
		}
		if resp, body := k.read("GET"); resp.StatusCode != 200 || body != want {
			t.Fatalf("GET %s: %d %q; want 200 %q", path, resp.StatusCode, body, want)
		}
	}
	if n := accepted.Load(); n != 2 {
		t.Errorf("the origin accepted %d conns; want 2 (the one that sent stray bytes is not reused)", n)
	}
	lines := p.waitLines("two requests", 2, func(l logLine) bool { return strings.HasPrefix(l.str("target"), "http://"+target+"/") })
	if reused(lines[1]) {
		t.Errorf("the second request: %v; want a fresh origin conn", lines[1])
	}
}

// TestE2EForwardSlowClientBounded: a client that stops reading a large
// forwarded response holds the origin back (the proxy stops reading it
// rather than buffering the body), then gets every byte in order once it
// reads, and its next request goes on the same origin conn.
func TestE2EForwardSlowClientBounded(t *testing.T) {
	t.Parallel()
	target, accepted := scriptedOrigin(t, func(w io.Writer, path string) {
		if path == "/big" {
			fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(slowPattern))
			_, _ = w.Write(slowPattern)
			return
		}
		_, _ = io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
	})
	p := startOpenProxy(t)
	k := dialKA(t, p)
	_ = k.c.(*net.TCPConn).SetReadBuffer(32 << 10)
	before := p.s.eng.Stats().Parks
	k.send("GET http://" + target + "/big HTTP/1.1\r\nHost: " + target + "\r\n\r\n")
	waitFor(t, "the proxy to stop reading the origin", func() bool { return p.s.eng.Stats().Parks > before })
	if resp, body := k.read("GET"); resp.StatusCode != 200 || body != string(slowPattern) {
		t.Fatalf("GET /big: %d, %d bytes; want 200 and the %d bytes sent, in order", resp.StatusCode, len(body), len(slowPattern))
	}
	k.send("GET http://" + target + "/next HTTP/1.1\r\nHost: " + target + "\r\n\r\n")
	if resp, body := k.read("GET"); resp.StatusCode != 200 || body != "next" {
		t.Fatalf("GET /next: %d %q", resp.StatusCode, body)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("the origin accepted %d conns; want 1 (the conn is kept after the slow response)", n)
	}
}

// TestE2EForwardHTTP10ClientGetsChunkedDecoded: HTTP/1.0 has no chunked
// framing (RFC 9112 section 6.1), so an HTTP/1.0 client gets an origin's
// chunked body decoded (extensions and trailers gone), no
// Transfer-Encoding, and the close as its end; an HTTP/1.1 client gets the
// same bytes the origin sent. A coding under chunked cannot be decoded
// away: that body passes as it is.
func TestE2EForwardHTTP10ClientGetsChunkedDecoded(t *testing.T) {
	t.Parallel()
	const chunked = "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"
	target, _ := scriptedOrigin(t, func(w io.Writer, path string) {
		te := "chunked"
		if path == "/gzip" {
			te = "gzip, chunked"
		}
		_, _ = io.WriteString(w, "HTTP/1.1 200 OK\r\nTransfer-Encoding: "+te+"\r\nX-A: b\r\n\r\n"+chunked)
	})
	p := startOpenProxy(t)
	for _, tc := range []struct {
		name, path, version, ask string
		wantTE, wantBody         string
		closes                   bool
	}{
		{"HTTP/1.0", "/", "HTTP/1.0", "", "", "hello, world", true},
		{"HTTP/1.0 keep-alive", "/", "HTTP/1.0", "Connection: keep-alive\r\n", "", "hello, world", true},
		{"HTTP/1.0 gzip", "/gzip", "HTTP/1.0", "", "gzip, chunked", chunked, true},
		{"HTTP/1.1", "/", "HTTP/1.1", "", "chunked", chunked, false},
	} {
		c := dialProxy(t, p.plain, false)
		_ = c.SetDeadline(time.Now().Add(waitLimit))
		_, _ = io.WriteString(c, "GET http://"+target+tc.path+" "+tc.version+"\r\nHost: "+target+"\r\n"+tc.ask+"\r\n")
		// textproto, not http.ReadResponse: net/http refuses "gzip, chunked".
		br := bufio.NewReader(c)
		tp := textproto.NewReader(br)
		status, err := tp.ReadLine()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if te := h.Get("Transfer-Encoding"); status != "HTTP/1.1 200 OK" || te != tc.wantTE || h.Get("X-A") != "b" {
			t.Errorf("%s: %q, Transfer-Encoding %q, X-A %q; want 200, %q, b", tc.name, status, te, h.Get("X-A"), tc.wantTE)
		}
		// The body as it came on the wire, read to the end it is given.
		var raw []byte
		if tc.closes {
			raw, err = io.ReadAll(br)
		} else {
			raw = make([]byte, len(chunked))
			_, err = io.ReadFull(br, raw)
		}
		if err != nil || string(raw) != tc.wantBody {
			t.Errorf("%s: body %q, %v; want %q", tc.name, raw, err, tc.wantBody)
		}
		_ = c.Close()
	}
}

// TestE2EForwardHTTP10TruncatedChunkedIsReset: decoded for an HTTP/1.0
// client, a chunked body ends with the connection, so an origin that dies
// in the middle of it must not look like its end: the client's conn is
// reset, never closed in order.
func TestE2EForwardHTTP10TruncatedChunkedIsReset(t *testing.T) {
	t.Parallel()
	origin := funcOrigin(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n9\r\nhal")
	}) // then funcOrigin closes it, the body cut short
	p := startOpenProxy(t)
	c := dialProxy(t, p.plain, false)
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	target := origin.Addr().String()
	_, _ = io.WriteString(c, "GET http://"+target+"/ HTTP/1.0\r\nHost: "+target+"\r\n\r\n")
	got, err := io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read %q, then %v; want the conn reset", got, err)
	}
	if l := p.waitLog("http://" + target + "/"); l.str("reason") != "bad_response" {
		t.Errorf("logged %v; want bad_response", l)
	}
}

// scriptedOrigin serves HTTP/1.1 requests on kept-alive conns, each
// answered with the raw bytes answer writes for its path, and counts the
// conns it accepted: for answers net/http would not send.
func scriptedOrigin(t *testing.T, answer func(w io.Writer, path string)) (string, *atomic.Int32) {
	var accepted atomic.Int32
	ln := funcOrigin(t, func(c net.Conn) {
		accepted.Add(1)
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_ = req.Body.Close()
			answer(c, req.URL.Path)
		}
	})
	return ln.Addr().String(), &accepted
}
