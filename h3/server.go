package h3

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/relay"
)

// Config tunes the QUIC side. Zero values take the defaults noted.
type Config struct {
	MaxStreams   int64         // concurrent request streams per connection; default 128 (nginx http3_max_concurrent_streams)
	StreamWindow uint64        // most a stream may have unread by the proxy; default 1 MiB (http3_stream_buffer_size)
	ConnWindow   uint64        // the same for a whole connection; default 16 MiB
	IdleTimeout  time.Duration // a connection with no packets for this long is closed; default 30 s (quic_timeout)
	KeepAlive    time.Duration // PINGs this often keep NAT mappings; 0: none (quic_keepalive)
	Allow0RTT    bool          // accept 0-RTT: early data can be replayed by a network attacker
	// Camouflage makes what a client sees before any request quic-go's
	// http3.Server defaults: no QUIC or HTTP/3 datagrams (so connect-udp
	// gets capsules only), 100 bidirectional and 100 unidirectional
	// streams unless MaxStreams says otherwise, 512 KiB and 768 KiB initial
	// windows. The windows still grow to StreamWindow and ConnWindow.
	Camouflage bool
}

func (c Config) quic() *quic.Config {
	q := &quic.Config{
		MaxIncomingStreams:             c.MaxStreams,
		MaxIncomingUniStreams:          16, // control, QPACK encoder and decoder, and some slack
		InitialStreamReceiveWindow:     64 << 10,
		MaxStreamReceiveWindow:         c.StreamWindow,
		InitialConnectionReceiveWindow: 512 << 10,
		MaxConnectionReceiveWindow:     c.ConnWindow,
		MaxIdleTimeout:                 c.IdleTimeout,
		KeepAlivePeriod:                c.KeepAlive,
		Allow0RTT:                      c.Allow0RTT,
		EnableDatagrams:                !c.Camouflage,
	}
	if c.Camouflage {
		q.MaxIncomingUniStreams = 0 // quic-go's default
		q.InitialStreamReceiveWindow = 512 << 10
		q.InitialConnectionReceiveWindow = 768 << 10
		if q.MaxIncomingStreams <= 0 {
			q.MaxIncomingStreams = 100
		}
	}
	if q.MaxIncomingStreams <= 0 {
		q.MaxIncomingStreams = 128
	}
	if q.MaxStreamReceiveWindow == 0 {
		q.MaxStreamReceiveWindow = 1 << 20
	}
	if q.MaxConnectionReceiveWindow == 0 {
		q.MaxConnectionReceiveWindow = 16 << 20
	}
	q.InitialStreamReceiveWindow = min(q.InitialStreamReceiveWindow, q.MaxStreamReceiveWindow)
	q.InitialConnectionReceiveWindow = min(q.InitialConnectionReceiveWindow, q.MaxConnectionReceiveWindow)
	if q.MaxIdleTimeout <= 0 {
		q.MaxIdleTimeout = 30 * time.Second
	}
	return q
}

// Server is the HTTP/3 front end: quic-go's http3 server on a UDP socket,
// each CONNECT stream a relay tunnel on an engine loop (one loop per QUIC
// connection), every other request the web site.
type Server struct {
	// Static after Serve starts.
	Engine  *engine.Engine
	Policy  *relay.Policy
	Relay   *relay.Config
	Site    http.Handler
	TLS     *tls.Config // the TLS listener's; served with ALPN h3
	Config  Config
	Log     zerolog.Logger
	UDP     *relay.UDPTemplate // connect-udp requests; nil: off
	Padding bool               // grant NaïveProxy padding to CONNECT streams that ask

	srv     *http3.Server
	cutting atomic.Bool // the drain timeout passed: what ends now was cut
	mu      sync.Mutex
	ends    map[*streamEnd]struct{} // open tunnels; guarded by mu
	tunnels sync.WaitGroup
}

type loopKey struct{}

// Start serves HTTP/3 on pc until Shutdown; failed is told if serving
// stops for another reason.
func (s *Server) Start(pc net.PacketConn, failed func(error)) {
	tc := s.TLS.Clone()
	tc.NextProtos = []string{http3.NextProtoH3}
	s.ends = make(map[*streamEnd]struct{})
	s.srv = &http3.Server{
		Handler:         s,
		TLSConfig:       tc,
		QUICConfig:      s.Config.quic(),
		EnableDatagrams: !s.Config.Camouflage,
		Logger:          slog.New(slogHandler{s.Log}),
		ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
			// All the tunnels of a connection share one loop, as the
			// streams of an HTTP/2 connection do.
			return context.WithValue(ctx, loopKey{}, s.Engine.PickLoop())
		},
	}
	srv := s.srv
	go func() {
		err := srv.Serve(pc)
		if err != nil && err != http.ErrServerClosed && err != quic.ErrServerClosed && failed != nil {
			failed(err)
		}
	}()
}

// AltSvc is the Alt-Svc value that announces this server on port, for the
// responses of the TLS listener: the one quic-go's http3.Server.SetQUICHeaders
// writes, 30 days.
func AltSvc(port int) string {
	return `h3=":` + strconv.Itoa(port) + `"; ma=2592000`
}

// Active is the number of HTTP/3 tunnels open now. Safe from any goroutine.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ends)
}

// Shutdown sends GOAWAY on every connection, waits until the tunnels have
// ended or ctx is done, then closes what is left; the tunnels cut then are
// logged as such.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for s.Active() > 0 {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	// http3's own Shutdown waits for connections, which tunnels keep open:
	// wait for the tunnels here and close the server after.
	gctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.srv.Shutdown(gctx) }()
	<-done
	var err error
	if s.Active() > 0 {
		err = ctx.Err()
		s.cutting.Store(true)
	}
	cancel()
	_ = s.srv.Close() // what is left is cut: CONNECTION_CLOSE
	if err != nil {
		// The cut tunnels end on their loops, which log them.
		for wait := time.Now().Add(time.Second); s.Active() > 0 && time.Now().Before(wait); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return err
}

func (s *Server) track(e *streamEnd) {
	s.mu.Lock()
	s.ends[e] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) untrack(e *streamEnd) {
	s.mu.Lock()
	delete(s.ends, e)
	s.mu.Unlock()
}

// slogHandler routes quic-go's slog lines into zerolog at debug level.
type slogHandler struct{ l zerolog.Logger }

func (h slogHandler) Enabled(_ context.Context, lvl slog.Level) bool {
	return h.l.GetLevel() <= zerolog.DebugLevel || lvl >= slog.LevelWarn
}

func (h slogHandler) Handle(_ context.Context, r slog.Record) error {
	ev := h.l.Debug()
	if r.Level >= slog.LevelWarn {
		ev = h.l.Warn()
	}
	r.Attrs(func(a slog.Attr) bool {
		ev = ev.Str(a.Key, a.Value.String())
		return true
	})
	ev.Msg("quic: " + r.Message)
	return nil
}

func (h slogHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h slogHandler) WithGroup(string) slog.Handler      { return h }
