package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on --pprof's own listener
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/acl"
	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/h1"
	"github.com/sluice-proxy/sluice/h2"
	"github.com/sluice-proxy/sluice/h3"
	"github.com/sluice-proxy/sluice/relay"
	"github.com/sluice-proxy/sluice/relay/sni"
	"golang.org/x/sys/unix"
)

// server wires the engine, the front ends and the policy together.
type server struct {
	// Static after newServer, but for the settings reload changes in cfg
	// (only the signal loop reads those).
	cfg       *config
	log       zerolog.Logger
	accessLog *zerolog.Logger
	accessOut io.WriteCloser
	eng       *engine.Engine
	policy    *relay.Policy
	rcfg      *relay.Config
	udp       *relay.UDPTemplate // nil: --udp off
	site      http.Handler
	h1        *h1.Server
	h2        *h2.Server
	h3        *h3.Server
	quic      *net.UDPConn // the HTTP/3 socket, served by start
	cert      atomic.Pointer[tls.Certificate]
	splices   *relay.Splices
	aux       []*http.Server      // pprof, metrics
	trimStop  chan struct{}       // closed by shutdown; nil with --mem-trim 0
	addrs     map[string]net.Addr // "listen", "listen-tls", "listen-quic", "pprof", "metrics"

	// The --access-log file, which SIGUSR1 reopens; nil for stdout,
	// stderr or off.
	accessFile *reopenFile
	// What reload compares with: the sha256 of the files in force, by
	// setting ("acl", "auth-file", "cert" for the pair). Only the signal
	// loop (reload) touches it after newServer.
	sums map[string][32]byte
}

func newServer(cfg *config, errOut io.Writer) (*server, error) {
	s, err := prepare(cfg, errOut)
	if err != nil {
		return nil, err
	}
	if err := s.openAccessLog(); err != nil {
		return nil, err
	}
	s.newFrontEnds()
	if err := s.listen(); err != nil {
		return nil, err
	}
	s.policy.Self = selfAddrs(s.addrs)
	s.logPolicy()
	return s, nil
}

// prepare builds every part of a server that can be wrong without a socket
// or a file opened for writing: the log level, the policy and the files it
// reads (--acl, --auth-file), the site, the certificate, the listen
// addresses. It reports every problem, not just the first. newServer
// starts with it and --check runs it alone.
func prepare(cfg *config, errOut io.Writer) (*server, error) {
	var errs []error
	lvl, err := zerolog.ParseLevel(cfg.logLevel)
	if err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: %w", cfg.logLevel, err))
	}
	s := &server{cfg: cfg, addrs: map[string]net.Addr{}, sums: map[string][32]byte{}}
	s.log = zerolog.New(errOut).Level(lvl).With().Timestamp().Logger()
	if err := s.newPolicy(); err != nil {
		errs = append(errs, err)
	}
	if s.site, err = siteHandler(cfg.site); err != nil {
		errs = append(errs, err)
	}
	if cfg.cert != "" {
		if err := s.loadCert(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := checkAddrs(cfg); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// openAccessLog opens --access-log. A file is opened through a reopenFile,
// so that SIGUSR1 can reopen it after logrotate moved it.
func (s *server) openAccessLog() error {
	switch s.cfg.accessLog {
	case "off", "":
	case "stdout":
		l := zerolog.New(os.Stdout)
		s.accessLog = &l
	case "stderr":
		l := zerolog.New(os.Stderr)
		s.accessLog = &l
	default:
		f, err := openReopenFile(s.cfg.accessLog)
		if err != nil {
			return fmt.Errorf("--access-log: %w", err)
		}
		s.accessOut, s.accessFile = f, f
		l := zerolog.New(f)
		s.accessLog = &l
	}
	return nil
}

// newPolicy builds the ports, the ACL and the gate, reporting every
// problem.
func (s *server) newPolicy() error {
	cfg := s.cfg
	var errs []error
	ports, err := acl.ParsePorts(cfg.allowPorts)
	if err != nil {
		errs = append(errs, fmt.Errorf("--allow-ports: %w", err))
	}
	var forwardPorts acl.Ports
	if fwd := cfg.forwardPorts; fwd != "" || err == nil {
		if fwd == "" {
			fwd = "80,443," + ports.String()
		}
		if forwardPorts, err = acl.ParsePorts(fwd); err != nil {
			errs = append(errs, fmt.Errorf("--allow-forward-ports: %w", err))
		}
	}
	clients, err := acl.ParseClients(cfg.allowClients)
	if err != nil {
		errs = append(errs, fmt.Errorf("--allow-clients: %w", err))
	}
	s.policy = &relay.Policy{Ports: ports, ForwardPorts: forwardPorts, AllowPrivate: cfg.allowPrivate, ConnectTimeout: cfg.connectTimeout, Clients: clients}
	if cfg.upstreamProxy != "" {
		s.policy.Parent, _ = relay.ParseParent(cfg.upstreamProxy) // checked with the flags
		if cfg.upstreamProxyCA != "" {
			pem, err := os.ReadFile(cfg.upstreamProxyCA)
			if err == nil {
				err = s.policy.Parent.UseRoots(pem)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("--upstream-proxy-ca: %w", err))
			}
		}
	}
	if cfg.aclFile != "" {
		m, sum, err := loadACL(cfg.aclFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("--acl: %w", err))
		} else {
			s.policy.ACL.Store(m)
			s.sums["acl"] = sum
		}
	}
	if err := s.setupGate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// newFrontEnds builds the engine and the HTTP/1.1, HTTP/2 and HTTP/3 front
// ends over one relay configuration.
func (s *server) newFrontEnds() {
	cfg := s.cfg
	s.rcfg = &relay.Config{
		High:        int(cfg.bufferSize),
		IdleTimeout: cfg.idleTimeout,
		AccessLog:   s.accessLog,
		SpliceAfter: int64(cfg.spliceAfter),
		Splices:     &relay.Splices{Max: cfg.maxSplices},

		UDPIdleTimeout: cfg.udpIdleTimeout,
		MaxDatagram:    int(cfg.udpMaxDatagram),
	}
	s.splices = s.rcfg.Splices
	if cfg.udp {
		s.udp, _ = relay.ParseUDPTemplate(cfg.udpTemplate) // checked with the flags
	}
	ecfg := engine.Config{
		Workers:          cfg.workers,
		MaxConns:         cfg.maxConns,
		HalfClose:        cfg.halfClose,
		HandshakeTimeout: cfg.handshakeTimeout,
		Takeover:         cfg.takeover,
		MaxDatagram:      int(cfg.udpMaxDatagram),
		TCPKeepAlive:     cfg.tcpKeepAlive,
		Log:              s.log,
	}
	if cfg.bind != "" {
		ecfg.Bind = netip.MustParseAddr(cfg.bind)
	}
	ecfg.Resolver = newResolver(cfg.resolver, cfg.connectTimeout)
	s.eng = engine.New(ecfg)
	s.h2 = &h2.Server{
		Config: h2Config(cfg), Policy: s.policy, Relay: s.rcfg, Site: s.site, UDP: s.udp, Padding: cfg.padding,
		IdleTimeout: cfg.h2IdleTimeout, PingTimeout: cfg.h2PingTimeout, SettingsTimeout: cfg.h2SettingsTimeout,
	}
	if s.h2.Config.Profile == h2.ProfileGo {
		s.h2.UDP = nil // no extended CONNECT in Go's preface: connect-udp is for HTTP/3 and HTTP/1.1 here
	}
	var connectResponse []byte
	if cfg.connectResponse != "" {
		connectResponse, _ = h1.ParseConnectResponse(cfg.connectResponse) // checked with the flags
	}
	via := "sluice" // RFC 9110 section 7.6.3: a forwarded message says it passed here
	if cfg.noVia {
		via = ""
	}
	s.h1 = &h1.Server{
		H2:            s.h2.Open,
		Limits:        h1.DefaultLimits(),
		Policy:        s.policy,
		Relay:         s.rcfg,
		HeaderTimeout: cfg.headerTimeout,
		Site:          s.site,
		UDP:           s.udp,

		ConnectResponse: connectResponse,
		Via:             via,
		GoReads:         cfg.camouflageGo(),
	}
	if cfg.camouflageGo() {
		s.h1.ALPNGrace = cfg.alpnH2Grace
	}
}

// h2Config is the HTTP/2 settings: sluice's own, or with --camouflage go
// a default Go net/http server's, where an explicit flag still wins.
func h2Config(cfg *config) h2.Config {
	var c h2.Config
	if cfg.set["h2-max-streams"] || !cfg.camouflageGo() {
		c.MaxConcurrentStreams = uint32(cfg.h2MaxStreams)
	}
	if cfg.set["h2-max-frame-size"] || !cfg.camouflageGo() {
		c.MaxFrameSize = uint32(cfg.h2MaxFrameSize)
	}
	if cfg.camouflageGo() {
		c = h2.GoDefaults(c)
	}
	return c
}

// listen opens every listener now, so that a taken address fails the start
// and ":0" ports are known before start.
func (s *server) listen() error {
	cfg := s.cfg
	if cfg.listen != "" {
		a, err := s.eng.Listen(engine.ListenerSpec{Addr: cfg.listen, Open: s.h1.Open})
		if err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		s.addrs["listen"] = a
	}
	if cfg.listenSNI != "" {
		sn := &sni.Server{Policy: s.policy, Relay: s.rcfg, Port: uint16(cfg.sniPort), Default: cfg.sniDefault, HelloTimeout: cfg.headerTimeout}
		a, err := s.eng.Listen(engine.ListenerSpec{Addr: cfg.listenSNI, Open: sn.Open})
		if err != nil {
			return fmt.Errorf("--listen-sni: %w", err)
		}
		s.addrs["listen-sni"] = a
	}
	quicAddr := cfg.listenQUIC.addr(cfg.listenTLS)
	if cfg.listenTLS == "" && quicAddr == "" {
		return nil
	}
	tc, err := s.tlsConfig()
	if err != nil {
		return err
	}
	if host, port, _ := net.SplitHostPort(cfg.listenTLS); port == "0" && quicAddr != "" && !cfg.listenQUIC.set {
		if err := s.listenTLSPair(host, tc); err != nil {
			return err
		}
	} else {
		if cfg.listenTLS != "" {
			a, err := s.eng.Listen(engine.ListenerSpec{Addr: cfg.listenTLS, TLS: tc, Open: s.openTLS, GoPlainHTTP: cfg.camouflageGo()})
			if err != nil {
				return fmt.Errorf("--listen-tls: %w", err)
			}
			s.addrs["listen-tls"] = a
		}
		if quicAddr == "" {
			return nil
		}
		if s.quic, err = engine.ListenUDP(quicAddr, cfg.takeover); err != nil {
			return fmt.Errorf("--listen-quic: %w", err)
		}
	}
	s.addrs["listen-quic"] = s.quic.LocalAddr()
	s.site = altSvc(s.site, h3.AltSvc(s.quic.LocalAddr().(*net.UDPAddr).Port))
	s.h1.Site, s.h2.Site = s.site, s.site
	s.h3 = &h3.Server{
		Engine: s.eng, Policy: s.policy, Relay: s.rcfg, Site: s.site, TLS: tc, Log: s.log, UDP: s.udp, Padding: cfg.padding,
		Config: h3.Config{
			MaxStreams: cfg.quicMaxStreams, StreamWindow: uint64(cfg.quicStreamWindow), ConnWindow: uint64(cfg.quicConnWindow),
			IdleTimeout: cfg.quicIdleTimeout, KeepAlive: cfg.quicKeepAlive, Allow0RTT: cfg.quic0RTT,
			Camouflage: cfg.camouflageGo(),
		},
	}
	if cfg.camouflageGo() && !cfg.set["quic-max-streams"] {
		s.h3.Config.MaxStreams = 0 // quic-go's default, 100
	}
	return nil
}

// listenTLSPair serves "--listen-tls HOST:0" with HTTP/3 on the same port
// number: an ephemeral TCP port may be a UDP port some other socket holds,
// so the UDP side is bound first and the TCP bind retried on a new port
// when that number is taken for TCP.
func (s *server) listenTLSPair(host string, tc *tls.Config) error {
	const tries = 16
	for i := 0; ; i++ {
		u, err := engine.ListenUDP(net.JoinHostPort(host, "0"), false)
		if err != nil {
			return fmt.Errorf("--listen-quic: %w", err)
		}
		addr := net.JoinHostPort(host, strconv.Itoa(u.LocalAddr().(*net.UDPAddr).Port))
		a, err := s.eng.Listen(engine.ListenerSpec{Addr: addr, TLS: tc, Open: s.openTLS, GoPlainHTTP: s.cfg.camouflageGo()})
		if err == nil {
			s.quic, s.addrs["listen-tls"] = u, a
			return nil
		}
		_ = u.Close()
		if !errors.Is(err, unix.EADDRINUSE) || i == tries-1 {
			return fmt.Errorf("--listen-tls: %w", err)
		}
	}
}

// altSvc announces HTTP/3 on the responses of the TLS listener, so
// browsers find it; not on HTTP/3's own, as quic-go's http3 servers do.
func altSvc(site http.Handler, value string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && r.ProtoMajor < 3 {
			w.Header().Set("Alt-Svc", value)
		}
		site.ServeHTTP(w, r)
	})
}

// logPolicy says at start what the policy refuses and which flag opens it:
// a new user's first local test meets the defaults.
func (s *server) logPolicy() {
	ev := s.log.Info().
		Str("connect_ports", s.policy.Ports.String()).
		Str("forward_ports", s.policy.ForwardPorts.String())
	if !s.policy.AllowPrivate {
		ev = ev.Str("private_targets", "refused after DNS: loopback, private, link-local and other special addresses (--allow-private opens them)")
	}
	if s.policy.Gate.Auth == nil {
		ev = ev.Str("auth", "none: anyone who reaches a listener may use the proxy (--auth-file)")
	}
	if s.policy.Parent != nil {
		ev = ev.Str("upstream_proxy", s.policy.Parent.String()+": every TCP tunnel and forwarded request goes through it; connect-udp is refused")
	}
	ev.Msg("policy: CONNECT only to --allow-ports, plain HTTP forwarding only to --allow-forward-ports")
	if s.policy.Gate.Auth == nil && s.policy.Clients.All() {
		for name, a := range s.addrs {
			if ap, err := netip.ParseAddrPort(a.String()); err == nil && !ap.Addr().IsLoopback() && name != "pprof" && name != "metrics" {
				s.log.Warn().Str("listener", "--"+name).Str("addr", a.String()).
					Msg("open proxy: reachable beyond loopback with neither --auth-file nor --allow-clients; anyone who reaches it may use it")
			}
		}
	}
}

// selfAddrs returns a test for the proxy's own listening addresses; a
// wildcard listener covers every address of this host's interfaces.
func selfAddrs(addrs map[string]net.Addr) func(netip.AddrPort) bool {
	self := map[netip.AddrPort]bool{}
	var local []netip.Addr
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				local = append(local, p.Addr().Unmap())
			}
		}
	}
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			continue
		}
		if ap.Addr().IsUnspecified() {
			for _, ip := range local {
				self[netip.AddrPortFrom(ip, ap.Port())] = true
			}
			continue
		}
		self[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
	}
	return func(ap netip.AddrPort) bool { return self[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] }
}

// openTLS picks the front end by ALPN.
func (s *server) openTLS(c *engine.Conn) engine.Handler {
	if c.ALPN() == "h2" {
		if s.cfg.camouflageGo() && s.cfg.alpnH2Grace == 0 {
			return s.h2.Open(c) // Go's server: HTTP/2 it is
		}
		return s.h1.OpenALPNH2(c)
	}
	return s.h1.Open(c)
}

// tlsConfig serves the certificate prepare loaded, or a generated one.
func (s *server) tlsConfig() (*tls.Config, error) {
	if s.cert.Load() == nil {
		s.log.Info().Msg("no --cert given: using a generated self-signed certificate")
		cert, err := engine.SelfSignedCert()
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		s.cert.Store(&cert)
	}
	return &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil },
		NextProtos:     []string{"h2", "http/1.1"},
		MinVersion:     tls.VersionTLS12,
	}, nil
}

// loadCert reads --cert and --key, served by TLS and QUIC alike.
func (s *server) loadCert() error {
	cert, sum, err := loadCertPair(s.cfg.cert, s.cfg.key)
	if err != nil {
		return err
	}
	s.cert.Store(cert)
	s.sums["cert"] = sum
	return nil
}

func (s *server) start() error {
	if err := s.eng.Start(); err != nil {
		return err
	}
	if s.h3 != nil {
		s.h3.Start(s.quic, func(err error) { s.log.Error().Err(err).Msg("HTTP/3 server stopped") })
	}
	if s.cfg.memTrim > 0 {
		s.trimStop = make(chan struct{})
		go newMemTrim(s.log).run(s.cfg.memTrim, s.trimStop)
	}
	if s.cfg.pprof != "" {
		// net/http/pprof registers on DefaultServeMux, which serves only this listener.
		if err := s.serveAux("pprof", s.cfg.pprof, http.DefaultServeMux); err != nil {
			return err
		}
	}
	if s.cfg.metrics != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", s.metricsHandler())
		if err := s.serveAux("metrics", s.cfg.metrics, mux); err != nil {
			return err
		}
	}
	return nil
}

// serveAux runs an operator-facing HTTP listener (pprof, metrics) beside
// the proxy, on net/http: not the hot path.
func (s *server) serveAux(name, addr string, h http.Handler) error {
	ln, err := listenAux(addr, s.cfg.takeover)
	if err != nil {
		return fmt.Errorf("--%s: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.aux = append(s.aux, srv)
	s.addrs[name] = ln.Addr()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// shutdown drains: no new conns, open tunnels (spliced ones too) get
// until ctx is done; then what is left is cut and logged as such, while
// the loops still run to log it.
func (s *server) shutdown(ctx context.Context) error {
	serr := make(chan error, 2)
	go func() { serr <- s.splices.Drain(ctx) }()
	go func() {
		if s.h3 == nil {
			serr <- nil
			return
		}
		serr <- s.h3.Shutdown(ctx)
	}()
	err := s.eng.Drain(ctx)
	for range 2 {
		if e := <-serr; err == nil {
			err = e
		}
	}
	s.eng.Stop()
	if s.trimStop != nil {
		close(s.trimStop)
	}
	if s.quic != nil {
		_ = s.quic.Close()
	}
	s.h1.Close()
	for _, a := range s.aux {
		_ = a.Close()
	}
	if s.accessOut != nil {
		_ = s.accessOut.Close()
	}
	return err
}

// setupGate builds authentication, probe resistance and the tunnel limits.
func (s *server) setupGate() error {
	cfg := s.cfg
	g := &relay.Gate{
		Realm:           cfg.authRealm,
		ProbeResistance: cfg.probeResistance,
		ProbeSecret:     strings.ToLower(strings.TrimSuffix(cfg.probeSecret, ".")),
		PerUser:         acl.NewLimiter[string](cfg.perUser),
		PerIP:           acl.NewLimiter[netip.Prefix](cfg.perIP),
	}
	if cfg.authFile != "" {
		u, sum, err := loadUsers(cfg.authFile)
		if err != nil {
			return fmt.Errorf("--auth-file: %w", err)
		}
		s.sums["auth-file"] = sum
		g.Auth = acl.NewAuthenticator(u, 0)
		s.log.Info().Str("file", cfg.authFile).Int("users", u.Len()).Msg("proxy authentication on")
	}
	s.policy.Gate = g
	return nil
}
