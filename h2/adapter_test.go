package h2

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"
)

// siteBody is what the test site answers; h2spec wants at least 5 bytes.
const siteBody = "hello, sluice"

// siteHandler is the test Handler: GET/HEAD/POST (any method but CONNECT)
// get 200 and siteBody once the request ended, CONNECT gets 200 and an echo
// of everything it sends. It exercises the flow-control contract: echoed
// bytes are only Consumed once WriteData took them.
type siteHandler struct{}

type siteStream struct {
	echo    bool
	head    bool
	pending []byte
	end     bool // END_STREAM goes after pending
}

func (siteHandler) OnRequest(st *Stream, req *Request) {
	s := &siteStream{}
	st.SetUserData(s)
	if req.Method == "CONNECT" {
		s.echo = true
		st.WriteHeaders(200, nil, false)
		return
	}
	s.head = req.Method == "HEAD"
	if req.EndStream {
		siteRespond(st, s)
	}
}

func siteRespond(st *Stream, s *siteStream) {
	st.WriteHeaders(200, []hpack.HeaderField{{Name: "content-type", Value: "text/plain"}}, s.head)
	if !s.head {
		s.pending, s.end = []byte(siteBody), true
		siteFlush(st, s)
	}
}

func (siteHandler) OnData(st *Stream, p []byte, end bool) {
	s := st.UserData().(*siteStream)
	if !s.echo {
		st.Consumed(len(p))
		if end {
			siteRespond(st, s)
		}
		return
	}
	s.pending = append(s.pending, p...)
	s.end = end
	siteFlush(st, s)
}

func siteFlush(st *Stream, s *siteStream) {
	if len(s.pending) == 0 && !s.end {
		return
	}
	n := st.WriteData(s.pending, s.end)
	if s.echo {
		st.Consumed(n)
	}
	if n == len(s.pending) || st.Dead() {
		// All taken, END_STREAM included if it was due.
		s.end = false
	}
	s.pending = s.pending[n:]
}

func (siteHandler) OnReset(st *Stream, code ErrCode) {}

func (siteHandler) OnWindow(st *Stream) {
	if s, ok := st.UserData().(*siteStream); ok {
		siteFlush(st, s)
	}
}

// testServer is a blocking adapter for tests: a goroutine per connection
// reads, Feeds and writes Output. It is what h2/protocol.go does on the
// event loop, minus the loop.
type testServer struct {
	ln  net.Listener
	cfg Config
	wg  sync.WaitGroup
}

func startTestServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{ln: ln, cfg: cfg}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) addr() string { return s.ln.Addr().String() }

func (s *testServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			serveTestConn(nc, s.cfg)
		}()
	}
}

func serveTestConn(nc net.Conn, cfg Config) {
	defer nc.Close()
	c := NewServerConn(cfg, siteHandler{})
	buf := make([]byte, 0, 64<<10)
	rd := make([]byte, 32<<10)
	for i := 0; i < 1<<30; i++ {
		if out := c.Output(); len(out) > 0 {
			if _, err := nc.Write(out); err != nil {
				return
			}
			c.ResetOutput()
		}
		if c.Closed() {
			// Let the peer read the GOAWAY before the RST a close with
			// unread input would cause.
			if tc, ok := nc.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			nc.SetReadDeadline(time.Now().Add(time.Second))
			io.Copy(io.Discard, nc)
			return
		}
		m, err := nc.Read(rd)
		if m > 0 {
			buf = append(buf, rd[:m]...)
			n, _ := c.Feed(buf)
			buf = append(buf[:0], buf[n:]...)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.Abort(ErrCodeCancel)
			}
			if out := c.Output(); len(out) > 0 {
				nc.Write(out)
			}
			return
		}
	}
}
