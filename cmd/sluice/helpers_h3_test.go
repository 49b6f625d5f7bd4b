package main

// HTTP/3 clients for the end-to-end tests: quic-go's own http3 client, the
// one the issue names, driven a stream at a time.

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// h3Conn opens a QUIC connection to the proxy's HTTP/3 listener; qc limits
// what the client lets the proxy send it unread.
func h3Conn(t *testing.T, p *proxy, qc *quic.Config) *http3.ClientConn {
	t.Helper()
	if p.quic == "" {
		t.Fatal("the proxy has no HTTP/3 listener")
	}
	if qc == nil {
		qc = &quic.Config{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, err := quic.DialAddr(ctx, p.quic, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}, qc)
	if err != nil {
		t.Fatalf("QUIC to the proxy: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseWithError(0, "") })
	return (&http3.Transport{}).NewClientConn(conn)
}

// h3Connect sends a CONNECT for target on a new stream and reads the
// response head; on 200 the stream carries the tunnel.
func h3Connect(t *testing.T, cc *http3.ClientConn, target string, hdr http.Header) (*http3.RequestStream, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	rs, err := cc.OpenRequestStream(context.Background())
	if err != nil {
		t.Fatalf("open a request stream: %v", err)
	}
	req := &http.Request{Method: http.MethodConnect, Host: target, URL: &url.URL{Host: target}, Header: hdr}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req = req.WithContext(ctx)
	if err := rs.SendRequestHeader(req); err != nil {
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	resp, err := rs.ReadResponse()
	if err != nil {
		t.Fatalf("CONNECT %s: response: %v", target, err)
	}
	return rs, resp
}
