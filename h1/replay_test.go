package h1

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// tcpPair is a connected loopback pair: the server's end and the client's.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close(); _ = srv.Close() })
	return srv.(*net.TCPConn), cli.(*net.TCPConn)
}

// TestReplaySteps: with steps the replayed bytes come in Go's h2c peek
// steps (14, then 10 more after "PRI * HTTP/2.0"), however large the
// reads; without, at once.
func TestReplaySteps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pre   string
		steps bool
		want  []int
	}{
		{"preface-start", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\nmore", true, []int{14, 10, 4}},
		{"request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true, []int{14, 13}},
		{"short", "GET /\r\n", true, []int{7}},
		{"no-steps", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\nmore", false, []int{28}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := tcpPair(t)
			r := newReplay(srv, []byte(tc.pre), replayMode{steps: tc.steps, cut: true})
			buf := make([]byte, 4096)
			var got []int
			for {
				n, err := r.Read(buf)
				if err != nil {
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("after the replay (cut): %v, want a read timeout", err)
					}
					break
				}
				got = append(got, n)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("reads %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("reads %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestReplayCloseResetsWhenUnread: as a socket of the site's own, a close
// with replayed bytes unread resets the conn, as the kernel does for bytes
// left in a socket; one that read them all ends it with FIN, and so does
// any close when the replay does not act as a socket (--camouflage off).
func TestReplayCloseResetsWhenUnread(t *testing.T) {
	for _, tc := range []struct {
		unread, asSocket, reset bool
	}{
		{unread: true, asSocket: true, reset: true},
		{unread: false, asSocket: true, reset: false},
		{unread: true, asSocket: false, reset: false},
	} {
		srv, cli := tcpPair(t)
		r := newReplay(srv, []byte("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"), replayMode{steps: true, asSocket: tc.asSocket})
		buf := make([]byte, 4096)
		if _, err := r.Read(buf); err != nil { // 14 bytes
			t.Fatal(err)
		}
		if !tc.unread {
			if _, err := r.Read(buf); err != nil { // the other 10
				t.Fatal(err)
			}
		}
		if _, err := r.Write([]byte("answer")); err != nil {
			t.Fatal(err)
		}
		_ = r.Close()
		_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(cli)
		if reset := errors.Is(err, syscall.ECONNRESET); reset != tc.reset {
			t.Fatalf("%+v: the client's read ended with %v", tc, err)
		}
		if !tc.reset && string(got) != "answer" {
			t.Fatalf("%+v: the client read %q", tc, got)
		}
	}
}

// TestReplayCloseWrite: as a socket, the site's CloseWrite reaches the
// client as a FIN while the conn stays open for reading.
func TestReplayCloseWrite(t *testing.T) {
	srv, cli := tcpPair(t)
	r := newReplay(srv, nil, replayMode{asSocket: true})
	if _, err := r.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := r.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(cli); err != nil || string(got) != "bye" {
		t.Fatalf("client read %q, %v; want bye and EOF", got, err)
	}
	if _, err := cli.Write([]byte("still")); err != nil {
		t.Fatal(err)
	}
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "still" {
		t.Fatalf("after CloseWrite the site read %q, %v", buf, err)
	}
}
