// Command masque is masque-go's own connect-udp proxy (RFC 9298): the
// masque.Proxy of github.com/quic-go/masque-go behind a plain quic-go
// http3.Server with HTTP/3 datagrams on, and nothing else. It is the
// reference the dgram benchmarks compare sluice's HTTP/3 flows with: what
// the library the Go ecosystem has for connect-udp costs, on the same
// quic-go as sluice (the main go.mod's).
//
// It speaks HTTP/3 only: connect-udp requests whose path matches
// -template on -listen-quic, with a self-signed certificate made at start.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"log"
	"net/http"
	_ "net/http/pprof" // only served with -pprof

	"github.com/quic-go/masque-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/sluice-proxy/sluice/engine"
	"github.com/yosida95/uritemplate/v3"
)

func main() {
	listen := flag.String("listen-quic", "127.0.0.1:8443", "UDP address for HTTP/3")
	path := flag.String("template", "/.well-known/masque/udp/{target_host}/{target_port}/", "path of the connect-udp URI template; its authority is -listen-quic")
	pprof := flag.String("pprof", "", "serve net/http/pprof on this address, to profile the reference too (empty = off)")
	flag.Parse()
	if *pprof != "" {
		go func() { log.Println(http.ListenAndServe(*pprof, nil)) }()
	}

	cert, err := engine.SelfSignedCert()
	if err != nil {
		log.Fatal(err)
	}
	// masque-go matches the request's :authority against the template's,
	// so the template names the address clients dial.
	tmpl, err := uritemplate.New("https://" + *listen + *path)
	if err != nil {
		log.Fatal(err)
	}
	var proxy masque.Proxy
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := masque.ParseProxyRequest(r, tmpl)
		if err != nil {
			status := http.StatusBadRequest
			var perr *masque.ProxyRequestParseError
			if errors.As(err, &perr) {
				status = perr.HTTPStatus
			}
			w.WriteHeader(status)
			return
		}
		// Proxy answers 200 (or the dial's error) and relays until the
		// request stream ends.
		_ = proxy.Proxy(w, req)
	})
	// quic-go's defaults otherwise: 100 streams per connection, its own
	// flow-control windows, 1,280-byte initial packets.
	srv := &http3.Server{
		Addr:            *listen,
		Handler:         handler,
		EnableDatagrams: true,
		TLSConfig:       http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}),
	}
	log.Fatal(srv.ListenAndServe())
}
