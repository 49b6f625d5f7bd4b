package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// A request head the client's FIN cuts short gets 400, as from Go's
// server, and an access log line, with half-close on and off, plain and
// inside TLS. Before, the conn was closed without a word.
func TestE2ECutHeadGets400(t *testing.T) {
	t.Parallel()
	for _, halfClose := range []string{"true", "false"} {
		p := startOpenProxy(t, "--half-close="+halfClose)
		for _, useTLS := range []bool{false, true} {
			for _, cut := range []string{"CONNECT 127.0.0.1:1 HT", "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n", "GET / HTTP/1.1\r\nHo"} {
				c := dialProxy(t, p.addr(useTLS), useTLS)
				resp := cutAndRead(t, c, cut)
				if resp == nil {
					t.Errorf("--half-close=%s over %s, %q then FIN: closed without an answer; want 400", halfClose, listenerName(useTLS), cut)
					continue
				}
				if resp.StatusCode != 400 || !resp.Close {
					t.Errorf("--half-close=%s over %s, %q then FIN: %d (close %v); want 400 and close", halfClose, listenerName(useTLS), cut, resp.StatusCode, resp.Close)
				}
			}
		}
		lines := p.waitLines("cut heads", 6, func(l logLine) bool { return l.str("reason") == "bad_request" })
		for _, l := range lines {
			if l.num("status") != 400 || l.str("target") != "" {
				t.Errorf("--half-close=%s: access log %v; want status 400 and no target", halfClose, l)
			}
		}
	}
}

// What is not a request head, cut by a FIN, still gets no answer: blank
// lines (which may precede a request) and a line that is not HTTP.
func TestE2ECutNonHeadClosedSilently(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t)
	for _, cut := range []string{"\r\n", "\r\n\r\n", "SSH-2.0-OpenSSH_9.6 x\r\n"} {
		c := dialProxy(t, p.plain, false)
		if resp := cutAndRead(t, c, cut); resp != nil {
			t.Errorf("%q then FIN: answered %d; want a close without a byte", cut, resp.StatusCode)
		}
	}
}

// A malformed head is logged as well as answered.
func TestE2EMalformedHeadLogged(t *testing.T) {
	t.Parallel()
	p := startOpenProxy(t)
	expectStatus(t, p.plain, false, "CONNECT 127.0.0.1:1 HTTP/1.1\r\nno colon here\r\n\r\n", 400)
	l := p.waitLines("a malformed head", 1, func(l logLine) bool { return l.str("reason") == "bad_request" })[0]
	if l.num("status") != 400 {
		t.Errorf("access log %v; want status 400", l)
	}
}

// On a kept-alive conn a second head cut by the FIN gets its 400 after
// the first response, which arrives whole: sent after that response, or
// pipelined behind the first request.
func TestE2ECutSecondHeadAfterResponse(t *testing.T) {
	t.Parallel()
	target, _ := scriptedOrigin(t, func(w io.Writer, _ string) {
		_, _ = io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	first := "GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n"
	cut := "GET http://" + target + "/2 HTTP/1.1\r\nHo"
	p := startOpenProxy(t)
	for _, pipelined := range []bool{false, true} {
		c := dialProxy(t, p.plain, false)
		_ = c.SetDeadline(time.Now().Add(waitLimit))
		br := bufio.NewReader(c)
		send := first
		if pipelined {
			send += cut
		}
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatal(err)
		}
		if pipelined {
			if err := closeWrite(c); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("pipelined %v, the first response: %v", pipelined, err)
		}
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "ok" {
			t.Fatalf("pipelined %v, the first response: %d %q; want 200 \"ok\"", pipelined, resp.StatusCode, b)
		}
		if !pipelined {
			if _, err := io.WriteString(c, cut); err != nil {
				t.Fatal(err)
			}
			if err := closeWrite(c); err != nil {
				t.Fatal(err)
			}
		}
		second, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("pipelined %v, the cut second head: %v; want 400", pipelined, err)
		}
		if second.StatusCode != 400 {
			t.Errorf("pipelined %v, the cut second head: %d; want 400", pipelined, second.StatusCode)
		}
	}
}

// cutAndRead sends cut, then the client's FIN, and reads the answer: nil
// when the proxy closed without one.
func cutAndRead(t *testing.T, c net.Conn, cut string) *http.Response {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	if _, err := io.WriteString(c, cut); err != nil {
		t.Fatal(err)
	}
	if err := closeWrite(c); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if _, err := br.Peek(1); err != nil {
		return nil
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%q then FIN: an answer that is no HTTP response: %v", cut, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp
}
