// Package httphead reads the head of an HTTP/1.x response (to a CONNECT
// or a connect-udp upgrade) straight off a connection, as both load
// tools do. They read it into a small buffer rather than through a
// bufio.Reader, so that no reader stays between the tunnel and the
// socket afterwards (which would hide *net.TCPConn from io.Copy, and
// hold tunnel bytes the caller would have to drain); the bytes that came
// in the same read as the head are handed back instead. What counts as
// an acceptable status is each tool's own.
package httphead

import (
	"bytes"
	"errors"
	"io"
)

// ErrTooLong is returned when no end of head came within the buffer.
var ErrTooLong = errors.New("response head too long")

var endOfHead = []byte("\r\n\r\n")

// Read reads from r until the blank line that ends a head, with at most
// size bytes buffered. It returns the head (without the blank line) and a
// copy of the bytes that followed it, nil when there were none. A read
// error before the end of the head is returned as it is.
func Read(r io.Reader, size int) (head, rest []byte, err error) {
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			return nil, nil, ErrTooLong
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if i := bytes.Index(buf, endOfHead); i >= 0 {
			if len(buf) > i+len(endOfHead) {
				rest = append([]byte(nil), buf[i+len(endOfHead):]...)
			}
			return buf[:i], rest, nil
		}
		if err != nil {
			return nil, nil, err
		}
	}
}

// StatusLine returns the first line of head and its status-code field.
// ok is false unless the line starts with an HTTP/1.x version and has a
// field after it; line is returned either way, for the error message.
func StatusLine(head []byte) (line, code []byte, ok bool) {
	line, _, _ = bytes.Cut(head, []byte("\r\n"))
	f := bytes.Fields(line)
	if len(f) < 2 || !bytes.HasPrefix(f[0], []byte("HTTP/1.")) {
		return line, nil, false
	}
	return line, f[1], true
}

// ConnectRequest is the HTTP/1.1 CONNECT request head for target.
func ConnectRequest(target string) string {
	return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n"
}
