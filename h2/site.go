package h2

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2/hpack"
)

// maxSiteBody bounds a request body kept for the site; a larger one is 413.
const maxSiteBody = 1 << 20

// siteReq is a non-proxy request on an HTTP/2 conn: its body is gathered on
// the loop, the site's http.Handler runs on a goroutine of its own, and the
// response it recorded is written back on the loop.
type siteReq struct {
	h    *conn
	st   *Stream
	req  *Request
	buf  []byte
	q    sendQueue
	gone bool
}

func (h *conn) serveSite(st *Stream, req *Request) {
	sr := &siteReq{h: h, st: st, req: req}
	st.SetUserData(sr)
	if req.EndStream || req.Method == http.MethodConnect { // a CONNECT has no body to wait for
		sr.run()
	}
}

func (sr *siteReq) body(p []byte, end bool) {
	sr.st.Consumed(len(p))
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

func (sr *siteReq) cancel() { sr.gone = true }

func (sr *siteReq) run() {
	r := sr.request()
	h, c := sr.h.s.Site, sr.h.c
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
	for _, f := range q.Header {
		r.Header.Add(f.Name, f.Value)
	}
	if sr.h.c.IsTLS() {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, NegotiatedProtocol: "h2"}
	}
	return r
}

type readCloser struct{ *bytes.Reader }

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
	if sr.req.Method == http.MethodHead {
		body = nil
	}
	fields := make([]hpack.HeaderField, 0, len(rec.header)+2)
	for k, vs := range rec.header {
		name := strings.ToLower(k)
		if name == "content-length" {
			continue // set below from the body; connection-specific fields are dropped by WriteHeaders
		}
		for _, v := range vs {
			fields = append(fields, hpack.HeaderField{Name: name, Value: v})
		}
	}
	if rec.header.Get("Date") == "" {
		fields = append(fields, hpack.HeaderField{Name: "date", Value: time.Now().UTC().Format(http.TimeFormat)})
	}
	if code != http.StatusNotModified && code != http.StatusNoContent {
		fields = append(fields, hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(rec.body.Len())})
	}
	sr.st.WriteHeaders(code, fields, len(body) == 0)
	if len(body) > 0 {
		sr.q.write(sr.st, body, true)
	}
	sr.h.flush()
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
	if r.header.Get("Content-Type") == "" {
		r.header.Set("Content-Type", http.DetectContentType(p))
	}
	return r.body.Write(p)
}
