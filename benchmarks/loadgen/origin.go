package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/benchmarks/internal/connserver"
)

// The origin speaks a one-line preamble so that a single port serves every
// mode. One port matters because the "raw" peers (nginx's stream relay, or
// no proxy at all) forward to one fixed address and cannot pick a service by
// CONNECT target. The client sends the line first, then its data:
//
//	echo\n          echo every byte back until EOF
//	sink N\n        read exactly N bytes, answer one byte: "k", or "x" if they
//	                were not the pattern (see pattern.go); then discard until EOF
//	source N\n      write N pattern bytes, then half-close
//
// The sink's ack means an upload is timed end to end without relying on the
// proxy forwarding a half-close, which not every peer does.
const (
	preambleEcho   = "echo\n"
	sinkAck        = 'k'
	sinkBad        = 'x'
	originBufBytes = 64 << 10
	maxPreamble    = 64
)

// sinkPreamble returns the line that asks the origin to swallow n bytes.
func sinkPreamble(n int64) string { return "sink " + strconv.FormatInt(n, 10) + "\n" }

// sourcePreamble returns the line that asks the origin to send n bytes.
func sourcePreamble(n int64) string { return "source " + strconv.FormatInt(n, 10) + "\n" }

// origin is the loopback server every tunnel ends at. The accept loop and
// the set of open connections are connserver's, shared with the soak's
// origin; what is said on a connection is this file's.
type origin struct {
	srv *connserver.Server
}

// startOrigin listens on addr, which must be a loopback address: the load
// tool never sends traffic anywhere else.
func startOrigin(addr string) (*origin, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("origin %q: only loopback addresses are allowed", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	o := &origin{srv: connserver.New(ln, connserver.Options{})}
	o.srv.Serve(serveOrigin)
	return o, nil
}

// Addr is the host:port that tunnels target.
func (o *origin) Addr() string { return o.srv.Addr().String() }

// Close stops accepting and drops every open connection, so that a run
// always ends even when a proxy holds tunnels open.
func (o *origin) Close() { o.srv.Close() }

// serveOrigin reads the preamble and runs the mode it names; connserver
// closes c when it returns.
func serveOrigin(c net.Conn) {
	// A small reader: it only has to hold the preamble and whatever the
	// client sent along with it.
	br := bufio.NewReaderSize(c, 512)
	line, err := br.ReadSlice('\n')
	if err != nil || len(line) > maxPreamble {
		return
	}
	verb, arg, _ := strings.Cut(strings.TrimSpace(string(line)), " ")
	switch verb {
	case "echo":
		serveEcho(c, br)
	case "sink":
		n, err := strconv.ParseInt(arg, 10, 64)
		if err == nil && n >= 0 {
			serveSink(c, br, n)
		}
	case "source":
		n, err := strconv.ParseInt(arg, 10, 64)
		if err == nil && n >= 0 {
			serveSource(c, n)
		}
	}
}

// serveEcho writes back what it reads until EOF. It forwards the client's
// half-close so that a proxy that supports it sees one.
func serveEcho(c net.Conn, br *bufio.Reader) {
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		if _, err := c.Write(b); err != nil {
			return
		}
		br.Discard(n)
	}
	buf := make([]byte, originBufBytes)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if cw, ok := c.(interface{ CloseWrite() error }); ok && err == io.EOF {
				cw.CloseWrite()
			}
			return
		}
	}
}

// serveSink reads n bytes, checks them against the pattern, answers the
// ack (or sinkBad on corrupted data), then drains until EOF.
func serveSink(c net.Conn, br *bufio.Reader, n int64) {
	buf := make([]byte, originBufBytes)
	var off int64
	ack := byte(sinkAck)
	for off < n {
		chunk := buf
		if rest := n - off; rest < int64(len(chunk)) {
			chunk = chunk[:rest]
		}
		got, err := br.Read(chunk)
		if got > 0 && !patOK(off, chunk[:got]) {
			ack = sinkBad
		}
		off += int64(got)
		if err != nil && off < n {
			return
		}
	}
	if _, err := c.Write([]byte{ack}); err != nil {
		return
	}
	io.Copy(io.Discard, br)
}

// serveSource writes n pattern bytes, half-closes, and waits for the
// client to close, so the last bytes are not raced by a reset from
// closing with unread data.
func serveSource(c net.Conn, n int64) {
	var off int64
	for off < n {
		chunk := int64(originBufBytes)
		if rest := n - off; rest < chunk {
			chunk = rest
		}
		w, err := c.Write(patAt(off, int(chunk)))
		off += int64(w)
		if err != nil {
			return
		}
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.Copy(io.Discard, c)
}
