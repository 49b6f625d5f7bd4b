// Command goproxy is the plainest Go CONNECT proxy: net/http accepts the
// request, the connection is hijacked and two goroutines io.Copy the bytes
// (which Go turns into splice(2) between two TCP sockets). It is the
// baseline the benchmarks compare sluice with: what one gets for free.
//
// -listen serves HTTP/1.1 CONNECT over TCP; -listen-tls (optional) serves
// HTTP/1.1 CONNECT inside TLS and HTTP/2 CONNECT streams, with a self-signed
// certificate made at start.
package main

import (
	"crypto/tls"
	"flag"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "plain HTTP/1.1 CONNECT listener")
	listenTLS := flag.String("listen-tls", "", "TLS listener for HTTP/1.1 and HTTP/2 CONNECT (empty = off)")
	dialTimeout := flag.Duration("dial-timeout", 10*time.Second, "upstream connect timeout")
	flag.Parse()

	p := &proxy{dialer: net.Dialer{Timeout: *dialTimeout}}
	errc := make(chan error, 2)
	go func() {
		srv := &http.Server{Addr: *listen, Handler: p, ErrorLog: quietLog()}
		errc <- srv.ListenAndServe()
	}()
	if *listenTLS != "" {
		cert, err := engine.SelfSignedCert()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			srv := &http.Server{
				Addr:      *listenTLS,
				Handler:   p,
				ErrorLog:  quietLog(),
				TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
			}
			// HTTP/2 needs no extra setup: ListenAndServeTLS offers h2
			// by ALPN, and CONNECT streams reach ServeHTTP.
			errc <- srv.ListenAndServeTLS("", "")
		}()
	}
	log.Fatal(<-errc)
}
