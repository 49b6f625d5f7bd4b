package httphead

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadHandsBackTheRest(t *testing.T) {
	r := iotest.OneByteReader(strings.NewReader("HTTP/1.1 200 OK\r\nX: y\r\n\r\ntunnel"))
	head, rest, err := Read(r, 64)
	if err != nil {
		t.Fatal(err)
	}
	// One byte a read: the head ends before the tunnel bytes come.
	if string(head) != "HTTP/1.1 200 OK\r\nX: y" || rest != nil {
		t.Fatalf("head %q rest %q", head, rest)
	}
	head, rest, err = Read(strings.NewReader("HTTP/1.1 200 OK\r\n\r\nab"), 64)
	if err != nil || string(head) != "HTTP/1.1 200 OK" || string(rest) != "ab" {
		t.Fatalf("head %q rest %q err %v", head, rest, err)
	}
}

func TestReadErrors(t *testing.T) {
	if _, _, err := Read(strings.NewReader(strings.Repeat("x", 100)), 16); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long head: %v", err)
	}
	if _, _, err := Read(strings.NewReader("HTTP/1.1 200"), 64); err != io.EOF {
		t.Fatalf("cut head: %v", err)
	}
}

func TestStatusLine(t *testing.T) {
	for _, c := range []struct {
		head, line, code string
		ok               bool
	}{
		{"HTTP/1.1 200 OK\r\nA: b", "HTTP/1.1 200 OK", "200", true},
		{"HTTP/1.0 502", "HTTP/1.0 502", "502", true},
		{"HTTP/2 200", "HTTP/2 200", "", false},
		{"HTTP/1.1", "HTTP/1.1", "", false},
	} {
		line, code, ok := StatusLine([]byte(c.head))
		if string(line) != c.line || string(code) != c.code || ok != c.ok {
			t.Errorf("%q: got %q %q %v", c.head, line, code, ok)
		}
	}
}
