package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
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

// origin is the loopback server every tunnel ends at.
type origin struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
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
	o := &origin{ln: ln, conns: make(map[net.Conn]struct{})}
	o.wg.Add(1)
	go o.acceptLoop()
	return o, nil
}

// Addr is the host:port that tunnels target.
func (o *origin) Addr() string { return o.ln.Addr().String() }

func (o *origin) acceptLoop() {
	defer o.wg.Done()
	for {
		c, err := o.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if o.closed() {
				return
			}
			// EMFILE and the like: the client side reports the failures,
			// the origin must keep going, without spinning on the core it
			// shares with the client.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if !o.track(c) {
			c.Close()
			return
		}
		o.wg.Add(1)
		go o.serve(c)
	}
}

func (o *origin) closed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.done
}

func (o *origin) track(c net.Conn) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return false
	}
	o.conns[c] = struct{}{}
	return true
}

func (o *origin) untrack(c net.Conn) {
	o.mu.Lock()
	delete(o.conns, c)
	o.mu.Unlock()
}

// Close stops accepting and drops every open connection, so that a run
// always ends even when a proxy holds tunnels open.
func (o *origin) Close() {
	o.mu.Lock()
	o.done = true
	for c := range o.conns {
		c.Close()
	}
	o.mu.Unlock()
	o.ln.Close()
	o.wg.Wait()
}

func (o *origin) serve(c net.Conn) {
	defer o.wg.Done()
	defer o.untrack(c)
	defer c.Close()
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
