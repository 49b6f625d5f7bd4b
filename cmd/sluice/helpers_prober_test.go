package main

// Helpers for the differential prober (prober_e2e_test.go): a reference
// server, a plain Go net/http server over TCP and TLS and quic-go's
// http3.Server over UDP serving the same site handler and certificate as
// sluice, and probe runners that turn what a client without credentials
// observes into a transcript in which only dates and port numbers are
// normalized.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// probeReadFor bounds how long a probe waits for a server to answer and
// close; a server that is still silent and open then is recorded so.
const probeReadFor = 5 * time.Second

// probeTarget is one server under probe: its plain (HTTP/1.1 and h2c), TLS
// and QUIC addresses.
type probeTarget struct {
	name             string
	plain, tls, quic string
	ports            map[string]string // port number -> placeholder, for normalization
	cert             *tls.Certificate
}

func newProbeTarget(name, plain, tlsAddr, quicAddr string) probeTarget {
	pt := probeTarget{name: name, plain: plain, tls: tlsAddr, quic: quicAddr, ports: map[string]string{}}
	// TLS and QUIC share a port number, as on a real site's 443.
	for _, a := range [][2]string{{"<plain-port>", plain}, {"<tls-port>", quicAddr}, {"<tls-port>", tlsAddr}} {
		if _, port, err := net.SplitHostPort(a[1]); err == nil {
			pt.ports[port] = a[0]
		}
	}
	return pt
}

// startReference serves site the way a plain Go deployment does: net/http
// with HTTP/1.1 and h2c (prior knowledge) on the plain port, net/http's
// ServeTLS (HTTP/2 by ALPN) on the TLS port with quic-go's Alt-Svc header,
// and quic-go's http3.Server with default options on UDP, on the TLS
// port's number as a real site's 443 is.
func startReference(t *testing.T, site http.Handler, cert tls.Certificate) probeTarget {
	t.Helper()
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plain := &http.Server{Handler: site, Protocols: &protos, ErrorLog: discardLog()}
	go func() { _ = plain.Serve(pln) }()

	var tln net.Listener
	var pc net.PacketConn
	for i := 0; pc == nil; i++ {
		if tln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if pc, err = net.ListenPacket("udp", tln.Addr().String()); err != nil {
			_ = tln.Close()
			if i == 15 {
				t.Fatal(err)
			}
		}
	}
	h3s := &http3.Server{
		Handler:   site,
		TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}),
		Port:      pc.LocalAddr().(*net.UDPAddr).Port,
	}
	go func() { _ = h3s.Serve(pc) }()

	tsrv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = h3s.SetQUICHeaders(w.Header())
			site.ServeHTTP(w, r)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		ErrorLog:  discardLog(),
	}
	go func() { _ = tsrv.ServeTLS(tln, "", "") }()
	t.Cleanup(func() {
		_ = plain.Close()
		_ = tsrv.Close()
		_ = h3s.Close()
		_ = pc.Close()
	})
	return newProbeTarget("go", pln.Addr().String(), tln.Addr().String(), pc.LocalAddr().String())
}

var (
	dateRE       = regexp.MustCompile(`(?i)\b(date: )[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT`)
	portRE       = regexp.MustCompile(`:(\d{4,5})\b`)
	headersLenRE = regexp.MustCompile(`^(HEADERS stream=\d+ end_stream=\w+ )len=\d+`)
)

// normalize blanks what legitimately differs between two servers: dates and
// the port numbers each listens on.
func (pt probeTarget) normalize(s string) string {
	s = dateRE.ReplaceAllString(s, "${1}<date>")
	return portRE.ReplaceAllStringFunc(s, func(m string) string {
		if ph, ok := pt.ports[m[1:]]; ok {
			return ":" + ph
		}
		return m
	})
}

// endOf names how a read ended.
func endOf(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "<ok>"
	case errors.As(err, &ne) && ne.Timeout():
		return "<still open after " + probeReadFor.String() + ">"
	case errors.Is(err, io.EOF):
		return "<closed>"
	case errors.Is(err, syscall.ECONNRESET):
		return "<closed>" // a FIN or a RST: which one is a race with unread bytes
	}
	return "<error " + err.Error() + ">"
}

func probeDial(addr string, useTLS bool, alpn ...string) (net.Conn, error) {
	raw, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		return nil, err
	}
	if !useTLS {
		return raw, nil
	}
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: alpn, ServerName: "localhost"})
	_ = tc.SetDeadline(time.Now().Add(waitLimit))
	if err := tc.Handshake(); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return tc, nil
}

// h1Probe writes req on a fresh conn (TLS with ALPN http/1.1 when useTLS)
// and records every byte that comes back and how the stream ended; with
// fin the probe ends its side once req is written.
func h1Probe(pt probeTarget, useTLS, fin bool, req string) string {
	c, err := probeDial(pt.addr(useTLS), useTLS, "http/1.1")
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	go func() {
		_, _ = io.WriteString(c, req)
		if fin {
			_ = closeWrite(c)
		}
	}()
	_ = c.SetDeadline(time.Now().Add(probeReadFor))
	var got bytes.Buffer
	_, err = io.Copy(&got, c)
	if err == nil {
		err = io.EOF
	}
	return pt.normalize(got.String()) + "\n" + endOf(err)
}

func (pt probeTarget) addr(useTLS bool) string {
	if useTLS {
		return pt.tls
	}
	return pt.plain
}

// h2Script is one HTTP/2 probe: raw replaces the usual client preface
// (magic, an empty SETTINGS and an ACK of the server's); frames follows it.
// The probe then waits for the streams in await to end (END_STREAM or
// RST_STREAM), unless the server sends GOAWAY or closes first, and, when
// the server has not sent GOAWAY, sends a PING and a GOAWAY NO_ERROR of its
// own, and reads until the server closes. The server's preface (its first
// SETTINGS and the connection WINDOW_UPDATE) is left out of the transcript
// unless keepPreface: Go's server sends the WINDOW_UPDATE only once its
// first flush has finished, and not at all when a connection error came
// first, so whether it shows is a race; the preface-only probes and
// TestE2ECamouflageH2Preface compare it.
type h2Script struct {
	raw         []byte
	frames      func(w *h2Writer)
	await       []uint32
	keepPreface bool
	// then is written once the streams in await ended, before the PING.
	then func(w *h2Writer)
	// silent: no PING and GOAWAY at the end; the server's own timeouts
	// end the conn, or probeReadFor does.
	silent bool
	// concurrent: the responses of several streams race, so which one
	// HPACK encodes first, and so the HEADERS lengths, is left out.
	concurrent bool
	// fin: the probe ends its side once its bytes are written (and is
	// silent).
	fin bool
}

// h2Writer builds the probe's bytes.
type h2Writer struct {
	buf  bytes.Buffer
	fr   *http2.Framer
	hbuf bytes.Buffer
	enc  *hpack.Encoder
}

func newH2Writer() *h2Writer {
	w := &h2Writer{}
	w.fr = http2.NewFramer(&w.buf, nil)
	w.enc = hpack.NewEncoder(&w.hbuf)
	return w
}

// block HPACK-encodes fields given as name, value pairs.
func (w *h2Writer) block(kv ...string) []byte {
	w.hbuf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		_ = w.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return bytes.Clone(w.hbuf.Bytes())
}

// get writes a complete request on stream id.
func (w *h2Writer) request(id uint32, end bool, kv ...string) {
	_ = w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: w.block(kv...), EndStream: end, EndHeaders: true})
}

func (w *h2Writer) get(id uint32, path string) {
	w.request(id, true, ":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", path)
}

func h2Probe(pt probeTarget, useTLS bool, s h2Script) string {
	c, err := probeDial(pt.addr(useTLS), useTLS, "h2")
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(probeReadFor))
	fr := http2.NewFramer(io.Discard, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = 1 << 20
	tr := &h2Transcript{keepPreface: s.keepPreface}
	var readErr error
	read := func() http2.Frame {
		f, err := fr.ReadFrame()
		if err != nil {
			readErr = err
			return nil
		}
		line := pt.normalize(h2Line(f))
		if s.concurrent {
			line = headersLenRE.ReplaceAllString(line, "${1}len=?")
		}
		tr.add(f, line)
		return f
	}
	w := newH2Writer()
	if s.raw != nil {
		w.buf.Write(s.raw)
	} else {
		w.buf.WriteString(http2.ClientPreface)
		_ = w.fr.WriteSettings()
		_ = w.fr.WriteSettingsAck()
	}
	if s.frames != nil {
		s.frames(w)
	}
	if _, err := c.Write(w.buf.Bytes()); err != nil {
		return "write: " + err.Error()
	}
	if s.fin {
		s.silent = true
		_ = closeWrite(c)
	}
	waiting := map[uint32]bool{}
	for _, id := range s.await {
		waiting[id] = true
	}
	ended := false
	for readErr == nil {
		if !ended && !s.silent && !tr.goAway && !tr.anyOpen(waiting) {
			ended = true
			e := newH2Writer()
			if s.then != nil {
				s.then(e)
			}
			_ = e.fr.WritePing(false, [8]byte{'p', 'r', 'o', 'b', 'e', 'e', 'n', 'd'})
			_ = e.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
			_, _ = c.Write(e.buf.Bytes())
		}
		read()
	}
	tr.end = endOf(readErr)
	var ce http2.ConnectionError
	if errors.As(readErr, &ce) {
		tr.end = "<client framer: " + readErr.Error() + ">"
	}
	return tr.String()
}

// h2Transcript is what an HTTP/2 server sent: frames of the connection
// (stream 0), compared as a sorted set because Go's server lets GOAWAY
// and SETTINGS ACK overtake queued frames depending on when its last
// flush finished, and each stream's frames in order.
type h2Transcript struct {
	keepPreface bool
	sawPreface  bool
	conn        []string
	streams     map[uint32][]string
	ids         []uint32
	ended       map[uint32]bool
	goAway      bool
	lines       []string
	end         string
}

func (t *h2Transcript) add(f http2.Frame, line string) {
	id := f.Header().StreamID
	if _, ok := f.(*http2.GoAwayFrame); ok {
		t.goAway = true
	}
	if id == 0 {
		if !t.keepPreface {
			if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() && !t.sawPreface {
				t.sawPreface = true
				return
			}
			if wu, ok := f.(*http2.WindowUpdateFrame); ok && wu.Increment == 1<<20-65535 {
				return
			}
		}
		t.conn = append(t.conn, line)
		return
	}
	if t.streams == nil {
		t.streams, t.ended = map[uint32][]string{}, map[uint32]bool{}
	}
	if _, ok := t.streams[id]; !ok {
		t.ids = append(t.ids, id)
	}
	t.streams[id] = append(t.streams[id], line)
	switch f := f.(type) {
	case *http2.RSTStreamFrame:
		t.ended[id] = true
	case *http2.MetaHeadersFrame:
		t.ended[id] = t.ended[id] || f.StreamEnded()
	case *http2.DataFrame:
		t.ended[id] = t.ended[id] || f.StreamEnded()
	}
}

func (t *h2Transcript) anyOpen(waiting map[uint32]bool) bool {
	for id := range waiting {
		if !t.ended[id] {
			return true
		}
	}
	return false
}

func (t *h2Transcript) String() string {
	// A set: Go's server answers two SETTINGS read before it next writes
	// with one ACK.
	conn := slices.Clone(t.conn)
	sort.Strings(conn)
	conn = slices.Compact(conn)
	out := []string{"conn: " + strings.Join(conn, "\n      ")}
	ids := slices.Clone(t.ids)
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, fmt.Sprintf("stream %d: %s", id, strings.Join(t.streams[id], "\n      ")))
	}
	out = append(out, t.lines...)
	return strings.Join(append(out, t.end), "\n")
}

// h2Line renders one frame from the server.
func h2Line(f http2.Frame) string {
	h := f.Header()
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return "SETTINGS ACK"
		}
		var ss []string
		_ = f.ForeachSetting(func(s http2.Setting) error { ss = append(ss, s.String()); return nil })
		return "SETTINGS " + strings.Join(ss, " ")
	case *http2.WindowUpdateFrame:
		return fmt.Sprintf("WINDOW_UPDATE stream=%d +%d", h.StreamID, f.Increment)
	case *http2.GoAwayFrame:
		return fmt.Sprintf("GOAWAY last=%d %v debug=%q", f.LastStreamID, f.ErrCode, f.DebugData())
	case *http2.RSTStreamFrame:
		return fmt.Sprintf("RST_STREAM stream=%d %v", h.StreamID, f.ErrCode)
	case *http2.PingFrame:
		return fmt.Sprintf("PING ack=%v %q", f.IsAck(), f.Data[:])
	case *http2.MetaHeadersFrame:
		var fs []string
		for _, hf := range f.Fields {
			fs = append(fs, hf.Name+": "+hf.Value)
		}
		return fmt.Sprintf("HEADERS stream=%d end_stream=%v len=%d truncated=%v\n  %s", h.StreamID, f.StreamEnded(), h.Length, f.Truncated, strings.Join(fs, "\n  "))
	case *http2.DataFrame:
		return fmt.Sprintf("DATA stream=%d end_stream=%v len=%d %s", h.StreamID, f.StreamEnded(), h.Length, bodySummary(f.Data()))
	}
	return h.String()
}

func bodySummary(b []byte) string {
	if len(b) <= 120 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("sha256=%x", sha256.Sum256(b))
}

// tlsProbe handshakes with cfg (ServerName localhost, no verification) and
// records what was negotiated, or the error the client saw.
func tlsProbe(pt probeTarget, cfg *tls.Config) string {
	cfg = cfg.Clone()
	cfg.InsecureSkipVerify = true
	if cfg.ServerName == "" {
		cfg.ServerName = "localhost"
	}
	st, err := tlsHandshake(pt.tls, cfg)
	if err != nil {
		return "handshake: " + err.Error()
	}
	return tlsState(st)
}

func tlsHandshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	raw, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer raw.Close()
	tc := tls.Client(raw, cfg)
	_ = tc.SetDeadline(time.Now().Add(waitLimit))
	if err := tc.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	if tc.ConnectionState().Version == tls.VersionTLS13 {
		// TLS 1.3 tickets come after the handshake: read one record so the
		// client sees them.
		_ = tc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, _ = tc.Read(make([]byte, 1))
	}
	return tc.ConnectionState(), nil
}

func tlsState(st tls.ConnectionState) string {
	return fmt.Sprintf("version=%s cipher=%s curve=%v alpn=%q resumed=%v chain=%d ocsp=%d sct=%d",
		tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.CurveID, st.NegotiatedProtocol,
		st.DidResume, len(st.PeerCertificates), len(st.OCSPResponse), len(st.SignedCertificateTimestamps))
}

// tlsResumeProbe handshakes twice with one session cache and reports
// whether the second resumed.
func tlsResumeProbe(pt probeTarget, maxVersion uint16) string {
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", MaxVersion: maxVersion,
		ClientSessionCache: tls.NewLRUClientSessionCache(4), NextProtos: []string{"h2", "http/1.1"}}
	var out []string
	for range 2 {
		st, err := tlsHandshake(pt.tls, cfg)
		if err != nil {
			return "handshake: " + err.Error()
		}
		out = append(out, tlsState(st))
	}
	return strings.Join(out, "\n")
}

// rawProbe writes b to the TLS port without TLS and records the answer.
func rawProbe(pt probeTarget, addr string, b []byte) string {
	c, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(probeReadFor))
	if _, err := c.Write(b); err != nil {
		return "write: " + err.Error()
	}
	var got bytes.Buffer
	_, err = io.Copy(&got, c)
	if err == nil {
		err = io.EOF
	}
	return fmt.Sprintf("%q\n%s", pt.normalize(got.String()), endOf(err))
}

// h3Dial opens an HTTP/3 client connection; datagrams on, so that the
// server's support for them shows.
func h3Dial(pt probeTarget, alpn string) (*quic.Conn, *http3.ClientConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, err := quic.DialAddr(ctx, pt.quic, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", NextProtos: []string{alpn}},
		&quic.Config{EnableDatagrams: true})
	if err != nil {
		return nil, nil, err
	}
	return conn, (&http3.Transport{EnableDatagrams: true}).NewClientConn(conn), nil
}

// h3SettingsProbe records the server's HTTP/3 SETTINGS and QUIC datagram
// support, seen before any request.
func h3SettingsProbe(pt probeTarget) string {
	conn, cc, err := h3Dial(pt, http3.NextProtoH3)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer conn.CloseWithError(0, "")
	select {
	case <-cc.ReceivedSettings():
	case <-time.After(waitLimit):
		return "no SETTINGS"
	}
	s := cc.Settings()
	var other []string
	for k, v := range s.Other {
		other = append(other, fmt.Sprintf("%#x=%d", k, v))
	}
	sort.Strings(other)
	st := conn.ConnectionState()
	return fmt.Sprintf("datagrams=%v extended_connect=%v other=%v quic_datagrams=%v tls=%s alpn=%s",
		s.EnableDatagrams, s.EnableExtendedConnect, other, st.SupportsDatagrams.Remote,
		tls.VersionName(st.TLS.Version), st.TLS.NegotiatedProtocol)
}

// h3StreamsProbe counts the bidirectional streams the server lets a client
// open at once (its initial_max_streams_bidi).
func h3StreamsProbe(pt probeTarget) string {
	conn, _, err := h3Dial(pt, http3.NextProtoH3)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer conn.CloseWithError(0, "")
	n := 0
	for ; n < 1000; n++ {
		if _, err := conn.OpenStream(); err != nil {
			return fmt.Sprintf("bidi streams: %d, then %v", n, err)
		}
	}
	return "bidi streams: 1000 or more"
}

// h3ALPNProbe handshakes QUIC with another ALPN.
func h3ALPNProbe(pt probeTarget, alpn string) string {
	conn, _, err := h3Dial(pt, alpn)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer conn.CloseWithError(0, "")
	return "connected, alpn " + conn.ConnectionState().TLS.NegotiatedProtocol
}

// h3Request sends one request (method, authority, path; protocol for an
// extended CONNECT) and records the response: status, headers sorted by
// name (QPACK order does not survive quic-go's client), body, or the
// stream error.
func h3Request(pt probeTarget, method, authority, path, protocol string, hdr http.Header) string {
	conn, cc, err := h3Dial(pt, http3.NextProtoH3)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer conn.CloseWithError(0, "")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	select {
	case <-cc.ReceivedSettings():
	case <-ctx.Done():
		return "no SETTINGS"
	}
	rs, err := cc.OpenRequestStream(ctx)
	if err != nil {
		return "open: " + err.Error()
	}
	u := &url.URL{Scheme: "https", Host: authority, Path: path}
	if method == http.MethodConnect && protocol == "" {
		u = &url.URL{Host: authority}
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	req := (&http.Request{Method: method, Host: authority, URL: u, Header: hdr, Proto: protocol}).WithContext(ctx)
	if protocol == "" {
		req.Proto = "HTTP/3"
	}
	if err := rs.SendRequestHeader(req); err != nil {
		return "send: " + err.Error()
	}
	if method != http.MethodConnect {
		_ = rs.Close()
	}
	resp, err := rs.ReadResponse()
	if err != nil {
		return "response: " + err.Error()
	}
	var names []string
	for k := range resp.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", resp.StatusCode)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(resp.Header[k], ", "))
	}
	if method == http.MethodConnect {
		_ = rs.Close()
	}
	body, err := io.ReadAll(resp.Body)
	fmt.Fprintf(&b, "body %s", bodySummary(body))
	if err != nil {
		fmt.Fprintf(&b, " then %v", err)
	}
	return pt.normalize(b.String())
}

// discardLog keeps the reference server's complaints about probes out of
// the test output.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// h2FirstProbe connects with ALPN h2 and says nothing: a Go server sends
// its SETTINGS at once. What arrives within two seconds is recorded.
func h2FirstProbe(pt probeTarget) string {
	c, err := probeDial(pt.tls, true, "h2")
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	f, err := http2.NewFramer(io.Discard, c).ReadFrame()
	if err != nil {
		return "before the client spoke: " + endOf(err)
	}
	return "before the client spoke: " + h2Line(f)
}
