package main

import (
	"io"
	"log"
	"net"
	"net/http"
)

// proxy answers CONNECT requests; anything else is refused, since the
// benchmarks never send it.
type proxy struct {
	dialer net.Dialer
}

// quietLog drops net/http's per-connection error lines: under a benchmark
// they would measure the terminal, not the proxy.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	up, err := p.dialer.DialContext(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if r.ProtoMajor == 1 {
		tunnelH1(w, up.(*net.TCPConn))
		return
	}
	tunnelH2(w, r, up.(*net.TCPConn))
}

// tunnelH1 takes over the client connection and relays both ways.
func tunnelH1(w http.ResponseWriter, up *net.TCPConn) {
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		c.Close()
		up.Close()
		return
	}
	// Bytes the client sent right behind its request head sit in the
	// server's reader; they go first so that the copy below can use the
	// bare socket (and splice) for the rest.
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Reader.Peek(n)
		if _, err := up.Write(b); err != nil {
			c.Close()
			up.Close()
			return
		}
	}
	relay(c, up)
}

// relay copies both ways and forwards each EOF as a half-close, then
// closes both sides once both directions are done. An error in one
// direction closes everything so the other copy cannot hang.
func relay(client net.Conn, up *net.TCPConn) {
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if err == nil {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
		} else {
			client.Close()
			up.Close()
		}
		done <- struct{}{}
	}
	go pipe(up, client)
	pipe(client, up)
	<-done
	client.Close()
	up.Close()
}
