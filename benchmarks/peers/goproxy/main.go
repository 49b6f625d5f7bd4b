// Command goproxy is the plainest Go CONNECT proxy: net/http accepts the
// request, the connection is hijacked and two goroutines io.Copy the bytes
// (which Go turns into splice(2) between two TCP sockets). It is the
// baseline the benchmarks compare sluice with: what one gets for free.
//
// -listen serves HTTP/1.1 CONNECT over TCP; -listen-tls (optional) serves
// HTTP/1.1 CONNECT inside TLS and HTTP/2 CONNECT streams, with a self-signed
// certificate made at start; -listen-quic (optional) serves HTTP/3 CONNECT
// streams with quic-go's http3 server (the quic-go of sluice's go.mod) and
// the same certificate.
package main

import (
	"crypto/tls"
	"flag"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/quic-go/quic-go/http3"
	"github.com/sluice-proxy/sluice/engine"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "plain HTTP/1.1 CONNECT listener")
	listenTLS := flag.String("listen-tls", "", "TLS listener for HTTP/1.1 and HTTP/2 CONNECT (empty = off)")
	listenQUIC := flag.String("listen-quic", "", "UDP address for HTTP/3 CONNECT (empty = off)")
	dialTimeout := flag.Duration("dial-timeout", 10*time.Second, "upstream connect timeout")
	flag.Parse()

	p := &proxy{dialer: net.Dialer{Timeout: *dialTimeout}}
	errc := make(chan error, 3)
	go func() {
		srv := &http.Server{Addr: *listen, Handler: p, ErrorLog: quietLog()}
		errc <- srv.ListenAndServe()
	}()
	var cert tls.Certificate
	if *listenTLS != "" || *listenQUIC != "" {
		var err error
		if cert, err = engine.SelfSignedCert(); err != nil {
			log.Fatal(err)
		}
	}
	if *listenTLS != "" {
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
	if *listenQUIC != "" {
		go func() {
			// quic-go's defaults: 100 streams per connection, its own
			// flow-control windows; CONNECT streams reach ServeHTTP
			// with ProtoMajor 3 and are relayed as HTTP/2 ones are.
			srv := &http3.Server{
				Addr:      *listenQUIC,
				Handler:   p,
				TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}),
			}
			errc <- srv.ListenAndServe()
		}()
	}
	log.Fatal(<-errc)
}
