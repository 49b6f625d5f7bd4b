package h2

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2/hpack"
)

// maxSiteBody bounds a request body kept for the site; a larger one is 413.
const maxSiteBody = 1 << 20

// siteReq is a non-proxy request on an HTTP/2 conn: its body is gathered on
// the loop, the site's http.Handler runs on a goroutine of its own, and the
// response it recorded is written back on the loop. Under ProfileGo the
// handler runs at once, as Go's server runs it, and reads the body as it
// comes.
type siteReq struct {
	h      *conn
	st     *Stream
	req    *Request
	site   http.Handler
	buf    []byte
	stream *streamedBody // ProfileGo: the body, fed as it comes
	q      sendQueue
	gone   bool
}

func (h *conn) serveSite(st *Stream, req *Request) { h.serveSiteWith(st, req, h.s.Site) }

// serveSiteWith answers a non-proxy request with site.
func (h *conn) serveSiteWith(st *Stream, req *Request, site http.Handler) {
	sr := &siteReq{h: h, st: st, req: req, site: site}
	st.SetUserData(sr)
	if h.sc.goProfile() {
		st.resetAfterEnd = true
		if !req.EndStream {
			sr.stream = newStreamedBody()
		}
		sr.run()
		return
	}
	if req.EndStream || req.Method == http.MethodConnect { // a CONNECT has no body to wait for
		sr.run()
	}
}

func (sr *siteReq) body(p []byte, end bool) {
	sr.st.Consumed(len(p))
	if sr.stream != nil {
		sr.stream.add(p, end)
		return
	}
	if len(sr.buf)+len(p) > maxSiteBody {
		sr.st.WriteHeaders(http.StatusRequestEntityTooLarge, nil, true)
		sr.gone = true
		sr.h.flush()
		return
	}
	sr.buf = append(sr.buf, p...)
	if end && !sr.gone {
		sr.run()
	}
	sr.h.flush()
}

func (sr *siteReq) cancel() {
	sr.gone = true
	if sr.stream != nil {
		sr.stream.fail(errSiteReset)
	}
}

func (sr *siteReq) run() {
	r := sr.request()
	h, c := sr.site, sr.h.c
	go func() {
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		c.Exec(func() { sr.respond(rec) })
	}()
}

func (sr *siteReq) request() *http.Request {
	q := sr.req
	u := &url.URL{Scheme: q.Scheme, Host: q.Authority}
	if pu, err := url.ParseRequestURI(q.Path); err == nil {
		u.Path, u.RawPath, u.RawQuery = pu.Path, pu.RawPath, pu.RawQuery
	} else {
		u.Path = q.Path
	}
	r := &http.Request{
		Method: q.Method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: http.Header{}, Host: q.Authority, RequestURI: q.Path,
		RemoteAddr: sr.h.c.RemoteAddr().String(), ContentLength: int64(len(sr.buf)),
		Body: http.NoBody,
	}
	if len(sr.buf) > 0 {
		r.Body = readCloser{bytes.NewReader(sr.buf)}
	}
	if sr.stream != nil {
		r.Body, r.ContentLength = sr.stream, q.ContentLength
	}
	for _, f := range q.Header {
		r.Header.Add(f.Name, f.Value)
	}
	if sr.h.c.IsTLS() {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, NegotiatedProtocol: "h2"}
	}
	return r
}

type readCloser struct{ *bytes.Reader }

var (
	errSiteReset    = errors.New("h2: stream reset")
	errSiteTooLarge = errors.New("h2: request body too large")
)

// streamedBody is a request body the handler reads while the loop still
// receives it: the loop adds and never waits; the handler's Read waits.
// What it keeps is bounded by maxSiteBody; past it reads fail.
type streamedBody struct {
	mu    sync.Mutex
	ready sync.Cond
	buf   []byte
	total int
	done  bool
	err   error
}

func newStreamedBody() *streamedBody {
	b := &streamedBody{}
	b.ready.L = &b.mu
	return b
}

// add appends what the client sent; end says the body is complete.
func (b *streamedBody) add(p []byte, end bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return
	}
	if b.total += len(p); b.total > maxSiteBody {
		b.err, b.buf = errSiteTooLarge, nil
	} else {
		b.buf = append(b.buf, p...)
		b.done = b.done || end
	}
	b.ready.Broadcast()
}

func (b *streamedBody) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
	}
	b.ready.Broadcast()
}

func (b *streamedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) == 0 && !b.done && b.err == nil {
		b.ready.Wait()
	}
	if len(b.buf) > 0 {
		n := copy(p, b.buf)
		b.buf = b.buf[n:]
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	return 0, io.EOF
}

func (b *streamedBody) Close() error {
	b.fail(http.ErrBodyReadAfterClose)
	return nil
}

func (readCloser) Close() error { return nil }

// respond writes what the handler recorded.
func (sr *siteReq) respond(rec *recorder) {
	if sr.gone || sr.st.Dead() {
		return
	}
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	body := rec.body.Bytes()
	head := sr.req.Method == http.MethodHead
	if head {
		body = nil
	}
	sr.st.WriteHeaders(code, responseFields(rec, code, body, head), len(body) == 0)
	if len(body) > 0 {
		sr.q.write(sr.st, body, true)
	}
	sr.h.flush()
}

// responseFields lays the recorded header out as Go's HTTP/2 server does:
// the handler's fields sorted by name, then Content-Type when the handler
// set none (sniffed), Content-Length (the handler's if it is a number,
// else the body's) and Date when the handler set none.
func responseFields(rec *recorder, code int, body []byte, head bool) []hpack.HeaderField {
	keys := make([]string, 0, len(rec.header))
	n := 3
	for k, vs := range rec.header {
		if k == "Content-Length" {
			continue
		}
		keys = append(keys, k)
		n += len(vs)
	}
	sort.Strings(keys)
	fields := make([]hpack.HeaderField, 0, n)
	for _, k := range keys {
		name := strings.ToLower(k)
		for _, v := range rec.header[k] {
			fields = append(fields, hpack.HeaderField{Name: name, Value: v})
		}
	}
	bodyAllowed := code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
	if _, ok := rec.header["Content-Type"]; !ok && bodyAllowed && len(body) > 0 && rec.header.Get("Content-Encoding") == "" {
		fields = append(fields, hpack.HeaderField{Name: "content-type", Value: http.DetectContentType(body)})
	}
	clen := rec.header.Get("Content-Length")
	if _, err := strconv.ParseUint(clen, 10, 63); err != nil {
		clen = ""
	}
	if clen == "" && bodyAllowed && (len(body) > 0 || !head) {
		clen = strconv.Itoa(len(body))
	}
	if clen != "" {
		fields = append(fields, hpack.HeaderField{Name: "content-length", Value: clen})
	}
	if _, ok := rec.header["Date"]; !ok {
		fields = append(fields, hpack.HeaderField{Name: "date", Value: time.Now().UTC().Format(http.TimeFormat)})
	}
	return fields
}

// goReject is Go's server's answer to a request with connection-specific
// fields.
func goReject(text string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, text, http.StatusBadRequest)
	})
}

func (sr *siteReq) flushPending() {
	sr.q.flush(sr.st)
	sr.h.flush()
}

// recorder is the http.ResponseWriter the site writes into.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(p) // the Content-Type is sniffed from the whole body, as Go's server does from its first chunk
}
